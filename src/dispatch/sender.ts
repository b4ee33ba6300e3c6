/**
 * One HTTP attempt: POST the stored body with fresh Standard Webhooks headers, under a
 * whole-request deadline, through undici over kept-alive connections whose every connect passes
 * the network policy. Classifies the result into an AttemptOutcome; never throws.
 *
 * Tenants never share a connection pool: each project has an Agent of its own, even when its
 * endpoint shares a host with others, and that Agent's pools have no connection cap (the
 * dispatcher already bounds a project's attempts in flight). So an attempt never queues behind
 * another project's requests, nor behind its own project's: its deadline runs from the moment its
 * own request starts.
 */
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, request } from 'undici';
import type { AttemptErrorKind } from '../domain/attempt-error.js';
import { isSuccess } from '../domain/retry-policy.js';
import { USER_AGENT } from '../package-info.js';
import { signatureHeader } from '@reghook/receiver/signing';
import type { AttemptOutcome } from '../store/store.js';
import { createPolicyConnector, type NetworkPolicy } from './network-policy.js';

/** Response bytes read at most (the rest is discarded); of those, the first KEPT_BODY_BYTES are kept. */
export const MAX_READ_BODY_BYTES = 64 * 1024;
export const KEPT_BODY_BYTES = 1024;
/** How long a project's idle connection stays open for its next delivery. */
const KEEP_ALIVE_MS = 4_000;
/** A project's Agent is closed once it has been idle this long (thousands of projects come and go). */
const IDLE_AGENT_MS = 30_000;
/**
 * Idle projects whose connections are kept at most; beyond it the longest idle one's are closed at
 * once. Every project having pools of its own, thousands of projects with a few kept-alive sockets
 * each would otherwise run the process out of file descriptors (then even the database's files
 * cannot be opened). Projects with attempts in flight are bounded by REGHOOK_CONCURRENCY.
 */
const MAX_IDLE_AGENTS = 256;

export interface SenderOptions {
  timeoutMs: number;
  networkPolicy: NetworkPolicy;
}

export interface WebhookMessage {
  /** The project: its connections are its own. */
  appId: number;
  url: string;
  webhookId: string;
  body: string;
  /** HMAC keys: the current secret, and the rotated-out one while it is still valid. */
  keys: readonly Buffer[];
  /** Epoch ms of this attempt, for webhook-timestamp. */
  now: number;
  /** The endpoint's custom headers (never a name reghook sets: the domain refuses those). */
  headers?: Readonly<Record<string, string>> | undefined;
}

export interface Sender {
  send(message: WebhookMessage): Promise<AttemptOutcome>;
  /** Projects that have an Agent (connections) right now. */
  readonly agents: number;
  close(): Promise<void>;
}

interface ProjectAgent {
  agent: Agent;
  active: number;
  idleSince: number;
}

export function createSender(options: SenderOptions): Sender {
  const connector = createPolicyConnector(options.networkPolicy, { connectTimeoutMs: options.timeoutMs });
  const agents = new Map<number, ProjectAgent>();
  /** Projects with no attempt in flight, longest idle first (Map keeps insertion order). */
  const idle = new Map<number, ProjectAgent>();

  const retire = (appId: number, entry: ProjectAgent) => {
    agents.delete(appId);
    idle.delete(appId);
    void entry.agent.close().catch(() => {});
  };

  const agentFor = (appId: number): ProjectAgent => {
    let entry = agents.get(appId);
    if (!entry) {
      entry = {
        agent: new Agent({
          keepAliveTimeout: KEEP_ALIVE_MS,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          connect: connector,
        }),
        active: 0,
        idleSince: 0,
      };
      agents.set(appId, entry);
    }
    return entry;
  };

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [appId, entry] of idle) {
      if (now - entry.idleSince < IDLE_AGENT_MS) break;
      retire(appId, entry);
    }
  }, IDLE_AGENT_MS / 2);
  sweep.unref();

  async function send(message: WebhookMessage): Promise<AttemptOutcome> {
    const started = performance.now();
    const timestamp = Math.floor(message.now / 1000);
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), options.timeoutMs);
    const project = agentFor(message.appId);
    if (project.active++ === 0) idle.delete(message.appId);
    try {
      const response = await request(message.url, {
        method: 'POST',
        dispatcher: project.agent,
        signal: controller.signal,
        headers: {
          ...message.headers,
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': message.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(message.keys, message.webhookId, timestamp, message.body),
        },
        body: message.body,
      });
      const statusCode = response.statusCode;
      try {
        const kept = await readBounded(response.body, response.headers['content-encoding']);
        return { success: isSuccess(statusCode), statusCode, errorKind: null, durationMs: performance.now() - started, responseBody: kept };
      } catch (error) {
        // The status arrived but the body did not finish in time (or broke off): a failure.
        return {
          success: false,
          statusCode,
          errorKind: controller.signal.aborted ? 'timeout' : classifyError(error),
          durationMs: performance.now() - started,
          responseBody: null,
        };
      }
    } catch (error) {
      return {
        success: false,
        statusCode: null,
        errorKind: controller.signal.aborted ? 'timeout' : classifyError(error),
        durationMs: performance.now() - started,
        responseBody: null,
      };
    } finally {
      clearTimeout(deadline);
      if (--project.active === 0) {
        project.idleSince = performance.now();
        idle.set(message.appId, project);
        if (idle.size > MAX_IDLE_AGENTS) {
          const [oldestId, oldest] = idle.entries().next().value!;
          retire(oldestId, oldest);
        }
      }
    }
  }

  return {
    send,
    get agents() {
      return agents.size;
    },
    async close() {
      clearInterval(sweep);
      const all = [...agents.values()];
      agents.clear();
      idle.clear();
      await Promise.all(all.map((entry) => entry.agent.close()));
    },
  };
}

/**
 * The kept part of a response body as text any database stores: invalid UTF-8 (a sequence cut at
 * the 1 KiB mark included) becomes U+FFFD, and so does U+0000, which PostgreSQL's text refuses.
 * Whatever a receiver answers, its record is text like any other.
 */
export function responseText(bytes: Buffer): string {
  return bytes.toString('utf8').replaceAll('\0', '\uFFFD');
}

type BodyStream = Readable & AsyncIterable<Buffer>;

/** A decompressor for the response's content-encoding, or null to read the bytes as they are. */
function decoderFor(encoding: string | string[] | undefined): Transform | null {
  switch (String(encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

/**
 * Reads at most MAX_READ_BODY_BYTES (after decompression: a gzip bomb is inflated only that far,
 * since reading stops and both streams are destroyed) and keeps the first KEPT_BODY_BYTES as text.
 */
async function readBounded(raw: BodyStream, encoding: string | string[] | undefined): Promise<string | null> {
  const decoder = decoderFor(encoding);
  const body: BodyStream = decoder ? (decoder as unknown as BodyStream) : raw;
  if (decoder) pipeline(raw, decoder, () => {});
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let read = 0;
  try {
    for await (const chunk of body) {
      read += chunk.length;
      if (keptBytes < KEPT_BODY_BYTES) {
        const part = chunk.subarray(0, KEPT_BODY_BYTES - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (read >= MAX_READ_BODY_BYTES) break;
    }
  } catch (error) {
    // A body that does not decompress is kept as far as it went; the status code decides.
    const code = (error as { code?: unknown }).code;
    if (!(typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR_ZLIB')))) throw error;
  } finally {
    decoder?.destroy();
    raw.destroy();
  }
  return keptBytes === 0 ? null : responseText(Buffer.concat(kept));
}

const ERROR_KINDS: Record<string, AttemptErrorKind> = {
  REGHOOK_DESTINATION_REFUSED: 'destination_refused',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  ENOTFOUND: 'dns_error',
  EAI_AGAIN: 'dns_error',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
  UND_ERR_INVALID_ARG: 'invalid_url',
  ERR_INVALID_URL: 'invalid_url',
};

/** Maps an undici / Node error to a stable error kind, by code (never by message). */
export function classifyError(error: unknown): AttemptErrorKind {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      const kind = ERROR_KINDS[code];
      if (kind) return kind;
      if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) return 'tls_error';
    }
    current = current.cause;
  }
  return 'network_error';
}
