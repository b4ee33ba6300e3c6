/** Developer Tools -> Webhooks: the endpoint, its signing secret, and the test webhook. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { checkEndpointUrl } from '../../dispatch/network-policy.js';
import { ReghookError } from '../../errors.js';
import { generateSecret } from '../../signing/standard-webhooks.js';
import type { Endpoint } from '../../store/store.js';
import { iso, type AppDeps } from '../app.js';
import { recordAudit } from '../audit.js';
import { AppIdParams, Secret, TestResult, Webhook, WebhookBody } from '../schemas.js';

/** How long a rotated-out secret keeps co-signing. */
export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000;

const view = (e: Endpoint) => ({ url: e.url, enabled: e.enabled, createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt) });

export async function webhookRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, secretBox } = deps;
  const common = { config: { access: 'project' as const } };

  const endpointOr404 = async (appId: number) => {
    if (!(await store.getProject(appId))) throw new ReghookError('REGHOOK_NOT_FOUND', `project ${appId} not found`);
    const endpoint = await store.getEndpoint(appId);
    if (!endpoint) throw new ReghookError('REGHOOK_NOT_FOUND', `project ${appId} has no webhook endpoint yet; PUT one first`);
    return endpoint;
  };

  app.get(
    '/v1/projects/:appId/webhook',
    { ...common, schema: { tags: ['webhook'], summary: 'The endpoint', params: AppIdParams, response: { 200: Webhook } } },
    async (request) => view(await endpointOr404(request.params.appId)),
  );

  app.put(
    '/v1/projects/:appId/webhook',
    {
      ...common,
      schema: {
        tags: ['webhook'],
        summary: 'Set the endpoint URL (active on save); the first time, answers the signing secret',
        params: AppIdParams,
        body: WebhookBody,
        response: { 200: Webhook },
      },
    },
    async (request) => {
      const { appId } = request.params;
      if (!(await store.getProject(appId))) throw new ReghookError('REGHOOK_NOT_FOUND', `project ${appId} not found`);
      const { url, enabled = true } = request.body;
      const refused = checkEndpointUrl(deps.networkPolicy, url);
      if (refused !== null) {
        throw new ReghookError('REGHOOK_UNPROCESSABLE', `the endpoint URL cannot be used: ${refused}`, {
          errors: [{ path: '/url', message: refused }],
        });
      }
      const secret = generateSecret();
      const now = clock.now();
      const { endpoint, created } = await store.putEndpoint(appId, new URL(url).href, enabled, secretBox.seal(secret), now);
      await recordAudit(store, request, appId, created ? 'endpoint.created' : 'endpoint.updated', { url: endpoint.url, enabled: endpoint.enabled }, now);
      if (endpoint.enabled) deps.wakeDispatcher();
      return created ? { ...view(endpoint), signingSecret: secret } : view(endpoint);
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/secret',
    { ...common, schema: { tags: ['webhook'], summary: 'Reveal the signing secret', params: AppIdParams, response: { 200: Secret } } },
    async (request) => {
      const endpoint = await endpointOr404(request.params.appId);
      await recordAudit(store, request, endpoint.appId, 'secret.revealed', {}, clock.now());
      const valid = endpoint.previousSecretExpiresAt !== null && endpoint.previousSecretExpiresAt > clock.now();
      return { signingSecret: secretBox.open(endpoint.secretSealed), previousSecretExpiresAt: valid ? iso(endpoint.previousSecretExpiresAt) : null };
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/secret/rotate',
    {
      ...common,
      schema: {
        tags: ['webhook'],
        summary: 'Rotate the signing secret; the old one keeps co-signing for 24 h',
        params: AppIdParams,
        response: { 200: Secret },
      },
    },
    async (request) => {
      const { appId } = request.params;
      await endpointOr404(appId);
      const now = clock.now();
      const secret = generateSecret();
      const expires = now + PREVIOUS_SECRET_VALIDITY_MS;
      await store.rotateSecret(appId, secretBox.seal(secret), expires, now);
      await recordAudit(store, request, appId, 'secret.rotated', { previousSecretExpiresAt: iso(expires) }, now);
      return { signingSecret: secret, previousSecretExpiresAt: iso(expires) };
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/test',
    {
      ...common,
      schema: {
        tags: ['webhook'],
        summary: 'Send a sample event now and answer with the attempt (not retried)',
        params: AppIdParams,
        response: { 200: TestResult },
      },
    },
    async (request) => {
      const { appId } = request.params;
      await endpointOr404(appId);
      const outcome = await deps.manual.sendTest(appId);
      if (!outcome) throw new ReghookError('REGHOOK_NOT_FOUND', `project ${appId} has no webhook endpoint`);
      return {
        success: outcome.success,
        statusCode: outcome.statusCode,
        durationMs: Math.round(outcome.durationMs),
        error: outcome.errorKind ?? (outcome.success ? null : `http_${outcome.statusCode}`),
        responseBody: outcome.responseBody,
      };
    },
  );
}
