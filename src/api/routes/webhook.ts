/** Developer Tools -> Webhooks: the endpoint, its signing secret, and the test webhook (thin adapters over operations/). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { attemptErrorLabel } from '../../domain/attempt-error.js';
import { sendTestWebhook } from '../../operations/deliveries.js';
import { maskedHeaders, requireEndpoint, revealSecret, rotateSecret, setEndpoint } from '../../operations/endpoint.js';
import { webhookStats } from '../../operations/stats.js';
import type { Endpoint } from '../../store/store.js';
import { actorOf, iso, type AppDeps } from '../http.js';
import { AppIdParams, Secret, StatsQuery, TestResult, Webhook, WebhookBody, WebhookStats } from '../schemas.js';

export async function webhookRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const view = (e: Endpoint) => ({ url: e.url, enabled: e.enabled, headers: maskedHeaders(deps, e), rateLimitPerSecond: e.rateLimitPerSecond, createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt) });
  const common = { config: { access: 'project' as const } };

  app.get(
    '/v1/projects/:appId/webhook',
    {
      ...common,
      schema: {
        operationId: 'getEndpoint',
        tags: ['webhook'],
        summary: 'The endpoint',
        description: 'Its URL and state; never the signing secret (reveal it with POST …/webhook/secret).',
        params: AppIdParams,
        response: { 200: Webhook },
      },
    },
    async (request) => view(await requireEndpoint(deps, request.params.appId)),
  );

  app.get(
    '/v1/projects/:appId/webhook/stats',
    {
      ...common,
      schema: {
        operationId: 'getWebhookStats',
        tags: ['webhook'],
        summary: "One window's delivery figures and the endpoint's health",
        description:
          'Events created inside the window (1h, 24h, 7d or 30d back from now; default 24h) by their status now, attempts started inside it, the latency of the successful ones, and the health. Whole hours come from rollups kept on write, the partial hours at both ends from the rows: cheap at any size, exact to the millisecond.',
        params: AppIdParams,
        querystring: StatsQuery,
        response: { 200: WebhookStats },
      },
    },
    async (request) => {
      const s = await webhookStats(deps, request.params.appId, request.query.window ?? '24h');
      return { ...s, failingSince: iso(s.failingSince), lastSuccessAt: iso(s.lastSuccessAt), lastFailureAt: iso(s.lastFailureAt) };
    },
  );

  app.put(
    '/v1/projects/:appId/webhook',
    {
      ...common,
      schema: {
        operationId: 'setEndpoint',
        tags: ['webhook'],
        summary: 'Set the endpoint URL (active on save); the first time, answers the signing secret',
        description:
          'The URL must be http or https, carry no user name or password, be at most 2048 characters and point to a host the network policy allows (else 422). A changed URL applies to every pending delivery.',
        params: AppIdParams,
        body: WebhookBody,
        response: { 200: Webhook },
      },
    },
    async (request) => {
      const { url, enabled = true, headers, rateLimitPerSecond } = request.body;
      const { endpoint, signingSecret } = await setEndpoint(deps, actorOf(request), request.params.appId, { url, enabled, headers, rateLimitPerSecond });
      return signingSecret === null ? view(endpoint) : { ...view(endpoint), signingSecret };
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/secret',
    {
      ...common,
      schema: {
        operationId: 'revealSigningSecret',
        tags: ['webhook'],
        summary: 'Reveal the signing secret',
        description: 'The current secret, and until when a rotated-out one still co-signs (or null). Each reveal is audited.',
        params: AppIdParams,
        response: { 200: Secret },
      },
    },
    async (request) => {
      const secret = await revealSecret(deps, actorOf(request), request.params.appId);
      return { signingSecret: secret.signingSecret, previousSecretExpiresAt: iso(secret.previousSecretExpiresAt) };
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/secret/rotate',
    {
      ...common,
      schema: {
        operationId: 'rotateSigningSecret',
        tags: ['webhook'],
        summary: 'Rotate the signing secret; the old one keeps co-signing for 24 h',
        description: 'For the next 24 hours every webhook carries two signatures, one per secret, so receivers keep verifying while the new secret is deployed.',
        params: AppIdParams,
        response: { 200: Secret },
      },
    },
    async (request) => {
      const secret = await rotateSecret(deps, actorOf(request), request.params.appId);
      return { signingSecret: secret.signingSecret, previousSecretExpiresAt: iso(secret.previousSecretExpiresAt) };
    },
  );

  app.post(
    '/v1/projects/:appId/webhook/test',
    {
      ...common,
      schema: {
        operationId: 'sendTestWebhook',
        tags: ['webhook'],
        summary: 'Send a sample event now and answer with the attempt (not retried)',
        description: 'Signed like a real webhook; it creates no event in the delivery log. A failing endpoint still answers 200 here, with `success: false`.',
        params: AppIdParams,
        response: { 200: TestResult },
      },
    },
    async (request) => {
      const outcome = await sendTestWebhook(deps, request.params.appId);
      return {
        success: outcome.success,
        statusCode: outcome.statusCode,
        durationMs: Math.round(outcome.durationMs),
        error: attemptErrorLabel(outcome),
        responseBody: outcome.responseBody,
      };
    },
  );
}
