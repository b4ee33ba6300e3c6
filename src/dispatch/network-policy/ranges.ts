import { BlockList } from 'node:net';

import { ipv4Text, ipv6Bytes, type CanonicalAddress } from './address.js';

/**
 * What the default policy refuses, and why. Sources: the IANA IPv4/IPv6 Special-Purpose Address
 * Registries (RFC 6890 and successors). A webhook is a request a tenant aims at a URL of their
 * choosing, so anything that is not plain globally routed unicast is refused, including ranges
 * IANA marks as "globally reachable" but that no webhook receiver lives in (192.0.0.9 PCP anycast,
 * 192.88.99/24 6to4 relays).
 *
 * Trap this module avoids: `net.BlockList` matches ACROSS families through the IPv4-mapped form
 * (an IPv6 rule `::ffff:0:0/96` or `::/0` matches EVERY IPv4 address; an IPv4 rule matches
 * `::ffff:a.b.c.d`). So IPv4 rules and IPv6 rules live in separate lists and an address is only
 * checked against the lists of its own family; IPv4 carried inside IPv6 is extracted explicitly.
 */
const REFUSED_IPV4: ReadonlyArray<readonly [cidr: string, label: string]> = [
  ['0.0.0.0/8', 'unspecified ("this network") address'], // 0.0.0.0 reaches the local host on Linux
  ['127.0.0.0/8', 'loopback address'],
  ['10.0.0.0/8', 'private (RFC 1918) address'],
  ['172.16.0.0/12', 'private (RFC 1918) address'],
  ['192.168.0.0/16', 'private (RFC 1918) address'],
  ['100.64.0.0/10', 'shared CGNAT (RFC 6598) address'],
  ['169.254.169.254/32', 'cloud metadata (link-local) address'], // listed first for a clearer reason
  ['169.254.0.0/16', 'link-local address'],
  ['192.0.0.0/24', 'IETF protocol assignment (192.0.0.0/24) address'], // DS-Lite, NAT64 discovery 192.0.0.170/171
  ['192.0.2.0/24', 'documentation (TEST-NET-1) address'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2) address'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3) address'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast address'], // RFC 7526
  ['198.18.0.0/15', 'benchmarking (RFC 2544) address'],
  ['224.0.0.0/4', 'multicast address'],
  ['255.255.255.255/32', 'broadcast address'], // before 240/4, which contains it
  ['240.0.0.0/4', 'reserved (240.0.0.0/4) address'],
];

/** IPv6 ranges refused outright (whatever they might embed). */
const REFUSED_IPV6: ReadonlyArray<readonly [cidr: string, label: string]> = [
  ['::/128', 'unspecified address'],
  ['::1/128', 'loopback address'],
  // RFC 8215 local-use NAT64: operator-chosen translation (prefix length and IPv4 position vary),
  // so the IPv4 it reaches cannot be read off reliably: refused whole.
  ['64:ff9b:1::/48', 'local-use NAT64 (RFC 8215) address'],
  ['100::/64', 'discard-only (RFC 6666) address'],
  // Teredo: the IPv4 of the host is stored obfuscated and the path runs through third-party
  // relays; the service is defunct, so there is no legitimate receiver behind it.
  ['2001::/32', 'Teredo tunnel address'],
  ['2001:2::/48', 'benchmarking address'],
  ['2001:10::/28', 'ORCHID (deprecated) address'],
  ['2001:20::/28', 'ORCHIDv2 identifier'], // identifiers, not locators
  ['2001:db8::/32', 'documentation address'],
  ['3fff::/20', 'documentation (RFC 9637) address'],
  ['5f00::/16', 'SRv6 SID (RFC 9602) address'],
  ['fc00::/7', 'unique local (ULA) address'],
  ['fe80::/10', 'link-local address'],
  ['fec0::/10', 'site-local (deprecated) address'], // still routed inside some old networks
  ['ff00::/8', 'multicast address'],
];

/** Only 2000::/3 is allocated as global unicast; anything else not named above is reserved. */
const GLOBAL_UNICAST_IPV6 = '2000::/3';

/**
 * IPv6 forms that carry an IPv4 address the packet ends up reaching; the IPv4 is judged instead.
 * A carried PUBLIC IPv4 is allowed (`::ffff:93.184.216.34` is just 93.184.216.34 on a dual-stack
 * socket; a NAT64 gateway translating to a public host is an ordinary deployment), a carried
 * refused IPv4 is refused, with both addresses in the reason.
 */
const EMBEDDING_FORMS: ReadonlyArray<{ cidr: string; label: string; ipv4At: number }> = [
  { cidr: '::ffff:0:0/96', label: 'IPv4-mapped address', ipv4At: 12 },
  { cidr: '::ffff:0:0:0/96', label: 'IPv4-translated (SIIT, RFC 2765) address', ipv4At: 12 },
  // Deprecated IPv4-compatible form (RFC 4291); :: and ::1 are caught as themselves first.
  { cidr: '::/96', label: 'IPv4-compatible address', ipv4At: 12 },
  { cidr: '64:ff9b::/96', label: 'NAT64 (RFC 6052) address', ipv4At: 12 },
  { cidr: '2002::/16', label: '6to4 address', ipv4At: 2 },
];

type Rule = { readonly label: string; readonly list: BlockList };

function rule(cidr: string, label: string, type: 'ipv4' | 'ipv6'): Rule {
  const [network = '', prefix = ''] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), type);
  return { label, list };
}

const IPV4_RULES = REFUSED_IPV4.map(([cidr, label]) => rule(cidr, label, 'ipv4'));
const IPV6_RULES = REFUSED_IPV6.map(([cidr, label]) => rule(cidr, label, 'ipv6'));
const GLOBAL_UNICAST = rule(GLOBAL_UNICAST_IPV6, 'global unicast', 'ipv6');
const EMBEDDINGS = EMBEDDING_FORMS.map((form) => ({ ...rule(form.cidr, form.label, 'ipv6'), ipv4At: form.ipv4At }));

/** The refused ranges, as documentation and for tests: `[cidr, label]` pairs. */
export const REFUSED_RANGES: ReadonlyArray<readonly [cidr: string, label: string]> = [
  ...REFUSED_IPV4,
  ...REFUSED_IPV6,
];

/** Label of the refused range an IPv4 address falls in, or null when it is public. */
export function refusedIpv4Label(dotted: string): string | null {
  return IPV4_RULES.find((r) => r.list.check(dotted, 'ipv4'))?.label ?? null;
}

/** Label of the refused range an IPv6 address (not an embedding form) falls in, or null. */
export function refusedIpv6Label(canonical: string): string | null {
  const hit = IPV6_RULES.find((r) => r.list.check(canonical, 'ipv6'));
  if (hit) return hit.label;
  if (!GLOBAL_UNICAST.list.check(canonical, 'ipv6')) return 'reserved (outside global unicast 2000::/3) address';
  return null;
}

/**
 * When an IPv6 address is one of the forms that carry an IPv4 address, that IPv4 and the form's
 * name. `::` and `::1` are NOT embedding forms (they are themselves unspecified / loopback).
 */
export function embeddedIpv4(address: CanonicalAddress): { ipv4: string; form: string } | null {
  if (address.family !== 6 || address.text === '::' || address.text === '::1') return null;
  const form = EMBEDDINGS.find((e) => e.list.check(address.text, 'ipv6'));
  if (!form) return null;
  const bytes = ipv6Bytes(address.text);
  return { ipv4: ipv4Text(bytes.subarray(form.ipv4At, form.ipv4At + 4)), form: form.label };
}
