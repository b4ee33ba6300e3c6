/** Developer Tools -> Webhooks: the endpoint and its signing secret (SPEC section 5). */
import { checkEndpointUrl } from '../dispatch/network-policy.js';
import { checkCustomHeaders, MASKED_HEADER_VALUE, type CustomHeaders } from '../domain/custom-headers.js';
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

export interface EndpointInput {
  url: string;
  enabled: boolean;
  /** Replaces the custom headers (`{}` clears them); undefined keeps them. */
  headers?: CustomHeaders | undefined;
  /** Caps deliveries per second (null: no cap); undefined keeps the one set. */
  rateLimitPerSecond?: number | null | undefined;
}

/**
 * Sets the endpoint URL, state and custom headers; active on save. A URL the network policy
 * refuses (or not http(s), with credentials, too long) is REGHOOK_ENDPOINT_URL_REFUSED naming
 * `/url`; a reserved or repeated header name is REGHOOK_HEADER_REFUSED naming `/headers/<name>`.
 * Header values are sealed like the signing secret and audited by name only.
 */
export async function setEndpoint(deps: OperationDeps, actor: Actor, appId: number, input: EndpointInput): Promise<SetEndpointResult> {
  await requireProject(deps.store, appId);
  if (input.headers !== undefined) {
    const refusals = checkCustomHeaders(input.headers);
    if (refusals.length > 0) {
      throw new ReghookError('REGHOOK_HEADER_REFUSED', `custom headers refused: ${refusals.map((r) => (r.name ? `${r.name}: ${r.reason}` : r.reason)).join('; ')}`, {
        errors: refusals.map((r) => ({ path: r.name ? `/headers/${r.name.replace(/~/g, '~0').replace(/\//g, '~1')}` : '/headers', message: r.reason })),
      });
    }
  }
  const refused = checkEndpointUrl(deps.networkPolicy, input.url);
  if (refused !== null) {
    throw new ReghookError('REGHOOK_ENDPOINT_URL_REFUSED', `the endpoint URL cannot be used: ${refused}`, {
      errors: [{ path: '/url', message: refused }],
    });
  }
  const secret = generateSecret();
  const now = deps.clock.now();
  const headersSealed =
    input.headers === undefined ? undefined : Object.keys(input.headers).length === 0 ? null : deps.secretBox.seal(JSON.stringify(input.headers));
  const changes = { ...(headersSealed === undefined ? {} : { headersSealed }), ...(input.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: input.rateLimitPerSecond }) };
  const { endpoint, created } = await deps.store.putEndpoint(appId, new URL(input.url).href, input.enabled, deps.secretBox.seal(secret), now, changes);
  const details: Record<string, unknown> = { url: endpoint.url, enabled: endpoint.enabled };
  // Names only: a value is as secret as the signing secret.
  if (input.headers !== undefined) details.headers = Object.keys(input.headers);
  if (input.rateLimitPerSecond !== undefined) details.rateLimitPerSecond = input.rateLimitPerSecond;
  await recordAudit(deps.store, actor, appId, created ? 'endpoint.created' : 'endpoint.updated', details, now);
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

/** The custom headers' names with masked values, as every read shows them. */
export function maskedHeaders(deps: Pick<OperationDeps, 'secretBox'>, endpoint: Endpoint): Record<string, string> {
  if (endpoint.headersSealed === null) return {};
  const headers = JSON.parse(deps.secretBox.open(endpoint.headersSealed)) as Record<string, string>;
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED_HEADER_VALUE]));
}
