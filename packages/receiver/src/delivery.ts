/**
 * What every adapter does with one delivery, apart from the framework: read the raw body under a
 * size cap, verify, deduplicate, hand the event over, and choose the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { WebhookDeduper } from './dedupe.js';
import { statusOf, WebhookVerificationError } from './errors.js';
import type { RegisteredUserEvent } from './event.js';
import {
  createVerifier,
  type RawBody,
  type VerifiedWebhook,
  type Verifier,
  type VerifyOptions,
  type WebhookHeaders,
  type WebhookMeta,
} from './verify.js';

/** Largest body an adapter reads by default (reghook's events are well under 1 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Receives each verified, not-yet-seen event; throw (or reject) to answer 500 so reghook retries. */
export type WebhookEventHandler = (event: RegisteredUserEvent, meta: WebhookMeta) => unknown;

export interface ReceiverOptions extends VerifyOptions {
  /** Skips events whose `webhook-id` was already processed (they are answered 200). */
  deduper?: WebhookDeduper;
  /** Bodies larger than this are answered 413. Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Told of failures the sender only sees as a 500 (a throwing handler, a failing deduper). Default console.error. */
  onError?: (error: unknown) => void;
}

/** The JSON an adapter answers with. */
export type ReceiverResponseBody =
  | { received: true; duplicate?: true }
  | { error: { code: string; message: string } };

export interface ReceiverResponse {
  status: number;
  body: ReceiverResponseBody;
}

/** Options checked once, secrets decoded once. */
export interface ResolvedReceiver {
  verify: Verifier;
  deduper: WebhookDeduper | undefined;
  maxBodyBytes: number;
  onError: (error: unknown) => void;
}

export function resolveReceiver(secretOrSecrets: string | readonly string[], options: ReceiverOptions = {}): ResolvedReceiver {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new RangeError(`maxBodyBytes must be an integer >= 1, got ${maxBodyBytes}`);
  }
  return {
    verify: createVerifier(secretOrSecrets, options),
    deduper: options.deduper,
    maxBodyBytes,
    onError: options.onError ?? ((error) => console.error('reghook receiver:', error)),
  };
}

export function errorBody(code: string, message: string): ReceiverResponseBody {
  return { error: { code, message } };
}

export const tooLarge = (limit: number): ReceiverResponse => ({
  status: 413,
  body: errorBody('payload_too_large', `the body is larger than ${limit} bytes`),
});

/** The outcome of verification alone: the webhook, or the refusal to answer with. */
export function verifyDelivery(
  receiver: ResolvedReceiver,
  rawBody: RawBody,
  headers: WebhookHeaders,
): { verified: VerifiedWebhook } | { refused: ReceiverResponse } {
  try {
    return { verified: receiver.verify(rawBody, headers) };
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    return { refused: { status: statusOf(error.code), body: errorBody(error.code, error.message) } };
  }
}

/** Verify, deduplicate, call the handler: the whole delivery once the raw body is in hand. */
export async function processDelivery(
  receiver: ResolvedReceiver,
  rawBody: RawBody,
  headers: WebhookHeaders,
  onEvent: WebhookEventHandler,
): Promise<ReceiverResponse> {
  const outcome = verifyDelivery(receiver, rawBody, headers);
  if ('refused' in outcome) return outcome.refused;
  const { event, webhookId, timestamp } = outcome.verified;

  const { deduper } = receiver;
  try {
    if (deduper && (await deduper.checkAndMark(webhookId))) {
      return { status: 200, body: { received: true, duplicate: true } };
    }
  } catch (error) {
    receiver.onError(error);
    return { status: 500, body: errorBody('deduper_failed', 'could not check the webhook-id') };
  }

  try {
    await onEvent(event, { webhookId, timestamp });
  } catch (error) {
    receiver.onError(error);
    await forget(receiver, webhookId);
    return { status: 500, body: errorBody('handler_failed', 'the webhook handler failed') };
  }
  return { status: 200, body: { received: true } };
}

/** Unmarks a webhook-id whose processing failed, so its retry is not mistaken for a duplicate. */
export async function forget(receiver: ResolvedReceiver, webhookId: string): Promise<void> {
  try {
    await receiver.deduper?.unmark?.(webhookId);
  } catch (error) {
    receiver.onError(error);
  }
}

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** The request body bytes, as received; rejects with BodyTooLargeError past `limit` bytes. */
export function readRawBody(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      length += bytes.length;
      if (length > limit) {
        cleanup();
        stream.resume(); // discard the rest rather than buffer it
        reject(new BodyTooLargeError(`the body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, length));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('the request was closed before its body ended'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Whether a declared Content-Length already exceeds the limit (so nothing needs to be read). */
export function declaresTooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit;
}

export function sendJson(res: ServerResponse, response: ReceiverResponse, closeConnection = false): void {
  const text = JSON.stringify(response.body);
  res.statusCode = response.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  if (closeConnection) res.setHeader('connection', 'close');
  res.end(text);
}
