import { BlockList, isIPv4 } from 'node:net';

import { ConfigError } from '../../errors.js';
import { canonicalAddress, ipv4Bytes, ipv4Text, ipv6Bytes, ipv6Text, maskBytes } from './address.js';
import { embeddedIpv4, refusedIpv4Label, refusedIpv6Label } from './ranges.js';

export type NetworkPolicy = {
  /** `REGHOOK_ALLOW_PRIVATE_NETWORKS=true`: no address is refused. */
  readonly allowAll: boolean;
  /** Normalised CIDRs (`10.1.0.0/16`, `::1/128`) allowed in addition to public addresses. */
  readonly allowList: readonly string[];
};

/** Public addresses only; nothing private, local or reserved. */
export const DEFAULT_NETWORK_POLICY: NetworkPolicy = Object.freeze({
  allowAll: false,
  allowList: Object.freeze([]) as readonly string[],
});

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const MAX_URL_LENGTH = 2048;
const ALLOWED = Object.freeze({ allowed: true as const });

/**
 * Parses the REGHOOK_ALLOW_PRIVATE_NETWORKS value: `false` (or empty) | `true` | comma-separated
 * CIDRs (a bare address means a single host). Throws an Error naming the bad entry.
 * @example parseNetworkPolicy('127.0.0.0/8, ::1') // { allowAll: false, allowList: ['127.0.0.0/8', '::1/128'] }
 */
export function parseNetworkPolicy(value: string): NetworkPolicy {
  const trimmed = value.trim();
  const keyword = trimmed.toLowerCase();
  if (keyword === '' || keyword === 'false') return DEFAULT_NETWORK_POLICY;
  if (keyword === 'true') return Object.freeze({ allowAll: true, allowList: Object.freeze([]) as readonly string[] });
  const entries = trimmed.split(',').map((entry) => entry.trim());
  if (entries.includes('')) {
    throw new ConfigError(`empty entry in the private-network allow-list ${JSON.stringify(value)} (expected "true", "false" or CIDRs such as 10.1.0.0/16,::1/128)`);
  }
  const allowList = entries.map(normaliseCidr);
  return Object.freeze({ allowAll: false, allowList: Object.freeze([...new Set(allowList)]) });
}

type ParsedCidr = { family: 4 | 6; network: string; prefix: number };

function parseCidr(entry: string): ParsedCidr {
  const bad = (why: string): Error =>
    new ConfigError(`invalid CIDR ${JSON.stringify(entry)} in the private-network allow-list: ${why}`);
  const slash = entry.indexOf('/');
  const addressPart = slash === -1 ? entry : entry.slice(0, slash);
  const prefixPart = slash === -1 ? undefined : entry.slice(slash + 1);
  // Strict spellings only: `net.isIPv4` rejects `127.1`, `0x7f.0.0.1` and leading zeros, and zone
  // ids are meaningless in a range.
  const address = addressPart.includes('%') ? null : canonicalAddress(addressPart);
  if (!address || addressPart.startsWith('[')) throw bad('not an IPv4 or IPv6 address');
  const bits = address.family === 4 ? 32 : 128;
  if (prefixPart !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(prefixPart)) throw bad('prefix length is not a number');
  const prefix = prefixPart === undefined ? bits : Number(prefixPart);
  if (prefix > bits) throw bad(`prefix length exceeds ${bits}`);
  const bytes = address.family === 4 ? ipv4Bytes(address.text) : ipv6Bytes(address.text);
  const masked = maskBytes(bytes, prefix);
  const network = address.family === 4 ? ipv4Text(masked) : ipv6Text(masked);
  if (network !== address.text) throw bad(`host bits are set; the network is ${network}/${prefix}`);
  return { family: address.family, network, prefix };
}

function normaliseCidr(entry: string): string {
  const { network, prefix } = parseCidr(entry);
  return `${network}/${prefix}`;
}

type CompiledPolicy = { allowAll: boolean; ipv4: BlockList; ipv6: BlockList };

const compiled = new WeakMap<NetworkPolicy, CompiledPolicy>();

/** The allow-list as BlockLists, one per family (see the cross-family trap in ranges.ts). */
function compile(policy: NetworkPolicy): CompiledPolicy {
  const cached = compiled.get(policy);
  if (cached) return cached;
  const result: CompiledPolicy = { allowAll: policy.allowAll, ipv4: new BlockList(), ipv6: new BlockList() };
  for (const entry of policy.allowList) {
    const { family, network, prefix } = parseCidr(entry);
    if (family === 4) result.ipv4.addSubnet(network, prefix, 'ipv4');
    else result.ipv6.addSubnet(network, prefix, 'ipv6');
  }
  compiled.set(policy, result);
  return result;
}

/**
 * Whether one IP literal (v4 or v6, any Node-normalised form, brackets and zone ids tolerated)
 * may be connected to. Anything that is not an IP literal is refused.
 */
export function checkAddress(policy: NetworkPolicy, address: string): AddressVerdict {
  const canonical = canonicalAddress(address);
  if (!canonical) return { allowed: false, reason: `not an IP address: ${JSON.stringify(address)}` };
  const rules = compile(policy);
  if (rules.allowAll) return ALLOWED;

  if (canonical.family === 4) {
    if (rules.ipv4.check(canonical.text, 'ipv4')) return ALLOWED;
    const label = refusedIpv4Label(canonical.text);
    return label === null ? ALLOWED : { allowed: false, reason: `${label} ${canonical.text}` };
  }

  if (rules.ipv6.check(canonical.text, 'ipv6')) return ALLOWED;
  const embedded = embeddedIpv4(canonical);
  if (embedded) {
    // The carried IPv4 is judged under the same policy, allow-list included: an allow-listed
    // 10.1.2.3 is the same host whether reached directly, mapped or through NAT64.
    const inner = checkAddress(policy, embedded.ipv4);
    return inner.allowed ? ALLOWED : { allowed: false, reason: `${embedded.form} ${canonical.text} carries ${inner.reason}` };
  }
  const label = refusedIpv6Label(canonical.text);
  return label === null ? ALLOWED : { allowed: false, reason: `${label} ${canonical.text}` };
}

/** RFC 6761: `localhost` and `*.localhost` are loopback names, whatever DNS would say. */
function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Save-time check of an endpoint URL: http(s) only, no credentials, at most 2048 characters, and
 * an IP-literal host (in any spelling the WHATWG parser normalises: `2130706433`, `0x7f.1`,
 * `127.1`, `[::ffff:127.0.0.1]`) must pass `checkAddress`. Hostnames are not resolved here; the
 * connector checks what they resolve to on every connection. Returns null or the reason.
 */
export function checkEndpointUrl(policy: NetworkPolicy, url: string): string | null {
  if (url.length > MAX_URL_LENGTH) return `URL is longer than ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `URL scheme ${JSON.stringify(parsed.protocol.slice(0, -1))} is not allowed (use http or https)`;
  }
  if (parsed.username !== '' || parsed.password !== '') return 'URL must not contain a user name or password';
  // Undici connects to exactly this parsed hostname, so judging it judges the destination.
  const host = parsed.hostname;
  const literal = host.startsWith('[') ? host.slice(1, -1) : isIPv4(host) ? host : null;
  if (literal !== null) {
    const verdict = checkAddress(policy, literal);
    return verdict.allowed ? null : `destination not allowed: ${verdict.reason}`;
  }
  if (isLoopbackName(host)) {
    const v4 = checkAddress(policy, '127.0.0.1');
    const v6 = checkAddress(policy, '::1');
    if (!v4.allowed && !v6.allowed) return `destination not allowed: ${host} names the ${v4.reason}`;
  }
  return null;
}
