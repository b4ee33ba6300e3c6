/**
 * `reghook listen` (SPEC section 8): a merchant's development machine receives its project's
 * webhooks on localhost. It reads the development stream (GET /v1/projects/{appId}/events/stream),
 * POSTs each webhook to `--forward-to` with exactly the streamed headers and body (so the local
 * receiver verifies the signature with the project's secret, as in production), and prints one
 * line per forward: `<time> <webhook-id> <status|error> <ms>ms`. Never the key, never a body.
 *
 * Forwards are made one at a time, in order; while one runs, the stream is not read (the service
 * cuts a listener off that stays behind too long, and the reconnect resumes after the last
 * webhook forwarded, by Last-Event-ID). A lost connection is retried with backoff.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import type { ListenConfig } from './config.js';
import { USER_AGENT } from './package-info.js';

/** One `event: webhook` message's data. */
export interface StreamedWebhook {
  webhookId: string;
  headers: Record<string, string>;
  body: string;
}

/** One server-sent event, as parsed. */
export interface ServerSentEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * A server-sent-events parser (the WHATWG event-stream format): feed it text as it arrives, get
 * whole events. Comments (`:`) are skipped; `retry:` is kept for the reconnect delay.
 */
export class EventStreamParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** The server's `retry:` in ms, once it sent one. */
  retryMs: number | undefined;

  feed(text: string): ServerSentEvent[] {
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const end = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!end || (end[0] === '\r' && end.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      const event = this.data.length === 0 ? undefined : { event: this.event || 'message', id: this.id, data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}

export interface ListenIo {
  /** A line per forward (stdout). */
  print(line: string): void;
  /** What the listener says about itself: connected, reconnecting, refused (stderr). */
  say(line: string): void;
  /** Stops listening (SIGINT, SIGTERM). */
  signal: AbortSignal;
}

/** How long without a byte (the service sends a comment at least every 15 s) before the connection counts as lost. */
const SILENCE_MS = 45_000;
/** A local receiver gets this long to answer. */
const FORWARD_TIMEOUT_MS = 30_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Answers the service gives that no retry changes: a bad key, another project, no endpoint, a bad request. */
const PERMANENT = new Set([400, 401, 403, 404, 409]);

/** Forwards one webhook and says how it went, in the one line printed for it. */
export async function forward(forwardTo: string, webhook: StreamedWebhook, signal?: AbortSignal): Promise<string> {
  const started = performance.now();
  const time = new Date().toISOString();
  const ms = () => `${Math.round(performance.now() - started)}ms`;
  try {
    const response = await request(forwardTo, {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
      headersTimeout: FORWARD_TIMEOUT_MS,
      bodyTimeout: FORWARD_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    await response.body.dump();
    return `${time} ${webhook.webhookId} ${response.statusCode} ${ms()}`;
  } catch (error) {
    return `${time} ${webhook.webhookId} error ${errorName(error)} ${ms()}`;
  }
}

/** A network error's code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT …), never its message (which may carry a URL). */
function errorName(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.name : 'error';
}

/** The webhook a message carries, or null when it is not one (another event, or data of another shape). */
function webhookOf(event: ServerSentEvent): StreamedWebhook | null {
  if (event.event !== 'webhook') return null;
  try {
    const data = JSON.parse(event.data) as Partial<StreamedWebhook>;
    if (typeof data.webhookId !== 'string' || typeof data.body !== 'string' || typeof data.headers !== 'object' || data.headers === null) return null;
    const headers = Object.fromEntries(Object.entries(data.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    return { webhookId: data.webhookId, headers, body: data.body };
  } catch {
    return null;
  }
}

/**
 * Listens until `io.signal` aborts (answers 0) or the service refuses for good (a bad key, another
 * project, no endpoint: answers 1). Everything else (the service down, restarting, a lost
 * connection) is retried with backoff, resuming after the last webhook forwarded.
 */
export async function listen(config: ListenConfig, io: ListenIo): Promise<number> {
  const streamUrl = `${config.url}/v1/projects/${config.appId}/events/stream`;
  let lastEventId: string | undefined;
  let backoff = BACKOFF_MIN_MS;
  let connectedBefore = false;
  while (!io.signal.aborted) {
    const parser = new EventStreamParser();
    let failure: string;
    try {
      const response = await request(streamUrl, {
        headers: {
          authorization: `Bearer ${config.key}`,
          accept: 'text/event-stream',
          'user-agent': USER_AGENT,
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal: io.signal,
        headersTimeout: SILENCE_MS,
        bodyTimeout: SILENCE_MS,
      });
      if (response.statusCode !== 200) {
        const detail = await problemDetail(response.body);
        if (PERMANENT.has(response.statusCode)) {
          io.say(`reghook listen: ${streamUrl} answered ${response.statusCode}${detail}`);
          return 1;
        }
        failure = `the service answered ${response.statusCode}${detail}`;
      } else {
        io.say(
          connectedBefore
            ? 'reghook listen: reconnected'
            : `reghook listen: forwarding the webhooks of project ${config.appId} to ${config.forwardTo} (Ctrl-C to stop)`,
        );
        connectedBefore = true;
        backoff = BACKOFF_MIN_MS;
        const decoder = new TextDecoder();
        for await (const chunk of response.body) {
          for (const event of parser.feed(decoder.decode(chunk as Buffer, { stream: true }))) {
            const webhook = webhookOf(event);
            if (webhook === null) continue;
            io.print(await forward(config.forwardTo, webhook, io.signal));
            if (event.id !== undefined) lastEventId = event.id;
          }
        }
        failure = 'the service closed the stream';
      }
    } catch (error) {
      if (io.signal.aborted) break;
      failure = `the connection failed (${errorName(error)})`;
    }
    if (io.signal.aborted) break;
    const wait = Math.max(backoff, parser.retryMs ?? 0);
    io.say(`reghook listen: ${failure}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
    await delay(wait * (0.75 + Math.random() * 0.5), undefined, { signal: io.signal }).catch(() => {});
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }
  return 0;
}

/** `: <detail>` of a problem+json answer (the service's words, no secret in them), or nothing. */
async function problemDetail(body: { text(): Promise<string> }): Promise<string> {
  try {
    const problem = JSON.parse(await body.text()) as { detail?: unknown; code?: unknown };
    return typeof problem.detail === 'string' ? `: ${problem.detail}${typeof problem.code === 'string' ? ` (${problem.code})` : ''}` : '';
  } catch {
    return '';
  }
}
