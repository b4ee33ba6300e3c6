/**
 * Standard Webhooks v1 signing (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the base64 part of a `whsec_` secret.
 * Shared by the dispatcher (signing) and the receiver SDK (verifying); Node built-ins only.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Bytes of entropy in a generated secret (Svix and the reference libraries use 24). */
export const SECRET_BYTES = 24;

/** Raised when a string is not a usable `whsec_<base64>` secret. */
export class InvalidSecretError extends Error {
  readonly code = 'REGHOOK_INVALID_SECRET';
}

/** A fresh signing secret, `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key of a secret; a bare base64 string (no prefix) is accepted too, as the reference libraries do. */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new InvalidSecretError('a signing secret is whsec_ followed by base64');
  }
  const key = Buffer.from(encoded, 'base64');
  // 'whsec_A' matches the pattern but decodes to no bytes: an empty HMAC key anyone can sign with.
  if (key.length === 0) throw new InvalidSecretError('a signing secret must decode to at least one byte');
  return key;
}

/** The `v1,<base64>` signature of one message. */
export function sign(
  key: Buffer,
  webhookId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const mac = createHmac('sha256', key);
  mac.update(`${webhookId}.${timestampSeconds}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The `webhook-signature` header value: one signature per key, space-separated. */
export function signatureHeader(
  keys: readonly Buffer[],
  webhookId: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return keys.map((key) => sign(key, webhookId, timestampSeconds, body)).join(' ');
}

/** Whether any `v1,` entry of a signature header matches the expected signature, compared in constant time. */
export function headerHasSignature(header: string, expected: string): boolean {
  const want = Buffer.from(expected);
  let found = false;
  for (const entry of header.split(' ')) {
    const got = Buffer.from(entry);
    // Evaluate every entry (no early exit) so timing does not tell which entry matched.
    if (got.length === want.length && timingSafeEqual(got, want)) found = true;
  }
  return found;
}
