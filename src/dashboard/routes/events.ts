/** One event's page and its Redeliver button. */
import type { FastifyInstance } from 'fastify';
import { ReghookError, type ErrorCode } from '../../errors.js';
import { redeliver } from '../../operations/deliveries.js';
import type { DashboardContext } from '../context.js';
import type { Flash, Tone } from '../flash.js';
import { duration, outcomeText } from '../views/format.js';
import { eventView } from '../views/event.js';

const EVENT_ID = /^evt_[0-9A-Z]{26}$/;
/** How long Redeliver waits for its attempt's outcome before answering "started" (the page then shows it). */
const REDELIVER_WAIT_MS = 3_000;
const route = { config: { access: 'public' as const }, schema: { hide: true } };

type EventRoute = { Params: { appId: string; eventId: string } };

/** What the event page says when a redelivery is refused, per catalogued reason. */
const REFUSED: Partial<Record<ErrorCode, { tone: Tone; text: string }>> = {
  REGHOOK_EVENT_NOT_FOUND: { tone: 'error', text: 'This event cannot be redelivered: its payload was removed (retention or erasure).' },
  REGHOOK_ENDPOINT_MISSING: { tone: 'error', text: 'The project has no endpoint: set an endpoint URL on the Webhooks page first.' },
  REGHOOK_ENDPOINT_DISABLED: { tone: 'error', text: 'The endpoint is disabled: enable it on the Webhooks page first.' },
  REGHOOK_ATTEMPT_IN_FLIGHT: { tone: 'info', text: 'An attempt of this event is in flight right now; redeliver once it has finished.' },
};

export async function eventPageRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const { store } = ctx.deps;

  app.get<EventRoute & { Querystring: { reveal?: string } }>('/projects/:appId/events/:eventId', route, async (request, reply) => {
    const session = await ctx.requireSession(request, reply);
    if (session === null) return reply;
    const project = await ctx.projectFor(session, request.params.appId);
    const { eventId } = request.params;
    const event = project !== null && EVENT_ID.test(eventId) ? await store.getEvent(project.appId, eventId) : null;
    if (project === null || event === null) return ctx.notFound(reply, session);
    const flash = ctx.takeFlash(request, reply, session);
    const endpoint = await store.getEndpoint(project.appId);
    // Personal data is the project's (a portal session is the project's owner too): the platform
    // admin sees it masked, like everyone by default.
    const mayReveal = session.kind !== 'admin';
    return ctx.sendPage(reply, {
      title: `Event ${eventId} · ${project.name}`,
      session,
      crumbs: [
        ...(session.kind === 'admin' ? [{ label: 'Projects', href: '/projects' }] : []),
        { label: `${project.name}` },
        { label: 'Webhooks', href: `/projects/${project.appId}/webhooks` },
        { label: eventId },
      ],
      notices: flash?.notices ?? [],
      main: eventView({
        appId: project.appId,
        csrf: ctx.formToken(session),
        event,
        mayReveal,
        revealed: mayReveal && request.query.reveal === '1',
        now: ctx.now(),
        endpointUrl: endpoint?.url ?? null,
      }),
    });
  });

  app.post<EventRoute>('/projects/:appId/events/:eventId/redeliver', route, async (request, reply) => {
    const session = await ctx.guardPost(request, reply);
    if (session === null) return reply;
    const project = await ctx.projectFor(session, request.params.appId);
    const { eventId } = request.params;
    const before = project !== null && EVENT_ID.test(eventId) ? await store.getEvent(project.appId, eventId) : null;
    if (project === null || before === null) return ctx.notFound(reply, session);
    let flash: Flash;
    try {
      const result = await redeliver(ctx.deps, project.appId, eventId, { waitMs: REDELIVER_WAIT_MS });
      const outcome = result.status === 'finished' ? result.outcome : null;
      flash = {
        notices: [
          outcome === null
            ? { tone: 'info', text: 'Redelivery started. Reload this page in a moment to see its result.' }
            : outcome.success
              ? { tone: 'success', text: `Redelivered: your endpoint answered HTTP 200 in ${duration(outcome.durationMs)}.` }
              : { tone: 'error', text: `Redelivery failed: ${outcomeText(outcome)} after ${duration(outcome.durationMs)}. Only HTTP 200 counts as success.` },
        ],
      };
    } catch (error) {
      const notice = error instanceof ReghookError ? REFUSED[error.code] : undefined;
      if (notice === undefined) throw error;
      flash = { notices: [notice] };
    }
    return ctx.redirect(reply, `/projects/${project.appId}/events/${eventId}#attempts`, { session, value: flash });
  });
}
