/** One event: its state, its payload (personal data masked unless revealed) and every attempt. */
import { explainAttempt } from '../../domain/attempt-explanation.js';
import type { AttemptRecord, EventDetail } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';
import { maskPayload } from '../personal-data.js';
import { IN_FLIGHT_WINDOW_MS, attemptBadge, duration, outcomeText, statusBadge, time, timeZoneToggle } from './format.js';

export interface EventPageData {
  appId: number;
  /** The Redeliver form's CSRF token; null for a read-only session (no form). */
  csrf: string | null;
  event: EventDetail;
  /** Whether this viewer may see unmasked personal data (the owning project only). */
  mayReveal: boolean;
  revealed: boolean;
  now: number;
  /** The endpoint's URL now (attempts do not record the URL they were sent to); null without an endpoint. */
  endpointUrl: string | null;
}

function payloadText(body: string, revealed: boolean): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return revealed ? body : '(payload hidden: not an object)';
    return JSON.stringify(revealed ? parsed : maskPayload(parsed as Record<string, unknown>), null, 2);
  } catch {
    return revealed ? body : '(payload hidden: not valid JSON)';
  }
}

/** What an attempt's result was, in words. */
function resultText(a: AttemptRecord, now: number): string {
  const o = a.outcome;
  if (o === null) return now - a.startedAt < IN_FLIGHT_WINDOW_MS ? 'no answer yet (in flight)' : 'interrupted: the process stopped during this attempt';
  return outcomeText(o);
}

/** The sentence that explains a failed attempt and its likely fix (none for a success). */
function explanationCell(a: AttemptRecord, now: number): SafeHtml {
  const o = a.outcome;
  if (o === null) {
    return now - a.startedAt < IN_FLIGHT_WINDOW_MS
      ? html`<span class="muted">Waiting for the answer.</span>`
      : html`The process stopped before this attempt finished; <span class="fix">it is retried on schedule, or redeliver it now.</span>`;
  }
  if (o.success) return html`<span class="muted">Delivered: your endpoint answered 200.</span>`;
  const e = explainAttempt(o);
  return e === null ? html`<span class="muted">Failed.</span>` : html`${e.meaning} <span class="fix"><strong>Likely fix:</strong> ${e.fix}</span>`;
}

function attemptRow(a: AttemptRecord, now: number): SafeHtml {
  const o = a.outcome;
  // An attempt still in flight counts as pending for the page's live regions (layout.ts).
  const inFlight = o === null && now - a.startedAt < IN_FLIGHT_WINDOW_MS;
  return html`<tr id="attempt-${a.number}" class="attempt-row"${inFlight && html` data-status="pending"`}>
<td class="num" data-label="#">${a.number}</td>
<td data-label="Trigger">${a.trigger}</td>
<td data-label="Started">${time(a.startedAt)}</td>
<td class="num" data-label="Duration">${o === null ? '—' : duration(o.durationMs)}</td>
<td data-label="Result">${attemptBadge(a, now)} <span class="result">${resultText(a, now)}</span></td>
<td data-label="Explanation" class="explain">${explanationCell(a, now)}${
    o !== null &&
    html`<details class="body"><summary>Response body${o.responseBody ? '' : ' (empty)'}</summary>${
      o.responseBody ? html`<pre>${o.responseBody}</pre>` : html`<p class="muted">The endpoint sent no body${o.statusCode === null ? ' (no answer at all)' : ''}.</p>`
    }</details>`
  }</td>
</tr>`;
}

export function eventView(d: EventPageData): SafeHtml {
  const { event: e, appId } = d;
  const self = `/projects/${appId}/events/${e.eventId}`;
  const attempts = [...e.attempts].sort((a, b) => b.number - a.number);
  return html`<h1 class="secret">Event <code id="event-id" class="copyable">${e.eventId}</code><button type="button" data-copy="event-id" hidden>Copy</button></h1>
<section class="card" aria-labelledby="summary-h">
<h2 id="summary-h" class="visually-hidden">Summary</h2>
<div data-live="event-summary">
<dl class="facts">
<dt>Status</dt><dd data-status="${e.status}">${statusBadge(e.status)}</dd>
<dt>Attempts</dt><dd>${e.attemptCount}</dd>
<dt>Created</dt><dd>${time(e.createdAt)}</dd>
${e.status === 'pending' && html`<dt>Next attempt</dt><dd>${time(e.nextAttemptAt)}</dd>`}
${e.deliveredAt !== null && html`<dt>Delivered</dt><dd>${time(e.deliveredAt)}</dd>`}
<dt>webhook-id</dt><dd><code>${e.eventId}</code> (the same on every attempt; receivers deduplicate on it)</dd>
<dt>Client UUID</dt><dd><code>${e.clientUuid}</code></dd>
</dl>
${
  e.status === 'pending' &&
  html`<p class="muted live-note">Pending: its status and attempts update by themselves where JavaScript runs; otherwise <a href="${self}">Refresh</a>.</p>`
}
</div>
${
  d.csrf !== null &&
  html`<form method="post" action="${self}/redeliver" class="actions" data-busy="Redelivering…">
<input type="hidden" name="_csrf" value="${d.csrf}">
<button type="submit" class="primary">Redeliver</button>
<span class="muted">One immediate attempt with the same body and webhook-id, recorded as <em>manual</em>.</span>
</form>`
}
</section>
<section class="card" id="payload" aria-labelledby="payload-h">
<h2 id="payload-h">Payload</h2>
${
  e.body === null
    ? html`<p class="muted">The payload was removed (retention period or an erasure request). The delivery history stays.</p>`
    : html`<p class="muted">${
        d.revealed
          ? html`Personal data shown. <a href="${self}">Mask personal data</a>`
          : d.mayReveal
            ? html`Personal data (subscriber id, name, IP) is masked. <a href="${self}?reveal=1#payload">Reveal personal data</a>`
            : 'Personal data (subscriber id, name, IP) is masked; only the project itself can reveal it.'
      }</p>
<pre>${payloadText(e.body, d.revealed)}</pre>`
}
</section>
<section aria-labelledby="attempts-h" id="attempts">
<h2 id="attempts-h">Attempts (<span data-live="attempt-count">${e.attempts.length}</span>)</h2>
${timeZoneToggle()}
<div data-live="attempts">
${
  attempts.length === 0
    ? html`<p class="muted">No attempts yet${e.status === 'skipped' ? ': the event was created while the project had no enabled endpoint. Redeliver it once one is set.' : e.status === 'erased' ? ': its person was erased before it was delivered; it will not be sent.' : '.'}</p>`
    : html`<p class="muted" id="attempt-url">Sent to ${
        d.endpointUrl === null ? html`no endpoint now (it was removed)` : html`<code class="url">${d.endpointUrl}</code>`
      } <span class="muted">(the endpoint's current URL: attempts do not record the URL they used, so an attempt made before a URL change went to the old one).</span></p>
<div class="table-wrap"><table class="log attempts-table">
<caption class="visually-hidden">Attempts of this event, newest first</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">Trigger</th><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col">Result</th><th scope="col">What it means</th></tr></thead>
<tbody>${attempts.map((a) => attemptRow(a, d.now))}</tbody></table></div>`
}
</div>
</section>`;
}
