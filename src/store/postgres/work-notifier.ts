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
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { clientConfig, loggableError, type PostgresTarget } from './connection.js';

export const WORK_CHANNEL = 'reghook_work';
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export class WorkNotifier {
  private readonly payload: string;
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  private closed = false;
  private sending: Promise<void> | null = null;
  private sendAgain = false;

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
    if (this.sending) {
      this.sendAgain = true;
      return;
    }
    this.sending = (async () => {
      do {
        this.sendAgain = false;
        try {
          await this.pool.query({ name: 'reghook_notify', text: 'SELECT pg_notify($1, $2)', values: [WORK_CHANNEL, this.payload] });
        } catch (error) {
          // The others still see the work at their next idle poll.
          this.logger.warn({ error: loggableError(error) }, 'could not notify other processes of new work');
        }
      } while (this.sendAgain && !this.closed);
      this.sending = null;
    })();
  }

  /** Calls `listener` on every notification (and after a reconnect, as one may have been missed). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.client === null && this.reconnectTimer === null && !this.closed) void this.connect();
    return () => {
      this.listeners.delete(listener);
    };
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
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
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
      // Work may have become due while we were not listening.
      this.fire();
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
