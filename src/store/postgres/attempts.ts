/** Attempts: recording how they ended, manual attempts, test webhooks (PostgreSQL). Scheduled ones are opened by the claim (claim-due.ts). */
import type pg from 'pg';
import type { Logger } from 'pino';
import { DEFAULT_FAILING_AFTER, type HealthState } from '../../domain/endpoint-health.js';
import { foldHealth, operatorEventsOf, rollupDeltas, type FailedEventFact, type NewlyFinished } from '../recording.js';
import { toHealthState, type HealthRow } from '../rows.js';
import type { AttemptOutcome, AttemptTrigger, FinishedAttempt, ManualAttempt, RecordedAttempts } from '../store.js';
import { inTransaction } from './connection.js';
import {
  attemptArrays,
  chunksWithDistinctEvents,
  derivedArrays,
  ENDPOINT_URLS_SQL,
  INSERT_OPERATOR_EVENTS_SQL,
  LOCK_FOR_RECORD_SQL,
  RECORD_ATTEMPTS_SQL,
  type FailedRow,
} from './record-attempts.js';

// The locking read, then one statement for the usual batch; see record-attempts.ts.
const LOCK_FOR_RECORD = { name: 'lock_for_record', text: LOCK_FOR_RECORD_SQL };
const RECORD_ATTEMPTS = { name: 'record_attempts', text: RECORD_ATTEMPTS_SQL };

type LockedRow = { attempt_id: number; app_id: number; trigger: AttemptTrigger; started_at: number } & { [K in keyof HealthRow]: HealthRow[K] | null };

// A test webhook counts in the stats' attempts and latency (never in health), in the statement that stores it.
const COUNT_TEST_ATTEMPT = {
  name: 'count_test_attempt',
  text: `
WITH counted AS (
  INSERT INTO attempt_stats_hourly AS s (app_id, hour, succeeded, failed)
  SELECT * FROM unnest($1::int[], $2::bigint[], $3::int[], $4::int[])
  ON CONFLICT (app_id, hour) DO UPDATE SET succeeded = s.succeeded + excluded.succeeded, failed = s.failed + excluded.failed
)
INSERT INTO latency_hourly AS s (app_id, hour, bucket, count)
SELECT * FROM unnest($5::int[], $6::bigint[], $7::int[], $8::int[])
ON CONFLICT (app_id, hour, bucket) DO UPDATE SET count = s.count + excluded.count`,
};

// FOR UPDATE OF e: attempt numbers stay consecutive when a claim or another redelivery races this
// one. LEFT JOIN: a missing endpoint reads as nulls (then there is nothing to send to).
const EVENT_FOR_MANUAL_ATTEMPT = `
SELECT e.attempt_count, e.body, e.status, e.lease_token, e.next_attempt_at, p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at, p.headers_sealed
FROM events e LEFT JOIN endpoints p ON p.app_id = e.app_id
WHERE e.app_id = $1 AND e.id = $2
FOR UPDATE OF e`;

const OPEN_MANUAL_ATTEMPT = `
INSERT INTO attempts (event_id, app_id, number, trigger, started_at)
VALUES ($1, $2, $3, 'manual', $4) RETURNING id`;

// A manual attempt numbers on from the event's attempts without using one of its scheduled ones.
const BUMP_ATTEMPT_COUNT = `UPDATE events SET attempt_count = attempt_count + 1 WHERE id = $1`;

// A test webhook has no stored event: its attempt is recorded finished, under the webhook id.
const INSERT_TEST_ATTEMPT = {
  name: 'insert_test_attempt',
  text: `
INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code,
                      error_kind, duration_ms, response_body)
VALUES ($1, $2, 1, 'test', $3, true, $4, $5, $6, $7, $8)`,
};

interface ManualAttemptRow {
  attempt_count: number;
  body: string | null;
  status: string;
  lease_token: number | null;
  next_attempt_at: number | null;
  url: string | null;
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  headers_sealed: string | null;
  previous_secret_expires_at: number | null;
}

export class Attempts {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /**
   * One transaction: the locking read (health rows first, see record-attempts.ts), the health rule
   * and the rollup deltas in TypeScript, then one statement per chunk (usually one) that records the
   * attempts, settles their events and writes health and rollups.
   */
  async recordAttempts(finished: readonly FinishedAttempt[], now: number, failingAfter = DEFAULT_FAILING_AFTER, notifyOperator = false): Promise<RecordedAttempts> {
    if (finished.length === 0) return { transitions: [], eventsFailed: 0, operatorEvents: 0 };
    const chunks = chunksWithDistinctEvents(finished);
    return inTransaction(this.pool, this.logger, async (client) => {
      const locked = (await client.query<LockedRow>({ ...LOCK_FOR_RECORD, values: [finished.map((f) => f.attemptId)] })).rows;
      const rowOf = new Map(locked.map((r) => [r.attempt_id, r]));
      const current = new Map<number, HealthState>();
      for (const r of locked) if (r.consecutive_failures !== null) current.set(r.app_id, toHealthState(r as LockedRow & HealthRow));
      const newly: NewlyFinished[] = [];
      const seen = new Set<number>();
      for (const f of finished) {
        const r = rowOf.get(f.attemptId);
        if (r === undefined || seen.has(f.attemptId)) continue;
        seen.add(f.attemptId);
        newly.push({
          appId: r.app_id,
          trigger: r.trigger,
          startedAt: r.started_at,
          success: f.outcome.success,
          durationMs: f.outcome.durationMs,
          statusCode: f.outcome.statusCode,
          errorKind: f.outcome.errorKind,
        });
      }
      const folded = foldHealth(current, newly, failingAfter);
      let derived = derivedArrays(folded.states, rollupDeltas(newly));
      let eventsFailed = 0;
      const failedRows: FailedRow[] = [];
      for (const chunk of chunks) {
        const { rows } = await client.query<{ events_failed: number; failed: FailedRow[] }>({ ...RECORD_ATTEMPTS, values: [...attemptArrays(chunk), now, ...derived] });
        eventsFailed += rows[0]?.events_failed ?? 0;
        failedRows.push(...(rows[0]?.failed ?? []));
        // Health and rollups are written once, with the first chunk.
        derived = derived.map(() => []);
      }
      let operatorEvents = 0;
      if (notifyOperator && (folded.transitions.length > 0 || failedRows.length > 0)) {
        // Same transaction: a notification is stored exactly when the attempt that causes it is.
        const outcomeOf = new Map(finished.map((f) => [f.eventId, f]));
        const failed: FailedEventFact[] = failedRows.map((e) => {
          const f = outcomeOf.get(e.eventId)!;
          return { appId: e.appId, eventId: e.eventId, attempts: e.attempts, attempt: { ...f.outcome, startedAt: rowOf.get(f.attemptId)?.started_at ?? now } };
        });
        const apps = [...new Set(folded.transitions.map((t) => t.appId))];
        const urls = new Map<number, string>();
        if (apps.length > 0) {
          for (const u of (await client.query<{ app_id: number; url: string }>(ENDPOINT_URLS_SQL, [apps])).rows) urls.set(u.app_id, u.url);
        }
        const owed = operatorEventsOf(now, folded, urls, failed);
        await client.query(INSERT_OPERATOR_EVENTS_SQL, [owed.map((o) => o.id), owed.map((o) => o.type), owed.map((o) => o.body), owed.map((o) => o.createdAt)]);
        operatorEvents = owed.length;
      }
      return { transitions: folded.transitions, eventsFailed, operatorEvents };
    });
  }

  openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null> {
    return inTransaction(this.pool, this.logger, async (client): Promise<ManualAttempt | 'in_flight' | null> => {
      const e = (await client.query<ManualAttemptRow>(EVENT_FOR_MANUAL_ATTEMPT, [appId, eventId])).rows[0];
      // No such event, no endpoint (left join), or a payload erased / past retention.
      if (!e || e.url === null || e.secret_sealed === null || e.body === null) return null;
      // A scheduled attempt holds the lease: no second, concurrent delivery of this webhook-id.
      if (e.status === 'pending' && e.lease_token !== null && (e.next_attempt_at ?? 0) > now) return 'in_flight';
      const number = e.attempt_count + 1;
      const opened = await client.query<{ id: number }>(OPEN_MANUAL_ATTEMPT, [eventId, appId, number, now]);
      await client.query(BUMP_ATTEMPT_COUNT, [eventId]);
      return {
        attemptId: opened.rows[0]!.id,
        attemptNumber: number,
        url: e.url,
        body: e.body,
        secretSealed: e.secret_sealed,
        previousSecretSealed: e.previous_secret_sealed,
        previousSecretExpiresAt: e.previous_secret_expires_at,
        headersSealed: e.headers_sealed,
      };
    });
  }

  async recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void> {
    const deltas = rollupDeltas([
      { appId, trigger: 'test', startedAt, success: outcome.success, durationMs: outcome.durationMs, statusCode: outcome.statusCode, errorKind: outcome.errorKind },
    ]);
    await inTransaction(this.pool, this.logger, async (client) => {
      await client.query({
        ...INSERT_TEST_ATTEMPT,
        values: [webhookId, appId, startedAt, outcome.success, outcome.statusCode, outcome.errorKind, Math.round(outcome.durationMs), outcome.responseBody],
      });
      await client.query({ ...COUNT_TEST_ATTEMPT, values: derivedArrays(new Map(), deltas).slice(6) });
    });
  }
}
