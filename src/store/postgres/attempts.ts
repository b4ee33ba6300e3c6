/** Attempts: recording how they ended, manual attempts, test webhooks (PostgreSQL). Scheduled ones are opened by the claim (claim-due.ts). */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AttemptOutcome, FinishedAttempt, ManualAttempt } from '../store.js';
import { inTransaction, retryingStatement, type Queryable } from './connection.js';
import { attemptArrays, chunksWithDistinctEvents, RECORD_ATTEMPTS_SQL } from './record-attempts.js';

// One statement for the usual batch; see record-attempts.ts.
const RECORD_ATTEMPTS = { name: 'record_attempts', text: RECORD_ATTEMPTS_SQL };

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

  async recordAttempts(finished: readonly FinishedAttempt[], now: number): Promise<void> {
    if (finished.length === 0) return;
    const chunks = chunksWithDistinctEvents(finished);
    const record = (db: Queryable, chunk: readonly FinishedAttempt[]) =>
      db.query({ ...RECORD_ATTEMPTS, values: [...attemptArrays(chunk), now] });
    // The usual case is one statement, atomic by itself: no BEGIN/COMMIT round trips.
    if (chunks.length === 1) {
      await retryingStatement(() => record(this.pool, chunks[0]!));
      return;
    }
    await inTransaction(this.pool, this.logger, async (client) => {
      for (const chunk of chunks) await record(client, chunk);
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
    await this.pool.query({
      ...INSERT_TEST_ATTEMPT,
      values: [webhookId, appId, startedAt, outcome.success, outcome.statusCode, outcome.errorKind, Math.round(outcome.durationMs), outcome.responseBody],
    });
  }
}
