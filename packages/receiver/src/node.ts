/** The `node:http` adapter. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BodyTooLargeError,
  declaresTooLarge,
  errorBody,
  processDelivery,
  readRawBody,
  type ReceiverOptions,
  resolveReceiver,
  sendJson,
  tooLarge,
  type WebhookEventHandler,
} from './delivery.js';

/**
 * A `node:http` request listener that verifies each POST and calls `onEvent` once per `webhook-id`:
 * 200 when handled (or a duplicate), 400/401 refused, 405 not a POST, 413 too large, 500 if `onEvent` throws.
 *
 * @example
 * ```ts
 * createServer(createNodeHandler(secret, (event) => saveUser(event), { deduper: createDeduper() })).listen(3000);
 * ```
 */
export function createNodeHandler(
  secretOrSecrets: string | readonly string[],
  onEvent: WebhookEventHandler,
  options?: ReceiverOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const receiver = resolveReceiver(secretOrSecrets, options);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendJson(res, { status: 405, body: errorBody('method_not_allowed', 'webhooks are POSTed') });
    }
    if (declaresTooLarge(req, receiver.maxBodyBytes)) return sendJson(res, tooLarge(receiver.maxBodyBytes), true);
    let body: Buffer;
    try {
      body = await readRawBody(req, receiver.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, tooLarge(receiver.maxBodyBytes), true);
      req.destroy(); // the client went away mid-body: nobody to answer
      return;
    }
    sendJson(res, await processDelivery(receiver, body, req.headers, onEvent));
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      receiver.onError(error);
      if (!res.headersSent) sendJson(res, { status: 500, body: errorBody('internal_error', 'the receiver failed') });
      else res.destroy();
    });
  };
}
