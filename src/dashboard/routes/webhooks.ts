/** Developer Tools → Webhooks: the page and its forms (endpoint, secret, test, recovery). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SUBSCRIBER_ID_MAX_LENGTH } from '../../domain/registration.js';
import { ReghookError } from '../../errors.js';
import { recoverFailed, replayEvents, sendTestWebhook } from '../../operations/deliveries.js';
import { maskedHeaders, revealSecret, rotateSecret, setEndpoint } from '../../operations/endpoint.js';
import type { AttemptOutcome, Project, ReplayableStatus } from '../../store/store.js';
import { chartWindow, eventBuckets, type ChartRange } from '../chart.js';
import { formField, type DashboardContext } from '../context.js';
import type { Flash } from '../flash.js';
import type { Notice } from '../layout.js';
import type { Session } from '../session.js';
import { datetimeLocalValue, errorOf, utcText } from '../views/format.js';
import { webhookStats } from '../../operations/stats.js';
import { LOG_STATUSES, REPLAY_STATUSES, webhooksView, type LogRow, type LogSearch, type ReplayForm, type WebhooksPageData } from '../views/webhooks.js';

const LOG_PAGE_SIZE = 20;
const DAY_MS = 24 * 60 * 60 * 1000;
const route = { config: { access: 'public' as const }, schema: { hide: true } };

type AppIdRoute = { Params: { appId: string } };
type PageQuery = { status?: string; cursor?: string; range?: string; q?: string; since?: string; until?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_ID = /^evt_[0-9A-Z]{26}$/;

/** What the log search narrows to; a subscriberId is looked up through its keyed hash, never stored. */
export interface LogSearchFilter {
  eventId?: string;
  clientUuid?: string;
  subscriberId?: string;
  since?: number;
  until?: number;
}

/** The log search of the query: what the filters are, and the form's values (with a reason when one is unusable). */
export function parseLogSearch(query: PageQuery): { search: LogSearch; filter: LogSearchFilter } {
  const text = (v: unknown, max = 64) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
  const search: LogSearch = { q: text(query.q, SUBSCRIBER_ID_MAX_LENGTH), since: text(query.since), until: text(query.until), error: null };
  const filter: LogSearchFilter = {};
  if (search.q !== '') {
    if (EVENT_ID.test(search.q)) filter.eventId = search.q;
    else if (UUID.test(search.q)) filter.clientUuid = search.q.toLowerCase();
    // Anything else is a subscriberId (exact match): the route looks it up by its keyed hash.
    else filter.subscriberId = search.q;
  }
  const since = search.since === '' ? null : parseUtcDatetimeLocal(search.since);
  const until = search.until === '' ? null : parseUtcDatetimeLocal(search.until);
  if (since !== null) filter.since = since;
  if (until !== null) filter.until = until + (/T\d{2}:\d{2}$/.test(search.until) ? 59_999 : 999);
  if ((search.since !== '' && since === null) || (search.until !== '' && until === null)) search.error ??= 'Times are YYYY-MM-DDTHH:MM, UTC.';
  return { search, filter };
}

/**
 * The custom-headers field: one `Name: value` per line, blank lines ignored. Empty means "keep the
 * ones set" (undefined); the domain checks names and values when they are saved.
 */
export function parseHeaderLines(text: string): { headers: Record<string, string> | undefined } | { error: string } {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return { headers: undefined };
  const headers: Record<string, string> = {};
  for (const [i, line] of lines.entries()) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `Line ${i + 1} is not "Name: value".` };
    const name = line.slice(0, colon).trim();
    if (name === '__proto__' || Object.hasOwn(headers, name)) return { error: `${name} is named twice.` };
    headers[name] = line.slice(colon + 1).trim();
  }
  return { headers };
}

/** `2024-05-01T12:00` or `2024-05-01T12:00:30`, as a datetime-local input sends it; read as UTC. */
export function parseUtcDatetimeLocal(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-31 over into March: refuse instead.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return ms;
}

/** The replay form's statuses: its `status` checkboxes (repeated fields arrive as an array), known ones only. */
export function replayStatusesOf(body: unknown): ReplayableStatus[] {
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).status : undefined;
  const values = Array.isArray(raw) ? raw : [raw];
  return REPLAY_STATUSES.filter((s) => values.includes(s));
}

interface PageState {
  endpointForm?: WebhooksPageData['endpointForm'];
  recover?: WebhooksPageData['recover'];
  replay?: ReplayForm;
  notices?: Notice[];
  flash?: Flash | null;
}

export async function webhookPageRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const { store } = ctx.deps;
  const pagePath = (appId: number) => `/projects/${appId}/webhooks`;

  async function renderPage(request: FastifyRequest, reply: FastifyReply, session: Session, project: Project, state: PageState, status = 200) {
    const query = (request.method === 'GET' ? request.query : {}) as PageQuery;
    const filter = LOG_STATUSES.find((s) => s === query.status) ?? null;
    const cursor = query.cursor !== undefined && /^evt_[0-9A-Z]{26}$/.test(query.cursor) ? query.cursor : null;
    const range: ChartRange = query.range === '7d' ? '7d' : '24h';
    const now = ctx.now();
    const { appId } = project;

    const endpoint = await store.getEndpoint(appId);
    const { search, filter: searchFilter } = parseLogSearch(query);
    const { subscriberId, ...byIdOrTime } = searchFilter;
    const page = await store.listEvents(appId, {
      ...byIdOrTime,
      subscriberHash: subscriberId === undefined ? undefined : ctx.deps.subscriberIndex.hash(appId, subscriberId),
      status: filter ?? undefined,
      limit: LOG_PAGE_SIZE,
      cursor: cursor ?? undefined,
    });
    // One query: the log's projection carries the subscriber fields the view masks and the newest attempt.
    const rows: LogRow[] = page.data.map((event) => ({ event, subscriber: event.subscriber, lastAttempt: event.lastAttempt }));
    const day = await webhookStats(ctx.deps, appId, '24h');
    const window = chartWindow(range, now);
    // Events (not attempts) and latency per bucket: one read of the hourly rollups for all buckets.
    const stats = eventBuckets(await store.chartBuckets(appId, window.since, window.bucketMs, window.count));
    const flash = state.flash ?? null;
    const data: WebhooksPageData = {
      project,
      csrf: ctx.formToken(session),
      endpoint,
      previousSecretValidUntil:
        endpoint?.previousSecretExpiresAt != null && endpoint.previousSecretExpiresAt > now ? endpoint.previousSecretExpiresAt : null,
      endpointForm: state.endpointForm ?? {
        url: endpoint?.url ?? '',
        enabled: endpoint?.enabled ?? true,
        error: null,
        headers: '',
        headersError: null,
        rateLimit: endpoint?.rateLimitPerSecond == null ? '' : String(endpoint.rateLimitPerSecond),
        rateLimitError: null,
      },
      headerNames: endpoint === null ? [] : Object.keys(maskedHeaders(ctx.deps, endpoint)),
      flash,
      log: { rows, nextCursor: page.nextCursor, status: filter, cursor, search },
      health: {
        state: day.health,
        consecutiveFailures: day.consecutiveFailures,
        failingSince: day.failingSince,
        lastSuccessAt: day.lastSuccessAt,
        events24h: day.events,
        latencyMs: day.latencyMs,
      },
      chart: { window, stats },
      recover: state.recover ?? { value: datetimeLocalValue(now - DAY_MS), error: null },
      replay: state.replay ?? { statuses: ['failed'], since: datetimeLocalValue(now - DAY_MS), until: '', error: null },
    };
    return ctx.sendPage(
      reply,
      {
        title: `Webhooks · ${project.name}`,
        session,
        crumbs: [
          ...(session.kind === 'admin' ? [{ label: 'Projects', href: '/projects' }] : []),
          { label: `${project.name}` },
          { label: 'Developer Tools' },
          { label: 'Webhooks' },
        ],
        notices: [...(flash?.notices ?? []), ...(state.notices ?? [])],
        main: webhooksView(data),
      },
      status,
    );
  }

  /** The session and project of a POST, or null once a 403/404/redirect has been sent. */
  async function postTarget(request: FastifyRequest<AppIdRoute>, reply: FastifyReply) {
    const session = await ctx.guardPost(request, reply);
    if (session === null) return null;
    const project = await ctx.projectFor(session, request.params.appId);
    if (project === null) {
      ctx.notFound(reply, session);
      return null;
    }
    return { session, project };
  }

  app.get<AppIdRoute>('/projects/:appId', route, async (request, reply) => {
    const session = await ctx.requireSession(request, reply);
    if (session === null) return reply;
    const project = await ctx.projectFor(session, request.params.appId);
    return project === null ? ctx.notFound(reply, session) : ctx.redirect(reply, pagePath(project.appId));
  });

  app.get<AppIdRoute & { Querystring: PageQuery }>('/projects/:appId/webhooks', route, async (request, reply) => {
    const session = await ctx.requireSession(request, reply);
    if (session === null) return reply;
    const project = await ctx.projectFor(session, request.params.appId);
    if (project === null) return ctx.notFound(reply, session);
    return renderPage(request, reply, session, project, { flash: ctx.takeFlash(request, reply, session) });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/endpoint', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const url = (formField(request.body, 'url') ?? '').trim();
    const enabled = formField(request.body, 'enabled') !== undefined;
    const headersText = formField(request.body, 'headers') ?? '';
    const rateText = (formField(request.body, 'rate_limit') ?? '').trim();
    const refuse = (error: string | null, headersError: string | null = null, rateLimitError: string | null = null) =>
      renderPage(
        request,
        reply,
        session,
        project,
        {
          endpointForm: { url, enabled, error, headers: headersText, headersError, rateLimit: rateText, rateLimitError },
          notices: [
            { tone: 'error', text: `The endpoint was not saved: fix the ${error !== null ? 'URL' : headersError !== null ? 'custom headers' : 'rate limit'} below.` },
          ],
        },
        422,
      );
    if (url === '') return refuse('Enter the endpoint URL (required).');
    const parsed = formField(request.body, 'clear_headers') !== undefined ? { headers: {} } : parseHeaderLines(headersText);
    if ('error' in parsed) return refuse(null, parsed.error);
    // Empty: no cap. The field shows the cap in force, so saving the form unchanged keeps it.
    const rateLimitPerSecond = rateText === '' ? null : /^\d{1,5}$/.test(rateText) && Number(rateText) >= 1 && Number(rateText) <= 10_000 ? Number(rateText) : undefined;
    if (rateLimitPerSecond === undefined) return refuse(null, null, 'Enter a whole number of deliveries per second from 1 to 10000, or leave it empty for no cap.');
    let saved: Awaited<ReturnType<typeof setEndpoint>>;
    try {
      saved = await setEndpoint(ctx.deps, ctx.actor(request, session), project.appId, { url, enabled, headers: parsed.headers, rateLimitPerSecond });
    } catch (error) {
      if (error instanceof ReghookError && error.code === 'REGHOOK_ENDPOINT_URL_REFUSED') return refuse(error.errors?.[0]?.message ?? error.message);
      if (error instanceof ReghookError && error.code === 'REGHOOK_HEADER_REFUSED') return refuse(null, error.message.replace(/^custom headers refused: /, ''));
      throw error;
    }
    const { endpoint, created, signingSecret } = saved;
    const flash: Flash = {
      notices: [
        {
          tone: 'success',
          text: endpoint.enabled
            ? 'Endpoint saved and active: events are delivered to it from now on.'
            : 'Endpoint saved but disabled: deliveries wait until you enable it.',
        },
      ],
      ...(created && signingSecret !== null ? { secret: { value: signingSecret, reason: 'created' as const, previousExpiresAt: null } } : {}),
    };
    return ctx.redirect(reply, `${pagePath(project.appId)}${created ? '#secret' : '#endpoint'}`, { session, value: flash });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/secret/reveal', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const flash: Flash = (await store.getEndpoint(project.appId))
      ? { secret: { value: (await revealSecret(ctx.deps, ctx.actor(request, session), project.appId)).signingSecret, reason: 'revealed', previousExpiresAt: null } }
      : { notices: [{ tone: 'error', text: 'There is no signing secret yet: save an endpoint URL first.' }] };
    return ctx.redirect(reply, `${pagePath(project.appId)}#secret`, { session, value: flash });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/secret/rotate', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const rotated = (await store.getEndpoint(project.appId)) ? await rotateSecret(ctx.deps, ctx.actor(request, session), project.appId) : null;
    const flash: Flash = rotated
      ? {
          notices: [{ tone: 'success', text: `Signing secret rotated. The previous secret keeps signing until ${utcText(rotated.previousSecretExpiresAt)}.` }],
          secret: { value: rotated.signingSecret, reason: 'rotated', previousExpiresAt: rotated.previousSecretExpiresAt },
        }
      : { notices: [{ tone: 'error', text: 'There is no signing secret yet: save an endpoint URL first.' }] };
    return ctx.redirect(reply, `${pagePath(project.appId)}#secret`, { session, value: flash });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/test', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const at = ctx.now();
    const outcome: AttemptOutcome | null = (await store.getEndpoint(project.appId)) ? await sendTestWebhook(ctx.deps, project.appId) : null;
    const flash: Flash = outcome
      ? {
          notices: [
            outcome.success
              ? { tone: 'success', text: 'Test webhook delivered: your endpoint answered HTTP 200.' }
              : { tone: 'error', text: `Test webhook failed: ${outcome.statusCode !== null ? `HTTP ${outcome.statusCode}` : (outcome.errorKind ?? 'no response')}.` },
          ],
          test: {
            success: outcome.success,
            statusCode: outcome.statusCode,
            durationMs: Math.round(outcome.durationMs),
            error: errorOf(outcome),
            responseBody: outcome.responseBody,
            at,
          },
        }
      : { notices: [{ tone: 'error', text: 'Save an endpoint URL before sending a test webhook.' }] };
    return ctx.redirect(reply, `${pagePath(project.appId)}#test`, { session, value: flash });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/recover', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const value = (formField(request.body, 'since') ?? '').trim();
    const since = parseUtcDatetimeLocal(value);
    if (since === null) {
      const error = value === '' ? 'Enter a date and time (UTC).' : 'Enter a valid date and time, like 2024-05-01T12:00 (UTC).';
      return renderPage(request, reply, session, project, { recover: { value, error }, notices: [{ tone: 'error', text: 'Nothing was recovered.' }] }, 422);
    }
    const recovered = await recoverFailed(ctx.deps, ctx.actor(request, session), project.appId, since);
    const text =
      recovered === 0
        ? `No failed events were created since ${utcText(since)}; nothing to recover.`
        : `Recovered ${recovered} failed event${recovered === 1 ? '' : 's'} created since ${utcText(since)}: they are pending again, on a fresh retry schedule.`;
    return ctx.redirect(reply, `${pagePath(project.appId)}#recover`, {
      session,
      value: { notices: [{ tone: recovered === 0 ? 'info' : 'success', text }] },
    });
  });

  app.post<AppIdRoute>('/projects/:appId/webhooks/replay', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const statuses = replayStatusesOf(request.body);
    const sinceText = (formField(request.body, 'since') ?? '').trim();
    const untilText = (formField(request.body, 'until') ?? '').trim();
    const dryRun = formField(request.body, 'action') !== 'replay';
    const since = parseUtcDatetimeLocal(sinceText);
    const until = untilText === '' ? undefined : parseUtcDatetimeLocal(untilText);
    const form: ReplayForm = { statuses, since: sinceText, until: untilText, error: null };
    const error =
      statuses.length === 0
        ? 'Choose at least one status.'
        : since === null
          ? sinceText === '' ? 'Enter the date and time (UTC) to replay from.' : 'Enter a valid date and time, like 2024-05-01T12:00 (UTC).'
          : until === null
            ? 'Enter a valid "to" date and time, like 2024-05-01T12:00 (UTC), or leave it empty.'
            : until !== undefined && until < since
              ? 'The "to" time is before the "from" time.'
              : null;
    if (error !== null || since === null || until === null) {
      return renderPage(request, reply, session, project, { replay: { ...form, error }, notices: [{ tone: 'error', text: 'Nothing was replayed.' }] }, 422);
    }
    // An until without seconds means its whole minute, as in the log search.
    const untilMs = until === undefined ? undefined : until + (/T\d{2}:\d{2}$/.test(untilText) ? 59_999 : 999);
    const what = `${statuses.join(' or ')} event`;
    const window = `created from ${utcText(since)}${untilMs === undefined ? '' : ` to ${utcText(untilMs)}`}`;
    let text: string;
    let tone: 'success' | 'info' | 'error';
    try {
      const { count } = await replayEvents(ctx.deps, ctx.actor(request, session), project.appId, { statuses, since, until: untilMs, dryRun });
      const events = `${count} ${what}${count === 1 ? '' : 's'}`;
      tone = dryRun || count === 0 ? 'info' : 'success';
      text = dryRun
        ? `${events} ${window} would be replayed. Nothing was changed.`
        : count === 0
          ? `No ${what}s ${window}; nothing to replay.`
          : `Replayed ${events} ${window}: they are pending again, due now, on a fresh retry schedule.`;
    } catch (caught) {
      if (!(caught instanceof ReghookError && caught.code === 'REGHOOK_ENDPOINT_MISSING')) throw caught;
      tone = 'error';
      text = 'Nothing was replayed: the project has no endpoint. Save an endpoint URL first.';
    }
    // A count keeps the form filled in, ready for Replay; a replay redirects (reloading it replays nothing again).
    if (dryRun) return renderPage(request, reply, session, project, { replay: form, notices: [{ tone, text }] }, 200);
    return ctx.redirect(reply, `${pagePath(project.appId)}#replay`, { session, value: { notices: [{ tone, text }] } });
  });
}
