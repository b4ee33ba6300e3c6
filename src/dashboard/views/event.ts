/** One event: its state, its payload (personal data masked unless revealed) and every attempt. */
import type { AttemptRecord, EventDetail } from '../../store/store.js';
import { html, type SafeHtml } from '../html.js';
import { maskPayload } from '../personal-data.js';
import { IN_FLIGHT_WINDOW_MS, attemptBadge, duration, outcomeText, statusBadge, time } from './format.js';

export interface EventPageData {
  appId: number;
  /** The Redeliver form's CSRF token; null for a read-only session (no form). */
  csrf: string | null;
  event: EventDetail;
  /** Whether this viewer may see unmasked personal data (the owning project only). */
  mayReveal: boolean;
  revealed: boolean;
  now: number;
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

function attemptItem(a: AttemptRecord, now: number): SafeHtml {
  const o = a.outcome;
  return html`<li class="card attempt">
<h3>Attempt ${a.number} <span class="muted">· ${a.trigger}</span> ${attemptBadge(a, now)}</h3>
<dl class="facts">
<dt>Started</dt><dd>${time(a.startedAt)}</dd>
<dt>Result</dt><dd>${o === null ? (now - a.startedAt < IN_FLIGHT_WINDOW_MS ? 'no answer yet (in flight)' : 'interrupted: the process stopped during this attempt') : outcomeText(o)}</dd>
<dt>Duration</dt><dd>${o === null ? '—' : duration(o.durationMs)}</dd>
<dt>Response</dt><dd>${o?.responseBody ? html`<pre>${o.responseBody}</pre>` : html`<span class="muted">(empty)</span>`}</dd>
</dl></li>`;
}

export function eventView(d: EventPageData): SafeHtml {
  const { event: e, appId } = d;
  const self = `/projects/${appId}/events/${e.eventId}`;
  const attempts = [...e.attempts].sort((a, b) => b.number - a.number);
  return html`<h1 class="secret">Event <code id="event-id" class="copyable">${e.eventId}</code><button type="button" data-copy="event-id" hidden>Copy</button></h1>
<section class="card" aria-labelledby="summary-h">
<h2 id="summary-h" class="visually-hidden">Summary</h2>
<dl class="facts">
<dt>Status</dt><dd>${statusBadge(e.status)}</dd>
<dt>Attempts</dt><dd>${e.attemptCount}</dd>
<dt>Created</dt><dd>${time(e.createdAt)}</dd>
${e.status === 'pending' && html`<dt>Next attempt</dt><dd>${time(e.nextAttemptAt)}</dd>`}
${e.deliveredAt !== null && html`<dt>Delivered</dt><dd>${time(e.deliveredAt)}</dd>`}
<dt>webhook-id</dt><dd><code>${e.eventId}</code> (the same on every attempt; receivers deduplicate on it)</dd>
<dt>Client UUID</dt><dd><code>${e.clientUuid}</code></dd>
</dl>
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
<h2 id="attempts-h">Attempts (${e.attempts.length})</h2>
${
  attempts.length === 0
    ? html`<p class="muted">No attempts yet${e.status === 'skipped' ? ': the event was created while the project had no enabled endpoint. Redeliver it once one is set.' : e.status === 'erased' ? ': its person was erased before it was delivered; it will not be sent.' : '.'}</p>`
    : html`<ol class="attempts" reversed>${attempts.map((a) => attemptItem(a, d.now))}</ol>`
}
</section>`;
}
