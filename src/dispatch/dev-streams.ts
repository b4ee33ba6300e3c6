/**
 * The development streams (GET /v1/projects/{appId}/events/stream, consumed by `reghook listen`):
 * every stream this process serves, fed with its project's new events and test webhooks, each
 * signed at that moment exactly as a delivery would be. A stream is not an attempt: it records
 * nothing and changes no delivery.
 *
 * Waking: the store says which projects got events, once committed (`onEventsCreated`: in-process
 * on SQLite, LISTEN/NOTIFY on PostgreSQL, so events created by any process arrive), and only that
 * project's streams read, one `listEventsAfter` page each. Nothing polls per event; a rescan every
 * RESCAN_MS (one query per stream) catches a notification lost to a crash between commit and NOTIFY.
 *
 * Ids are made by each process's clock and commit in any order, so an id can commit after a
 * later one was already sent: every read looks back LOOKBACK_MS before the newest id it has seen
 * and skips the ids it already sent (kept for that window only). Test webhooks are not stored:
 * they reach the streams of the process that sent them.
 */
import type { Logger } from 'pino';
import { signatureHeader } from '@reghook/receiver/signing';
import type { Clock } from '../clock.js';
import { eventIdFloor, idTime } from '../domain/ids.js';
import type { Store } from '../store/store.js';
import type { SealedSecrets, SigningKeys } from './signing-keys.js';

/** One message of a stream: what a delivery would send, minus the endpoint's custom headers. */
export interface StreamedWebhook {
  webhookId: string;
  /** `content-type` and the signed `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
  headers: Record<string, string>;
  /** The exact body. */
  body: string;
}

/** Where a stream's messages go (the HTTP response): it decides when a listener is too slow. */
export interface StreamSink {
  /** Writes one message; false when the listener has not taken what was written before (wait for `ready`). */
  send(message: StreamedWebhook): boolean;
  /** Resolves true once the listener has taken what was written, false once the stream has ended. */
  ready(): Promise<boolean>;
  /** Ends the stream (the service is closing). */
  end(): void;
}

export interface DevStream {
  /** Stops feeding the stream (the listener went away). */
  close(): void;
}

export interface DevStreamOptions {
  /** Events one read takes at most. */
  pageSize?: number;
  /** How far before the newest id seen each read looks again. */
  lookbackMs?: number;
  /** How often every stream reads without a cue. */
  rescanMs?: number;
}

const PAGE_SIZE = 100;
const LOOKBACK_MS = 5_000;
const RESCAN_MS = 15_000;

class Stream {
  /** Ids sent (or present when the stream opened), by their time, for the look-back window only. */
  readonly seen = new Map<string, number>();
  /** The newest id time seen (ms). */
  newest: number;
  /** Opened fresh: the first read marks what exists as seen, sending nothing. */
  priming: boolean;
  reading = false;
  again = false;
  closed = false;

  constructor(
    readonly appId: number,
    readonly sink: StreamSink,
    now: number,
    /** A reconnect's Last-Event-ID: nothing at or before it is sent. */
    readonly after: string | null,
  ) {
    this.newest = after === null ? now : (idTime(after) ?? now);
    this.priming = after === null;
  }

  floor(lookbackMs: number): string {
    const back = eventIdFloor(this.newest - lookbackMs);
    return this.after !== null && this.after > back ? this.after : back;
  }

  remember(eventId: string): void {
    const time = idTime(eventId) ?? this.newest;
    this.seen.set(eventId, time);
    if (time > this.newest) this.newest = time;
  }

  forget(lookbackMs: number): void {
    const oldest = this.newest - lookbackMs;
    for (const [id, time] of this.seen) if (time < oldest) this.seen.delete(id);
  }
}

export class DevStreams {
  private readonly byApp = new Map<number, Set<Stream>>();
  private readonly pageSize: number;
  private readonly lookbackMs: number;
  private readonly rescanMs: number;
  private unsubscribe: (() => void) | null = null;
  private rescan: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: DevStreamOptions = {},
  ) {
    this.pageSize = options.pageSize ?? PAGE_SIZE;
    this.lookbackMs = options.lookbackMs ?? LOOKBACK_MS;
    this.rescanMs = options.rescanMs ?? RESCAN_MS;
  }

  /** Streams open now. */
  get size(): number {
    let n = 0;
    for (const streams of this.byApp.values()) n += streams.size;
    return n;
  }

  /**
   * Feeds `sink` with the project's events created from now on, or, with `lastEventId` (a
   * reconnect), those after it that still have their body. The caller has checked the project.
   */
  open(appId: number, sink: StreamSink, options: { lastEventId?: string | undefined } = {}): DevStream {
    const lastEventId = options.lastEventId !== undefined && idTime(options.lastEventId) !== null ? options.lastEventId : null;
    const stream = new Stream(appId, sink, this.clock.now(), lastEventId);
    if (this.closed) {
      sink.end();
      return { close: () => {} };
    }
    this.start();
    let streams = this.byApp.get(appId);
    if (!streams) this.byApp.set(appId, (streams = new Set()));
    streams.add(stream);
    void this.read(stream);
    return {
      close: () => {
        stream.closed = true;
        const open = this.byApp.get(appId);
        open?.delete(stream);
        if (open?.size === 0) this.byApp.delete(appId);
      },
    };
  }

  /** A test webhook, as sent to the endpoint: every stream of the project in this process gets it too. */
  publish(appId: number, secrets: SealedSecrets, webhookId: string, body: string): void {
    const streams = this.byApp.get(appId);
    if (!streams) return;
    const message = this.message(secrets, webhookId, body);
    for (const stream of streams) {
      if (!stream.closed) stream.sink.send(message);
    }
  }

  /** Ends every stream (the service is closing). */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.rescan) clearInterval(this.rescan);
    this.rescan = null;
    for (const streams of this.byApp.values()) {
      for (const stream of streams) {
        stream.closed = true;
        stream.sink.end();
      }
    }
    this.byApp.clear();
  }

  /** Listens for created events from the first stream on (an API node without streams keeps no LISTEN connection busy). */
  private start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.store.onEventsCreated((appIds) => {
      if (appIds === null) this.readAll();
      else for (const appId of appIds) for (const stream of this.byApp.get(appId) ?? []) void this.read(stream);
    });
    this.rescan = setInterval(() => this.readAll(), this.rescanMs);
    this.rescan.unref();
  }

  private readAll(): void {
    for (const streams of this.byApp.values()) for (const stream of streams) void this.read(stream);
  }

  /** Signed now with the endpoint's secrets (the rotated-out one too while it co-signs), as the sender signs. */
  private message(secrets: SealedSecrets, webhookId: string, body: string): StreamedWebhook {
    const now = this.clock.now();
    const timestamp = Math.floor(now / 1000);
    return {
      webhookId,
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(this.keys.keysFor(secrets, now), webhookId, timestamp, body),
      },
      body,
    };
  }

  /** One page at a time from the stream's floor; a cue during a read makes it read again once it is done. */
  private async read(stream: Stream): Promise<void> {
    if (stream.reading) {
      stream.again = true;
      return;
    }
    stream.reading = true;
    try {
      do {
        stream.again = false;
        let after = stream.floor(this.lookbackMs);
        for (;;) {
          const rows = await this.store.listEventsAfter(stream.appId, after, this.pageSize);
          if (stream.closed) return;
          const fresh = rows.filter((row) => !stream.seen.has(row.eventId));
          if (stream.priming) {
            for (const row of fresh) stream.remember(row.eventId);
          } else if (fresh.length > 0) {
            const endpoint = await this.store.getEndpoint(stream.appId);
            if (stream.closed || !endpoint) return;
            for (const row of fresh) {
              stream.remember(row.eventId);
              if (!stream.sink.send(this.message(endpoint, row.eventId, row.body)) && !(await stream.sink.ready())) return;
              if (stream.closed) return;
            }
          }
          if (rows.length < this.pageSize) break;
          after = rows.at(-1)!.eventId;
        }
        stream.priming = false;
        stream.forget(this.lookbackMs);
      } while (stream.again && !stream.closed);
    } catch (error) {
      // The next cue (or rescan) reads again; only the code and message, never a row.
      const { code, message } = error as { code?: unknown; message?: unknown };
      this.logger.warn({ appId: stream.appId, error: { code, message } }, 'development stream could not read new events');
    } finally {
      stream.reading = false;
    }
  }
}
