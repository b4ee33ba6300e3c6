/** The delivery log: listing events, one event with its attempts, and recovering failed ones (PostgreSQL). */
import type pg from 'pg';
import type { EventStatus } from '../../domain/retry-policy.js';
import { toAttempt, toEventLogItem, toEventSummary, type AttemptRow, type EventRow } from '../rows.js';
import type { EventDetail, EventLogItem, Page, StreamedEvent } from '../store.js';

/** The columns EventRow names. */
const EVENT_COLUMNS = `id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts,
  next_attempt_at, lease_token, created_at, delivered_at`;

/**
 * One statement per filter combination (unnamed: its text varies), rather than one with
 * `$2 IS NULL OR …` terms: each shape is answered by its own index (events_log, or
 * events_log_by_status for a status), newest id first, stopping at the page. One row beyond the
 * page says whether there is more.
 */
function listEventsQuery(appId: number, options: { status?: EventStatus | undefined; limit: number; cursor?: string | undefined }) {
  const values: unknown[] = [appId];
  const where = ['app_id = $1'];
  if (options.status) where.push(`status = $${values.push(options.status)}`);
  if (options.cursor) where.push(`id < $${values.push(options.cursor)}`);
  const text = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${values.push(options.limit + 1)}`;
  return { text, values };
}

// The development stream's read: events_log (app_id, id) from afterId upwards (ids are COLLATE
// "C": byte order is time order), stopping at the page. Erased and swept events have no body.
const EVENTS_AFTER = {
  name: 'events_after',
  text: `
SELECT id AS "eventId", body FROM events
WHERE app_id = $1 AND id > $2 AND body IS NOT NULL
ORDER BY id LIMIT $3`,
};

const GET_EVENT = { name: 'get_event', text: `SELECT ${EVENT_COLUMNS} FROM events WHERE app_id = $1 AND id = $2` };

// attempts_by_event (event_id, number) gives the order.
const ATTEMPTS_OF_EVENT = {
  name: 'attempts_of_event',
  text: `
SELECT number, trigger, started_at, finished, success, status_code, error_kind, duration_ms, response_body
FROM attempts WHERE event_id = $1 ORDER BY number, id`,
};

// A fresh schedule: the attempt budget starts again, due now. The events_due_on_update trigger
// moves the endpoint's next_due_at with it (migration 0002).
const RECOVER_FAILED = {
  name: 'recover_failed',
  text: `
UPDATE events
SET status = 'pending', scheduled_attempts = 0, next_attempt_at = $3, lease_token = NULL, finished_at = NULL
WHERE app_id = $1 AND status = 'failed' AND created_at >= $2`,
};

export class Events {
  constructor(private readonly pool: pg.Pool) {}

  async listEvents(appId: number, options: { status?: EventStatus | undefined; limit: number; cursor?: string | undefined }): Promise<Page<EventLogItem>> {
    const { text, values } = listEventsQuery(appId, options);
    const { rows } = await this.pool.query<EventRow>(text, values);
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { data: page.map(toEventLogItem), nextCursor: more ? page.at(-1)!.id : null };
  }

  async listEventsAfter(appId: number, afterId: string, limit: number): Promise<StreamedEvent[]> {
    const { rows } = await this.pool.query<StreamedEvent>({ ...EVENTS_AFTER, values: [appId, afterId, limit] });
    return rows;
  }

  async getEvent(appId: number, eventId: string): Promise<EventDetail | null> {
    const { rows } = await this.pool.query<EventRow>({ ...GET_EVENT, values: [appId, eventId] });
    const row = rows[0];
    if (!row) return null;
    const attempts = await this.pool.query<AttemptRow>({ ...ATTEMPTS_OF_EVENT, values: [eventId] });
    return { ...toEventSummary(row), body: row.body, attempts: attempts.rows.map(toAttempt) };
  }

  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const { rowCount } = await this.pool.query({ ...RECOVER_FAILED, values: [appId, since, now] });
    return rowCount ?? 0;
  }
}
