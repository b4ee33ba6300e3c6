/**
 * The development stream (SPEC section 5): `text/event-stream` of the project's new events and
 * test webhooks, for `reghook listen`. The response is written by hand (hijacked): one
 * `event: webhook` message per webhook, its `id:` the webhook id (a reconnect's Last-Event-ID), a
 * `: keep-alive` comment every heartbeat.
 *
 * A listener that stops reading cannot make this process hold its messages: when the response's
 * own buffer passes maxBufferedBytes, or stays undrained for drainTimeoutMs, the stream is closed
 * (the stream hub waits for a drain before it reads more, so a slow but live listener just slows).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DevStream, StreamedWebhook, StreamSink } from '../../dispatch/dev-streams.js';
import { openEventStream, requireStreamable } from '../../operations/stream.js';
import type { AppDeps } from '../http.js';
import { AppIdParams, StreamHeaders } from '../schemas.js';

/** Bounds of one stream; tests shorten them. */
export interface StreamSettings {
  /** A comment at least this often keeps proxies and clients from timing the stream out (SPEC: at most 15 s). */
  heartbeatMs?: number;
  /** Bytes the response may buffer for a listener that does not read, before it is closed. */
  maxBufferedBytes?: number;
  /** How long the response may stay undrained before the stream is closed. */
  drainTimeoutMs?: number;
}

export const STREAM_DEFAULTS: Required<StreamSettings> = { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024, drainTimeoutMs: 30_000 };

/** One SSE message: the JSON is one line (JSON escapes line breaks), so it is one `data:` field. */
export function sseMessage(message: StreamedWebhook): string {
  return `event: webhook\nid: ${message.webhookId}\ndata: ${JSON.stringify(message)}\n\n`;
}

export async function streamRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const settings = { ...STREAM_DEFAULTS, ...deps.stream };

  // Open streams never end by themselves: end them before the server waits for its connections.
  app.addHook('preClose', async () => {
    deps.streams.close();
  });

  app.get(
    '/v1/projects/:appId/events/stream',
    {
      config: { access: 'project' as const },
      schema: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary: "The development stream: the project's new events and test webhooks, as server-sent events",
        description:
          'For local development (`reghook listen`). While connected, every new event of the project (whatever its status, `skipped` too) and every ' +
          'test webhook sent through this process arrives as `event: webhook`, `id: <webhook-id>`, `data: {"webhookId","headers","body"}`: the ' +
          'headers a delivery carries (`content-type`, `webhook-id`, `webhook-timestamp`, `webhook-signature`, signed at that moment with the ' +
          "endpoint's secrets; not the custom headers) and the exact body. A `: keep-alive` comment comes at least every 15 s. It is not an attempt " +
          'and changes no delivery. Needs an endpoint (its secret signs; it may be disabled). A listener that stops reading is disconnected.',
        params: AppIdParams,
        headers: StreamHeaders,
      },
    },
    async (request, reply) => {
      const { appId } = request.params;
      await requireStreamable(deps, appId);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
      // The head and a first line at once: the listener knows it is connected.
      res.write('retry: 1000\n: connected\n\n');

      let ended = false;
      let stream: DevStream | null = null;
      let drainTimer: NodeJS.Timeout | null = null;
      const waiting = new Set<(drained: boolean) => void>();
      const finish = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        if (drainTimer) clearTimeout(drainTimer);
        stream?.close();
        for (const resolve of waiting) resolve(false);
        waiting.clear();
      };
      const cutOff = (reason: 'buffer_full' | 'not_draining') => {
        // The project and figures only: no body, no key.
        request.log.warn({ appId, reason, bufferedBytes: res.writableLength }, 'development stream closed: the listener does not keep up');
        finish();
        res.destroy();
      };
      /** Writes, and closes the stream when the listener is too far behind. */
      const write = (text: string): boolean => {
        if (ended) return false;
        const flushed = res.write(text);
        if (res.writableLength > settings.maxBufferedBytes) {
          cutOff('buffer_full');
          return false;
        }
        if (!flushed && drainTimer === null) {
          drainTimer = setTimeout(() => cutOff('not_draining'), settings.drainTimeoutMs);
          drainTimer.unref();
        }
        return flushed;
      };
      res.on('drain', () => {
        if (drainTimer) clearTimeout(drainTimer);
        drainTimer = null;
        for (const resolve of waiting) resolve(true);
        waiting.clear();
      });
      res.on('close', finish);

      const sink: StreamSink = {
        send: (message) => write(sseMessage(message)),
        ready: () => (ended ? Promise.resolve(false) : !res.writableNeedDrain ? Promise.resolve(true) : new Promise((resolve) => waiting.add(resolve))),
        end: () => {
          finish();
          res.end();
        },
      };
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), settings.heartbeatMs);
      stream = openEventStream(deps, appId, sink, request.headers['last-event-id']);
      // Ended while opening (the service is closing): nothing more to feed.
      if (ended) stream.close();
    },
  );
}
