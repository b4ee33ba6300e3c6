/** Developer Tools -> Webhooks: the endpoint and its signing secret (SPEC section 5). */
import { checkEndpointUrl } from '../dispatch/network-policy.js';
import { ReghookError } from '../errors.js';
import { generateSecret } from '@reghook/receiver/signing';
import type { Endpoint } from '../store/store.js';
import { recordAudit } from './audit.js';
import type { Actor, OperationDeps } from './deps.js';
import { requireProject } from './projects.js';

/** How long a rotated-out secret keeps co-signing. */
export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** The project's endpoint, or REGHOOK_PROJECT_NOT_FOUND / REGHOOK_ENDPOINT_NOT_FOUND. */
export async function requireEndpoint(deps: OperationDeps, appId: number): Promise<Endpoint> {
  await requireProject(deps.store, appId);
  const endpoint = await deps.store.getEndpoint(appId);
  if (!endpoint) throw new ReghookError('REGHOOK_ENDPOINT_NOT_FOUND', `project ${appId} has no webhook endpoint yet; set one first`);
  return endpoint;
}

export interface SetEndpointResult {
  endpoint: Endpoint;
  created: boolean;
  /** The signing secret, answered once: when the endpoint is created. */
  signingSecret: string | null;
}

/**
 * Sets the endpoint URL and state; active on save. A URL the network policy refuses (or not
 * http(s), with credentials, too long) is REGHOOK_ENDPOINT_URL_REFUSED naming `/url`.
 */
export async function setEndpoint(deps: OperationDeps, actor: Actor, appId: number, input: { url: string; enabled: boolean }): Promise<SetEndpointResult> {
  await requireProject(deps.store, appId);
  const refused = checkEndpointUrl(deps.networkPolicy, input.url);
  if (refused !== null) {
    throw new ReghookError('REGHOOK_ENDPOINT_URL_REFUSED', `the endpoint URL cannot be used: ${refused}`, {
      errors: [{ path: '/url', message: refused }],
    });
  }
  const secret = generateSecret();
  const now = deps.clock.now();
  const { endpoint, created } = await deps.store.putEndpoint(appId, new URL(input.url).href, input.enabled, deps.secretBox.seal(secret), now);
  await recordAudit(deps.store, actor, appId, created ? 'endpoint.created' : 'endpoint.updated', { url: endpoint.url, enabled: endpoint.enabled }, now);
  return { endpoint, created, signingSecret: created ? secret : null };
}

/** The current signing secret (audited), and until when the rotated-out one still co-signs. */
export async function revealSecret(deps: OperationDeps, actor: Actor, appId: number): Promise<{ signingSecret: string; previousSecretExpiresAt: number | null }> {
  const endpoint = await requireEndpoint(deps, appId);
  const now = deps.clock.now();
  await recordAudit(deps.store, actor, appId, 'secret.revealed', {}, now);
  const previousValid = endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > now;
  return { signingSecret: deps.secretBox.open(endpoint.secretSealed), previousSecretExpiresAt: previousValid ? endpoint.previousSecretExpiresAt : null };
}

/** A new signing secret; the old one keeps co-signing for PREVIOUS_SECRET_VALIDITY_MS. */
export async function rotateSecret(deps: OperationDeps, actor: Actor, appId: number): Promise<{ signingSecret: string; previousSecretExpiresAt: number }> {
  await requireEndpoint(deps, appId);
  const now = deps.clock.now();
  const secret = generateSecret();
  const expires = now + PREVIOUS_SECRET_VALIDITY_MS;
  await deps.store.rotateSecret(appId, deps.secretBox.seal(secret), expires, now);
  await recordAudit(deps.store, actor, appId, 'secret.rotated', { previousSecretExpiresAt: new Date(expires).toISOString() }, now);
  return { signingSecret: secret, previousSecretExpiresAt: expires };
}
