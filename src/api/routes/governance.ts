/** The audit log and the erasure of one person (SPEC section 7). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listAuditLog } from '../../operations/audit.js';
import { eraseSubscriber } from '../../operations/deliveries.js';
import { actorOf, iso, type AppDeps } from '../http.js';
import { AppIdParams, AuditLog, Erasure, RegistrationBody } from '../schemas.js';

export async function governanceRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/projects/:appId/audit-log',
    {
      config: { access: 'project' },
      schema: {
        operationId: 'listAuditLog',
        tags: ['governance'],
        summary: 'Every change to keys, endpoints and secrets, newest first (append-only)',
        description: 'Who (`admin` or `key:<keyId>`), what, when and from where; never a secret. Cursor-paginated by id.',
        params: AppIdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: AuditLog },
      },
    },
    async (request) => {
      const page = await listAuditLog(deps, request.params.appId, {
        limit: request.query.limit ?? 50,
        cursor: request.query.cursor ? Number(request.query.cursor) : null,
      });
      return {
        data: page.data.map((e) => ({ id: e.id, at: iso(e.at), actor: e.actor, action: e.action, details: e.details, sourceIp: e.sourceIp })),
        nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
      };
    },
  );

  app.delete(
    '/v1/projects/:appId/subscribers/:subscriberId',
    {
      config: { access: 'project' },
      schema: {
        operationId: 'eraseSubscriber',
        tags: ['governance'],
        summary: "Erase a person: their registrations, their events' payloads and attempt bodies",
        description: 'Delivery metadata (event ids, statuses, times, status codes) stays, without personal data.',
        params: Type.Object(
          // Whatever subscriberId ingest accepts can be erased (the router allows its length, see app.ts).
          { appId: AppIdParams.properties.appId, subscriberId: RegistrationBody.properties.subscriberId },
          { additionalProperties: false },
        ),
        response: { 200: Erasure },
      },
    },
    async (request) => {
      const erased = await eraseSubscriber(deps, actorOf(request), request.params.appId, request.params.subscriberId);
      return { erasedRegistrations: erased.registrations, erasedPayloads: erased.events };
    },
  );
}
