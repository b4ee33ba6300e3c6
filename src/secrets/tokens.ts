/**
 * Bearer credentials: the admin token and project API keys. Only a SHA-256 hash is stored (the
 * tokens carry 32 random bytes, so a fast hash is safe); comparisons are constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ADMIN_TOKEN_PREFIX = 'rhadm_';
export const API_KEY_PREFIX = 'rhk_';

export function generateAdminToken(): string {
  return ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A new API key and its public id (the id is what lists and revocation use). */
export function generateApiKey(): { id: string; key: string } {
  return { id: `key_${randomBytes(8).toString('hex')}`, key: API_KEY_PREFIX + randomBytes(32).toString('base64url') };
}

/**
 * A new portal session link token (32 random bytes, base64url: it goes into a URL path) and the
 * link's public id (what the audit log names).
 */
export function generatePortalToken(): { id: string; token: string } {
  return { id: `ps_${randomBytes(8).toString('hex')}`, token: randomBytes(32).toString('base64url') };
}

/** The shape of a portal session link token, checked before anything is looked up. */
export const PORTAL_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
