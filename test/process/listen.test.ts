/**
 * `reghook listen` as a real child process (SPEC section 8): a registration reported to a running
 * service reaches a local receiver with the headers and body of a delivery, verifiable with the
 * project's secret; one line is printed per forward, with no personal data and no key; a lost
 * stream is resumed after Last-Event-ID; a refused key ends it with one line.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '@reghook/receiver';
import { BIN } from '../helpers/process.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually, leaksIn, registration, startTestService, testBackends, type TestService } from '../helpers/service.js';

const backends = await testBackends('reghook listen');

interface Listener {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const listeners: Listener[] = [];

function startListen(args: string[], env: Record<string, string> = {}): Listener {
  const child = spawn(process.execPath, [BIN, 'listen', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listener = { child, stdout: () => stdout, stderr: () => stderr, exited };
  listeners.push(listener);
  return listener;
}

afterEach(async () => {
  for (const listener of listeners.splice(0)) {
    if (listener.child.exitCode === null) listener.child.kill('SIGTERM');
    await listener.exited;
  }
});

const FORWARD_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z evt_[0-9A-Z]{26} (\d{3}|error \S+) \d+ms$/;

describe.each(backends)('reghook listen (%s)', (backend) => {
  let service: TestService;
  let receiver: Receiver;
  let key: string;
  let secret: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    service = await startTestService({}, undefined, backend);
    key = await service.createProject(1);
    await service.createProject(2);
    // The project's real endpoint (disabled, with a custom header) is not where listen forwards.
    secret = await service.setEndpoint(1, 'http://127.0.0.1:9/unused', false);
    const res = await service.call('PUT', '/v1/projects/1/webhook', { url: 'http://127.0.0.1:9/unused', enabled: false, headers: { 'X-Api-Key': 'firewall-key' } });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await service.stop();
    await receiver.close();
  });

  it('forwards a registration and a test webhook to the local URL, verifiable with the project secret, one line each', async () => {
    const listener = startListen(['--url', service.url!, '--app', '1', '--forward-to', receiver.url], { REGHOOK_LISTEN_KEY: key });
    await eventually(() => (listener.stderr().includes('forwarding the webhooks of project 1') ? true : undefined));

    const report = registration({ appId: 1 });
    const ingest = await service.call('POST', '/v1/registrations', report);
    expect(ingest.status).toBe(202);
    const [forwarded] = await receiver.waitFor(1);
    expect(forwarded!.method).toBe('POST');
    expect(forwarded!.url).toBe('/hooks');
    expect(forwarded!.headers['webhook-id']).toBe(ingest.json.eventId);
    const event = verifyWebhook(forwarded!.body, forwarded!.headers as Record<string, string>, secret);
    expect(event).toMatchObject({ clientUuid: report.clientUuid, subscriberId: '905555555555', appId: 1 });
    // The exact body a delivery sends, and the delivery's headers without the custom ones.
    expect(forwarded!.body).toBe(JSON.stringify((await service.call('GET', `/v1/projects/1/events/${ingest.json.eventId}`)).json.payload));
    expect(forwarded!.headers['content-type']).toBe('application/json');
    expect(forwarded!.headers['x-api-key']).toBeUndefined();

    const test = await service.call('POST', '/v1/projects/1/webhook/test', undefined, key);
    expect(test.status).toBe(200);
    const [, second] = await receiver.waitFor(2);
    expect(verifyWebhook(second!.body, second!.headers as Record<string, string>, secret).subscriberName).toBe('Test User');

    const lines = await eventually(() => {
      const out = listener.stdout().trim().split('\n').filter(Boolean);
      return out.length >= 2 ? out : undefined;
    });
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(FORWARD_LINE);
    expect(lines[0]).toContain(` ${ingest.json.eventId} 200 `);
    expect(lines[1]).toContain(` ${second!.headers['webhook-id'] as string} 200 `);
    // No personal data, no key, no body, in anything it prints.
    const printed = listener.stdout() + listener.stderr();
    expect(leaksIn(printed)).toEqual([]);
    expect(printed).not.toContain(key);
    expect(printed).not.toContain(report.clientUuid as string);

    listener.child.kill('SIGINT');
    expect(await listener.exited).toBe(0);
  });

  it("prints the local receiver's status, and the error when nothing listens there", async () => {
    const failing = await startReceiver(answer(500, 'broken'));
    const listener = startListen(['--url', service.url!, '--key', key, '--app', '1', '--forward-to', failing.url]);
    const nowhere = startListen(['--url', service.url!, '--key', key, '--app', '1', '--forward-to', 'http://127.0.0.1:9/nothing']);
    try {
      await eventually(() => (listener.stderr().includes('forwarding') && nowhere.stderr().includes('forwarding') ? true : undefined));
      await service.call('POST', '/v1/registrations', registration({ appId: 1 }));
      await failing.waitFor(1);
      const line = await eventually(() => listener.stdout().trim() || undefined);
      expect(line).toMatch(FORWARD_LINE);
      expect(line).toMatch(/ 500 \d+ms$/);
      const refused = await eventually(() => nowhere.stdout().trim() || undefined);
      expect(refused).toMatch(FORWARD_LINE);
      expect(refused).toMatch(/ error ECONNREFUSED \d+ms$/);
    } finally {
      await failing.close();
    }
  });

  it("stops with one line when the service refuses: another project's key, a key that is not one", async () => {
    const other = startListen(['--url', service.url!, '--key', key, '--app', '2', '--forward-to', receiver.url]);
    expect(await other.exited).toBe(1);
    expect(other.stderr().trim().split('\n')).toEqual([expect.stringMatching(/answered 404: project 2 not found \(REGHOOK_PROJECT_NOT_FOUND\)$/)]);
    const bad = startListen(['--url', service.url!, '--key', 'rhk_not-a-key', '--app', '1', '--forward-to', receiver.url]);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/answered 401/);
    expect(bad.stderr()).not.toContain('rhk_not-a-key');
  });
});

describe('reghook listen against a stream that breaks', () => {
  let server: Server;
  let url: string;
  const connections: { lastEventId: string | undefined; authorization: string | undefined }[] = [];
  const message = (id: string) =>
    `event: webhook\nid: ${id}\ndata: ${JSON.stringify({ webhookId: id, headers: { 'content-type': 'application/json', 'webhook-id': id }, body: `{"n":"${id}"}` })}\n\n`;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      connections.push({ lastEventId: req.headers['last-event-id'] as string | undefined, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // A first connection that sends two webhooks (one split across writes) and breaks; then one more.
      if (connections.length === 1) {
        res.write('retry: 100\n: connected\n\n');
        const first = message('evt_01J8Z3K6Q4M2V7T9X0B5N8C1D3');
        res.write(first.slice(0, 20));
        setTimeout(() => {
          res.write(first.slice(20) + message('evt_01J8Z3K6Q4M2V7T9X0B5N8C1D4'));
          setTimeout(() => res.destroy(), 200);
        }, 50);
      } else {
        res.write(': connected\r\n\r\n' + message('evt_01J8Z3K6Q4M2V7T9X0B5N8C1D5').replaceAll('\n', '\r\n'));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reconnects with backoff and resumes after the last webhook it forwarded', async () => {
    const receiver = await startReceiver();
    try {
      const listener = startListen(['--url', url, '--key', 'rhk_some-key', '--app', '7', '--forward-to', receiver.url]);
      const got = await receiver.waitFor(3);
      expect(got.map((r) => r.body)).toEqual(['{"n":"evt_01J8Z3K6Q4M2V7T9X0B5N8C1D3"}', '{"n":"evt_01J8Z3K6Q4M2V7T9X0B5N8C1D4"}', '{"n":"evt_01J8Z3K6Q4M2V7T9X0B5N8C1D5"}']);
      expect(got[0]!.headers['webhook-id']).toBe('evt_01J8Z3K6Q4M2V7T9X0B5N8C1D3');
      expect(connections.map((c) => c.lastEventId)).toEqual([undefined, 'evt_01J8Z3K6Q4M2V7T9X0B5N8C1D4']);
      expect(connections[0]!.authorization).toBe('Bearer rhk_some-key');
      expect(listener.stderr()).toMatch(/reconnecting in/);
      expect(listener.stderr()).toMatch(/reconnected/);
      const lines = await eventually(() => {
        const out = listener.stdout().trim().split('\n');
        return out.length >= 3 ? out : undefined;
      });
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(line).toMatch(FORWARD_LINE);
    } finally {
      await receiver.close();
    }
  });

  it('refuses bad options with one line', async () => {
    const missing = startListen(['--app', '1', '--forward-to', 'http://localhost:3000/']);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr().trim()).toBe('reghook: reghook listen needs the project API key: --key rhk_… or REGHOOK_LISTEN_KEY');
    const unknown = startListen(['--key', 'k', '--app', '1', '--forward-to', 'http://localhost:3000/', '--port', '1']);
    expect(await unknown.exited).toBe(1);
    expect(unknown.stderr()).toMatch(/unknown option --port for reghook listen/);
    const app = startListen(['--key', 'k', '--app', 'one', '--forward-to', 'http://localhost:3000/']);
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toMatch(/--app "one" must be/);
    const help = startListen(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('usage: reghook listen --key <project key> --app <appId> --forward-to <local url>');
    expect(help.stdout()).toContain('REGHOOK_LISTEN_KEY');
  });
});
