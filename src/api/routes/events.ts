/** The delivery log: events, their attempts, redelivery and recovery. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { attemptErrorLabel } from '../../domain/attempt-error.js';
import { ReghookError } from '../../errors.js';
import { recoverFailed, redeliver, replayEvents } from '../../operations/deliveries.js';
import { requireProject } from '../../operations/projects.js';
import type { AttemptRecord, EventLogItem, EventSummary } from '../../store/store.js';
import { actorOf, iso, type AppDeps } from '../http.js';
import { AppIdParams, EventDetail, EventList, EventListQuery, EventParams, RecoverBody, Recovered, Redelivery, Replayed, ReplayBody } from '../schemas.js';
import { instantOf } from '../validation.js';

const summary = (e: EventSummary) => ({
  eventId: e.eventId,
  clientUuid: e.clientUuid,
  status: e.status,
  attemptCount: e.attemptCount,
  createdAt: iso(e.createdAt),
  nextAttemptAt: iso(e.nextAttemptAt),
  deliveredAt: iso(e.deliveredAt),
});

const logItem = (e: EventLogItem) => ({
  ...summary(e),
  lastAttempt:
    e.lastAttempt === null
      ? null
      : {
          at: iso(e.lastAttempt.startedAt),
          statusCode: e.lastAttempt.outcome?.statusCode ?? null,
          error: e.lastAttempt.outcome ? attemptErrorLabel(e.lastAttempt.outcome) : 'interrupted',
        },
});

const attempt = (a: AttemptRecord) => ({
  number: a.number,
  trigger: a.trigger,
  startedAt: iso(a.startedAt),
  durationMs: a.outcome ? Math.round(a.outcome.durationMs) : null,
  success: a.outcome ? a.outcome.success : null,
  statusCode: a.outcome?.statusCode ?? null,
  // An attempt without an outcome was in flight when its process stopped.
  error: a.outcome ? attemptErrorLabel(a.outcome) : 'interrupted',
  responseBody: a.outcome?.responseBody ?? null,
});

export async function eventRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;
  const common = { config: { access: 'project' as const } };

  app.get(
    '/v1/projects/:appId/events',
    {
      ...common,
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'The delivery log, newest first',
        description:
          'Filters, all optional and combined: `status`, `eventId`, `clientUuid`, `subscriberId` (exact; looked up by a keyed hash, never kept in plain text; not found once erased), `since` / `until` (creation time, inclusive). Each row carries its newest attempt. Cursor-paginated by eventId.',
        params: AppIdParams,
        querystring: EventListQuery,
        response: { 200: EventList },
      },
    },
    async (request) => {
      await requireProject(store, request.params.appId);
      const { status, eventId, clientUuid, subscriberId, since, until, limit, cursor } = request.query;
      const page = await store.listEvents(request.params.appId, {
        status,
        eventId,
        clientUuid: clientUuid?.toLowerCase(),
        subscriberHash: subscriberId === undefined ? undefined : deps.subscriberIndex.hash(request.params.appId, subscriberId),
        since: since === undefined ? undefined : instantOf(since, '/query/since'),
        until: until === undefined ? undefined : instantOf(until, '/query/until'),
        limit: limit ?? 50,
        cursor,
      });
      return { data: page.data.map(logItem), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/projects/:appId/events/:eventId',
    {
      ...common,
      schema: {
        operationId: 'getEvent',
        tags: ['events'],
        summary: 'An event, its payload and every attempt',
        description: "Each attempt's number, trigger, start, duration, status code or error kind, and the first 1 KiB of the answer.",
        params: EventParams,
        response: { 200: EventDetail },
      },
    },
    async (request) => {
      const event = await store.getEvent(request.params.appId, request.params.eventId);
      if (!event) throw new ReghookError('REGHOOK_EVENT_NOT_FOUND', `event ${request.params.eventId} not found`);
      return {
        ...summary(event),
        payload: event.body === null ? null : (JSON.parse(event.body) as Record<string, unknown>),
        attempts: event.attempts.map(attempt),
      };
    },
  );

  app.post(
    '/v1/projects/:appId/events/:eventId/redeliver',
    {
      ...common,
      schema: {
        operationId: 'redeliverEvent',
        tags: ['events'],
        summary: 'Make one immediate manual attempt (answers before it finishes)',
        description:
          "Made in the background; it does not use the event's scheduled attempts. Refused while the project has no enabled endpoint, or while a scheduled attempt of the same event is in flight (one webhook-id is never sent twice at once).",
        params: EventParams,
        response: { 202: Redelivery },
      },
    },
    async (request, reply) => {
      const { appId, eventId } = request.params;
      await redeliver(deps, appId, eventId);
      return reply.code(202).send({ eventId, status: 'attempting' as const });
    },
  );

  app.post(
    '/v1/projects/:appId/events/recover',
    {
      ...common,
      schema: {
        operationId: 'recoverEvents',
        tags: ['events'],
        summary: 'Put every failed event created since a time back on a fresh schedule',
        description: 'For after an endpoint outage: every `failed` event created since `since` gets a full set of attempts again. Audited.',
        params: AppIdParams,
        body: RecoverBody,
        response: { 200: Recovered },
      },
    },
    async (request) => {
      const since = instantOf(request.body.since, '/since');
      return { recovered: await recoverFailed(deps, actorOf(request), request.params.appId, since) };
    },
  );

  app.post(
    '/v1/projects/:appId/events/replay',
    {
      ...common,
      schema: {
        operationId: 'replayEvents',
        tags: ['events'],
        summary: 'Put every matching failed, skipped or delivered event back on a fresh schedule',
        description:
          'Every event of the given statuses (default failed) created in [since, until] that still has its payload gets a full set of attempts again, due now. With `dryRun` nothing changes and the answer is the count. Needs an endpoint. Audited.',
        params: AppIdParams,
        body: ReplayBody,
        response: { 200: Replayed, 202: Replayed },
      },
    },
    async (request, reply) => {
      const { status, since, until, dryRun } = request.body;
      const result = await replayEvents(deps, actorOf(request), request.params.appId, {
        statuses: status,
        since: instantOf(since, '/since'),
        until: until === undefined ? undefined : instantOf(until, '/until'),
        dryRun,
      });
      return result.dryRun ? reply.code(200).send({ count: result.count, dryRun: true as const }) : reply.code(202).send({ count: result.count });
    },
  );
}
