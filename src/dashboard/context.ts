/**
 * What every dashboard route shares: reading and re-checking the session, the POST guard
 * (same origin + CSRF, and the one refusal of read-only sessions), project scoping (another
 * project's pages are 404, never 403), the cookies' attributes (strict, or embeddable when
 * REGHOOK_DASHBOARD_FRAME_ANCESTORS is set), pages, flashes and redirects.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminTokenSource, Authenticator } from '../auth/authenticator.js';
import { MAX_ID } from '../domain/ids.js';
import type { Actor, OperationDeps } from '../operations/deps.js';
import { hashesEqual } from '../secrets/tokens.js';
import type { Project } from '../store/store.js';
import { ConfirmationCodec } from './confirmation.js';
import { FLASH_COOKIE, FLASH_LIFETIME_MS, FlashCodec, type Flash } from './flash.js';
import { html } from './html.js';
import { sendPage, type Shell } from './layout.js';
import { SESSION_COOKIE, SESSION_LIFETIME_MS, SessionCodec, csrfMatches, isReadOnly, isSameOrigin, principalOf, type Session } from './session.js';

/** Why the sign-in page is shown again; fixed codes, so the query cannot inject text. */
export const SIGN_IN_MESSAGES = {
  'signed-out': 'You are signed out.',
  ended: 'Your session ended (it expired, or its API key was revoked). Sign in again.',
} as const;
export type SignInMessage = keyof typeof SIGN_IN_MESSAGES;

/** A form field sent exactly once as text; anything else (absent, repeated, not text) is undefined. */
export function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** What the dashboard needs: the operations' dependencies, the shared Authenticator, its cookie key. */
export interface DashboardDeps extends OperationDeps {
  authenticator: Authenticator;
  /** The admin token's hash: a session of the admin ends when the token changes. */
  adminToken: AdminTokenSource;
  /** 32-byte key that signs session cookies (derived from the secret key). */
  sessionKey: Buffer;
  /**
   * Origins whose pages may embed the dashboard (REGHOOK_DASHBOARD_FRAME_ANCESTORS); empty: none,
   * and the cookies stay SameSite=Strict.
   */
  frameAncestors: readonly string[];
  /** The dashboard's own origin when REGHOOK_PUBLIC_URL sets it: forms are then accepted from exactly it. */
  publicOrigin: string | undefined;
}

export class DashboardContext {
  readonly sessions: SessionCodec;
  readonly flashes: FlashCodec;
  readonly confirmations: ConfirmationCodec;

  constructor(readonly deps: DashboardDeps) {
    this.sessions = new SessionCodec(deps.sessionKey);
    this.flashes = new FlashCodec(deps.secretBox);
    this.confirmations = new ConfirmationCodec(deps.secretBox);
  }

  now(): number {
    return this.deps.clock.now();
  }

  /** Where a session starts: the admin's project list, or the key's (or portal session's) own project. */
  landing(session: Session): string {
    return session.kind === 'admin' ? '/projects' : `/projects/${session.appId}/webhooks`;
  }

  /** A page, under this deployment's framing policy. */
  sendPage(reply: FastifyReply, shell: Shell, status = 200): FastifyReply {
    return sendPage(reply, shell, status, this.deps.frameAncestors);
  }

  /**
   * The CSRF token a page's forms carry, or null for a read-only session: views render a form only
   * with a token, so a read-only session's pages hold none.
   */
  formToken(session: Session): string | null {
    return isReadOnly(session) ? null : session.csrf;
  }

  /**
   * Every dashboard cookie's attributes. Strict by default. When the dashboard may be embedded, a
   * cookie set inside a frame on another site comes back only if it is `SameSite=None; Secure;
   * Partitioned` (browsers block third-party cookies; a partitioned one is kept per embedding
   * site), so that is what they are then; the Origin check and the CSRF token still guard every
   * form. Secure is honoured over http on loopback only (config.ts refuses other http setups).
   */
  private cookieOptions(request: FastifyRequest, maxAgeSeconds: number) {
    const base = { path: '/', httpOnly: true, maxAge: maxAgeSeconds };
    return this.deps.frameAncestors.length === 0
      ? { ...base, sameSite: 'strict' as const, secure: request.protocol === 'https' }
      : { ...base, sameSite: 'none' as const, secure: true, partitioned: true };
  }

  startSession(request: FastifyRequest, reply: FastifyReply, session: Session): void {
    reply.setCookie(SESSION_COOKIE, this.sessions.encode(session), this.cookieOptions(request, SESSION_LIFETIME_MS / 1000));
  }

  endSession(request: FastifyRequest, reply: FastifyReply): void {
    const { maxAge: _drop, ...options } = this.cookieOptions(request, 0);
    reply.clearCookie(SESSION_COOKIE, options);
    reply.clearCookie(FLASH_COOKIE, options);
  }

  /**
   * The session of this request, if its cookie is genuine, unexpired, and the credential behind it
   * is still valid (a revoked key, or a changed admin token, ends it). 'ended' clears the cookie.
   */
  async readSession(request: FastifyRequest, reply: FastifyReply): Promise<Session | 'none' | 'ended'> {
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie === undefined || cookie === '') return 'none';
    const session = this.sessions.decode(cookie, this.now());
    if (session !== null && (await this.credentialStillValid(session))) return session;
    this.endSession(request, reply);
    return 'ended';
  }

  private async credentialStillValid(session: Session): Promise<boolean> {
    if (session.kind === 'admin') return hashesEqual(session.keyHash, await this.deps.adminToken.current());
    // Its link is used up by design: a portal session lasts as its signed cookie says.
    if (session.kind === 'portal') return true;
    const key = await this.deps.store.findApiKeyByHash(session.keyHash);
    return (
      key !== null && key.revokedAt === null && key.appId === session.appId && key.id === session.keyId && hashesEqual(key.hash, session.keyHash)
    );
  }

  /** For pages: the session, or null after answering with a redirect to the sign-in page. */
  async requireSession(request: FastifyRequest, reply: FastifyReply): Promise<Session | null> {
    const session = await this.readSession(request, reply);
    if (typeof session === 'object') return session;
    this.redirect(reply, session === 'ended' ? '/?m=ended' : '/');
    return null;
  }

  /** Whether a POST comes from a page of this dashboard (see isSameOrigin). */
  isSameOrigin(request: FastifyRequest): boolean {
    return isSameOrigin(request.headers, this.deps.publicOrigin);
  }

  /**
   * For state-changing requests: same origin (Origin, else Referer, names this Host), a live
   * session that may change things (a read-only one may not: the one place that refuses it), and
   * the session's CSRF token in the form. Answers 403 (or the sign-in redirect) itself.
   */
  async guardPost(request: FastifyRequest, reply: FastifyReply): Promise<Session | null> {
    if (!this.isSameOrigin(request)) {
      this.forbidden(reply, null, 'This request did not come from a page of this dashboard (its Origin does not match).');
      return null;
    }
    const session = await this.requireSession(request, reply);
    if (session === null) return null;
    if (isReadOnly(session)) {
      this.forbidden(reply, session, 'This is a read-only session: it shows everything and changes nothing.');
      return null;
    }
    if (!csrfMatches(session, formField(request.body, '_csrf'))) {
      this.forbidden(reply, session, 'The form was stale or forged (its CSRF token does not match your session). Reload the page and try again.');
      return null;
    }
    return session;
  }

  /** The project this session may open; null for a malformed id, a missing project, or another project's id. */
  async projectFor(session: Session, rawAppId: string): Promise<Project | null> {
    if (!/^[1-9][0-9]{0,9}$/.test(rawAppId)) return null;
    const appId = Number(rawAppId);
    if (appId > MAX_ID) return null;
    if (session.kind !== 'admin' && session.appId !== appId) return null;
    return this.deps.store.getProject(appId);
  }

  /** The session's principal as the operations' Actor (audited as done in the dashboard). */
  actor(request: FastifyRequest, session: Session): Actor {
    return { principal: principalOf(session), ip: request.ip, via: 'dashboard' };
  }

  /** Reads and clears this session's flash. */
  takeFlash(request: FastifyRequest, reply: FastifyReply, session: Session): Flash | null {
    const value = request.cookies[FLASH_COOKIE];
    if (value === undefined) return null;
    const { maxAge: _drop, ...options } = this.cookieOptions(request, 0);
    reply.clearCookie(FLASH_COOKIE, options);
    return this.flashes.open(session, value, this.now());
  }

  /** 303 See Other (redirect-after-POST), with a flash for the next page when given. */
  redirect(reply: FastifyReply, location: string, flash?: { session: Session; value: Flash }): FastifyReply {
    if (flash !== undefined) {
      reply.setCookie(
        FLASH_COOKIE,
        this.flashes.seal(flash.session, flash.value, this.now()),
        this.cookieOptions(reply.request, FLASH_LIFETIME_MS / 1000),
      );
    }
    return reply.code(303).header('location', location).send();
  }

  notFound(reply: FastifyReply, session: Session | null): FastifyReply {
    return this.sendPage(
      reply,
      {
        title: 'Not found',
        session,
        main: html`<h1>Not found</h1><p>There is no such page, or it belongs to a project you cannot open.</p><p><a href="${session === null ? '/' : this.landing(session)}">Back to your dashboard</a></p>`,
      },
      404,
    );
  }

  forbidden(reply: FastifyReply, session: Session | null, reason: string): FastifyReply {
    return this.sendPage(
      reply,
      { title: 'Request refused', session, main: html`<h1>Request refused</h1><p>${reason}</p><p>Nothing was changed.</p><p><a href="/">Back to the dashboard</a></p>` },
      403,
    );
  }
}
