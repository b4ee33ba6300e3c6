/** Small view pieces shared by the pages: times, durations, status badges, attempt verdicts. */
import { attemptErrorLabel } from '../../domain/attempt-error.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import type { AttemptOutcome, AttemptRecord } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** `2024-05-01 12:00:03 UTC` */
export function utcText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

export function time(ms: number | null): SafeHtml {
  return ms === null ? html`<span class="muted">—</span>` : html`<time datetime="${new Date(ms).toISOString()}">${utcText(ms)}</time>`;
}

/**
 * Times are shown in UTC; where JavaScript runs, this button (hidden without it) switches every
 * `<time>` of the page to the browser's zone and back (layout.ts's script; the choice is kept).
 */
export function timeZoneToggle(): SafeHtml {
  return html`<p class="tz"><span class="muted" data-tz-label>Times are UTC.</span> <button type="button" class="link" data-tz-toggle hidden>Show local time</button></p>`;
}

/** The value of a datetime-local input, in UTC: `2024-05-01T12:00`. */
export function datetimeLocalValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Symbol + word: the colour is never the only signal. */
const STATUS_TEXT: Record<EventStatus, string> = {
  delivered: '✓ delivered',
  failed: '✕ failed',
  pending: '● pending',
  skipped: '– skipped',
  erased: '∅ erased',
};

export function statusBadge(status: EventStatus): SafeHtml {
  return html`<span class="badge badge-${status}">${STATUS_TEXT[status]}</span>`;
}

/** How long an attempt without an outcome counts as still in flight rather than interrupted. */
export const IN_FLIGHT_WINDOW_MS = 60_000;

/** The error kind of a finished attempt: its transport error, or `http_<status>` for a non-200 answer. */
export const errorOf = (outcome: AttemptOutcome): string | null => attemptErrorLabel(outcome);

export function attemptBadge(attempt: AttemptRecord, now: number): SafeHtml {
  const { outcome } = attempt;
  if (outcome === null) {
    return now - attempt.startedAt < IN_FLIGHT_WINDOW_MS
      ? html`<span class="badge badge-in-flight">… in flight</span>`
      : html`<span class="badge badge-interrupted">⚠ interrupted</span>`;
  }
  return outcome.success ? html`<span class="badge badge-succeeded">✓ succeeded</span>` : html`<span class="badge badge-failed">✕ failed</span>`;
}

/** `HTTP 200`, `HTTP 500`, or the transport error kind. */
export function outcomeText(outcome: AttemptOutcome): string {
  if (outcome.statusCode !== null) return `HTTP ${outcome.statusCode}${outcome.errorKind ? ` (${outcome.errorKind})` : ''}`;
  return outcome.errorKind ?? 'no response';
}

/** The pages of one project, under its heading: how the Settings page is found from Webhooks and back. */
export function projectNav(appId: number, current: 'webhooks' | 'settings'): SafeHtml {
  const link = (page: 'webhooks' | 'settings', label: string) =>
    html`<a href="/projects/${appId}/${page}"${page === current && html` aria-current="page"`}>${label}</a>`;
  return html`<nav class="tabs project-nav" aria-label="Project pages">${link('webhooks', 'Webhooks')}${link('settings', 'Settings')}</nav>`;
}
