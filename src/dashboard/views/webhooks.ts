/** Developer Tools → Webhooks: endpoint, signing secret, test webhook, chart, delivery log, recovery. */
import type { EventStatus } from '../../domain/retry-policy.js';
import type { AttemptRecord, Endpoint, EventSummary, Project, ReplayableStatus } from '../../store/store.js';
import { eventsChart, type ChartRange, type ChartWindow, type EventBucket } from '../chart.js';
import type { Flash } from '../flash.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { maskName, maskSubscriberId } from '../personal-data.js';
import { duration, outcomeText, projectNav, statusBadge, time, timeZoneToggle } from './format.js';

export const LOG_STATUSES: readonly EventStatus[] = ['pending', 'delivered', 'failed', 'skipped', 'erased'];

export interface LogRow {
  event: EventSummary;
  /** From the stored payload; null once erased or past retention. */
  subscriber: { id: string | null; name: string | null } | null;
  /** The event's newest attempt, or null before the first. */
  lastAttempt: AttemptRecord | null;
}

/** The log's search: an event id or a user's clientUuid, and a creation-time window (UTC). */
export interface LogSearch {
  q: string;
  since: string;
  until: string;
  error: string | null;
}

/** The endpoint's health and the last 24 hours, as the page's banner and summary show them. */
export interface HealthSummary {
  state: 'healthy' | 'failing' | 'unknown';
  consecutiveFailures: number;
  failingSince: number | null;
  lastSuccessAt: number | null;
  events24h: { pending: number; delivered: number; failed: number; skipped: number };
  latencyMs: { p50: number; p95: number; p99: number } | null;
}

export interface WebhooksPageData {
  project: Project;
  /** The forms' CSRF token; null for a read-only session, whose page then holds no form. */
  csrf: string | null;
  endpoint: Endpoint | null;
  /** Until when a rotated-out secret still co-signs, or null. */
  previousSecretValidUntil: number | null;
  endpointForm: {
    url: string;
    enabled: boolean;
    error: string | null;
    headers: string;
    headersError: string | null;
    /** The rate limit field: deliveries per second, '' for no cap. */
    rateLimit: string;
    rateLimitError: string | null;
  };
  /** The endpoint's custom headers, by name (their values are never shown again). */
  headerNames: string[];
  flash: Flash | null;
  log: { rows: LogRow[]; nextCursor: string | null; status: EventStatus | null; cursor: string | null; search: LogSearch };
  health: HealthSummary;
  chart: { window: ChartWindow; stats: EventBucket[] };
  recover: { value: string; error: string | null };
  replay: ReplayForm;
}

export const REPLAY_STATUSES: readonly ReplayableStatus[] = ['failed', 'skipped', 'delivered'];

/** The replay form's values (UTC datetime-local text), with a reason when one is unusable. */
export interface ReplayForm {
  statuses: readonly ReplayableStatus[];
  since: string;
  until: string;
  error: string | null;
}

/** The page's own URL with a query (status filter, log cursor, chart range). */
export function webhooksHref(
  appId: number,
  q: { status?: EventStatus | null; cursor?: string | null; range?: ChartRange; search?: Pick<LogSearch, 'q' | 'since' | 'until'> },
): string {
  const params = new URLSearchParams();
  if (q.status) params.set('status', q.status);
  if (q.cursor) params.set('cursor', q.cursor);
  if (q.range && q.range !== '24h') params.set('range', q.range);
  for (const key of ['q', 'since', 'until'] as const) if (q.search?.[key]) params.set(key, q.search[key]);
  const query = params.toString();
  return `/projects/${appId}/webhooks${query ? `?${query}` : ''}`;
}

const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

export function webhooksView(d: WebhooksPageData): SafeHtml {
  const base = `/projects/${d.project.appId}/webhooks`;
  return html`<h1>Webhooks <span class="muted">· ${d.project.name} (app ${d.project.appId})</span></h1>
${projectNav(d.project.appId, 'webhooks')}
<p class="muted">reghook POSTs a signed <code>user registered</code> event to your endpoint for every user who completes registration. Only an HTTP 200 answer counts as delivered; anything else is retried on a schedule (by default hourly, up to 10 attempts in all).</p>
${healthBanner(d)}
${logSection(d)}
${chartSection(d)}
${endpointSection(d, base)}
${secretSection(d, base)}
${testSection(d, base)}
${d.csrf !== null && replaySection(d, d.csrf, base)}
${d.csrf !== null && recoverSection(d, d.csrf, base)}`;
}

/** What a failing endpoint's latest failure was: from the newest failed attempt the log page shows. */
function lastFailureText(rows: readonly LogRow[]): string | null {
  for (const row of rows) {
    const outcome = row.lastAttempt?.outcome;
    if (outcome && !outcome.success) return outcomeText(outcome);
  }
  return null;
}

/** The banner nobody misses: a failing endpoint, since when, its last answer, and what to do. */
function healthBadge(h: HealthSummary): SafeHtml {
  if (h.state === 'failing') return html`<span class="badge badge-failed">✕ failing</span>`;
  if (h.state === 'healthy') return html`<span class="badge badge-delivered">✓ healthy</span>`;
  return html`<span class="badge badge-skipped">? no attempt yet</span>`;
}

function healthBanner(d: WebhooksPageData): SafeHtml | false {
  const h = d.health;
  if (h.state !== 'failing') return false;
  const last = lastFailureText(d.log.rows);
  return html`<div class="notice notice-error health-banner" role="alert" id="health">
<strong>Failing since ${time(h.failingSince)}</strong> — ${last !== null ? html`last answer ${last}, ` : ''}${h.consecutiveFailures} attempts failed in a row.
Deliveries keep being retried on schedule. Fix the endpoint, send a test webhook to check it, then replay the failed events (<a href="${webhooksHref(d.project.appId, { status: 'failed' })}#log">see them</a>).
</div>`;
}

const headerList = (names: readonly string[]): SafeHtml | string =>
  names.length === 0 ? 'none' : html`${names.map((name, i) => html`${i > 0 && ', '}<code>${name}</code>`)} <span class="muted">(values hidden)</span>`;

const READ_ONLY_NOTE = 'This is a read-only session: changes need a full session.';

function endpointSection(d: WebhooksPageData, base: string): SafeHtml {
  const { endpoint, endpointForm: form } = d;
  return html`<section class="card" id="endpoint" aria-labelledby="endpoint-h">
<h2 id="endpoint-h">Endpoint ${
    endpoint !== null &&
    html`${endpoint.enabled ? html`<span class="badge badge-enabled">● enabled</span>` : html`<span class="badge badge-disabled">○ disabled</span>`} ${healthBadge(d.health)}`
  }</h2>
${
  endpoint === null
    ? html`<p class="muted">No endpoint yet. Events reported now are recorded as <em>skipped</em>; you can redeliver them once an endpoint is set.</p>`
    : html`<p class="muted">Last changed ${time(endpoint.updatedAt)}. A changed URL applies to every pending delivery.</p>`
}
${
  d.csrf === null
    ? endpoint !== null &&
      html`<dl class="facts"><dt>Endpoint URL</dt><dd><code>${endpoint.url}</code></dd><dt>State</dt><dd>${endpoint.enabled ? 'enabled' : 'disabled'}</dd>
<dt>Custom headers</dt><dd>${headerList(d.headerNames)}</dd>
<dt>Rate limit</dt><dd>${endpoint.rateLimitPerSecond === null ? 'no cap' : `${endpoint.rateLimitPerSecond} deliveries per second`}</dd></dl>
<p class="muted">${READ_ONLY_NOTE}</p>`
    : html`<form method="post" action="${base}/endpoint" novalidate>
${csrfField(d.csrf)}
<div class="field">
<label for="url">Endpoint URL</label>
<input id="url" name="url" type="url" inputmode="url" autocomplete="url" spellcheck="false" placeholder="https://example.com/webhooks/reghook"
 value="${form.url}" ${form.error !== null ? html`aria-invalid="true" aria-describedby="url-error url-help"` : html`aria-describedby="url-help"`}>
${form.error !== null && html`<p class="field-error" id="url-error">${form.error}</p>`}
<p class="muted" id="url-help">http or https, at most 2048 characters, no user name or password. Active as soon as you save.</p>
</div>
<div class="field"><label class="check"><input type="checkbox" id="enabled" name="enabled" value="on" aria-describedby="enabled-help"${form.enabled && html` checked`}>Enabled</label>
<p class="muted" id="enabled-help">Deliver events to this URL. While disabled, deliveries wait without using attempts and resume when you enable it again.</p></div>
<div class="field">
<label for="headers">Custom headers</label>
<p class="muted" id="headers-now">Now: ${headerList(d.headerNames)}</p>
<textarea id="headers" name="headers" rows="3" spellcheck="false" autocomplete="off" placeholder="X-Api-Key: the value your firewall checks"
 ${form.headersError !== null ? html`aria-invalid="true" aria-describedby="headers-error headers-now headers-help"` : html`aria-describedby="headers-now headers-help"`}>${form.headers}</textarea>
${form.headersError !== null && html`<p class="field-error" id="headers-error">${form.headersError}</p>`}
<p class="muted" id="headers-help">Sent with every attempt, one <code>Name: value</code> per line (at most 20). Leave empty to keep the ones set; what you enter replaces them all. Values are stored encrypted and never shown again.</p>
${d.headerNames.length > 0 && html`<label class="check"><input type="checkbox" name="clear_headers" value="on">Remove all custom headers</label>`}
</div>
<div class="field">
<label for="rate_limit">Rate limit (deliveries per second)</label>
<input id="rate_limit" name="rate_limit" type="text" inputmode="numeric" pattern="[0-9]*" autocomplete="off" value="${form.rateLimit}" placeholder="no cap"
 ${form.rateLimitError !== null ? html`aria-invalid="true" aria-describedby="rate-error rate-help"` : html`aria-describedby="rate-help"`}>
${form.rateLimitError !== null && html`<p class="field-error" id="rate-error">${form.rateLimitError}</p>`}
<p class="muted" id="rate-help">Empty for no cap. With a cap, scheduled deliveries to this endpoint are spread out to at most that many per second (per reghook worker).</p>
</div>
<button type="submit" class="primary">Save endpoint</button>
</form>`
}
</section>`;
}

function secretSection(d: WebhooksPageData, base: string): SafeHtml {
  const shown = d.flash?.secret;
  let body: SafeHtml;
  if (d.endpoint === null) {
    body = html`<p class="muted">A signing secret is created when you first save the endpoint URL.</p>`;
  } else {
    const value: HtmlValue = shown
      ? html`<code id="signing-secret" class="copyable">${shown.value}</code><button type="button" data-copy="signing-secret" hidden>Copy</button>`
      : html`<code aria-label="hidden signing secret">whsec_••••••••••••••••••••••••</code>
${d.csrf !== null && html`<form method="post" action="${base}/secret/reveal" class="inline">${csrfField(d.csrf)}<button type="submit">Reveal</button></form>`}`;
    const note: HtmlValue =
      shown?.reason === 'created'
        ? html`<div class="notice notice-info" role="status">This is your endpoint's signing secret. Store it with your receiver now; you can reveal it here again later.</div>`
        : shown?.reason === 'rotated'
          ? html`<div class="notice notice-info" role="status">New secret created. The previous secret keeps signing alongside it until ${time(shown.previousExpiresAt)}, so update your receiver before then.</div>`
          : null;
    body = html`${note}
<div class="secret">${value}</div>
${
  d.previousSecretValidUntil !== null &&
  shown?.reason !== 'rotated' &&
  html`<p class="muted">A rotated-out secret still co-signs until ${time(d.previousSecretValidUntil)}.</p>`
}
<p class="muted">Every request carries <code>webhook-signature</code> (Standard Webhooks, HMAC-SHA256). Verify it with this secret before trusting the body.</p>
${
  d.csrf === null
    ? html`<p class="muted">${READ_ONLY_NOTE} It can neither reveal nor rotate the secret.</p>`
    : html`<form method="post" action="${base}/secret/rotate" data-confirm="Rotate the signing secret? The old secret keeps signing alongside the new one for 24 hours.">
${csrfField(d.csrf)}
<p>Rotating creates a new secret. <strong>The old secret keeps signing every webhook, alongside the new one, for 24 hours</strong>, so your receiver can switch without dropping deliveries.</p>
<button type="submit" class="danger">Rotate secret</button>
</form>`
}`;
  }
  return html`<section class="card" id="secret" aria-labelledby="secret-h"><h2 id="secret-h">Signing secret</h2>${body}</section>`;
}

function testSection(d: WebhooksPageData, base: string): SafeHtml {
  const t = d.flash?.test;
  const result: HtmlValue =
    t &&
    html`<div class="notice ${t.success ? 'notice-success' : 'notice-error'}" role="status" id="test-result">
<dl class="facts">
<dt>Result</dt><dd>${
      t.success
        ? html`<span class="badge badge-succeeded">✓ succeeded</span>`
        : html`<span class="badge badge-failed">✕ failed</span>${t.statusCode !== null && ' only HTTP 200 counts as success'}`
    }</dd>
<dt>Status code</dt><dd>${t.statusCode === null ? 'no response' : `HTTP ${t.statusCode}`}</dd>
<dt>Duration</dt><dd>${duration(t.durationMs)}</dd>
${t.error !== null && html`<dt>Error</dt><dd><code>${t.error}</code></dd>`}
<dt>Sent</dt><dd>${time(t.at)}</dd>
<dt>Response</dt><dd>${t.responseBody ? html`<pre>${t.responseBody}</pre>` : html`<span class="muted">(empty)</span>`}</dd>
</dl></div>`;
  return html`<section class="card" id="test" aria-labelledby="test-h">
<h2 id="test-h">Send Test Webhook</h2>
<p class="muted">Sends a sample event (subscriber "Test User") to the endpoint now, signed like a real one, and shows the answer. It is not retried and not part of the delivery log.</p>
${result}
${
  d.csrf === null
    ? html`<p class="muted">${READ_ONLY_NOTE}</p>`
    : d.endpoint === null
      ? html`<p class="muted">Save an endpoint URL first.</p>`
      : html`<form method="post" action="${base}/test" data-busy="Sending…">${csrfField(d.csrf)}<button type="submit" class="primary">Send Test Webhook</button></form>`
}
</section>`;
}

function chartSection(d: WebhooksPageData): SafeHtml {
  const { window } = d.chart;
  const link = (range: ChartRange, label: string) =>
    html`<a href="${webhooksHref(d.project.appId, { status: d.log.status, cursor: d.log.cursor, range })}#chart" aria-current="${window.range === range ? 'true' : 'false'}">${label}</a>`;
  return html`<section class="card" id="chart" aria-labelledby="chart-h">
<h2 id="chart-h">Events by outcome</h2>
${daySummary(d.health)}
<nav class="tabs" aria-label="Chart period">${link('24h', 'Last 24 hours')}${link('7d', 'Last 7 days')}</nav>
${eventsChart(d.chart.stats, window)}
</section>`;
}

/** The last 24 hours in one line: events by status, the success rate, latency. */
function daySummary(h: HealthSummary): SafeHtml {
  const e = h.events24h;
  const finished = e.delivered + e.failed;
  const rate = finished === 0 ? null : Math.round((e.delivered / finished) * 1000) / 10;
  return html`<p class="summary"><strong>Last 24 hours:</strong> ${e.delivered} delivered, ${e.failed} failed, ${e.pending} pending, ${e.skipped} skipped events${
    rate !== null && html` · ${rate}% delivered`
  }${
    h.latencyMs !== null && html` · latency of delivered attempts p50 ${duration(h.latencyMs.p50)}, p95 ${duration(h.latencyMs.p95)}, p99 ${duration(h.latencyMs.p99)}`
  }.</p>`;
}

function lastAttemptCell(row: LogRow): SafeHtml {
  const a = row.lastAttempt;
  if (a === null) return html`<span class="muted">none yet</span>`;
  if (a.outcome === null) return html`<span class="muted">in flight or interrupted</span>`;
  return html`${a.outcome.success ? '✓' : '✕'} ${outcomeText(a.outcome)} <span class="muted">${time(a.startedAt)}</span>`;
}

/**
 * A GET form that works without JavaScript. It is a filter, not a change, so a read-only session
 * has it too (it sees everything, SPEC section 5): its pages hold no POST form, and this one
 * carries no CSRF token.
 */
function searchForm(d: WebhooksPageData): SafeHtml {
  const s = d.log.search;
  return html`<form method="get" action="/projects/${d.project.appId}/webhooks#log" class="search" role="search" aria-label="Search the delivery log">
${d.log.status !== null && html`<input type="hidden" name="status" value="${d.log.status}">`}
<div class="field"><label for="q">Event id, client UUID or subscriber id</label>
<input id="q" name="q" type="search" spellcheck="false" autocomplete="off" value="${s.q}" placeholder="evt_… or 8a6e0804-…"
 ${s.error !== null ? html`aria-invalid="true" aria-describedby="q-error"` : ''}>
${s.error !== null && html`<p class="field-error" id="q-error">${s.error}</p>`}</div>
<div class="field"><label for="log-since">Created from (UTC)</label><input id="log-since" name="since" type="datetime-local" step="1" value="${s.since}"></div>
<div class="field"><label for="log-until">to (UTC)</label><input id="log-until" name="until" type="datetime-local" step="1" value="${s.until}"></div>
<div class="field"><button type="submit">Search</button>${(s.q || s.since || s.until) && html` <a href="${webhooksHref(d.project.appId, { status: d.log.status })}#log">Clear</a>`}</div>
</form>`;
}

function subscriberCell(row: LogRow): SafeHtml {
  const s = row.subscriber;
  if (s === null) return html`<span class="muted">erased</span>`;
  const parts = [s.id !== null ? maskSubscriberId(s.id) : null, s.name !== null ? maskName(s.name) : null].filter((p) => p !== null);
  return html`${parts.join(' · ') || '—'}`;
}

function logSection(d: WebhooksPageData): SafeHtml {
  const { appId } = d.project;
  const range = d.chart.window.range;
  const tab = (status: EventStatus | null, label: string) =>
    html`<a href="${webhooksHref(appId, { status, range, search: d.log.search })}#log" aria-current="${d.log.status === status ? 'true' : 'false'}">${label}</a>`;
  const rows = d.log.rows.map(
    (r) => html`<tr data-status="${r.event.status}">
<td data-label="Event"><a href="/projects/${appId}/events/${r.event.eventId}"><code>${r.event.eventId}</code></a></td>
<td data-label="Status">${statusBadge(r.event.status)}</td>
<td class="num" data-label="Attempts">${r.event.attemptCount}</td>
<td data-label="Created">${time(r.event.createdAt)}</td>
<td data-label="Subscriber">${subscriberCell(r)}</td>
<td data-label="Last attempt">${lastAttemptCell(r)}</td>
<td data-label="Delivery">${
      r.event.status === 'delivered'
        ? html`delivered ${time(r.event.deliveredAt)}`
        : r.event.status === 'pending' && r.event.nextAttemptAt !== null
          ? html`next attempt ${time(r.event.nextAttemptAt)}`
          : html`<span class="muted">—</span>`
    }</td>
</tr>`,
  );
  const filtered = d.log.status !== null ? `${d.log.status} ` : '';
  return html`<section class="card" id="log" aria-labelledby="log-h">
<h2 id="log-h">Delivery log</h2>
${searchForm(d)}
<nav class="tabs" aria-label="Filter by status">${tab(null, 'All')}${LOG_STATUSES.map((s) => tab(s, s[0]!.toUpperCase() + s.slice(1)))}</nav>
${
  rows.length === 0
    ? html`<p class="muted">No ${filtered}events${d.log.cursor !== null ? ' on this page' : ''} yet. An event appears here when the platform reports a registration (or a store user's first purchase).</p>`
    : html`<div class="table-wrap"><table class="log">
<caption class="visually-hidden">Webhook events, newest first${d.log.status !== null ? `, status ${d.log.status}` : ''}</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Created</th><th scope="col">Subscriber</th><th scope="col">Last attempt</th><th scope="col">Delivery</th></tr></thead>
<tbody data-live="log">${rows}</tbody></table></div>`
}
<nav class="pager" aria-label="Log pages">
${d.log.cursor !== null && html`<a href="${webhooksHref(appId, { status: d.log.status, range, search: d.log.search })}#log">← Newest</a>`}
${d.log.nextCursor !== null && html`<a href="${webhooksHref(appId, { status: d.log.status, cursor: d.log.nextCursor, range, search: d.log.search })}#log">Older →</a>`}
<a href="${webhooksHref(appId, { status: d.log.status, cursor: d.log.cursor, range, search: d.log.search })}#log">Refresh</a>
</nav>
<p class="muted">Subscriber data is masked; open an event to see its payload. Pending rows update by themselves where JavaScript runs; otherwise use Refresh.</p>
${timeZoneToggle()}
</section>`;
}

function recoverSection(d: WebhooksPageData, csrf: string, base: string): SafeHtml {
  const { recover } = d;
  return html`<section class="card" id="recover" aria-labelledby="recover-h">
<h2 id="recover-h">Recover failed since…</h2>
<p class="muted">Puts every <em>failed</em> event created since this time back on a fresh retry schedule, for example after your endpoint was down.</p>
<form method="post" action="${base}/recover" novalidate>
${csrfField(csrf)}
<div class="row">
<div class="grow field">
<label for="since">Failed since (UTC)</label>
<input id="since" name="since" type="datetime-local" step="1" value="${recover.value}" ${recover.error !== null ? html`aria-invalid="true" aria-describedby="since-error"` : ''}>
${recover.error !== null && html`<p class="field-error" id="since-error">${recover.error}</p>`}
</div>
<div class="field"><button type="submit">Recover failed events</button></div>
</div>
</form>
</section>`;
}


/** Replay by filter: the statuses, the creation-time window, a dry-run Count and the Replay itself. */
function replaySection(d: WebhooksPageData, csrf: string, base: string): SafeHtml {
  const r = d.replay;
  const invalid = r.error !== null ? html` aria-invalid="true" aria-describedby="replay-error"` : '';
  return html`<section class="card" id="replay" aria-labelledby="replay-h">
<h2 id="replay-h">Replay events</h2>
<p class="muted">Puts every event of the chosen statuses created in the window (UTC) back on a fresh schedule: due now, with a full set of attempts. <em>Count</em> only says how many it would take.</p>
<form method="post" action="${base}/replay" novalidate>
${csrfField(csrf)}
<fieldset class="statuses"><legend>Statuses</legend>
${REPLAY_STATUSES.map((s) => html`<label class="check"><input type="checkbox" name="status" value="${s}"${r.statuses.includes(s) && html` checked`}>${s}</label>`)}
</fieldset>
<div class="row">
<div class="grow field"><label for="replay-since">Created from (UTC)</label>
<input id="replay-since" name="since" type="datetime-local" step="1" value="${r.since}"${invalid}></div>
<div class="grow field"><label for="replay-until">to (UTC, optional)</label>
<input id="replay-until" name="until" type="datetime-local" step="1" value="${r.until}"></div>
</div>
${r.error !== null && html`<p class="field-error" id="replay-error">${r.error}</p>`}
<div class="actions"><button type="submit" name="action" value="count">Count</button>
<button type="submit" name="action" value="replay" class="primary">Replay</button></div>
</form>
</section>`;
}
