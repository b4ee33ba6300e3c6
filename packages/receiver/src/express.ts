/**
 * The Express adapter, written against the few members it uses so that the SDK does not depend
 * on express (4 or 5) at runtime or for its types.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BodyTooLargeError,
  forget,
  readRawBody,
  type ReceiverOptions,
  type ReceiverResponse,
  resolveReceiver,
  sendJson,
  tooLarge,
  verifyDelivery,
} from './delivery.js';
import type { VerifiedWebhook } from './verify.js';

/** The parts of an Express request the middleware uses. */
export interface ExpressLikeRequest extends IncomingMessage {
  body?: unknown;
}

/** The parts of an Express response the middleware uses. */
export interface ExpressLikeResponse extends ServerResponse {
  locals: Record<string, unknown>;
}

export type ExpressLikeNext = (error?: unknown) => void;

/**
 * Express middleware that verifies the webhook and stores it in `res.locals.webhook` (a
 * VerifiedWebhook) before calling `next()`; refusals are answered 400/401/413, duplicates 200.
 * Mount it before any JSON body parser (after `express.raw({ type: 'application/json' })` is fine).
 * With a deduper, the `webhook-id` is unmarked again unless the route answers 200.
 *
 * @example
 * ```ts
 * app.post('/webhooks', expressWebhook(secret, { deduper: createDeduper() }), (req, res) => {
 *   const { event } = res.locals.webhook as VerifiedWebhook;
 *   res.sendStatus(200);
 * });
 * ```
 */
export function expressWebhook(
  secretOrSecrets: string | readonly string[],
  options?: ReceiverOptions,
): (req: ExpressLikeRequest, res: ExpressLikeResponse, next: ExpressLikeNext) => void {
  const receiver = resolveReceiver(secretOrSecrets, options);

  async function rawBodyOf(req: ExpressLikeRequest): Promise<Buffer | ReceiverResponse> {
    if (Buffer.isBuffer(req.body)) {
      return req.body.length > receiver.maxBodyBytes ? tooLarge(receiver.maxBodyBytes) : req.body;
    }
    if (req.readableDidRead || req.readableEnded) {
      throw new Error(
        'reghook expressWebhook: the request body was already consumed by another parser (express.json()?); ' +
          'mount expressWebhook before it, or use express.raw({ type: "application/json" })',
      );
    }
    try {
      return await readRawBody(req, receiver.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return tooLarge(receiver.maxBodyBytes);
      throw error;
    }
  }

  async function handle(req: ExpressLikeRequest, res: ExpressLikeResponse, next: ExpressLikeNext): Promise<void> {
    const body = await rawBodyOf(req);
    if (!Buffer.isBuffer(body)) return sendJson(res, body, body.status === 413);

    const outcome = verifyDelivery(receiver, body, req.headers);
    if ('refused' in outcome) return sendJson(res, outcome.refused);
    const webhook: VerifiedWebhook = outcome.verified;

    const { deduper } = receiver;
    if (deduper) {
      if (await deduper.checkAndMark(webhook.webhookId)) {
        return sendJson(res, { status: 200, body: { received: true, duplicate: true } });
      }
      // Anything but a 200 tells reghook to retry: that retry must not be skipped as a duplicate.
      res.once('close', () => {
        if (!res.writableFinished || res.statusCode !== 200) void forget(receiver, webhook.webhookId);
      });
    }
    res.locals.webhook = webhook;
    next();
  }

  return (req, res, next) => {
    handle(req, res, next).catch((error: unknown) => next(error));
  };
}
