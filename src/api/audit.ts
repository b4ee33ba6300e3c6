/**
 * The audit trail of SPEC section 7: every change to keys, endpoints and secrets, with who, when
 * and from where. Details never carry a secret or a key.
 */
import type { FastifyRequest } from 'fastify';
import type { Principal } from './auth.js';
import type { Store } from '../store/store.js';

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
export function actorOf(principal: Principal | null): string {
  if (principal === null) return 'unknown';
  return principal.kind === 'admin' ? 'admin' : `key:${principal.keyId}`;
}

export async function recordAudit(
  store: Store,
  request: Pick<FastifyRequest, 'principal' | 'ip'>,
  appId: number,
  action: AuditAction,
  details: Record<string, unknown>,
  now: number,
  via: 'api' | 'dashboard' = 'api',
): Promise<void> {
  await store.appendAudit({ appId, at: now, actor: actorOf(request.principal), action, details: { ...details, via }, sourceIp: request.ip });
}
