import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, test } from 'vitest';

import {
  DEFAULT_NETWORK_POLICY,
  DestinationRefusedError,
  createPolicyConnector,
  parseNetworkPolicy,
  type NetworkPolicy,
} from '../../src/dispatch/network-policy.js';
import { guardLoopbackOnly, startHttpReceiver, startRawReceiver, type CountingReceiver } from './loopback.js';

// Receivers, all on ONE port so that a hostname resolving to any of them reaches a counter:
// 127.0.0.1 is "private"; 127.0.0.2 stands in for a PUBLIC address wherever a test needs an answer
// the policy allows (an allow-list opens it), so no test ever sends traffic off the machine. A
// guard additionally throws before any non-loopback connect(2), whatever the code under test does.
const guard = guardLoopbackOnly();
const v4 = await startHttpReceiver('127.0.0.1');
if (!v4) throw new Error('cannot listen on 127.0.0.1');
const standIn = await startHttpReceiver('127.0.0.2', v4.port);
const v6 = await startHttpReceiver('::1', v4.port);

const PUBLIC_V4 = '93.184.216.34';
const STAND_IN_POLICY = parseNetworkPolicy('127.0.0.2/32');

const agents: Agent[] = [];
const receivers = (): CountingReceiver[] => [v4, standIn, v6].filter((r): r is CountingReceiver => r !== null);
const totalConnections = (): number => receivers().reduce((sum, r) => sum + r.connections(), 0);

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  expect(guard.violations.splice(0)).toEqual([]);
});
afterAll(async () => {
  guard.remove();
  await Promise.all(receivers().map((r) => r.close()));
});

/** An injected resolver answering from a table (never the network), counting its calls. */
function fakeDns(answers: (hostname: string, call: number) => LookupAddress[]): { lookup: LookupFunction; calls: () => number } {
  let calls = 0;
  const lookup: LookupFunction = (hostname, _options, callback) => {
    calls += 1;
    const result = answers(hostname, calls);
    setImmediate(() => callback(null, result));
  };
  return { lookup, calls: () => calls };
}

const answer = (...addresses: string[]): LookupAddress[] => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

function agentFor(policy: NetworkPolicy, lookup?: LookupFunction): Agent {
  const agent = new Agent({ connect: createPolicyConnector(policy, { connectTimeoutMs: 2_000, ...(lookup ? { lookup } : {}) }) });
  agents.push(agent);
  return agent;
}

/** Sends one request; resolves to the HTTP status or the error's code. */
async function send(url: string, agent: Agent): Promise<{ status: number } | { error: unknown }> {
  try {
    // reset: true closes the connection after the response, so each request makes a new connection.
    const response = await request(url, { dispatcher: agent, reset: true });
    await response.body.text();
    return { status: response.statusCode };
  } catch (error) {
    return { error };
  }
}

function expectRefused(outcome: { status: number } | { error: unknown }, address?: string): void {
  expect(outcome).toHaveProperty('error');
  const { error } = outcome as { error: unknown };
  expect(error).toBeInstanceOf(DestinationRefusedError);
  expect((error as DestinationRefusedError).code).toBe('REGHOOK_DESTINATION_REFUSED');
  if (address !== undefined) expect((error as DestinationRefusedError).address).toBe(address);
}

describe('with the default policy, no connection is ever opened to a private destination', () => {
  const neverCalled = fakeDns(() => answer(PUBLIC_V4));

  test.each([
    ['an IPv4 loopback literal', () => `http://127.0.0.1:${v4.port}/`, '127.0.0.1'],
    ['a decimal spelling of loopback (2130706433)', () => `http://2130706433:${v4.port}/`, '127.0.0.1'],
    ['a hex short spelling of loopback (0x7f.1)', () => `http://0x7f.1:${v4.port}/`, '127.0.0.1'],
    ['an IPv4-mapped IPv6 loopback literal', () => `http://[::ffff:127.0.0.1]:${v4.port}/`, '::ffff:7f00:1'],
    ['the unspecified address 0.0.0.0 (reaches the local host)', () => `http://0.0.0.0:${v4.port}/`, '0.0.0.0'],
  ])('%s is refused before any lookup or connection', async (_name, url, address) => {
    const before = totalConnections();
    expectRefused(await send(url(), agentFor(DEFAULT_NETWORK_POLICY, neverCalled.lookup)), address);
    expect(totalConnections()).toBe(before);
    expect(neverCalled.calls()).toBe(0);
  });

  test.runIf(v6 !== null)('the IPv6 loopback literal [::1] is refused', async () => {
    const before = totalConnections();
    expectRefused(await send(`http://[::1]:${v6?.port ?? 0}/`, agentFor(DEFAULT_NETWORK_POLICY)), '::1');
    expect(totalConnections()).toBe(before);
  });

  test('localhost resolved by the system resolver is refused', async () => {
    const before = totalConnections();
    const outcome = await send(`http://localhost:${v4.port}/`, agentFor(DEFAULT_NETWORK_POLICY));
    expectRefused(outcome);
    expect(['127.0.0.1', '::1']).toContain((outcome as { error: DestinationRefusedError }).error.address);
    expect(totalConnections()).toBe(before);
  });

  test.each([
    ['public first, loopback second', [PUBLIC_V4, '127.0.0.1']],
    ['loopback first, public second', ['127.0.0.1', PUBLIC_V4]],
    ['public IPv6 and IPv4-mapped loopback', ['2606:4700::1111', '::ffff:127.0.0.1']],
  ])('a host whose answers mix public and private addresses (%s) is refused as a whole', async (_name, addresses) => {
    const before = totalConnections();
    const dns = fakeDns(() => answer(...addresses));
    const outcome = await send(`http://mixed.example:${v4.port}/`, agentFor(DEFAULT_NETWORK_POLICY, dns.lookup));
    expectRefused(outcome);
    expect(totalConnections()).toBe(before);
    expect(dns.calls()).toBe(1);
  });

  test('a host resolving to a private address is refused with code REGHOOK_DESTINATION_REFUSED and the reason', async () => {
    const before = totalConnections();
    const dns = fakeDns(() => answer('127.0.0.1'));
    const outcome = await send(`http://internal.example:${v4.port}/`, agentFor(DEFAULT_NETWORK_POLICY, dns.lookup));
    expectRefused(outcome, '127.0.0.1');
    const error = (outcome as { error: DestinationRefusedError }).error;
    expect(error.hostname).toBe('internal.example');
    expect(error.reason).toBe('loopback address 127.0.0.1');
    expect(error.message).toContain('loopback address 127.0.0.1');
    expect(totalConnections()).toBe(before);
  });
});

describe.runIf(standIn !== null)('answers are checked on every connection (127.0.0.2 stands in for a public address)', () => {
  test('a host that rebinds from an allowed to a private address is refused on the next connection', async () => {
    const dns = fakeDns((_host, call) => (call === 1 ? answer('127.0.0.2') : answer('127.0.0.1')));
    const agent = agentFor(STAND_IN_POLICY, dns.lookup);
    const v4Before = v4.connections();
    const standInBefore = standIn?.connections() ?? 0;

    expect(await send(`http://rebind.example:${v4.port}/`, agent)).toEqual({ status: 200 });
    expect(standIn?.connections()).toBe(standInBefore + 1);

    expectRefused(await send(`http://rebind.example:${v4.port}/`, agent), '127.0.0.1');
    expect(dns.calls()).toBe(2);
    expect(v4.connections()).toBe(v4Before);
  });

  test('an allowed answer next to a refused one does not get connected to (no filtering)', async () => {
    const before = totalConnections();
    const dns = fakeDns(() => answer('127.0.0.2', '127.0.0.1'));
    expectRefused(await send(`http://mixed.example:${v4.port}/`, agentFor(STAND_IN_POLICY, dns.lookup)), '127.0.0.1');
    expect(totalConnections()).toBe(before);
  });

  test('proxy environment variables do not route a refused delivery anywhere', async () => {
    const saved = { ...process.env };
    const proxy = `http://127.0.0.2:${standIn?.port ?? 0}`;
    Object.assign(process.env, { HTTP_PROXY: proxy, http_proxy: proxy, HTTPS_PROXY: proxy, https_proxy: proxy, ALL_PROXY: proxy });
    try {
      const before = totalConnections();
      const dns = fakeDns(() => answer('10.0.0.1'));
      expectRefused(await send(`http://internal.example:${v4.port}/`, agentFor(STAND_IN_POLICY, dns.lookup)), '10.0.0.1');
      expect(totalConnections()).toBe(before);
    } finally {
      for (const key of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe('an allow-list opens exactly what it names', () => {
  test('127.0.0.0/8 lets a loopback literal through (the connection reaches the receiver)', async () => {
    const before = v4.connections();
    expect(await send(`http://127.0.0.1:${v4.port}/`, agentFor(parseNetworkPolicy('127.0.0.0/8')))).toEqual({ status: 200 });
    expect(v4.connections()).toBe(before + 1);
  });

  test('true lets a loopback literal through', async () => {
    const before = v4.connections();
    expect(await send(`http://127.0.0.1:${v4.port}/`, agentFor(parseNetworkPolicy('true')))).toEqual({ status: 200 });
    expect(v4.connections()).toBe(before + 1);
  });

  test('a hostname resolving to an allow-listed address connects to the checked address', async () => {
    const before = v4.connections();
    const dns = fakeDns(() => answer('127.0.0.1'));
    expect(await send(`http://allowed.example:${v4.port}/`, agentFor(parseNetworkPolicy('127.0.0.0/8'), dns.lookup))).toEqual({ status: 200 });
    expect(v4.connections()).toBe(before + 1);
    expect(dns.calls()).toBe(1);
  });

  test('a resolver answering in the single-address callback form is checked too', async () => {
    const single: LookupFunction = (_hostname, _options, callback) => setImmediate(() => callback(null, '127.0.0.1', 4));
    const before = v4.connections();
    expectRefused(await send(`http://single.example:${v4.port}/`, agentFor(DEFAULT_NETWORK_POLICY, single)), '127.0.0.1');
    expect(v4.connections()).toBe(before);
    expect(await send(`http://single.example:${v4.port}/`, agentFor(parseNetworkPolicy('127.0.0.1'), single))).toEqual({ status: 200 });
    expect(v4.connections()).toBe(before + 1);
  });

  test.runIf(v6 !== null)('::1/128 opens [::1] but not 127.0.0.1', async () => {
    const policy = parseNetworkPolicy('::1/128');
    const v6Before = v6?.connections() ?? 0;
    const v4Before = v4.connections();
    expect(await send(`http://[::1]:${v6?.port ?? 0}/`, agentFor(policy))).toEqual({ status: 200 });
    expect(v6?.connections()).toBe(v6Before + 1);
    expectRefused(await send(`http://127.0.0.1:${v4.port}/`, agentFor(policy)), '127.0.0.1');
    expect(v4.connections()).toBe(v4Before);
  });

  test('127.0.0.2/32 does not open its neighbour 127.0.0.1', async () => {
    const before = v4.connections();
    expectRefused(await send(`http://127.0.0.1:${v4.port}/`, agentFor(STAND_IN_POLICY)), '127.0.0.1');
    expect(v4.connections()).toBe(before);
  });
});

describe('resolver failures and TLS', () => {
  test('a resolver error reaches the request as itself, not as a policy refusal', async () => {
    const failing: LookupFunction = (hostname, _options, callback) =>
      setImmediate(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []));
    const outcome = await send(`http://missing.example:${v4.port}/`, agentFor(DEFAULT_NETWORK_POLICY, failing));
    expect(outcome).toHaveProperty('error');
    expect((outcome as { error: { code?: string } }).error.code).toBe('ENOTFOUND');
  });

  test('an https delivery goes through the checked lookup and sends the hostname as TLS servername', async () => {
    const raw = await startRawReceiver('127.0.0.1');
    try {
      const dns = fakeDns(() => answer('127.0.0.1'));
      const outcome = await send(`https://tls-name.example:${raw.port}/`, agentFor(parseNetworkPolicy('127.0.0.0/8'), dns.lookup));
      expect(outcome).toHaveProperty('error'); // the raw receiver hangs up after the ClientHello
      expect(dns.calls()).toBe(1);
      expect(raw.connections()).toBe(1);
      expect(Buffer.concat(raw.firstBytes).includes('tls-name.example')).toBe(true);

      const refused = await send(`https://tls-name.example:${raw.port}/`, agentFor(DEFAULT_NETWORK_POLICY, dns.lookup));
      expectRefused(refused, '127.0.0.1');
      expect(raw.connections()).toBe(1);
    } finally {
      await raw.close();
    }
  });
});
