import { isIPv4, isIPv6 } from 'node:net';

/** An IP literal in one canonical spelling: dotted-decimal IPv4, or compressed lower-case IPv6 without zone. */
export type CanonicalAddress = { readonly family: 4 | 6; readonly text: string };

/**
 * Canonical form of an IP literal as Node, getaddrinfo or a URL may spell it: `[::1]`,
 * `::FFFF:127.0.0.1`, `fe80::1%eth0` (the zone is dropped: it picks an interface, not an address).
 * IPv4 must already be dotted-decimal (`net.isIPv4`); shorthand such as `127.1` is not an
 * address here, so callers treat it as "not an IP literal" and refuse it.
 */
export function canonicalAddress(input: string): CanonicalAddress | null {
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (isIPv4(text)) return { family: 4, text };
  if (!isIPv6(text)) return null;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  // The WHATWG host serialiser is the IPv6 canonicaliser Node ships (RFC 5952 compression,
  // lower case, dotted tails rewritten as hex), so `::ffff:127.0.0.1` becomes `::ffff:7f00:1`.
  const hostname = new URL(`http://[${text}]/`).hostname;
  return { family: 6, text: hostname.slice(1, -1) };
}

/** The 16 bytes of a canonical IPv6 address (as produced by `canonicalAddress`). */
export function ipv6Bytes(canonical: string): Uint8Array {
  const [head = '', tail] = canonical.split('::');
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

export function ipv4Bytes(dotted: string): Uint8Array {
  return Uint8Array.from(dotted.split('.').map(Number));
}

export function ipv4Text(bytes: ArrayLike<number>): string {
  return Array.from(bytes).join('.');
}

/** Compressed IPv6 text for 16 bytes (via the same WHATWG canonicaliser). */
export function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Zeroes every bit after the first `prefix` bits (the network address of a CIDR). */
export function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i += 1) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}
