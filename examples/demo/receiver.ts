/**
 * The demo's receiver: the same thing as examples/receiver/server.ts (verify with the SDK, skip
 * webhook-ids already processed, log identifiers only), run in-process so that the demo can count
 * what arrived and make one delivery fail on purpose.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// In your own project: from 'reghook/receiver'.
import {
  createDeduper,
  createNodeHandler,
  type RegisteredUserEvent,
  type WebhookDeduper,
  type WebhookMeta,
} from '@reghook/receiver';

export interface DemoReceiverOptions {
  /** Where the receiver's lines go. */
  say: (line: string) => void;
  /** The receiver answers HTTP 500 to the first delivery of the event of this user (to show a retry). */
  failOnceForClientUuid?: string;
}

export interface DemoReceiver {
  /** The endpoint URL to give reghook. */
  url: string;
  /** Starts verifying with this signing secret (until then every delivery is answered 503). */
  useSecret(secret: string): void;
  /** webhook-id -> how many times the handler processed it (after dedupe). */
  processed: Map<string, { count: number; appId: number; clientUuid: string }>;
  /** Every delivery that reached the receiver, in order, with the status it was answered. */
  deliveries: { webhookId: string; status: number; outcome: 'processed' | 'duplicate' | 'failed_on_purpose' | 'refused' | 'error' }[];
  close(): Promise<void>;
}

class FailOnPurpose extends Error {
  override readonly name = 'FailOnPurpose';
}

export async function startDemoReceiver(options: DemoReceiverOptions): Promise<DemoReceiver> {
  const { say } = options;
  const processed: DemoReceiver['processed'] = new Map();
  const deliveries: DemoReceiver['deliveries'] = [];
  let failedOnce = false;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;

  // The SDK's in-memory deduper, wrapped only so the demo can say when it skips a duplicate.
  const seen = createDeduper();
  const duplicates = new Set<string>();
  const failedOnPurpose = new Set<string>();
  const deduper: WebhookDeduper = {
    checkAndMark(id) {
      const duplicate = seen.checkAndMark(id);
      if (duplicate) duplicates.add(id);
      return duplicate;
    },
    unmark: (id) => seen.unmark(id),
  };

  function onEvent(event: RegisteredUserEvent, { webhookId }: WebhookMeta): void {
    if (!failedOnce && event.clientUuid === options.failOnceForClientUuid) {
      failedOnce = true;
      throw new FailOnPurpose(webhookId);
    }
    // Identifiers only: subscriberId, subscriberName and clientIp never reach a log line.
    const entry = processed.get(webhookId) ?? { count: 0, appId: event.appId, clientUuid: event.clientUuid };
    entry.count++;
    processed.set(webhookId, entry);
    say(`receiver: ${webhookId} verified -> user registered (appId ${event.appId}, clientUuid ${event.clientUuid}), answered 200`);
  }

  function onError(error: unknown): void {
    if (error instanceof FailOnPurpose) {
      failedOnPurpose.add(error.message);
      say(`receiver: ${error.message} verified, but this first delivery is answered HTTP 500 on purpose; reghook will retry it`);
    } else {
      say(`receiver: handling failed (${String(error)})`);
    }
  }

  const server = createServer((req, res) => {
    const webhookId = String(req.headers['webhook-id'] ?? '(none)');
    res.on('finish', () => {
      const status = res.statusCode;
      let outcome: DemoReceiver['deliveries'][number]['outcome'];
      if (failedOnPurpose.delete(webhookId)) outcome = 'failed_on_purpose';
      else if (status === 200) outcome = duplicates.delete(webhookId) ? 'duplicate' : 'processed';
      else outcome = status >= 400 && status < 500 ? 'refused' : 'error';
      deliveries.push({ webhookId, status, outcome });
      if (outcome === 'duplicate') say(`receiver: ${webhookId} verified, already processed -> skipped, answered 200 {"received":true,"duplicate":true}`);
      if (outcome === 'refused') say(`receiver: ${webhookId} refused with HTTP ${status} (not verified)`);
    });
    if (handler) handler(req, res);
    else {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"not_ready","message":"no signing secret yet"}}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    useSecret(secret) {
      handler = createNodeHandler(secret, onEvent, { deduper, onError });
    },
    processed,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
