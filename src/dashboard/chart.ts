/**
 * The "events by outcome" chart: stacked bars of the events created in each hour (24 h) or day
 * (7 d) by their status now (delivered / failed / pending / skipped), not their attempts, so one
 * event retried ten times counts once; over them a line of the p95 latency of the successful
 * attempts started in each bucket, on its own axis at the right. Drawn server-side as inline SVG,
 * with a data table of the same numbers as its text alternative.
 */
import type { ChartBucket } from '../store/store.js';
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

/** One bucket of the chart: the events created in it by status now, and the latency of its successful attempts. */
export interface EventBucket {
  start: number;
  delivered: number;
  failed: number;
  pending: number;
  skipped: number;
  /** p50 of the successful attempts started in the bucket, or null when there were none. */
  p50Ms: number | null;
  /** p95 of the successful attempts started in the bucket, or null when there were none. */
  p95Ms: number | null;
}

/** The chart's buckets from the store's (one read for all of them: Store.chartBuckets). */
export function eventBuckets(buckets: readonly ChartBucket[]): EventBucket[] {
  return buckets.map((b) => ({ start: b.start, ...b.events, p50Ms: b.latencyMs?.p50 ?? null, p95Ms: b.latencyMs?.p95 ?? null }));
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
    return byStart.get(start) ?? { start, delivered: 0, failed: 0, pending: 0, skipped: 0, p50Ms: null, p95Ms: null };
  });
  const totalOf = (b: EventBucket) => b.delivered + b.failed + b.pending + b.skipped;
  const sums = Object.fromEntries(SERIES.map((s) => [s.key, buckets.reduce((n, b) => n + b[s.key], 0)])) as Record<(typeof SERIES)[number]['key'], number>;
  const total = buckets.reduce((n, b) => n + totalOf(b), 0);
  const yMax = niceCeiling(Math.max(...buckets.map(totalOf)));

  const width = 720;
  const height = 256;
  const left = 44;
  const right = 64;
  // Room above the plot for the axis titles (24 units on a phone, see layout.ts).
  const top = 48;
  const bottom = 28;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const slot = plotW / w.count;
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const labelEvery = w.range === '24h' ? 3 : 1;
  const ticks = yMax === 1 ? [0, 1] : [0, yMax / 2, yMax];
  const span = w.range === '24h' ? 'the last 24 hours, by hour' : 'the last 7 days, by day';
  const latencies = buckets.flatMap((b) => (b.p95Ms === null ? [] : [b.p95Ms]));
  const latencySummary =
    latencies.length === 0
      ? 'No successful attempts, so no latency line.'
      : `The line is the p95 latency of successful attempts, from ${duration(Math.min(...latencies))} to ${duration(Math.max(...latencies))} (right axis).`;
  const summary = `${sums.delivered} delivered, ${sums.failed} failed, ${sums.pending} pending and ${sums.skipped} skipped events created in ${span} (UTC). ${latencySummary}`;

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

  const line = latencyLine(buckets, { left, top, plotH, slot, right: width - right });

  const grid = ticks.map(
    (t) =>
      html`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
  );

  const rows = buckets.map(
    (b) =>
      html`<tr><td>${bucketPeriod(w, b.start)}</td>${SERIES.map((s) => html`<td class="num">${b[s.key]}</td>`)}<td class="num">${b.p50Ms === null ? '—' : duration(b.p50Ms)}</td><td class="num">${b.p95Ms === null ? '—' : duration(b.p95Ms)}</td></tr>`,
  );

  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">
<title id="chart-title">Events by outcome, ${span}</title>
<desc id="chart-desc">${summary}</desc>
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>
${grid}
<line class="axis-line" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"/>
<text class="axis" x="2" y="${top - 26}" text-anchor="start">events</text>
${bars}
${line}
${total === 0 && html`<text class="empty" x="${left + plotW / 2}" y="${top + plotH / 2}" text-anchor="middle">No events in this period</text>`}
</svg>
<figcaption>
${SERIES.map((s) => html`<span class="legend"><span class="swatch ${s.swatch}"></span>${s.label} (${sums[s.key]})</span>`)}
${latencies.length > 0 && html`<span class="legend"><span class="swatch swatch-latency"></span>p95 latency of successful attempts (line, right axis)</span>`}
<span class="muted">Events by creation time and their status now (an event retried ten times counts once); times in UTC.</span>
</figcaption>
<details><summary>Show the numbers as a table</summary>
<div class="table-wrap"><table><caption class="visually-hidden">${summary}</caption>
<thead><tr><th scope="col">Period</th>${SERIES.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}<th scope="col" class="num">p50 latency</th><th scope="col" class="num">p95 latency</th></tr></thead>
<tbody>${rows}</tbody></table></div></details>
</figure>`;
}

/**
 * The p95 line over the bars: one point per bucket with successful attempts, at the bucket's
 * centre, joined where buckets follow each other (a bucket without any breaks it), on a scale of
 * its own with its ticks at the right. Empty when no bucket has a latency.
 */
function latencyLine(buckets: readonly EventBucket[], box: { left: number; top: number; plotH: number; slot: number; right: number }): SafeHtml | false {
  const values = buckets.map((b) => b.p95Ms);
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  if (values.every((v) => v === null)) return false;
  const yMax = niceCeiling(max);
  const y = (v: number) => box.top + box.plotH - (v / yMax) * box.plotH;
  const x = (i: number) => box.left + i * box.slot + box.slot / 2;
  const segments: string[][] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length > 0) segments.push(current);
      current = [];
    } else current.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (current.length > 0) segments.push(current);
  const ticks = [0, yMax / 2, yMax];
  // Short tick labels (they must fit the margin at a phone's font size): the unit is in the title.
  const inSeconds = yMax >= 2_000;
  const tick = (t: number) => (inSeconds ? String(t / 1000) : String(t));
  return html`<g class="latency" data-series="p95">
${ticks.map((t) => html`<text class="axis axis-latency" x="${box.right + 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="start">${tick(t)}</text>`)}
<text class="axis axis-latency" x="${box.right + 62}" y="${box.top - 26}" text-anchor="end">p95 ${inSeconds ? 's' : 'ms'}</text>
${segments.map((points) => points.length > 1 && html`<polyline class="latency-line" points="${points.join(' ')}"/>`)}
${values.map((v, i) => v !== null && html`<circle class="latency-dot" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5"><title>p95 ${duration(v)}</title></circle>`)}
</g>`;
}
