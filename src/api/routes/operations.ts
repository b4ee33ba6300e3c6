/** Health, readiness, metrics, the generated API description and the webhook body's JSON Schema. */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http.js';
import { REGISTERED_USER_SCHEMA_PATH, registeredUserJsonSchema } from '../openapi.js';
import { Health, Readiness } from '../schemas.js';

/** The schema changes only with a new reghook version: an hour in caches, then revalidated by ETag. */
const SCHEMA_CACHE_CONTROL = 'public, max-age=3600';

export async function operationsRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'The process is alive',
        description: 'Answers 200 while the process runs; it does not ask the database (see /readyz).',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'The database answers and its migrations are applied',
        description: 'For a load balancer or an orchestrator: 200 when the database answers, takes writes and has its migrations; 503 otherwise.',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const ready = await deps.store.isReady().catch(() => false);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics (no personal data, no per-project labels)',
        description: 'The Prometheus text exposition format; see the monitoring section of docs/operations.md.',
      },
    },
    async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  const schemaText = JSON.stringify(registeredUserJsonSchema, null, 2);
  const schemaTag = `"${createHash('sha256').update(schemaText).digest('base64url').slice(0, 27)}"`;
  app.get(
    REGISTERED_USER_SCHEMA_PATH,
    {
      schema: {
        operationId: 'getRegisteredUserSchema',
        tags: ['operations'],
        summary: "The webhook body's JSON Schema (draft 2020-12)",
        description: 'The same schema the receiver SDK exports as `registeredUserEventSchema`; validate a delivered body against it.',
      },
    },
    async (request, reply) => {
      void reply.header('cache-control', SCHEMA_CACHE_CONTROL).header('etag', schemaTag);
      const asked = request.headers['if-none-match'];
      if (asked !== undefined && asked.split(',').some((tag) => tag.trim() === schemaTag || tag.trim() === '*')) {
        return reply.code(304).send();
      }
      return reply.type('application/schema+json').send(schemaText);
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
