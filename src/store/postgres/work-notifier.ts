/**
 * Prompt start on every node: when an event becomes due (ingest created a pending event, failed
 * events were recovered, an endpoint was enabled), the store sends `NOTIFY reghook_work`, and every
 * process LISTENing on a dedicated connection wakes its dispatcher at once instead of waiting for
 * its idle poll.
 *
 * The NOTIFY is sent just after the commit, coalesced (at most one in flight and one queued per
 * process), not inside the ingest transaction: PostgreSQL serialises the commits of all
 * transactions that NOTIFY behind one global lock, which would cap ingest at one fsync at a time.
 * A notification lost to a crash between commit and NOTIFY costs at most one idle poll (1 s).
 * The payload is the schema, so installations sharing a database do not wake each other.
 *
 * A second channel, `reghook_events`, says which projects got new events (any status: a `skipped`
 * one too, which is no work), for the development streams (GET …/events/stream): the work channel
 * does not fire for skipped events and names no project, so every stream of every process would
 * have to query on every wake-up. Its payload is `{"schema","appIds"}` (null appIds, "any project",
 * when more than fit). It costs no extra round trip where both are due: one `SELECT pg_notify(…),
 * pg_notify(…)` sends both, coalesced like the work notification.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { clientConfig, loggableError, type PostgresTarget } from './connection.js';

export const WORK_CHANNEL = 'reghook_work';
export const EVENTS_CHANNEL = 'reghook_events';
/** Projects named in one events notification at most (a payload holds under 8000 bytes); beyond, "any project". */
const MAX_APP_IDS_PER_NOTIFICATION = 500;

type EventsListener = (appIds: readonly number[] | null) => void;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export class WorkNotifier {
  private readonly payload: string;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<EventsListener>();
  private client: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  private closed = false;
  private sending: Promise<void> | null = null;
  /** What the next NOTIFY says: work is due; these projects got events. */
  private workDue = false;
  private readonly createdIn = new Set<number>();

  constructor(
    private readonly target: PostgresTarget,
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {
    this.payload = target.schema ?? '';
  }

  /** Tells this process's listeners at once, and every other listening process, that work may be due now. Never throws; never waits. */
  notify(): void {
    if (this.closed) return;
    this.fire();
    this.workDue = true;
    this.send();
  }

  /** Tells this process's stream listeners at once, and every other listening process, that the project got events. Never throws; never waits. */
  notifyEvents(appId: number): void {
    if (this.closed) return;
    this.fireEvents([appId]);
    this.createdIn.add(appId);
    this.send();
  }

  /** At most one NOTIFY in flight; what arrives meanwhile goes out together in the next one. */
  private send(): void {
    if (this.sending) return;
    this.sending = (async () => {
      while ((this.workDue || this.createdIn.size > 0) && !this.closed) {
        const calls: string[] = [];
        const values: string[] = [];
        const call = (channel: string, payload: string) => calls.push(`pg_notify($${values.push(channel)}, $${values.push(payload)})`);
        if (this.workDue) call(WORK_CHANNEL, this.payload);
        if (this.createdIn.size > 0) {
          const appIds = this.createdIn.size > MAX_APP_IDS_PER_NOTIFICATION ? null : [...this.createdIn];
          call(EVENTS_CHANNEL, JSON.stringify({ schema: this.payload, appIds }));
        }
        this.workDue = false;
        this.createdIn.clear();
        try {
          await this.pool.query(`SELECT ${calls.join(', ')}`, values);
        } catch (error) {
          // The others still see the work at their next idle poll (and streams at their next heartbeat).
          this.logger.warn({ error: loggableError(error) }, 'could not notify other processes of new work');
        }
      }
      this.sending = null;
    })();
  }

  /** Calls `listener` on every notification (and after a reconnect, as one may have been missed). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls `listener` with the projects of every events notification (null after a reconnect: any project). */
  subscribeEvents(listener: EventsListener): () => void {
    this.eventListeners.add(listener);
    this.listen();
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  private listen(): void {
    if (this.client === null && this.reconnectTimer === null && !this.closed) void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    await this.sending;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.target));
    this.client = client;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      if (this.closed) return;
      this.logger.warn({ error: error === undefined ? undefined : loggableError(error) }, 'LISTEN connection to PostgreSQL lost; reconnecting');
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === WORK_CHANNEL && (message.payload ?? '') === this.payload) this.fire();
      if (message.channel === EVENTS_CHANNEL) this.onEventsNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}; LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      onLost(error instanceof Error ? error : undefined);
      return;
    }
    if (lost || this.closed) {
      await client.end().catch(() => {});
      return;
    }
    if (this.reconnectDelay !== RECONNECT_MIN_MS) {
      this.logger.info('LISTEN connection to PostgreSQL restored');
      // Work may have become due, and events created, while we were not listening.
      this.fire();
      this.fireEvents(null);
    }
    this.reconnectDelay = RECONNECT_MIN_MS;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private onEventsNotification(payload: string): void {
    let parsed: { schema?: unknown; appIds?: unknown };
    try {
      parsed = JSON.parse(payload) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.schema !== this.payload) return;
    const { appIds } = parsed;
    if (appIds === null) this.fireEvents(null);
    else if (Array.isArray(appIds)) this.fireEvents(appIds.filter((id): id is number => Number.isSafeInteger(id)));
  }

  private fireEvents(appIds: readonly number[] | null): void {
    for (const listener of this.eventListeners) {
      try {
        listener(appIds);
      } catch (error) {
        this.logger.error({ error: loggableError(error) }, 'events listener failed');
      }
    }
  }

  private fire(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ error: loggableError(error) }, 'work listener failed');
      }
    }
  }
}
