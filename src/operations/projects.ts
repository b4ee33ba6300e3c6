/** Projects and their API keys (SPEC section 5, "Projects"). */
import { ReghookError } from '../errors.js';
import { generateApiKey, hashToken } from '../secrets/tokens.js';
import type { Principal } from '../auth/authenticator.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { recordAudit } from './audit.js';
import type { Actor, OperationDeps } from './deps.js';
import { requireProject } from './require-project.js';

export { requireProject };

/** Creates and stores a key; the plaintext is answered once and never stored. */
async function issueKey(store: Store, appId: number, now: number): Promise<{ id: string; apiKey: string }> {
  const { id, key } = generateApiKey();
  await store.addApiKey({ id, appId, hash: hashToken(key), prefix: key.slice(0, 8), createdAt: now, revokedAt: null });
  return { id, apiKey: key };
}

/** A new project with its first API key (admin only: the route says so). */
export async function createProject(deps: OperationDeps, actor: Actor, input: { appId: number; name: string }) {
  const now = deps.clock.now();
  if ((await deps.store.createProject({ appId: input.appId, name: input.name, createdAt: now })) === 'exists') {
    throw new ReghookError('REGHOOK_PROJECT_EXISTS', `a project with appId ${input.appId} exists`, {
      errors: [{ path: '/appId', message: 'is taken' }],
    });
  }
  const key = await issueKey(deps.store, input.appId, now);
  await recordAudit(deps.store, actor, input.appId, 'project.created', { name: input.name, apiKeyId: key.id }, now);
  return { project: { appId: input.appId, name: input.name, createdAt: now }, apiKeyId: key.id, apiKey: key.apiKey };
}

/**
 * Who may create API keys (SPEC section 5): the admin and a full (not read-only) portal session,
 * which the admin opened; never a project key, so that a leaked key cannot mint a successor that
 * survives its revocation. Interfaces ask this to decide whether to offer creating one;
 * createApiKey enforces it.
 */
export function mayCreateApiKeys(principal: Principal): boolean {
  return principal.kind === 'admin' || (principal.kind === 'portal' && !principal.readOnly);
}

/** A new API key, answered once (see mayCreateApiKeys for who may). */
export async function createApiKey(deps: OperationDeps, actor: Actor, appId: number): Promise<{ id: string; apiKey: string }> {
  await requireProject(deps.store, appId);
  if (!mayCreateApiKeys(actor.principal)) {
    throw new ReghookError('REGHOOK_ADMIN_ONLY', 'creating an API key needs the admin token (or a full portal session); a project key may list and revoke keys only');
  }
  const now = deps.clock.now();
  const key = await issueKey(deps.store, appId, now);
  await recordAudit(deps.store, actor, appId, 'api_key.created', { apiKeyId: key.id }, now);
  return key;
}

/** The project's keys, never the keys themselves. */
export async function listApiKeys(deps: OperationDeps, appId: number): Promise<ApiKeyRecord[]> {
  await requireProject(deps.store, appId);
  return deps.store.listApiKeys(appId);
}

export async function revokeApiKey(deps: OperationDeps, actor: Actor, appId: number, keyId: string): Promise<void> {
  const now = deps.clock.now();
  if (!(await deps.store.revokeApiKey(appId, keyId, now))) {
    throw new ReghookError('REGHOOK_API_KEY_NOT_FOUND', `no active key ${keyId} in project ${appId}`);
  }
  await recordAudit(deps.store, actor, appId, 'api_key.revoked', { apiKeyId: keyId }, now);
}
