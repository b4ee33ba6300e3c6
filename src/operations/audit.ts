/**
 * The audit trail of SPEC section 7: every change to keys, endpoints and secrets, with who, when
 * and from where. Details never carry a secret, a key or a person's data.
 */
import type { Principal } from '../auth/authenticator.js';
import type { AuditEntry, Store } from '../store/store.js';
import type { Actor, OperationDeps } from './deps.js';
import { requireProject } from './require-project.js';

export type AuditAction =
  | 'project.created'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'endpoint.created'
  | 'endpoint.updated'
  | 'secret.revealed'
  | 'secret.rotated'
  | 'events.recovered'
  | 'events.replayed'
  | 'subscriber.erased'
  | 'portal_session.created'
  | 'portal_session.opened';

/** `admin`, `key:<keyId>` for a project key, or `portal:<portalSessionId>` for a portal session. */
export function actorName(principal: Principal): string {
  switch (principal.kind) {
    case 'admin':
      return 'admin';
    case 'project':
      return `key:${principal.keyId}`;
    case 'portal':
      return `portal:${principal.portalSessionId}`;
  }
}

export async function recordAudit(
  store: Store,
  actor: Actor,
  appId: number,
  action: AuditAction,
  details: Record<string, unknown>,
  now: number,
): Promise<void> {
  await store.appendAudit({ appId, at: now, actor: actorName(actor.principal), action, details: { ...details, via: actor.via }, sourceIp: actor.ip });
}

/**
 * One page of a project's audit log, newest first. `cursor` is the previous page's `nextCursor`
 * (the id of its last entry); `nextCursor` is null on the last page.
 */
export async function listAuditLog(
  deps: OperationDeps,
  appId: number,
  page: { limit: number; cursor: number | null },
): Promise<{ data: AuditEntry[]; nextCursor: number | null }> {
  await requireProject(deps.store, appId);
  const rows = await deps.store.listAudit(appId, page.limit + 1, page.cursor);
  const data = rows.slice(0, page.limit);
  return { data, nextCursor: rows.length > page.limit ? data.at(-1)!.id : null };
}
