import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { DEFAULT_NETWORK_POLICY, checkAddress, parseNetworkPolicy } from '../../src/dispatch/network-policy.js';

// An oracle written independently of the implementation: the refused IPv4 ranges as integers.
const REFUSED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

const toInt = (dotted: string): number => dotted.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toDotted = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
const inRange = (n: number, [base, prefix]: readonly [string, number]): boolean =>
  Math.floor(n / 2 ** (32 - prefix)) === Math.floor(toInt(base) / 2 ** (32 - prefix));
const refusedByOracle = (n: number): boolean => REFUSED_V4.some((range) => inRange(n, range));

const hex16 = (n: number, shift: number): string => (Math.floor(n / 2 ** shift) % 65536).toString(16);

/** Every IPv6 spelling that carries IPv4 `n`. */
const CARRIERS: ReadonlyArray<readonly [string, (n: number) => string]> = [
  ['IPv4-mapped, dotted', (n) => `::ffff:${toDotted(n)}`],
  ['IPv4-mapped, hex', (n) => `::ffff:${hex16(n, 16)}:${hex16(n, 0)}`],
  ['IPv4-mapped, uncompressed upper case', (n) => `0:0:0:0:0:FFFF:${hex16(n, 16).toUpperCase()}:${hex16(n, 0).toUpperCase()}`],
  ['IPv4-translated (SIIT)', (n) => `::ffff:0:${toDotted(n)}`],
  ['IPv4-compatible', (n) => `::${toDotted(n)}`],
  ['NAT64 well-known prefix, dotted', (n) => `64:ff9b::${toDotted(n)}`],
  ['NAT64 well-known prefix, hex', (n) => `64:ff9b:0:0:0:0:${hex16(n, 16)}:${hex16(n, 0)}`],
  ['6to4', (n) => `2002:${hex16(n, 16)}:${hex16(n, 0)}:1::1`],
];

const refusedIpv4 = fc
  .constantFrom(...REFUSED_V4)
  .chain(([base, prefix]) => fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((host) => toInt(base) + host));
const publicIpv4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter((n) => !refusedByOracle(n));
const carrier = fc.constantFrom(...CARRIERS);

const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ipv6Under = (first: fc.Arbitrary<number>): fc.Arbitrary<string> =>
  fc.tuple(first, fc.array(group, { minLength: 7, maxLength: 7 })).map(([head, rest]) => [head.toString(16), ...rest].join(':'));

describe('refused IPv4 addresses stay refused in every IPv6 form that carries them', () => {
  test('a random address in a refused IPv4 range is refused', () => {
    fc.assert(fc.property(refusedIpv4, (n) => !checkAddress(DEFAULT_NETWORK_POLICY, toDotted(n)).allowed));
  });

  test('its IPv4-mapped, translated, compatible, NAT64 and 6to4 forms are refused too', () => {
    fc.assert(
      fc.property(refusedIpv4, carrier, (n, [, spell]) => {
        const verdict = checkAddress(DEFAULT_NETWORK_POLICY, spell(n));
        expect(verdict.allowed).toBe(false);
      }),
    );
  });
});

describe('public addresses are allowed', () => {
  test('a random IPv4 outside every refused range is allowed, directly and in every carrying form', () => {
    fc.assert(
      fc.property(publicIpv4, carrier, (n, [, spell]) => {
        expect(checkAddress(DEFAULT_NETWORK_POLICY, toDotted(n))).toEqual({ allowed: true });
        expect(checkAddress(DEFAULT_NETWORK_POLICY, spell(n))).toEqual({ allowed: true });
      }),
    );
  });

  test('a random global-unicast IPv6 outside the special blocks is allowed', () => {
    // 2000::/3, minus 2001::/16 (Teredo, ORCHID, benchmarking, documentation), 2002::/16 (6to4,
    // judged by its IPv4) and 3fff::/16 (documentation) to keep the oracle simple.
    const first = fc.integer({ min: 0x2000, max: 0x3fff }).filter((g) => g !== 0x2001 && g !== 0x2002 && g !== 0x3fff);
    fc.assert(fc.property(ipv6Under(first), (address) => checkAddress(DEFAULT_NETWORK_POLICY, address).allowed));
  });

  test('a random IPv6 in ULA, link-local, site-local, multicast or outside 2000::/3 is refused', () => {
    const first = fc.oneof(
      fc.integer({ min: 0xfc00, max: 0xfdff }),
      fc.integer({ min: 0xfe80, max: 0xfeff }),
      fc.integer({ min: 0xff00, max: 0xffff }),
      fc.integer({ min: 0x4000, max: 0xfbff }),
    );
    fc.assert(fc.property(ipv6Under(first), (address) => !checkAddress(DEFAULT_NETWORK_POLICY, address).allowed));
  });
});

describe('an allow-list opens exactly what it names', () => {
  const privateCidr = fc
    .tuple(fc.integer({ min: 0, max: 2 ** 24 - 1 }), fc.integer({ min: 8, max: 32 }))
    .map(([host, prefix]) => {
      const size = 2 ** (32 - prefix);
      const network = Math.floor((toInt('10.0.0.0') + host) / size) * size;
      return { network, size, cidr: `${toDotted(network)}/${prefix}` };
    });

  test('inside the CIDR is allowed; everything else keeps its default verdict', () => {
    fc.assert(
      fc.property(privateCidr, fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.nat(), ({ network, size, cidr }, anywhere, offset) => {
        const policy = parseNetworkPolicy(cidr);
        const inside = network + (offset % size);
        const candidates = [inside, network, network + size - 1, network - 1, network + size, anywhere].filter(
          (n) => n >= 0 && n < 2 ** 32,
        );
        for (const n of candidates) {
          const expected = (n >= network && n < network + size) || checkAddress(DEFAULT_NETWORK_POLICY, toDotted(n)).allowed;
          expect(checkAddress(policy, toDotted(n)).allowed, `${toDotted(n)} under ${cidr}`).toBe(expected);
        }
      }),
    );
  });

  test('a normalised allow-list parses back to itself', () => {
    fc.assert(
      fc.property(fc.array(privateCidr, { minLength: 1, maxLength: 5 }), (cidrs) => {
        const policy = parseNetworkPolicy(cidrs.map((c) => c.cidr).join(','));
        expect(parseNetworkPolicy(policy.allowList.join(','))).toEqual(policy);
      }),
    );
  });
});

describe('robustness', () => {
  test('checkAddress never throws and refuses anything that is not an IP literal', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const verdict = checkAddress(DEFAULT_NETWORK_POLICY, text);
        if (verdict.allowed) expect(text.trim()).toMatch(/^[0-9a-fA-F.:[\]]+$/);
      }),
    );
  });

  test('parseNetworkPolicy either returns a policy or throws an Error', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const policy = parseNetworkPolicy(text);
          expect(typeof policy.allowAll).toBe('boolean');
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
        }
      }),
    );
  });
});
