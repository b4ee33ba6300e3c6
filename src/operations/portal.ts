/**
 * Portal sessions (SPEC sections 5 and 7): the admin mints a single-use, short-lived link that
 * signs a browser into one project's dashboard without a key, so the platform can open (or embed)
 * Developer Tools → Webhooks from its own merchant panel. Only the link token's SHA-256 is stored;
 * the token is answered once, inside the URL, and never audited or logged.
 */
import type { Principal } from '../auth/authenticator.js';
import { parseDuration } from '../domain/duration.js';
import { ReghookError } from '../errors.js';
import { generatePortalToken, hashToken, PORTAL_TOKEN_PATTERN } from '../secrets/tokens.js';
import type { PortalLink } from '../store/store.js';
import { recordAudit } from './audit.js';
import type { Actor, OperationDeps } from './deps.js';
import { requireProject } from './require-project.js';

/** Where a link points, below the public URL: the dashboard's route that opens the session. */
export const PORTAL_PATH = '/portal/';
export const PORTAL_LINK_DEFAULT_EXPIRES_IN = '10m';
/** The longest a link may stay usable (SPEC: at most 24 h). */
export const PORTAL_LINK_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;
const PORTAL_LINK_MIN_LIFETIME_MS = 1_000;

export interface PortalSessionInput {
  /** How long the link stays usable: `10m` (default), `1h`, … at most `24h`. */
  expiresIn?: string | undefined;
  readOnly?: boolean | undefined;
  /** The public URL the link is built on (REGHOOK_PUBLIC_URL, or the listen URL). */
  baseUrl: string;
}

export interface NewPortalSession {
  id: string;
  url: string;
  expiresAt: number;
  readOnly: boolean;
}

/** The principal a portal session acts as (the audit log names it `portal:<id>`). */
export function portalPrincipal(link: Pick<PortalLink, 'id' | 'appId' | 'readOnly'>): Principal {
  return { kind: 'portal', appId: link.appId, portalSessionId: link.id, readOnly: link.readOnly };
}

/**
 * Mints a portal session link for a project (admin only: another project's key meets
 * REGHOOK_PROJECT_NOT_FOUND before this, its own REGHOOK_ADMIN_ONLY here). Audited as
 * `portal_session.created` with the link's id, mode and expiry, never its token.
 */
export async function createPortalSession(deps: OperationDeps, actor: Actor, appId: number, input: PortalSessionInput): Promise<NewPortalSession> {
  await requireProject(deps.store, appId);
  if (actor.principal.kind !== 'admin') {
    throw new ReghookError('REGHOOK_ADMIN_ONLY', 'minting a portal session needs the admin token');
  }
  const expiresIn = input.expiresIn ?? PORTAL_LINK_DEFAULT_EXPIRES_IN;
  const lifetime = parseDuration(expiresIn);
  if (lifetime === undefined || lifetime < PORTAL_LINK_MIN_LIFETIME_MS || lifetime > PORTAL_LINK_MAX_LIFETIME_MS) {
    const message = lifetime !== undefined && lifetime > PORTAL_LINK_MAX_LIFETIME_MS ? 'must be at most 24h' : 'must be a duration from 1s to 24h, such as 10m or 1h';
    throw new ReghookError('REGHOOK_VALIDATION', `invalid request: /expiresIn ${message}`, { errors: [{ path: '/expiresIn', message }] });
  }
  const now = deps.clock.now();
  const readOnly = input.readOnly ?? false;
  const { id, token } = generatePortalToken();
  const expiresAt = now + lifetime;
  await deps.store.addPortalLink({ id, appId, hash: hashToken(token), readOnly, createdAt: now, expiresAt, usedAt: null });
  await recordAudit(deps.store, actor, appId, 'portal_session.created', { portalSessionId: id, readOnly, expiresAt: new Date(expiresAt).toISOString() }, now);
  return { id, url: `${input.baseUrl.replace(/\/$/, '')}${PORTAL_PATH}${token}`, expiresAt, readOnly };
}

/**
 * Uses a link: the link it was (now used), or null when the token is malformed, unknown, expired
 * or used already; then nothing is recorded (nothing names a project the caller may not know).
 * A use is audited as `portal_session.opened` by the session itself, with the caller's address.
 */
export async function openPortalSession(deps: OperationDeps, token: string, ip: string | null): Promise<PortalLink | null> {
  if (!PORTAL_TOKEN_PATTERN.test(token)) return null;
  const now = deps.clock.now();
  const link = await deps.store.consumePortalLink(hashToken(token), now);
  if (link === null) return null;
  const actor: Actor = { principal: portalPrincipal(link), ip, via: 'dashboard' };
  await recordAudit(deps.store, actor, link.appId, 'portal_session.opened', { portalSessionId: link.id, readOnly: link.readOnly }, now);
  return link;
}
