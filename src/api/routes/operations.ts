/** Health, readiness and the generated API description. */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http.js';

export async function operationsRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], security: [], summary: 'The process is alive' } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], security: [], summary: 'The database answers and its migrations are applied' } },
    async (_request, reply) => {
      const ready = await deps.store.isReady().catch(() => false);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], security: [], summary: 'Prometheus metrics (no personal data, no per-project labels)' } },
    async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
