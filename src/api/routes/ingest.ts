/** The platform reports registrations and purchases (admin token). SPEC section 5, "Ingest". */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { newEventId, normalizeRegistration, purchaseAnswerStatus } from '../../domain/index.js';
import { ReghookError } from '../../errors.js';
import type { AppDeps } from '../http.js';
import { PurchaseAnswer, PurchaseBody, RegistrationAnswer, RegistrationBody } from '../schemas.js';
import { instantOf } from '../validation.js';

export async function ingestRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/registrations',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'reportRegistration',
        tags: ['ingest'],
        summary: 'Report a registration',
        description:
          'Self Service registrations create the webhook event at once; store registrations wait for the first purchase. Repeating a report answers the original result.',
        body: RegistrationBody,
        response: { 200: RegistrationAnswer, 202: RegistrationAnswer },
      },
    },
    async (request, reply) => {
      const registration = normalizeRegistration(request.body);
      const now = deps.clock.now();
      const subscriberHash = deps.subscriberIndex.hash(registration.appId, registration.subscriberId);
      const result = await deps.store.recordRegistration({ ...registration, subscriberHash }, newEventId(now), now);
      deps.metrics.ingest.inc({ route: 'registrations', outcome: result.kind === 'created' ? result.answer.status : result.kind });
      switch (result.kind) {
        case 'unknown_app':
          throw new ReghookError('REGHOOK_PROJECT_NOT_FOUND', `no project has appId ${registration.appId}`);
        case 'conflict':
          throw new ReghookError(
            'REGHOOK_REGISTRATION_CONFLICT',
            'this user was already reported with different data; nothing was changed',
            { errors: [{ path: '/clientUuid', message: 'already registered with different data' }] },
          );
        case 'repeat':
          return reply.code(200).send(result.answer);
        case 'created':
          return reply.code(202).send(result.answer);
      }
    },
  );

  app.post(
    '/v1/purchases',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'reportPurchase',
        tags: ['ingest'],
        summary: 'Report a purchase',
        description: "A store user's first purchase creates the webhook event; later ones never do.",
        body: PurchaseBody,
        response: { 200: PurchaseAnswer, 202: PurchaseAnswer },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const now = deps.clock.now();
      const purchaseDate = body.purchaseDate === undefined ? null : instantOf(body.purchaseDate, '/purchaseDate');
      const result = await deps.store.recordPurchase(
        { appId: body.appId, clientUuid: body.clientUuid.toLowerCase(), transactionId: body.transactionId, purchaseDate },
        newEventId(now),
        now,
      );
      deps.metrics.ingest.inc({
        route: 'purchases',
        outcome: result.kind !== 'created' ? result.kind : result.answer.triggered ? 'triggered' : result.answer.reason,
      });
      switch (result.kind) {
        case 'unknown_app':
          throw new ReghookError('REGHOOK_PROJECT_NOT_FOUND', `no project has appId ${body.appId}`);
        case 'conflict':
          throw new ReghookError('REGHOOK_TRANSACTION_REUSED', 'this transactionId was already reported for another user', {
            errors: [{ path: '/transactionId', message: 'already used for another clientUuid' }],
          });
        case 'repeat':
          return reply.code(200).send(result.answer);
        case 'created':
          return reply.code(purchaseAnswerStatus(result.answer)).send(result.answer);
      }
    },
  );
}

