/** The delivery log: listing events, one event with its attempts, and recovering failed ones (SQLite). */
import type Database from 'better-sqlite3';
import type { EventStatus } from '../../domain/retry-policy.js';
import { toAttempt, toEventLogItem, toEventSummary, type AttemptRow, type EventRow } from '../rows.js';
import type { EventDetail, EventLogItem, Page, StreamedEvent } from '../store.js';

/**
 * One statement per filter combination, built per call rather than one with `@status IS NULL OR …`
 * terms: each shape is then answered by its own index (events_log, or events_log_by_status for a
 * status), newest id first, stopping at the page. One row beyond the page says whether there is more.
 */
const listEventsSql = (filter: { status: boolean; cursor: boolean }) => {
  const where = ['app_id = @appId'];
  if (filter.status) where.push('status = @status');
  if (filter.cursor) where.push('id < @cursor');
  return `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
};

const GET_EVENT = `SELECT * FROM events WHERE app_id = ? AND id = ?`;

// The development stream's read: events_log (app_id, id) from afterId upwards, stopping at the
// page, so its cost is the page, not the project's history. Erased and swept events have no body.
const EVENTS_AFTER = `
SELECT id AS eventId, body FROM events
WHERE app_id = ? AND id > ? AND body IS NOT NULL
ORDER BY id LIMIT ?`;

// attempts_by_event (event_id, number) gives the order.
const ATTEMPTS_OF_EVENT = `SELECT * FROM attempts WHERE event_id = ? ORDER BY number, id`;

// A fresh schedule: the attempt budget starts again, due now. The events_due_on_update trigger
// moves the endpoint's next_due_at with it (migration 0002).
const RECOVER_FAILED = `
UPDATE events SET status = 'pending', scheduled_attempts = 0, next_attempt_at = @now, lease_token = NULL, finished_at = NULL
WHERE app_id = @appId AND status = 'failed' AND created_at >= @since`;

export class Events {
  private readonly getEventStatement;
  private readonly attemptsOf;
  private readonly recoverFailedStatement;
  private readonly eventsAfterStatement;

  constructor(private readonly db: Database.Database) {
    this.getEventStatement = db.prepare<[number, string], EventRow>(GET_EVENT);
    this.attemptsOf = db.prepare<[string], AttemptRow>(ATTEMPTS_OF_EVENT);
    this.recoverFailedStatement = db.prepare<{ appId: number; since: number; now: number }>(RECOVER_FAILED);
    this.eventsAfterStatement = db.prepare<[number, string, number], StreamedEvent>(EVENTS_AFTER);
  }

  listEventsAfter(appId: number, afterId: string, limit: number): StreamedEvent[] {
    return this.eventsAfterStatement.all(appId, afterId, limit);
  }

  /** The row itself, for reads inside another aggregate's transaction (manual attempts). */
  row(appId: number, eventId: string): EventRow | undefined {
    return this.getEventStatement.get(appId, eventId);
  }

  listEvents(appId: number, options: { status?: EventStatus | undefined; limit: number; cursor?: string | undefined }): Page<EventLogItem> {
    const rows = this.db
      .prepare<Record<string, unknown>, EventRow>(listEventsSql({ status: Boolean(options.status), cursor: Boolean(options.cursor) }))
      .all({ appId, status: options.status, cursor: options.cursor, limit: options.limit + 1 });
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { data: page.map(toEventLogItem), nextCursor: more ? page.at(-1)!.id : null };
  }

  getEvent(appId: number, eventId: string): EventDetail | null {
    const row = this.getEventStatement.get(appId, eventId);
    if (!row) return null;
    return { ...toEventSummary(row), body: row.body, attempts: this.attemptsOf.all(eventId).map(toAttempt) };
  }

  recoverFailed(appId: number, since: number, now: number): number {
    return this.recoverFailedStatement.run({ appId, since, now }).changes;
  }
}
