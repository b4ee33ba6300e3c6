/** Operator notifications (SPEC section 5): stored by recordAttempts, claimed and recorded by the notifier, listed for the admin (SQLite). */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { NewOperatorEvent } from '../../domain/operator-events.js';
import { operatorAttemptParams as recordParams } from '../recording.js';
import { operatorEventOf, type OperatorEventRow } from '../rows.js';
import type { ClaimedOperatorEvent, OperatorAttemptResult, OperatorEvent, Page } from '../store.js';

const INSERT = `
INSERT INTO operator_events (id, type, body, status, next_attempt_at, created_at)
VALUES (@id, @type, @body, 'pending', @createdAt, @createdAt)`;

// Due rows whose every attempt is used (the holder of the last one died before recording it).
const EXHAUST = `
UPDATE operator_events SET status = 'failed', next_attempt_at = NULL, lease_token = NULL
WHERE status = 'pending' AND next_attempt_at <= @now AND attempt_count >= @maxAttempts`;

const CLAIM = `
UPDATE operator_events
SET attempt_count = attempt_count + 1, next_attempt_at = @leaseEnd, lease_token = @token
WHERE id IN (
  SELECT id FROM operator_events
  WHERE status = 'pending' AND next_attempt_at <= @now
  ORDER BY next_attempt_at, id LIMIT @limit
)
RETURNING id, body, attempt_count`;

const RECORD = `
UPDATE operator_events
SET status = @status, next_attempt_at = @next, lease_token = NULL, last_attempt_at = @startedAt,
    last_status_code = @statusCode, last_error = @error,
    delivered_at = CASE WHEN @status = 'delivered' THEN @now ELSE delivered_at END
WHERE id = @id AND lease_token = @leaseToken AND status = 'pending'`;

const LIST = `
SELECT id, type, body, status, attempt_count, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, delivered_at
FROM operator_events WHERE (@cursor IS NULL OR id < @cursor) ORDER BY id DESC LIMIT @limit`;

export class OperatorEvents {
  private readonly insert;
  private readonly exhaust;
  private readonly claim;
  private readonly record;
  private readonly list;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare<NewOperatorEvent>(INSERT);
    this.exhaust = db.prepare<{ now: number; maxAttempts: number }>(EXHAUST);
    this.claim = db.prepare<{ now: number; leaseEnd: number; token: string; limit: number }, { id: string; body: string; attempt_count: number }>(CLAIM);
    this.record = db.prepare<Record<string, unknown>>(RECORD);
    this.list = db.prepare<{ cursor: string | null; limit: number }, OperatorEventRow>(LIST);
  }

  /** Inside the caller's transaction (recordAttempts). */
  add(events: readonly NewOperatorEvent[]): void {
    for (const e of events) this.insert.run({ id: e.id, type: e.type, body: e.body, createdAt: e.createdAt });
  }

  claimDue(options: { now: number; limit: number; leaseMs: number; maxAttempts: number }): ClaimedOperatorEvent[] {
    return this.db
      .transaction((): ClaimedOperatorEvent[] => {
        this.exhaust.run({ now: options.now, maxAttempts: options.maxAttempts });
        const token = randomBytes(12).toString('base64url');
        return this.claim
          .all({ now: options.now, leaseEnd: options.now + options.leaseMs, token, limit: options.limit })
          .map((r) => ({ id: r.id, body: r.body, attemptCount: r.attempt_count, leaseToken: token }));
      })
      .immediate();
  }

  recordAttempts(results: readonly OperatorAttemptResult[], now: number): void {
    if (results.length === 0) return;
    this.db
      .transaction(() => {
        for (const r of results) this.record.run(recordParams(r, now));
      })
      .immediate();
  }

  page(limit: number, cursor: string | null): Page<OperatorEvent> {
    const rows = this.list.all({ cursor, limit: limit + 1 });
    const data = rows.slice(0, limit).map(operatorEventOf);
    return { data, nextCursor: rows.length > limit ? data[data.length - 1]!.id : null };
  }
}
