/**
 * Dashboard sessions: a cookie holding a base64url JSON payload and its HMAC-SHA256 under the
 * service's session key. It carries who signed in (never the raw token: a hash of it, so revoking
 * the key ends the session; for a portal session, the link's public id and whether it is
 * read-only), the session's CSRF token and its expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/authenticator.js';

export const SESSION_COOKIE = 'reghook_session';
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Domain separation: this key signs nothing else with this prefix. */
const MAC_CONTEXT = 'reghook dashboard session v1\n';

interface SessionBase {
  /** Per-session token every state-changing form echoes. */
  csrf: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/**
 * Who a session is. `keyHash` is the SHA-256 (hex) of the token signed in with (the admin token,
 * or the project key whose public id is `keyId`, the audit log's actor). A `portal` session was
 * opened through a portal session link (`portalSessionId`, its public id); it reaches its
 * project only, and a read-only one changes nothing.
 */
export type Session =
  | (SessionBase & { kind: 'admin'; keyHash: string })
  | (SessionBase & { kind: 'project'; appId: number; keyId: string; keyHash: string })
  | (SessionBase & { kind: 'portal'; appId: number; portalSessionId: string; readOnly: boolean });

/** A read-only portal session: it sees everything and changes nothing (no forms; every POST 403). */
export const isReadOnly = (session: Session): boolean => session.kind === 'portal' && session.readOnly;

export class SessionCodec {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the session key must be 32 bytes');
  }

  /** A new session for the principal that `keyHash` authenticated, or for a portal session's principal. */
  create(principal: Principal, keyHash: string, now: number): Session {
    const csrf = randomBytes(32).toString('base64url');
    const exp = now + SESSION_LIFETIME_MS;
    switch (principal.kind) {
      case 'admin':
        return { kind: 'admin', keyHash, csrf, exp };
      case 'project':
        return { kind: 'project', appId: principal.appId, keyId: principal.keyId, keyHash, csrf, exp };
      case 'portal':
        return { kind: 'portal', appId: principal.appId, portalSessionId: principal.portalSessionId, readOnly: principal.readOnly, csrf, exp };
    }
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
  if (typeof o.csrf !== 'string' || typeof o.exp !== 'number') return null;
  const { csrf, exp } = o;
  const appId = typeof o.appId === 'number' && Number.isSafeInteger(o.appId) ? o.appId : null;
  if (o.kind === 'admin' && typeof o.keyHash === 'string') return { kind: 'admin', keyHash: o.keyHash, csrf, exp };
  if (o.kind === 'project' && appId !== null && typeof o.keyId === 'string' && typeof o.keyHash === 'string') {
    return { kind: 'project', appId, keyId: o.keyId, keyHash: o.keyHash, csrf, exp };
  }
  if (o.kind === 'portal' && appId !== null && typeof o.portalSessionId === 'string' && typeof o.readOnly === 'boolean') {
    return { kind: 'portal', appId, portalSessionId: o.portalSessionId, readOnly: o.readOnly, csrf, exp };
  }
  return null;
}

/** Who a session acts as (the audit log's actor). */
export function principalOf(session: Session): Principal {
  switch (session.kind) {
    case 'admin':
      return { kind: 'admin' };
    case 'project':
      return { kind: 'project', appId: session.appId, keyId: session.keyId };
    case 'portal':
      return { kind: 'portal', appId: session.appId, portalSessionId: session.portalSessionId, readOnly: session.readOnly };
  }
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
 * browser sent none, its Referer) names the host the request was sent to, or, when the dashboard's
 * public origin is configured (REGHOOK_PUBLIC_URL), is exactly that origin, scheme and port
 * included. Neither header: refused.
 *
 * A form inside an embedded dashboard sends the frame's own origin (the dashboard's), never the
 * embedding page's: the embedding origins are not accepted here, only allowed to frame it.
 */
export function isSameOrigin(headers: IncomingHttpHeaders, publicOrigin?: string): boolean {
  const host = headers.host;
  if (host === undefined || host === '') return false;
  const source = typeof headers.origin === 'string' ? headers.origin : typeof headers.referer === 'string' ? headers.referer : null;
  if (source === null || source === 'null') return false;
  try {
    const from = new URL(source);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    if (publicOrigin !== undefined) return from.origin === publicOrigin;
    // Normalise the Host header with the same scheme, so `example.com:443` equals `https://example.com`.
    const to = new URL(`${from.protocol}//${host}`);
    return from.host === to.host && to.pathname === '/' && to.username === '' && to.password === '';
  } catch {
    return false;
  }
}
