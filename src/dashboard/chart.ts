/**
 * The "deliveries by outcome" chart: stacked bars (succeeded / failed) per hour over 24 h or per
 * day over 7 d, drawn server-side as inline SVG, with a data table as its text alternative.
 */
import type { AttemptBucket } from '../store/store.js';
import { html, type SafeHtml } from './html.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export type ChartRange = '24h' | '7d';

export interface ChartWindow {
  range: ChartRange;
  bucketMs: number;
  /** Start of the first bucket (aligned to bucketMs, as the store groups). */
  since: number;
  count: number;
}

/** The buckets to ask the store for: the current hour (day) and the 23 (6) before it. */
export function chartWindow(range: ChartRange, now: number): ChartWindow {
  const bucketMs = range === '24h' ? HOUR_MS : DAY_MS;
  const count = range === '24h' ? 24 : 7;
  const current = Math.floor(now / bucketMs) * bucketMs;
  return { range, bucketMs, since: current - (count - 1) * bucketMs, count };
}

/** The smallest 1, 2 or 5 times a power of ten that is at least n (and at least 1). */
function niceCeiling(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

const pad = (n: number) => String(n).padStart(2, '0');
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function bucketLabel(w: ChartWindow, start: number): string {
  const d = new Date(start);
  return w.range === '24h' ? `${pad(d.getUTCHours())}:00` : `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()}`;
}

function bucketPeriod(w: ChartWindow, start: number): string {
  const d = new Date(start);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return w.range === '24h' ? `${day} ${pad(d.getUTCHours())}:00–${pad((d.getUTCHours() + 1) % 24)}:00 UTC` : `${day} (UTC)`;
}

export function deliveryChart(stats: readonly AttemptBucket[], w: ChartWindow): SafeHtml {
  const byStart = new Map(stats.map((b) => [b.start, b]));
  const buckets = Array.from({ length: w.count }, (_, i) => {
    const start = w.since + i * w.bucketMs;
    const b = byStart.get(start);
    return { start, succeeded: b?.succeeded ?? 0, failed: b?.failed ?? 0 };
  });
  const succeeded = buckets.reduce((n, b) => n + b.succeeded, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const yMax = niceCeiling(Math.max(...buckets.map((b) => b.succeeded + b.failed)));

  const width = 720;
  const height = 220;
  const left = 44;
  const right = 8;
  const top = 12;
  const bottom = 28;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const slot = plotW / w.count;
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const labelEvery = w.range === '24h' ? 3 : 1;
  const ticks = yMax === 1 ? [0, 1] : [0, yMax / 2, yMax];
  const span = w.range === '24h' ? 'the last 24 hours, by hour' : 'the last 7 days, by day';
  const summary = `${succeeded} succeeded and ${failed} failed delivery attempts in ${span} (UTC).`;

  const bars = buckets.map((b, i) => {
    const x = (left + i * slot + (slot - barW) / 2).toFixed(1);
    const okTop = y(b.succeeded);
    const failTop = y(b.succeeded + b.failed);
    const tip = `${bucketPeriod(w, b.start)}: ${b.succeeded} succeeded, ${b.failed} failed`;
    return html`<g><title>${tip}</title>${
      b.succeeded > 0 &&
      html`<rect class="bar-ok" x="${x}" y="${okTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - okTop).toFixed(1)}"/>`
    }${
      b.failed > 0 &&
      html`<rect class="bar-fail" x="${x}" y="${failTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${(okTop - failTop).toFixed(1)}"/>`
    }${
      i % labelEvery === 0 &&
      html`<text class="${w.range === '24h' && i % 6 !== 0 ? 'axis minor' : 'axis'}" x="${(left + i * slot + slot / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle">${bucketLabel(w, b.start)}</text>`
    }</g>`;
  });

  const grid = ticks.map(
    (t) =>
      html`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
  );

  const rows = buckets.map((b) => html`<tr><td>${bucketPeriod(w, b.start)}</td><td class="num">${b.succeeded}</td><td class="num">${b.failed}</td></tr>`);

  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">
<title id="chart-title">Deliveries by outcome, ${span}</title>
<desc id="chart-desc">${summary}</desc>
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>
${grid}
<line class="axis-line" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"/>
${bars}
${succeeded + failed === 0 && html`<text class="empty" x="${left + plotW / 2}" y="${top + plotH / 2}" text-anchor="middle">No finished attempts in this period</text>`}
</svg>
<figcaption>
<span class="legend"><span class="swatch swatch-ok"></span>Succeeded (${succeeded})</span>
<span class="legend"><span class="swatch swatch-fail"></span>Failed (${failed})</span>
<span class="muted">Attempts of every trigger (scheduled, manual, test), times in UTC.</span>
</figcaption>
<details><summary>Show the numbers as a table</summary>
<table><caption class="visually-hidden">${summary}</caption>
<thead><tr><th scope="col">Period</th><th scope="col">Succeeded</th><th scope="col">Failed</th></tr></thead>
<tbody>${rows}</tbody></table></details>
</figure>`;
}
