/** Attempts: opening them (scheduled, by a claim, or manual), recording how they ended, test webhooks (SQLite). */
import type Database from 'better-sqlite3';
import { DEFAULT_FAILING_AFTER, type HealthState } from '../../domain/endpoint-health.js';
import { foldHealth, operatorEventsOf, rollupDeltas, type FailedEventFact, type NewlyFinished } from '../recording.js';
import { toHealthState, type HealthRow } from '../rows.js';
import type { AttemptOutcome, AttemptTrigger, FinishedAttempt, ManualAttempt, RecordedAttempts } from '../store.js';
import type { Endpoints } from './endpoints.js';
import type { Events } from './events.js';
import type { OperatorEvents } from './operator-events.js';

// The new row's id is the fencing token of a scheduled attempt's lease.
const OPEN_ATTEMPT = `
INSERT INTO attempts (event_id, app_id, number, trigger, started_at)
VALUES (@eventId, @appId, @number, @trigger, @now)`;

// A manual attempt numbers on from the event's attempts without using one of its scheduled ones.
const BUMP_ATTEMPT_COUNT = `UPDATE events SET attempt_count = attempt_count + 1 WHERE id = ?`;

const FINISH_ATTEMPT = `
UPDATE attempts
SET finished = 1, success = @success, status_code = @statusCode, error_kind = @errorKind,
    duration_ms = @durationMs, response_body = @responseBody
WHERE id = @attemptId`;

// Fenced: only the holder of the current lease may move the event on. A stale attempt (its lease
// ran out and the event was claimed again) is recorded above, nothing more.
const SETTLE_SCHEDULED = `
UPDATE events
SET status = @status, next_attempt_at = @next, lease_token = NULL,
    delivered_at = CASE WHEN @status = 'delivered' THEN @now ELSE delivered_at END,
    finished_at = CASE WHEN @status IN ('delivered', 'failed') THEN @now END
WHERE id = @eventId AND lease_token = @attemptId AND status = 'pending'`;

// A manual success delivers the event whatever its state, and voids any lease in flight.
const SETTLE_MANUAL_SUCCESS = `
UPDATE events
SET status = 'delivered', next_attempt_at = NULL, lease_token = NULL, delivered_at = @now, finished_at = @now
WHERE id = @eventId AND status <> 'delivered'`;

// Whose attempt it is and whether it was recorded already (health and rollups count it once).
const ATTEMPT_FOR_RECORD = `SELECT app_id, trigger, started_at, finished FROM attempts WHERE id = ?`;

// What an event.failed notification says: its project and attempts in all (after the settle).
const FAILED_EVENT = `SELECT app_id, attempt_count FROM events WHERE id = ?`;
const ENDPOINT_URL = `SELECT url FROM endpoints WHERE app_id = ?`;

const GET_HEALTH = `
SELECT consecutive_failures, streak_started_at, failing_since, last_success_at, last_failure_at
FROM endpoint_health WHERE app_id = ?`;

// An upsert: the row is made with the endpoint (trigger endpoints_health_on_insert), but a
// database migrated while an endpoint was being created must not lose the attempt.
const PUT_HEALTH = `
INSERT INTO endpoint_health (app_id, consecutive_failures, streak_started_at, failing_since, last_success_at, last_failure_at)
VALUES (@appId, @consecutiveFailures, @streakStartedAt, @failingSince, @lastSuccessAt, @lastFailureAt)
ON CONFLICT (app_id) DO UPDATE SET
  consecutive_failures = excluded.consecutive_failures, streak_started_at = excluded.streak_started_at,
  failing_since = excluded.failing_since, last_success_at = excluded.last_success_at, last_failure_at = excluded.last_failure_at`;

// The stats' rollups (migration 0005): finished attempts by start hour, and the latency buckets of the successful ones.
const COUNT_ATTEMPTS = `
INSERT INTO attempt_stats_hourly (app_id, hour, succeeded, failed) VALUES (@appId, @hour, @succeeded, @failed)
ON CONFLICT (app_id, hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed`;

const COUNT_LATENCY = `
INSERT INTO latency_hourly (app_id, hour, bucket, count) VALUES (@appId, @hour, @bucket, @count)
ON CONFLICT (app_id, hour, bucket) DO UPDATE SET count = count + excluded.count`;

// A test webhook has no stored event: its attempt is recorded finished, under the webhook id.
const INSERT_TEST_ATTEMPT = `
INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code,
                      error_kind, duration_ms, response_body)
VALUES (@eventId, @appId, 1, 'test', @startedAt, 1, @success, @statusCode, @errorKind, @durationMs, @responseBody)`;

export interface OpenAttemptParams {
  eventId: string;
  appId: number;
  number: number;
  trigger: AttemptTrigger;
  now: number;
}

export class Attempts {
  private readonly openAttemptStatement;
  private readonly bumpAttemptCount;
  private readonly finishAttempt;
  private readonly settleScheduled;
  private readonly settleManualSuccess;
  private readonly insertTestAttempt;
  private readonly attemptForRecord;
  private readonly getHealth;
  private readonly putHealth;
  private readonly countAttempts;
  private readonly countLatency;
  private readonly failedEvent;
  private readonly endpointUrl;

  constructor(
    private readonly db: Database.Database,
    private readonly events: Events,
    private readonly endpoints: Endpoints,
    private readonly operatorEvents: OperatorEvents,
  ) {
    this.failedEvent = db.prepare<[string], { app_id: number; attempt_count: number }>(FAILED_EVENT);
    this.endpointUrl = db.prepare<[number], { url: string }>(ENDPOINT_URL);
    this.openAttemptStatement = db.prepare<OpenAttemptParams>(OPEN_ATTEMPT);
    this.bumpAttemptCount = db.prepare<[string]>(BUMP_ATTEMPT_COUNT);
    this.finishAttempt = db.prepare<Record<string, unknown>>(FINISH_ATTEMPT);
    this.settleScheduled = db.prepare<{ eventId: string; attemptId: number; status: string; next: number | null; now: number }>(SETTLE_SCHEDULED);
    this.settleManualSuccess = db.prepare<{ eventId: string; now: number }>(SETTLE_MANUAL_SUCCESS);
    this.insertTestAttempt = db.prepare<Record<string, unknown>>(INSERT_TEST_ATTEMPT);
    this.attemptForRecord = db.prepare<[number], { app_id: number; trigger: AttemptTrigger; started_at: number; finished: number }>(ATTEMPT_FOR_RECORD);
    this.getHealth = db.prepare<[number], HealthRow>(GET_HEALTH);
    this.putHealth = db.prepare<HealthState & { appId: number }>(PUT_HEALTH);
    this.countAttempts = db.prepare<{ appId: number; hour: number; succeeded: number; failed: number }>(COUNT_ATTEMPTS);
    this.countLatency = db.prepare<{ appId: number; hour: number; bucket: number; count: number }>(COUNT_LATENCY);
  }

  /** Opens an attempt row inside the caller's transaction; answers its id. */
  open(params: OpenAttemptParams): number {
    return Number(this.openAttemptStatement.run(params).lastInsertRowid);
  }

  /** One write transaction: the attempts, the events they settle, the endpoints' health, the rollups. */
  recordAttempts(finished: readonly FinishedAttempt[], now: number, failingAfter = DEFAULT_FAILING_AFTER, notifyOperator = false): RecordedAttempts {
    if (finished.length === 0) return { transitions: [], eventsFailed: 0, operatorEvents: 0 };
    return this.db
      .transaction((): RecordedAttempts => {
        const newly: NewlyFinished[] = [];
        const failed: FailedEventFact[] = [];
        let eventsFailed = 0;
        for (const f of finished) {
          const row = this.attemptForRecord.get(f.attemptId);
          if (row !== undefined && row.finished === 0) {
            newly.push({
              appId: row.app_id,
              trigger: row.trigger,
              startedAt: row.started_at,
              success: f.outcome.success,
              durationMs: f.outcome.durationMs,
              statusCode: f.outcome.statusCode,
              errorKind: f.outcome.errorKind,
            });
          }
          this.finishAttempt.run({ attemptId: f.attemptId, ...outcomeParams(f.outcome) });
          if (f.next === null) {
            if (f.outcome.success) this.settleManualSuccess.run({ eventId: f.eventId, now });
          } else {
            const settled = this.settleScheduled.run({
              eventId: f.eventId,
              attemptId: f.attemptId,
              status: f.next.status,
              next: f.next.status === 'pending' ? f.next.nextAttemptAt : null,
              now,
            }).changes;
            if (f.next.status === 'failed') {
              eventsFailed += settled;
              const e = settled > 0 && notifyOperator ? this.failedEvent.get(f.eventId) : undefined;
              if (e !== undefined) {
                failed.push({ appId: e.app_id, eventId: f.eventId, attempts: e.attempt_count, attempt: { ...f.outcome, startedAt: row?.started_at ?? now } });
              }
            }
          }
        }
        const current = new Map<number, HealthState>();
        for (const appId of new Set(newly.filter((a) => a.trigger === 'scheduled').map((a) => a.appId))) {
          const r = this.getHealth.get(appId);
          if (r !== undefined) current.set(appId, toHealthState(r));
        }
        const folded = foldHealth(current, newly, failingAfter);
        for (const [appId, state] of folded.states) this.putHealth.run({ appId, ...state });
        this.countRollups(newly);
        let operatorEvents = 0;
        if (notifyOperator) {
          // Same transaction: a notification is stored exactly when the attempt that causes it is.
          const urls = new Map<number, string>();
          for (const t of folded.transitions) urls.set(t.appId, this.endpointUrl.get(t.appId)?.url ?? '');
          const owed = operatorEventsOf(now, folded, urls, failed);
          this.operatorEvents.add(owed);
          operatorEvents = owed.length;
        }
        return { transitions: folded.transitions, eventsFailed, operatorEvents };
      })
      .immediate();
  }

  private countRollups(newly: readonly NewlyFinished[]): void {
    const deltas = rollupDeltas(newly);
    for (const row of deltas.attempts) this.countAttempts.run(row);
    for (const row of deltas.latency) this.countLatency.run(row);
  }

  openManualAttempt(appId: number, eventId: string, now: number): ManualAttempt | 'in_flight' | null {
    return this.db
      .transaction((): ManualAttempt | 'in_flight' | null => {
        const e = this.events.row(appId, eventId);
        const endpoint = this.endpoints.row(appId);
        if (!e || !endpoint || e.body === null) return null;
        if (e.status === 'pending' && e.lease_token !== null && (e.next_attempt_at ?? 0) > now) return 'in_flight';
        const attemptId = this.open({ eventId, appId, number: e.attempt_count + 1, trigger: 'manual', now });
        this.bumpAttemptCount.run(eventId);
        return {
          attemptId,
          attemptNumber: e.attempt_count + 1,
          url: endpoint.url,
          body: e.body,
          secretSealed: endpoint.secret_sealed,
          previousSecretSealed: endpoint.previous_secret_sealed,
          previousSecretExpiresAt: endpoint.previous_secret_expires_at,
          headersSealed: endpoint.headers_sealed,
        };
      })
      .immediate();
  }

  /** A test webhook counts in the stats' attempts and latency, never in health. */
  recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): void {
    this.db
      .transaction(() => {
        this.insertTestAttempt.run({ eventId: webhookId, appId, startedAt, ...outcomeParams(outcome) });
        this.countRollups([{ appId, trigger: 'test', startedAt, success: outcome.success, durationMs: outcome.durationMs, statusCode: outcome.statusCode, errorKind: outcome.errorKind }]);
      })
      .immediate();
  }
}

/** An outcome as SQLite stores it: booleans as 0/1, the duration in whole milliseconds. */
function outcomeParams(o: AttemptOutcome) {
  return {
    success: o.success ? 1 : 0,
    statusCode: o.statusCode,
    errorKind: o.errorKind,
    durationMs: Math.round(o.durationMs),
    responseBody: o.responseBody,
  };
}
