/** Operator notifications (SPEC section 5): claimed and recorded by the notifier, listed for the admin (PostgreSQL). recordAttempts stores them (attempts.ts). */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { operatorAttemptParams as recordParams } from '../recording.js';
import { operatorEventOf, type OperatorEventRow } from '../rows.js';
import type { ClaimedOperatorEvent, OperatorAttemptResult, OperatorEvent, Page } from '../store.js';

// One statement: due rows whose every attempt is used (the holder of the last one died before
// recording it) fail; the others, SKIP LOCKED so notifiers of several processes share them, are leased.
const CLAIM = {
  name: 'claim_operator_events',
  text: `
WITH due AS (
  SELECT id, attempt_count >= $4 AS exhausted FROM operator_events
  WHERE status = 'pending' AND next_attempt_at <= $1
  ORDER BY next_attempt_at, id LIMIT $2
  FOR UPDATE SKIP LOCKED
),
exhausted AS (
  UPDATE operator_events o SET status = 'failed', next_attempt_at = NULL, lease_token = NULL
  FROM due WHERE o.id = due.id AND due.exhausted
)
UPDATE operator_events o
SET attempt_count = o.attempt_count + 1, next_attempt_at = $1 + $3::bigint, lease_token = $5
FROM due WHERE o.id = due.id AND NOT due.exhausted
RETURNING o.id, o.body, o.attempt_count`,
};

const RECORD = {
  name: 'record_operator_attempts',
  text: `
UPDATE operator_events o
SET status = r.status, next_attempt_at = r.next, lease_token = NULL, last_attempt_at = r.started_at,
    last_status_code = r.status_code, last_error = r.error,
    delivered_at = CASE WHEN r.status = 'delivered' THEN $8::bigint ELSE o.delivered_at END
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[])
     AS r(id, lease_token, status, next, started_at, status_code, error)
WHERE o.id = r.id AND o.lease_token = r.lease_token AND o.status = 'pending'`,
};

const LIST = {
  name: 'list_operator_events',
  text: `
SELECT id, type, body, status, attempt_count, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, delivered_at
FROM operator_events WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
};

export class OperatorEvents {
  constructor(private readonly pool: pg.Pool) {}

  async claimDue(options: { now: number; limit: number; leaseMs: number; maxAttempts: number }): Promise<ClaimedOperatorEvent[]> {
    const token = randomBytes(12).toString('base64url');
    const { rows } = await this.pool.query<{ id: string; body: string; attempt_count: number }>({
      ...CLAIM,
      values: [options.now, options.limit, options.leaseMs, options.maxAttempts, token],
    });
    return rows.map((r) => ({ id: r.id, body: r.body, attemptCount: r.attempt_count, leaseToken: token }));
  }

  async recordAttempts(results: readonly OperatorAttemptResult[], now: number): Promise<void> {
    if (results.length === 0) return;
    const p = results.map((r) => recordParams(r, now));
    await this.pool.query({
      ...RECORD,
      values: [p.map((x) => x.id), p.map((x) => x.leaseToken), p.map((x) => x.status), p.map((x) => x.next), p.map((x) => x.startedAt), p.map((x) => x.statusCode), p.map((x) => x.error), now],
    });
  }

  async page(limit: number, cursor: string | null): Promise<Page<OperatorEvent>> {
    const { rows } = await this.pool.query<OperatorEventRow>({ ...LIST, values: [cursor, limit + 1] });
    const data = rows.slice(0, limit).map(operatorEventOf);
    return { data, nextCursor: rows.length > limit ? data[data.length - 1]!.id : null };
  }
}
