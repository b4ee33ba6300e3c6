/**
 * Custom request headers of an endpoint (SPEC section 4): at most 20, names HTTP tokens of at most
 * 64 characters, values at most 1,024 printable ASCII characters, and never a name reghook sets or
 * that changes how the request travels. The format rules are also in the API schema (400); the
 * names refused here answer 422 naming the header.
 */

export const MAX_CUSTOM_HEADERS = 20;
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";
export const HEADER_VALUE_PATTERN = '^[\\x20-\\x7e]{0,1024}$';

/** Set by reghook, or hop-by-hop: a receiver must be able to trust them. Compared in lower case. */
const RESERVED = new Set(['content-type', 'content-length', 'host', 'user-agent', 'connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'keep-alive']);
const RESERVED_PREFIXES = ['proxy-', 'webhook-'];

export type CustomHeaders = Readonly<Record<string, string>>;

export interface HeaderRefusal {
  name: string;
  reason: string;
}

/** Why a header name may not be set, or null when it may. */
export function refusedHeaderName(name: string): string | null {
  const lower = name.toLowerCase();
  if (RESERVED.has(lower)) return `${name} is set by reghook or by HTTP itself`;
  const prefix = RESERVED_PREFIXES.find((p) => lower.startsWith(p));
  if (prefix !== undefined) return `names starting ${prefix} are reserved`;
  if (!new RegExp(HEADER_NAME_PATTERN).test(name)) return 'a header name is an HTTP token of 1 to 64 characters';
  return null;
}

/** Every refusal of a set of headers (reserved names, format, case-insensitive duplicates, too many). */
export function checkCustomHeaders(headers: CustomHeaders): HeaderRefusal[] {
  const refusals: HeaderRefusal[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const reason = refusedHeaderName(name);
    if (reason !== null) refusals.push({ name, reason });
    else if (seen.has(name.toLowerCase())) refusals.push({ name, reason: 'the same header is named twice (names are case-insensitive)' });
    else if (!new RegExp(HEADER_VALUE_PATTERN).test(value)) refusals.push({ name, reason: 'a value is at most 1,024 printable ASCII characters' });
    seen.add(name.toLowerCase());
  }
  if (Object.keys(headers).length > MAX_CUSTOM_HEADERS) refusals.push({ name: '', reason: `at most ${MAX_CUSTOM_HEADERS} custom headers` });
  return refusals;
}

/** What a read shows of a value: never the value itself. */
export const MASKED_HEADER_VALUE = '********';
