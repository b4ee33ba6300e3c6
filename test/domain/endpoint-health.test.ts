/** The health rule and the latency histogram, against reference computations from the whole history (fast-check). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterAttempt, healthOf, NO_ATTEMPT_YET, type HealthState, type HealthTransition } from '../../src/domain/endpoint-health.js';
import { bucketUpperBound, LATENCY_BUCKETS, latencyBucket, percentilesOf } from '../../src/domain/latency-histogram.js';

const attempts = fc.array(fc.record({ success: fc.boolean(), at: fc.integer({ min: 0, max: 1_000_000 }) }), { maxLength: 40 });
const threshold = fc.integer({ min: 1, max: 6 });

function fold(history: readonly { success: boolean; at: number }[], failingAfter: number) {
  let state: HealthState = NO_ATTEMPT_YET;
  const transitions: HealthTransition[] = [];
  for (const a of history) {
    const step = afterAttempt(state, a, failingAfter);
    state = step.state;
    if (step.transition) transitions.push(step.transition);
  }
  return { state, transitions };
}

describe('endpoint health (SPEC section 4)', () => {
  it('is what the whole history says: unknown without attempts, failing iff the last N failed, since the first of that streak', () => {
    fc.assert(
      fc.property(attempts, threshold, (history, n) => {
        const { state } = fold(history, n);
        const lastSuccess = history.map((a) => a.success).lastIndexOf(true);
        const streak = history.slice(lastSuccess + 1); // the trailing failures
        expect(state.consecutiveFailures).toBe(streak.length);
        const expected = history.length === 0 ? 'unknown' : streak.length >= n ? 'failing' : 'healthy';
        expect(healthOf(state)).toBe(expected);
        expect(state.failingSince).toBe(expected === 'failing' ? Math.min(...streak.map((a) => a.at)) : null);
        const times = (success: boolean) => history.filter((a) => a.success === success).map((a) => a.at);
        expect(state.lastSuccessAt).toBe(times(true).length ? Math.max(...times(true)) : null);
        expect(state.lastFailureAt).toBe(times(false).length ? Math.max(...times(false)) : null);
      }),
    );
  });

  it('reports "failing" once per streak that reaches N, and "recovered" once after each, alternating', () => {
    fc.assert(
      fc.property(attempts, threshold, (history, n) => {
        const { transitions } = fold(history, n);
        // Reference: split into maximal failure runs; each run of length >= N is one streak.
        const runs: number[] = [];
        let run = 0;
        const followedBySuccess: boolean[] = [];
        for (const a of history) {
          if (!a.success) run++;
          else {
            if (run > 0) {
              runs.push(run);
              followedBySuccess.push(true);
            }
            run = 0;
          }
        }
        if (run > 0) {
          runs.push(run);
          followedBySuccess.push(false);
        }
        const failing = runs.filter((r) => r >= n).length;
        const recovered = runs.filter((r, i) => r >= n && followedBySuccess[i]).length;
        expect(transitions.filter((t) => t === 'failing')).toHaveLength(failing);
        expect(transitions.filter((t) => t === 'recovered')).toHaveLength(recovered);
        transitions.forEach((t, i) => expect(t).toBe(i % 2 === 0 ? 'failing' : 'recovered'));
      }),
    );
  });

  it('the examples: three failures make it failing since the first; a success makes it healthy', () => {
    const s = fold(
      [
        { success: false, at: 10 },
        { success: false, at: 20 },
        { success: false, at: 30 },
      ],
      3,
    );
    expect(s).toEqual({ state: { consecutiveFailures: 3, streakStartedAt: 10, failingSince: 10, lastSuccessAt: null, lastFailureAt: 30 }, transitions: ['failing'] });
    expect(afterAttempt(s.state, { success: true, at: 40 }, 3).transition).toBe('recovered');
    expect(healthOf(afterAttempt(s.state, { success: true, at: 40 }, 3).state)).toBe('healthy');
  });
});

describe('latency histogram', () => {
  it('puts every duration in the one bucket whose bounds hold it, at most 12.5 % wide, exact below 16 ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 24 - 1 }), (d) => {
        const b = latencyBucket(d);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(LATENCY_BUCKETS);
        const upper = bucketUpperBound(b);
        const lower = b === 0 ? 0 : bucketUpperBound(b - 1) + 1;
        expect(d).toBeGreaterThanOrEqual(lower);
        expect(d).toBeLessThanOrEqual(upper);
        if (d < 16) expect(upper).toBe(d);
        else expect(upper - d).toBeLessThanOrEqual(d / 8);
      }),
    );
    for (let d = 0; d < 5_000; d++) expect(latencyBucket(d + 1)).toBeGreaterThanOrEqual(latencyBucket(d));
    expect(latencyBucket(10 ** 9)).toBe(LATENCY_BUCKETS - 1);
  });

  it('percentiles are the nearest-rank durations, reported as the upper bound of their bucket', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 300 }), (durations) => {
        const counts = new Map<number, number>();
        for (const d of durations) counts.set(latencyBucket(d), (counts.get(latencyBucket(d)) ?? 0) + 1);
        const sorted = [...durations].sort((a, b) => a - b);
        const reference = (p: number) => bucketUpperBound(latencyBucket(sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1]!));
        expect(percentilesOf(counts)).toEqual({ p50: reference(50), p95: reference(95), p99: reference(99) });
      }),
    );
    expect(percentilesOf(new Map())).toBeNull();
    // 100 values 1..100 ms: p95 is the 95th (95 ms, whose bucket ends at 95), not the 96th.
    const hundred = new Map<number, number>();
    for (let d = 1; d <= 100; d++) hundred.set(latencyBucket(d), (hundred.get(latencyBucket(d)) ?? 0) + 1);
    expect(percentilesOf(hundred)!.p95).toBe(bucketUpperBound(latencyBucket(95)));
  });

  it("migration 0005's SQL bucket (filling the rollup from older attempts) equals latencyBucket", () => {
    // The CASE expression of the SQLite migration, run by SQLite itself on every duration up to 2^24.
    const sql = readFileSync(path.resolve(import.meta.dirname, '../../migrations/sqlite/0005_endpoint_health.sql'), 'utf8');
    const expr = /(CASE WHEN d < 16 THEN d[\s\S]*?END) AS bucket/.exec(sql)![1]!;
    const db = new Database(':memory:');
    const bucketOf = db.prepare<[number], { b: number }>(`SELECT ${expr} AS b FROM (SELECT min(max(?, 0), 16777215) AS d)`);
    const samples = [...Array(20_000).keys(), ...Array.from({ length: 20 }, (_, k) => [2 ** (k + 4) - 1, 2 ** (k + 4), 2 ** (k + 4) + 1]).flat(), 2 ** 24 - 1, 2 ** 30];
    for (const d of samples) expect(bucketOf.get(d)!.b, `${d} ms`).toBe(latencyBucket(d));
    db.close();
  });
});
