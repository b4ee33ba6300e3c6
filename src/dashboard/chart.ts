/**
 * The "events by outcome" chart: stacked bars of the events created in each hour (24 h) or day
 * (7 d) by their status now (delivered / failed / pending / skipped), not their attempts, so one
 * event retried ten times counts once. Drawn server-side as inline SVG, with a data table (which
 * also holds each bucket's latency) as its text alternative.
 */
import type { WindowCounts } from '../store/store.js';
import { percentilesOf } from '../domain/latency-histogram.js';
import { html, type SafeHtml } from './html.js';
import { duration } from './views/format.js';

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

/** One bucket of the chart: the events created in it by status now, and the p95 latency of its successful attempts. */
export interface EventBucket {
  start: number;
  delivered: number;
  failed: number;
  pending: number;
  skipped: number;
  /** p95 of the successful attempts started in the bucket, or null when there were none. */
  p95Ms: number | null;
}

/**
 * The buckets from the store's window counts. windowCounts answers "since t, up to now" (its last
 * hour is read from the rows to the end), so each bucket is the difference of two such suffixes:
 * `suffixes[i]` are the counts since the i-th bucket's start. Separate reads may see an event change
 * status in between; a difference is never below 0.
 */
export function eventBuckets(w: ChartWindow, suffixes: readonly WindowCounts[]): EventBucket[] {
  const keys = ['delivered', 'failed', 'pending', 'skipped'] as const;
  return suffixes.map((from, i) => {
    const next = suffixes[i + 1];
    const events = Object.fromEntries(keys.map((k) => [k, Math.max(0, from.events[k] - (next?.events[k] ?? 0))])) as Record<(typeof keys)[number], number>;
    const latency = new Map<number, number>();
    for (const [bucket, n] of from.latency) {
      const left = n - (next?.latency.get(bucket) ?? 0);
      if (left > 0) latency.set(bucket, left);
    }
    return { start: w.since + i * w.bucketMs, ...events, p95Ms: percentilesOf(latency)?.p95 ?? null };
  });
}

/** Where each bucket starts: the `since` of the window counts eventBuckets needs. */
export function bucketStarts(w: ChartWindow): number[] {
  return Array.from({ length: w.count }, (_, i) => w.since + i * w.bucketMs);
}

const SERIES = [
  { key: 'delivered', label: 'Delivered', bar: 'bar-ok', swatch: 'swatch-ok' },
  { key: 'failed', label: 'Failed', bar: 'bar-fail', swatch: 'swatch-fail' },
  { key: 'pending', label: 'Pending', bar: 'bar-pending', swatch: 'swatch-pending' },
  { key: 'skipped', label: 'Skipped', bar: 'bar-skipped', swatch: 'swatch-skipped' },
] as const;

export function eventsChart(stats: readonly EventBucket[], w: ChartWindow): SafeHtml {
  const byStart = new Map(stats.map((b) => [b.start, b]));
  const buckets: EventBucket[] = Array.from({ length: w.count }, (_, i) => {
    const start = w.since + i * w.bucketMs;
    return byStart.get(start) ?? { start, delivered: 0, failed: 0, pending: 0, skipped: 0, p95Ms: null };
  });
  const totalOf = (b: EventBucket) => b.delivered + b.failed + b.pending + b.skipped;
  const sums = Object.fromEntries(SERIES.map((s) => [s.key, buckets.reduce((n, b) => n + b[s.key], 0)])) as Record<(typeof SERIES)[number]['key'], number>;
  const total = buckets.reduce((n, b) => n + totalOf(b), 0);
  const yMax = niceCeiling(Math.max(...buckets.map(totalOf)));

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
  const summary = `${sums.delivered} delivered, ${sums.failed} failed, ${sums.pending} pending and ${sums.skipped} skipped events created in ${span} (UTC).`;

  const bars = buckets.map((b, i) => {
    const x = (left + i * slot + (slot - barW) / 2).toFixed(1);
    const tip = `${bucketPeriod(w, b.start)}: ${SERIES.map((s) => `${b[s.key]} ${s.key}`).join(', ')}${b.p95Ms !== null ? `; p95 latency ${duration(b.p95Ms)}` : ''}`;
    let below = 0;
    const rects = SERIES.map((s) => {
      const n = b[s.key];
      if (n === 0) return false;
      const bottomY = y(below);
      below += n;
      const topY = y(below);
      return html`<rect class="${s.bar}" x="${x}" y="${topY.toFixed(1)}" width="${barW.toFixed(1)}" height="${(bottomY - topY).toFixed(1)}"/>`;
    });
    return html`<g><title>${tip}</title>${rects}${
      i % labelEvery === 0 &&
      html`<text class="${w.range === '24h' && i % 6 !== 0 ? 'axis minor' : 'axis'}" x="${(left + i * slot + slot / 2).toFixed(1)}" y="${height - 8}" text-anchor="middle">${bucketLabel(w, b.start)}</text>`
    }</g>`;
  });

  const grid = ticks.map(
    (t) =>
      html`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
  );

  const rows = buckets.map(
    (b) =>
      html`<tr><td>${bucketPeriod(w, b.start)}</td>${SERIES.map((s) => html`<td class="num">${b[s.key]}</td>`)}<td class="num">${b.p95Ms === null ? '—' : duration(b.p95Ms)}</td></tr>`,
  );

  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">
<title id="chart-title">Events by outcome, ${span}</title>
<desc id="chart-desc">${summary}</desc>
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>
${grid}
<line class="axis-line" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"/>
${bars}
${total === 0 && html`<text class="empty" x="${left + plotW / 2}" y="${top + plotH / 2}" text-anchor="middle">No events in this period</text>`}
</svg>
<figcaption>
${SERIES.map((s) => html`<span class="legend"><span class="swatch ${s.swatch}"></span>${s.label} (${sums[s.key]})</span>`)}
<span class="muted">Events by creation time and their status now (an event retried ten times counts once); times in UTC.</span>
</figcaption>
<details><summary>Show the numbers as a table</summary>
<div class="table-wrap"><table><caption class="visually-hidden">${summary}</caption>
<thead><tr><th scope="col">Period</th>${SERIES.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}<th scope="col" class="num">p95 latency</th></tr></thead>
<tbody>${rows}</tbody></table></div></details>
</figure>`;
}
