/**
 * The audit trail of SPEC section 7: every change to keys, endpoints and secrets, with who, when
 * and from where. Details never carry a secret or a key.
 */
import type { Principal } from '../auth/authenticator.js';
import type { Store } from '../store/store.js';
import type { Actor } from './deps.js';

export type AuditAction =
  | 'project.created'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'endpoint.created'
  | 'endpoint.updated'
  | 'secret.revealed'
  | 'secret.rotated'
  | 'events.recovered'
  | 'subscriber.erased';

/** `admin`, or `key:<keyId>` for a project key. */
export function actorName(principal: Principal): string {
  return principal.kind === 'admin' ? 'admin' : `key:${principal.keyId}`;
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
