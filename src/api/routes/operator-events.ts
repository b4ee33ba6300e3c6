/** Operator notifications (SPEC section 5): the admin's list of what was (or is to be) told to REGHOOK_OPERATOR_WEBHOOK_URL. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { iso, type AppDeps } from '../http.js';
import { OperatorEventList } from '../schemas.js';

export async function operatorEventRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/operator-events',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'listOperatorEvents',
        tags: ['operator'],
        summary: 'Operator notifications (endpoint.failing, endpoint.recovered, event.failed), newest first',
        description:
          'Every notification stored for REGHOOK_OPERATOR_WEBHOOK_URL, with its delivery status and last attempt, and the exact envelope sent. ' +
          'Empty while operator notifications are not configured. Cursor-paginated by id.',
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: '^oev_[0-9A-HJKMNP-TV-Z]{26}$', description: 'nextCursor of the previous page' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: OperatorEventList },
      },
    },
    async (request) => {
      const page = await deps.store.listOperatorEvents(request.query.limit ?? 50, request.query.cursor ?? null);
      return {
        data: page.data.map((e) => ({
          id: e.id,
          type: e.type,
          status: e.status,
          attemptCount: e.attemptCount,
          createdAt: iso(e.createdAt),
          nextAttemptAt: iso(e.nextAttemptAt),
          deliveredAt: iso(e.deliveredAt),
          lastAttempt: e.lastAttempt === null ? null : { at: iso(e.lastAttempt.at), statusCode: e.lastAttempt.statusCode, error: e.lastAttempt.error },
          payload: JSON.parse(e.body) as { type: string; timestamp: string; data: Record<string, unknown> },
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
}
