/**
 * What both stores derive, in TypeScript, while recording a batch of finished attempts: the
 * endpoints' health (the domain rule, applied attempt by attempt in the batch's order) and the
 * deltas of the attempt rollups. The stores read the rows it needs and write what it answers,
 * inside the transaction that records the attempts.
 */
import { afterAttempt, NO_ATTEMPT_YET, type HealthState } from '../domain/endpoint-health.js';
import { latencyBucket } from '../domain/latency-histogram.js';
import type { AttemptTrigger, EndpointTransition, WindowCounts } from './store.js';

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour holding `at`, the key of the hourly rollups. */
export const hourOf = (at: number): number => at - (((at % HOUR_MS) + HOUR_MS) % HOUR_MS);

/** An attempt being recorded for the first time, as its row says. */
export interface NewlyFinished {
  appId: number;
  trigger: AttemptTrigger;
  startedAt: number;
  success: boolean;
  durationMs: number;
}

/** Folds the batch's scheduled attempts into the endpoints' health, in order; answers the changed states and the transitions. */
export function foldHealth(
  current: ReadonlyMap<number, HealthState>,
  attempts: readonly NewlyFinished[],
  failingAfter: number,
): { states: Map<number, HealthState>; transitions: EndpointTransition[] } {
  const states = new Map<number, HealthState>();
  const transitions: EndpointTransition[] = [];
  for (const a of attempts) {
    if (a.trigger !== 'scheduled') continue;
    const before = states.get(a.appId) ?? current.get(a.appId) ?? NO_ATTEMPT_YET;
    const { state, transition } = afterAttempt(before, { success: a.success, at: a.startedAt }, failingAfter);
    states.set(a.appId, state);
    if (transition !== null) transitions.push({ appId: a.appId, transition, health: state });
  }
  return { states, transitions };
}

export interface AttemptRollupRow {
  appId: number;
  hour: number;
  succeeded: number;
  failed: number;
}

export interface LatencyRollupRow {
  appId: number;
  hour: number;
  bucket: number;
  count: number;
}

/** The rollup deltas of a batch, one row per key, in key order (PostgreSQL locks them in that order). */
export function rollupDeltas(attempts: readonly NewlyFinished[]): { attempts: AttemptRollupRow[]; latency: LatencyRollupRow[] } {
  const byHour = new Map<string, AttemptRollupRow>();
  const byBucket = new Map<string, LatencyRollupRow>();
  for (const a of attempts) {
    const hour = hourOf(a.startedAt);
    const key = `${a.appId}:${hour}`;
    const row = byHour.get(key) ?? { appId: a.appId, hour, succeeded: 0, failed: 0 };
    if (a.success) row.succeeded++;
    else row.failed++;
    byHour.set(key, row);
    if (a.success) {
      const bucket = latencyBucket(a.durationMs);
      const bucketKey = `${key}:${bucket}`;
      const b = byBucket.get(bucketKey) ?? { appId: a.appId, hour, bucket, count: 0 };
      b.count++;
      byBucket.set(bucketKey, b);
    }
  }
  const order = <T extends { appId: number; hour: number; bucket?: number }>(x: T, y: T) =>
    x.appId - y.appId || x.hour - y.hour || (x.bucket ?? 0) - (y.bucket ?? 0);
  return { attempts: [...byHour.values()].sort(order), latency: [...byBucket.values()].sort(order) };
}

/**
 * How a stats window [since, now] is counted: the whole hours inside it from the rollups, the
 * partial hours at both ends (at most two hours of rows) from the rows. `raw` ranges are
 * half-open [from, to).
 */
export function windowPlan(since: number, now: number): { rollup: { from: number; to: number } | null; raw: { from: number; to: number }[] } {
  const firstWhole = hourOf(since) === since ? since : hourOf(since) + HOUR_MS;
  const current = hourOf(now);
  if (firstWhole >= current) return { rollup: null, raw: [{ from: since, to: Number.MAX_SAFE_INTEGER }] };
  return {
    rollup: { from: firstWhole, to: current },
    raw: [
      { from: since, to: firstWhole },
      { from: current, to: Number.MAX_SAFE_INTEGER },
    ].filter((r) => r.from < r.to),
  };
}

/** Adds attempts counted from the rows (success, duration, how many) to a window's counts. */
export function addRawAttempts(counts: WindowCounts, rows: readonly { success: boolean; duration: number | null; n: number }[]): void {
  for (const r of rows) {
    if (r.success) {
      counts.attempts.succeeded += r.n;
      const bucket = latencyBucket(r.duration ?? 0);
      counts.latency.set(bucket, (counts.latency.get(bucket) ?? 0) + r.n);
    } else counts.attempts.failed += r.n;
  }
}
