/**
 * Dashboard sessions: a cookie holding a base64url JSON payload and its HMAC-SHA256 under the
 * service's session key. It carries who signed in (never the raw token: a hash of it, so revoking
 * the key ends the session), the session's CSRF token and its expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/authenticator.js';

export const SESSION_COOKIE = 'reghook_session';
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Domain separation: this key signs nothing else with this prefix. */
const MAC_CONTEXT = 'reghook dashboard session v1\n';

export interface Session {
  kind: 'admin' | 'project';
  /** The project of a project key. */
  appId?: number;
  /** The public id of that key (the audit log's actor). */
  keyId?: string;
  /** SHA-256 (hex) of the token signed in with: the project key, or the admin token. */
  keyHash: string;
  /** Per-session token every state-changing form echoes. */
  csrf: string;
  /** Expiry, epoch ms. */
  exp: number;
}

export class SessionCodec {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the session key must be 32 bytes');
  }

  /** A new session for the principal that `keyHash` authenticated. */
  create(principal: Principal, keyHash: string, now: number): Session {
    const csrf = randomBytes(32).toString('base64url');
    const exp = now + SESSION_LIFETIME_MS;
    return principal.kind === 'admin'
      ? { kind: 'admin', keyHash, csrf, exp }
      : { kind: 'project', appId: principal.appId, keyId: principal.keyId, keyHash, csrf, exp };
  }

  encode(session: Session): string {
    const payload = Buffer.from(JSON.stringify(session), 'utf8').toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The session a cookie value holds, or null when it is malformed, forged or expired. */
  decode(value: string | undefined, now: number): Session | null {
    if (value === undefined || value.length > 2048) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = this.mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const session = asSession(parsed);
    return session !== null && session.exp > now ? session : null;
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(MAC_CONTEXT + payload).digest();
  }
}

function asSession(v: unknown): Session | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.keyHash !== 'string' || typeof o.csrf !== 'string' || typeof o.exp !== 'number') return null;
  if (o.kind === 'admin') return { kind: 'admin', keyHash: o.keyHash, csrf: o.csrf, exp: o.exp };
  if (o.kind === 'project' && typeof o.appId === 'number' && Number.isSafeInteger(o.appId) && typeof o.keyId === 'string') {
    return { kind: 'project', appId: o.appId, keyId: o.keyId, keyHash: o.keyHash, csrf: o.csrf, exp: o.exp };
  }
  return null;
}

/** Who a session acts as (the audit log's actor). */
export function principalOf(session: Session): Principal {
  return session.kind === 'admin' ? { kind: 'admin' } : { kind: 'project', appId: session.appId!, keyId: session.keyId! };
}

/** Constant-time comparison of the form's CSRF token with the session's. */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  // Compare fixed-length digests so the comparison leaks neither content nor length.
  const a = createHmac('sha256', 'csrf').update(submitted).digest();
  const b = createHmac('sha256', 'csrf').update(session.csrf).digest();
  return timingSafeEqual(a, b) && submitted.length > 0;
}

/**
 * Whether a state-changing request comes from a page of this very site: its Origin (or, when a
 * browser sent none, its Referer) names the host the request was sent to. Neither header: refused.
 */
export function isSameOrigin(headers: IncomingHttpHeaders): boolean {
  const host = headers.host;
  if (host === undefined || host === '') return false;
  const source = typeof headers.origin === 'string' ? headers.origin : typeof headers.referer === 'string' ? headers.referer : null;
  if (source === null || source === 'null') return false;
  try {
    const from = new URL(source);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    // Normalise the Host header with the same scheme, so `example.com:443` equals `https://example.com`.
    const to = new URL(`${from.protocol}//${host}`);
    return from.host === to.host && to.pathname === '/' && to.username === '' && to.password === '';
  } catch {
    return false;
  }
}
