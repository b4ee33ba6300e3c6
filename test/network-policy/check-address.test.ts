import { describe, expect, test } from 'vitest';

import { DEFAULT_NETWORK_POLICY, checkAddress, parseNetworkPolicy } from '../../src/dispatch/network-policy.js';

const ALLOWED = 'allowed';

// [address, what the default policy says: 'allowed' or the start of the refusal reason]
const DEFAULT_VERDICTS: ReadonlyArray<readonly [string, string]> = [
  // IPv4 ranges
  ['0.0.0.0', 'unspecified ("this network") address 0.0.0.0'],
  ['0.255.1.2', 'unspecified ("this network") address'],
  ['127.0.0.1', 'loopback address 127.0.0.1'],
  ['127.255.255.254', 'loopback address'],
  ['10.0.0.1', 'private (RFC 1918) address 10.0.0.1'],
  ['10.255.255.255', 'private (RFC 1918) address'],
  ['172.16.0.1', 'private (RFC 1918) address'],
  ['172.31.255.255', 'private (RFC 1918) address'],
  ['192.168.1.1', 'private (RFC 1918) address'],
  ['100.64.0.1', 'shared CGNAT (RFC 6598) address'],
  ['100.127.255.255', 'shared CGNAT (RFC 6598) address'],
  ['169.254.169.254', 'cloud metadata (link-local) address 169.254.169.254'],
  ['169.254.1.1', 'link-local address'],
  ['192.0.0.170', 'IETF protocol assignment (192.0.0.0/24) address'],
  ['192.0.2.10', 'documentation (TEST-NET-1) address'],
  ['198.51.100.7', 'documentation (TEST-NET-2) address'],
  ['203.0.113.9', 'documentation (TEST-NET-3) address'],
  ['192.88.99.1', 'deprecated 6to4 relay anycast address'],
  ['198.18.0.1', 'benchmarking (RFC 2544) address'],
  ['198.19.255.255', 'benchmarking (RFC 2544) address'],
  ['224.0.0.251', 'multicast address'],
  ['239.255.255.250', 'multicast address'],
  ['255.255.255.255', 'broadcast address 255.255.255.255'],
  ['240.0.0.1', 'reserved (240.0.0.0/4) address'],
  // just outside the refused IPv4 ranges
  ['93.184.216.34', ALLOWED],
  ['1.1.1.1', ALLOWED],
  ['9.255.255.255', ALLOWED],
  ['11.0.0.0', ALLOWED],
  ['100.63.255.255', ALLOWED],
  ['100.128.0.0', ALLOWED],
  ['172.15.255.255', ALLOWED],
  ['172.32.0.0', ALLOWED],
  ['198.17.255.255', ALLOWED],
  ['198.20.0.0', ALLOWED],
  ['223.255.255.255', ALLOWED],
  // IPv6 ranges
  ['::', 'unspecified address ::'],
  ['::1', 'loopback address ::1'],
  ['[::1]', 'loopback address ::1'],
  ['0:0:0:0:0:0:0:1', 'loopback address ::1'],
  ['fe80::1', 'link-local address fe80::1'],
  ['fe80::1%eth0', 'link-local address fe80::1'],
  ['febf:ffff::1', 'link-local address'],
  ['fec0::1', 'site-local (deprecated) address'],
  ['fc00::1', 'unique local (ULA) address'],
  ['fd12:3456:789a::1', 'unique local (ULA) address'],
  ['ff02::1', 'multicast address'],
  ['FF05::2', 'multicast address ff05::2'],
  ['2001:db8::1', 'documentation address 2001:db8::1'],
  ['3fff:0fff::1', 'documentation (RFC 9637) address'],
  ['2001::1', 'Teredo tunnel address'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo tunnel address'],
  ['2001:2::1', 'benchmarking address'],
  ['2001:10::1', 'ORCHID (deprecated) address'],
  ['2001:20::1', 'ORCHIDv2 identifier'],
  ['64:ff9b:1::a00:1', 'local-use NAT64 (RFC 8215) address'],
  ['100::1', 'discard-only (RFC 6666) address'],
  ['5f00::1', 'SRv6 SID (RFC 9602) address'],
  ['4000::1', 'reserved (outside global unicast 2000::/3) address'],
  ['1::1', 'reserved (outside global unicast 2000::/3) address'],
  // IPv6 forms that carry an IPv4 address
  ['::ffff:127.0.0.1', 'IPv4-mapped address ::ffff:7f00:1 carries loopback address 127.0.0.1'],
  ['::ffff:7f00:1', 'IPv4-mapped address ::ffff:7f00:1 carries loopback address 127.0.0.1'],
  ['::FFFF:10.0.0.1', 'IPv4-mapped address ::ffff:a00:1 carries private (RFC 1918) address 10.0.0.1'],
  ['::ffff:169.254.169.254', 'IPv4-mapped address ::ffff:a9fe:a9fe carries cloud metadata'],
  ['::ffff:0.0.0.0', 'IPv4-mapped address ::ffff:0:0 carries unspecified'],
  ['::ffff:0:7f00:1', 'IPv4-translated (SIIT, RFC 2765) address ::ffff:0:7f00:1 carries loopback address 127.0.0.1'],
  ['::127.0.0.1', 'IPv4-compatible address ::7f00:1 carries loopback address 127.0.0.1'],
  ['::2', 'IPv4-compatible address ::2 carries unspecified'],
  ['64:ff9b::127.0.0.1', 'NAT64 (RFC 6052) address 64:ff9b::7f00:1 carries loopback address 127.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 (RFC 6052) address 64:ff9b::a9fe:a9fe carries cloud metadata'],
  ['2002:7f00:1::', '6to4 address 2002:7f00:1:: carries loopback address 127.0.0.1'],
  ['2002:c0a8:101::1', '6to4 address 2002:c0a8:101::1 carries private (RFC 1918) address 192.168.1.1'],
  // public IPv6, and carried public IPv4 (allowed: judged by the IPv4 it reaches)
  ['2606:4700::1111', ALLOWED],
  ['2a00:1450:4001:80b::200e', ALLOWED],
  ['::ffff:93.184.216.34', ALLOWED],
  ['::ffff:5db8:d822', ALLOWED],
  ['64:ff9b::93.184.216.34', ALLOWED],
  ['2002:5db8:d822::1', ALLOWED],
  // not IP literals in Node's strict sense: refused rather than guessed at
  ['127.1', 'not an IP address'],
  ['0x7f000001', 'not an IP address'],
  ['2130706433', 'not an IP address'],
  ['0177.0.0.1', 'not an IP address'],
  ['localhost', 'not an IP address'],
  ['', 'not an IP address'],
];

describe('checkAddress with the default policy', () => {
  test.each(DEFAULT_VERDICTS)('%s → %s', (address, expected) => {
    const verdict = checkAddress(DEFAULT_NETWORK_POLICY, address);
    if (expected === ALLOWED) expect(verdict).toEqual({ allowed: true });
    else expect(verdict).toEqual({ allowed: false, reason: expect.stringMatching(new RegExp(`^${escape(expected)}`)) });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('checkAddress with an allow-list', () => {
  test('true allows every address, private or reserved', () => {
    const policy = parseNetworkPolicy('true');
    for (const [address, expected] of DEFAULT_VERDICTS) {
      if (expected.startsWith('not an IP address')) continue;
      expect(checkAddress(policy, address), address).toEqual({ allowed: true });
    }
  });

  test('a non-IP literal stays refused even when everything is allowed', () => {
    expect(checkAddress(parseNetworkPolicy('true'), '127.1').allowed).toBe(false);
  });

  test('10.1.0.0/16 opens exactly 10.1.0.0–10.1.255.255 and nothing next to it', () => {
    const policy = parseNetworkPolicy('10.1.0.0/16');
    expect(checkAddress(policy, '10.1.0.0').allowed).toBe(true);
    expect(checkAddress(policy, '10.1.200.3').allowed).toBe(true);
    expect(checkAddress(policy, '10.1.255.255').allowed).toBe(true);
    expect(checkAddress(policy, '10.0.255.255').allowed).toBe(false);
    expect(checkAddress(policy, '10.2.0.0').allowed).toBe(false);
    expect(checkAddress(policy, '127.0.0.1').allowed).toBe(false);
    expect(checkAddress(policy, '192.168.0.1').allowed).toBe(false);
  });

  test('127.0.0.0/8 opens IPv4 loopback (also when IPv4-mapped) but not ::1', () => {
    const policy = parseNetworkPolicy('127.0.0.0/8');
    expect(checkAddress(policy, '127.0.0.1').allowed).toBe(true);
    expect(checkAddress(policy, '127.9.9.9').allowed).toBe(true);
    expect(checkAddress(policy, '::ffff:127.0.0.1').allowed).toBe(true);
    expect(checkAddress(policy, '::1').allowed).toBe(false);
    expect(checkAddress(policy, '128.0.0.1').allowed).toBe(true); // public anyway
    expect(checkAddress(policy, '126.255.255.255').allowed).toBe(true); // public anyway
    expect(checkAddress(policy, '10.0.0.1').allowed).toBe(false);
  });

  test('::1/128 opens only ::1, not IPv4 loopback nor its IPv6 neighbours', () => {
    const policy = parseNetworkPolicy('::1/128');
    expect(checkAddress(policy, '::1').allowed).toBe(true);
    expect(checkAddress(policy, '[::1]').allowed).toBe(true);
    expect(checkAddress(policy, '127.0.0.1').allowed).toBe(false);
    expect(checkAddress(policy, '::ffff:127.0.0.1').allowed).toBe(false);
    expect(checkAddress(policy, '::').allowed).toBe(false);
    expect(checkAddress(policy, '::2').allowed).toBe(false);
  });

  test('an IPv6 allow-list entry never opens IPv4 addresses (no cross-family match)', () => {
    // net.BlockList alone would match 10.0.0.1 against ::/0 through its mapped form.
    const policy = parseNetworkPolicy('::/0');
    expect(checkAddress(policy, 'fd00::1').allowed).toBe(true);
    expect(checkAddress(policy, '10.0.0.1').allowed).toBe(false);
    expect(checkAddress(policy, '127.0.0.1').allowed).toBe(false);
  });

  test('an IPv4 allow-list entry does not open unrelated IPv6 ranges', () => {
    const policy = parseNetworkPolicy('0.0.0.0/0');
    expect(checkAddress(policy, '10.0.0.1').allowed).toBe(true);
    expect(checkAddress(policy, 'fd00::1').allowed).toBe(false);
    expect(checkAddress(policy, '::1').allowed).toBe(false);
  });

  test('an allow-listed IPv4 is reachable through NAT64 and 6to4 forms too', () => {
    const policy = parseNetworkPolicy('10.1.0.0/16');
    expect(checkAddress(policy, '64:ff9b::10.1.2.3').allowed).toBe(true);
    expect(checkAddress(policy, '2002:a01:203::1').allowed).toBe(true);
    expect(checkAddress(policy, '64:ff9b::10.2.0.1').allowed).toBe(false);
  });

  test('a ULA allow-list entry opens that /48 only', () => {
    const policy = parseNetworkPolicy('fd12:3456:789a::/48');
    expect(checkAddress(policy, 'fd12:3456:789a:1::5').allowed).toBe(true);
    expect(checkAddress(policy, 'fd12:3456:789b::1').allowed).toBe(false);
  });

  test('the default policy is what parsing "false" gives', () => {
    expect(parseNetworkPolicy('false')).toEqual(DEFAULT_NETWORK_POLICY);
    expect(DEFAULT_NETWORK_POLICY).toEqual({ allowAll: false, allowList: [] });
  });
});
