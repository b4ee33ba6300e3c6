/** The delivery log: listing events, one event with its attempts, and recovering failed ones (SQLite). */
import type Database from 'better-sqlite3';
import { eventIdFloor } from '../../domain/ids.js';
import { LAST_ATTEMPT_COLUMNS, toAttempt, toEventLogItem, toEventSummary, type AttemptRow, type EventRow, type LastAttemptColumns } from '../rows.js';
import { REPLAY_BATCH, type EventDetail, type EventFilter, type EventLogItem, type Page, type ReplayFilter, type StreamedEvent } from '../store.js';

/**
 * One statement per filter combination, built per call rather than one with `@status IS NULL OR …`
 * terms: each shape is then answered by its own index — events_log (app_id, id), or
 * events_log_by_status (app_id, status, id) for a status — newest id first, stopping at the page.
 * Times are id ranges (an id starts with its creation time), so since/until narrow the same index
 * scan; eventId is the primary key, clientUuid the (app_id, client_uuid) unique index, a
 * subscriber's hash events_by_subscriber (app_id, subscriber_hash, id). The newest
 * attempt is one probe of attempts_by_event per row of the page. One row beyond the page says
 * whether there is more.
 */
const listEventsSql = (filter: Record<'status' | 'eventId' | 'clientUuid' | 'subscriberHash' | 'since' | 'until' | 'cursor', boolean>) => {
  const where = ['e.app_id = @appId'];
  if (filter.status) where.push('e.status = @status');
  if (filter.eventId) where.push('e.id = @eventId');
  if (filter.clientUuid) where.push('e.client_uuid = @clientUuid');
  if (filter.subscriberHash) where.push('e.subscriber_hash = @subscriberHash');
  if (filter.since) where.push('e.id >= @sinceId', 'e.created_at >= @since');
  if (filter.until) where.push('e.id < @untilId', 'e.created_at <= @until');
  if (filter.cursor) where.push('e.id < @cursor');
  return `
SELECT e.*, ${LAST_ATTEMPT_COLUMNS}
FROM events e
LEFT JOIN attempts la ON la.id = (SELECT a.id FROM attempts a WHERE a.event_id = e.id ORDER BY a.number DESC, a.id DESC LIMIT 1)
WHERE ${where.join(' AND ')}
ORDER BY e.id DESC LIMIT @limit`;
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
// moves the endpoint's next_due_at with it (migration 0002). An event whose payload retention
// dropped cannot be sent again: it stays failed (and a pending event must have its body).
const RECOVER_FAILED = `
UPDATE events SET status = 'pending', scheduled_attempts = 0, next_attempt_at = @now, lease_token = NULL, finished_at = NULL
WHERE app_id = @appId AND status = 'failed' AND created_at >= @since AND body IS NOT NULL`;

/**
 * The events a replay takes: by status (events_log_by_status ranges, one per status), by creation
 * time as an id range, with their payload. A batch is one UPDATE of at most REPLAY_BATCH of them;
 * a rescheduled event is pending, so the next batch no longer matches it.
 */
const replayWhere = (statuses: number, until: boolean) =>
  [
    'app_id = @appId',
    `status IN (${Array.from({ length: statuses }, (_, i) => `@s${i}`).join(', ')})`,
    'id >= @sinceId',
    'created_at >= @since',
    ...(until ? ['id < @untilId', 'created_at <= @until'] : []),
    'body IS NOT NULL',
  ].join(' AND ');

const countReplaySql = (statuses: number, until: boolean) => `SELECT count(*) AS n FROM events WHERE ${replayWhere(statuses, until)}`;

// A fresh schedule, as recovery gives. The events_due_on_update trigger moves next_due_at along.
const replayBatchSql = (statuses: number, until: boolean) => `
UPDATE events
SET status = 'pending', scheduled_attempts = 0, next_attempt_at = @now, lease_token = NULL, finished_at = NULL, delivered_at = NULL
WHERE id IN (SELECT id FROM events WHERE ${replayWhere(statuses, until)} LIMIT ${REPLAY_BATCH})`;

export class Events {
  private readonly getEventStatement;
  private readonly attemptsOf;
  private readonly recoverFailedStatement;
  /** The log's statements, one per filter shape (at most 128), prepared on first use. */
  private readonly listStatements = new Map<string, Database.Statement<Record<string, unknown>, EventRow & LastAttemptColumns>>();
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

  listEvents(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }): Page<EventLogItem> {
    const shape = {
      status: options.status !== undefined,
      eventId: options.eventId !== undefined,
      clientUuid: options.clientUuid !== undefined,
      subscriberHash: options.subscriberHash !== undefined,
      since: options.since !== undefined,
      until: options.until !== undefined,
      cursor: options.cursor !== undefined,
    };
    const key = Object.values(shape).map(Number).join('');
    let statement = this.listStatements.get(key);
    if (!statement) {
      statement = this.db.prepare<Record<string, unknown>, EventRow & LastAttemptColumns>(listEventsSql(shape));
      this.listStatements.set(key, statement);
    }
    const rows = statement.all({
      appId,
      status: options.status,
      eventId: options.eventId,
      clientUuid: options.clientUuid,
      subscriberHash: options.subscriberHash,
      since: options.since,
      sinceId: options.since === undefined ? undefined : eventIdFloor(options.since),
      until: options.until,
      untilId: options.until === undefined ? undefined : eventIdFloor(options.until + 1),
      cursor: options.cursor,
      limit: options.limit + 1,
    });
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { data: page.map(toEventLogItem), nextCursor: more ? page.at(-1)!.id : null };
  }

  getEvent(appId: number, eventId: string): EventDetail | null {
    const row = this.getEventStatement.get(appId, eventId);
    if (!row) return null;
    return { ...toEventSummary(row), body: row.body, attempts: this.attemptsOf.all(eventId).map(toAttempt) };
  }

  /** Counts (dryRun) or reschedules one batch of a replay; answers how many. */
  replayBatch(appId: number, filter: ReplayFilter, now: number, dryRun: boolean): number {
    const until = filter.until !== undefined;
    const params: Record<string, unknown> = {
      appId,
      now,
      since: filter.since,
      sinceId: eventIdFloor(filter.since),
      until: filter.until,
      untilId: until ? eventIdFloor(filter.until! + 1) : undefined,
    };
    filter.statuses.forEach((status, i) => (params[`s${i}`] = status));
    if (dryRun) return (this.db.prepare(countReplaySql(filter.statuses.length, until)).get(params) as { n: number }).n;
    return this.db.prepare(replayBatchSql(filter.statuses.length, until)).run(params).changes;
  }

  recoverFailed(appId: number, since: number, now: number): number {
    return this.recoverFailedStatement.run({ appId, since, now }).changes;
  }
}
