/** One event's page and its Redeliver button. */
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { AttemptOutcome, Store } from '../../store/store.js';
import type { DashboardContext } from '../context.js';
import type { Flash } from '../flash.js';
import { sendPage } from '../layout.js';
import { duration, outcomeText } from '../views/format.js';
import { eventView } from '../views/event.js';

const EVENT_ID = /^evt_[0-9A-Z]{26}$/;
/** How long Redeliver waits for its attempt before answering "started" (the answer then shows the verdict). */
const REDELIVER_WAIT_POLLS = 60;
const REDELIVER_POLL_MS = 50;
const route = { config: { access: 'public' as const }, schema: { hide: true } };

type EventRoute = { Params: { appId: string; eventId: string } };

/** The outcome of the first manual attempt numbered above `after`, once it has one (null if not within the wait). */
async function manualOutcome(store: Store, appId: number, eventId: string, after: number): Promise<AttemptOutcome | null> {
  for (let i = 0; i < REDELIVER_WAIT_POLLS; i++) {
    const event = await store.getEvent(appId, eventId);
    const attempt = event?.attempts.find((a) => a.number > after && a.trigger === 'manual');
    if (attempt?.outcome) return attempt.outcome;
    await delay(REDELIVER_POLL_MS);
  }
  return null;
}

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
    // Personal data is the project's: the platform admin sees it masked, like everyone by default.
    const mayReveal = session.kind === 'project';
    return sendPage(reply, {
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
        csrf: session.csrf,
        event,
        mayReveal,
        revealed: mayReveal && request.query.reveal === '1',
        now: ctx.now(),
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
    const lastNumber = Math.max(0, ...before.attempts.map((a) => a.number));

    const result = await ctx.deps.manual.redeliver(project.appId, eventId);
    let flash: Flash;
    switch (result) {
      case 'started': {
        const outcome = await manualOutcome(store, project.appId, eventId, lastNumber);
        flash = {
          notices: [
            outcome === null
              ? { tone: 'info', text: 'Redelivery started. Reload this page in a moment to see its result.' }
              : outcome.success
                ? { tone: 'success', text: `Redelivered: your endpoint answered HTTP 200 in ${duration(outcome.durationMs)}.` }
                : { tone: 'error', text: `Redelivery failed: ${outcomeText(outcome)} after ${duration(outcome.durationMs)}. Only HTTP 200 counts as success.` },
          ],
        };
        break;
      }
      case 'not_found':
        flash = { notices: [{ tone: 'error', text: 'This event cannot be redelivered: its payload was removed (retention or erasure).' }] };
        break;
      case 'no_endpoint':
        flash = { notices: [{ tone: 'error', text: 'The project has no endpoint: set an endpoint URL on the Webhooks page first.' }] };
        break;
      case 'endpoint_disabled':
        flash = { notices: [{ tone: 'error', text: 'The endpoint is disabled: enable it on the Webhooks page first.' }] };
        break;
      case 'in_flight':
        flash = { notices: [{ tone: 'info', text: 'An attempt of this event is in flight right now; redeliver once it has finished.' }] };
        break;
    }
    return ctx.redirect(reply, `/projects/${project.appId}/events/${eventId}#attempts`, { session, value: flash });
  });
}
