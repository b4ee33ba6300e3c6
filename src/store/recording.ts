/**
 * What both stores derive, in TypeScript, while recording a batch of finished attempts: the
 * endpoints' health (the domain rule, applied attempt by attempt in the batch's order) and the
 * deltas of the attempt rollups. The stores read the rows it needs and write what it answers,
 * inside the transaction that records the attempts.
 */
import { attemptErrorLabel, type AttemptErrorKind } from '../domain/attempt-error.js';
import { afterAttempt, NO_ATTEMPT_YET, type HealthState } from '../domain/endpoint-health.js';
import { latencyBucket, percentilesOf } from '../domain/latency-histogram.js';
import { endpointFailing, endpointRecovered, eventFailed, type CausingAttempt, type NewOperatorEvent } from '../domain/operator-events.js';
import type { AttemptTrigger, ChartBucket, EndpointTransition, OperatorAttemptResult, WindowCounts } from './store.js';

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
  statusCode: number | null;
  errorKind: AttemptErrorKind | null;
}

/** What caused a transition: the attempt, and the failingSince of the streak it made or ended. */
export interface TransitionCause {
  attempt: NewlyFinished;
  failingSince: number;
}

/** Folds the batch's scheduled attempts into the endpoints' health, in order; answers the changed states and the transitions. */
export function foldHealth(
  current: ReadonlyMap<number, HealthState>,
  attempts: readonly NewlyFinished[],
  failingAfter: number,
): { states: Map<number, HealthState>; transitions: EndpointTransition[]; causes: TransitionCause[] } {
  const states = new Map<number, HealthState>();
  const transitions: EndpointTransition[] = [];
  /** Parallel to transitions. */
  const causes: TransitionCause[] = [];
  for (const a of attempts) {
    if (a.trigger !== 'scheduled') continue;
    const before = states.get(a.appId) ?? current.get(a.appId) ?? NO_ATTEMPT_YET;
    const { state, transition } = afterAttempt(before, { success: a.success, at: a.startedAt }, failingAfter);
    states.set(a.appId, state);
    if (transition !== null) {
      transitions.push({ appId: a.appId, transition, health: state });
      causes.push({ attempt: a, failingSince: (transition === 'failing' ? state.failingSince : before.failingSince) ?? a.startedAt });
    }
  }
  return { states, transitions, causes };
}

/** An event that used its last scheduled attempt in this batch (its settle was fenced by the lease). */
export interface FailedEventFact {
  appId: number;
  eventId: string;
  /** Attempts the event had in all (manual ones included). */
  attempts: number;
  attempt: CausingAttempt;
}

/**
 * The operator notifications a recorded batch owes (SPEC section 5): one per health transition
 * (endpoint.failing, endpoint.recovered) and one per event that used its last attempt
 * (event.failed), in the batch's order. `urls`: the endpoints' URLs, read in the same transaction.
 */
export function operatorEventsOf(
  now: number,
  folded: { transitions: readonly EndpointTransition[]; causes: readonly TransitionCause[] },
  urls: ReadonlyMap<number, string>,
  failed: readonly FailedEventFact[],
): NewOperatorEvent[] {
  const out: NewOperatorEvent[] = [];
  folded.transitions.forEach((t, i) => {
    const cause = folded.causes[i]!;
    const url = urls.get(t.appId) ?? '';
    if (t.transition === 'failing') {
      out.push(endpointFailing(now, { appId: t.appId, url, consecutiveFailures: t.health.consecutiveFailures, failingSince: cause.failingSince, attempt: cause.attempt }));
    } else {
      out.push(endpointRecovered(now, { appId: t.appId, url, failingSince: cause.failingSince, recoveredAt: cause.attempt.startedAt }));
    }
  });
  for (const f of failed) out.push(eventFailed(now, f));
  return out;
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

/**
 * A row of the chart statement (both stores): the events of one bucket (`slot`, 0-based) by status
 * in a..d, or one latency histogram bucket's count of it in a.
 */
export interface ChartRow {
  part: 'events' | 'latency';
  slot: number;
  bucket: number | null;
  a: number;
  b: number;
  c: number;
  d: number;
}

/** Every bucket of the chart from its statement's rows (empty ones included). */
export function chartBucketsOf(since: number, bucketMs: number, count: number, rows: readonly ChartRow[]): ChartBucket[] {
  if (bucketMs <= 0 || bucketMs % HOUR_MS !== 0 || hourOf(since) !== since) throw new RangeError('chart buckets are whole hours from the start of an hour');
  const events = Array.from({ length: count }, () => ({ pending: 0, delivered: 0, failed: 0, skipped: 0 }));
  const latency = Array.from({ length: count }, () => new Map<number, number>());
  for (const r of rows) {
    if (r.slot < 0 || r.slot >= count) continue;
    if (r.part === 'events') Object.assign(events[r.slot]!, { pending: r.a, delivered: r.b, failed: r.c, skipped: r.d });
    else latency[r.slot]!.set(r.bucket!, r.a);
  }
  return events.map((e, i) => {
    const p = percentilesOf(latency[i]!);
    return { start: since + i * bucketMs, events: e, latencyMs: p === null ? null : { p50: p.p50, p95: p.p95 } };
  });
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

/** The parameters of an attempt's record (both stores): the last error as the API names it. */
export function operatorAttemptParams(r: OperatorAttemptResult, now: number) {
  return {
    id: r.id,
    leaseToken: r.leaseToken,
    status: r.next.status,
    next: r.next.status === 'pending' ? r.next.nextAttemptAt : null,
    startedAt: r.startedAt,
    statusCode: r.outcome.statusCode,
    error: attemptErrorLabel(r.outcome),
    now,
  };
}
