/** The delivery log: listing events, one event with its attempts, and recovering failed ones (PostgreSQL). */
import type pg from 'pg';
import { eventIdFloor } from '../../domain/ids.js';
import { LAST_ATTEMPT_COLUMNS, toAttempt, toEventLogItem, toEventSummary, type AttemptRow, type EventRow, type LastAttemptColumns } from '../rows.js';
import { REPLAY_BATCH, type EventDetail, type EventFilter, type EventLogItem, type Page, type ReplayFilter, type StreamedEvent } from '../store.js';

/** The columns EventRow names. */
const EVENT_COLUMNS = `id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts,
  next_attempt_at, lease_token, created_at, delivered_at`;

/**
 * One statement per filter combination (unnamed: its text varies), rather than one with
 * `$2 IS NULL OR …` terms: each shape is answered by its own index — events_log (app_id, id), or
 * events_log_by_status (app_id, status, id) for a status — newest id first, stopping at the page.
 * Times are id ranges (an id starts with its creation time), so since/until narrow the same index
 * scan; eventId is the primary key, clientUuid the (app_id, client_uuid) unique index, a
 * subscriber's hash events_by_subscriber (app_id, subscriber_hash, id). The newest
 * attempt is one probe of attempts_by_event per row (LATERAL). One row beyond the page says
 * whether there is more.
 */
function listEventsQuery(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }) {
  const values: unknown[] = [appId];
  const where = ['e.app_id = $1'];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (options.status !== undefined) where.push(`e.status = ${param(options.status)}`);
  if (options.eventId !== undefined) where.push(`e.id = ${param(options.eventId)}`);
  if (options.clientUuid !== undefined) where.push(`e.client_uuid = ${param(options.clientUuid)}`);
  if (options.subscriberHash !== undefined) where.push(`e.subscriber_hash = ${param(options.subscriberHash)}`);
  if (options.since !== undefined) where.push(`e.id >= ${param(eventIdFloor(options.since))}`, `e.created_at >= ${param(options.since)}`);
  if (options.until !== undefined) where.push(`e.id < ${param(eventIdFloor(options.until + 1))}`, `e.created_at <= ${param(options.until)}`);
  if (options.cursor !== undefined) where.push(`e.id < ${param(options.cursor)}`);
  const text = `
SELECT ${EVENT_COLUMNS.replace(/(\w+)/g, 'e.$1')}, ${LAST_ATTEMPT_COLUMNS}
FROM events e
LEFT JOIN LATERAL (
  SELECT * FROM attempts a WHERE a.event_id = e.id ORDER BY a.number DESC, a.id DESC LIMIT 1
) la ON true
WHERE ${where.join(' AND ')}
ORDER BY e.id DESC LIMIT ${param(options.limit + 1)}`;
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
// moves the endpoint's next_due_at with it (migration 0002). An event whose payload retention
// dropped cannot be sent again: it stays failed (and a pending event must have its body).
const RECOVER_FAILED = {
  name: 'recover_failed',
  text: `
UPDATE events
SET status = 'pending', scheduled_attempts = 0, next_attempt_at = $3, lease_token = NULL, finished_at = NULL
WHERE app_id = $1 AND status = 'failed' AND created_at >= $2 AND body IS NOT NULL`,
};

/**
 * The events a replay takes: by status (events_log_by_status ranges), by creation time as an id
 * range, with their payload; one batch is one UPDATE of at most REPLAY_BATCH of them, locked in
 * id order. A rescheduled event is pending, so the next batch no longer matches it.
 */
function replayWhere(appId: number, filter: ReplayFilter): { where: string; values: unknown[] } {
  const values: unknown[] = [appId, filter.statuses, eventIdFloor(filter.since), filter.since];
  const where = ['app_id = $1', 'status = ANY ($2::text[])', 'id >= $3', 'created_at >= $4', 'body IS NOT NULL'];
  if (filter.until !== undefined) where.push(`id < $${values.push(eventIdFloor(filter.until + 1))}`, `created_at <= $${values.push(filter.until)}`);
  return { where: where.join(' AND '), values };
}

export class Events {
  constructor(private readonly pool: pg.Pool) {}

  async listEvents(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }): Promise<Page<EventLogItem>> {
    const { text, values } = listEventsQuery(appId, options);
    const { rows } = await this.pool.query<EventRow & LastAttemptColumns>(text, values);
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

  /** Counts (dryRun) or reschedules one batch of a replay; answers how many. */
  async replayBatch(appId: number, filter: ReplayFilter, now: number, dryRun: boolean): Promise<number> {
    const { where, values } = replayWhere(appId, filter);
    if (dryRun) {
      const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE ${where}`, values);
      return rows[0]!.n;
    }
    const nowParam = `$${values.push(now)}`;
    // A fresh schedule, as recovery gives; the statement-level trigger moves next_due_at along.
    const { rowCount } = await this.pool.query(
      `UPDATE events
       SET status = 'pending', scheduled_attempts = 0, next_attempt_at = ${nowParam}, lease_token = NULL, finished_at = NULL, delivered_at = NULL
       WHERE id IN (SELECT id FROM events WHERE ${where} ORDER BY id LIMIT ${REPLAY_BATCH} FOR UPDATE)`,
      values,
    );
    return rowCount ?? 0;
  }

  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const { rowCount } = await this.pool.query({ ...RECOVER_FAILED, values: [appId, since, now] });
    return rowCount ?? 0;
  }
}
