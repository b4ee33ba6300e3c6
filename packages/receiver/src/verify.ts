/**
 * Verification of one webhook request: Standard Webhooks v1 signature over the raw body bytes,
 * timestamp tolerance, then JSON parsing and validation of the event.
 */
import { headerHasSignature, InvalidSecretError, secretKey, sign } from './signing.js';
import { WebhookVerificationError } from './errors.js';
import { type RegisteredUserEvent, validateRegisteredUserEvent } from './event.js';

/** How far (seconds) a signature's timestamp may lie from now, either way, by default (as Standard Webhooks). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The body bytes exactly as received. A string is taken as its UTF-8 encoding. */
export type RawBody = string | Uint8Array;

/**
 * Request headers: a Node `IncomingHttpHeaders`-like object (names in any case, values string or
 * string[]), a WHATWG `Headers`, or anything whose `get(lowerCaseName)` returns the value.
 */
export type WebhookHeaders =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  /** Seconds the `webhook-timestamp` may differ from now, either way. Default DEFAULT_TOLERANCE_SECONDS. */
  toleranceSeconds?: number;
  /** The clock: a Date or epoch milliseconds. Default `Date.now`. */
  now?: () => Date | number;
}

/** What a delivery says about itself besides the event. */
export interface WebhookMeta {
  /** The `webhook-id`, the same on every attempt of one event: the key to deduplicate on. */
  webhookId: string;
  /** The `webhook-timestamp` of this attempt, unix seconds. */
  timestamp: number;
}

export interface VerifiedWebhook extends WebhookMeta {
  event: RegisteredUserEvent;
}

/** Verifies a request against prepared keys; what the adapters build once per handler. */
export type Verifier = (rawBody: RawBody, headers: WebhookHeaders) => VerifiedWebhook;

/** Decodes the secrets and checks the options once, so each request only pays for the HMAC. */
export function createVerifier(secretOrSecrets: string | readonly string[], options: VerifyOptions = {}): Verifier {
  const keys = decodeSecrets(secretOrSecrets);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`toleranceSeconds must be a finite number >= 0, got ${tolerance}`);
  }
  const now = options.now ?? Date.now;
  return (rawBody, headers) => {
    const webhookId = singleHeader(headers, 'webhook-id');
    const timestampText = singleHeader(headers, 'webhook-timestamp');
    const signatures = headerValues(headers, 'webhook-signature').join(' ');
    if (signatures.trim() === '') throw missing('webhook-signature');
    // Only the canonical decimal form: the sender signs `${number}`, so "0123" or "1e9" is not what it signed.
    const timestamp = Number(timestampText);
    if (!/^[0-9]{1,15}$/.test(timestampText) || String(timestamp) !== timestampText) {
      throw new WebhookVerificationError('invalid_header', 'webhook-timestamp must be unix seconds');
    }

    const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    let authentic = false;
    for (const key of keys) {
      if (headerHasSignature(signatures, sign(key, webhookId, timestamp, body))) authentic = true;
    }
    if (!authentic) {
      throw new WebhookVerificationError('invalid_signature', 'no webhook-signature matches the body under the configured secret(s)');
    }

    const nowSeconds = Math.floor(Number(now()) / 1000);
    if (nowSeconds - timestamp > tolerance) {
      throw new WebhookVerificationError('timestamp_too_old', `webhook-timestamp is more than ${tolerance} s in the past`);
    }
    if (timestamp - nowSeconds > tolerance) {
      throw new WebhookVerificationError('timestamp_too_new', `webhook-timestamp is more than ${tolerance} s in the future`);
    }

    return { webhookId, timestamp, event: parseEvent(body) };
  };
}

/**
 * Verifies a webhook on its raw body and returns the validated event, or throws WebhookVerificationError.
 *
 * @example
 * ```ts
 * import { verifyWebhook, WebhookVerificationError } from 'reghook/receiver';
 *
 * // rawBody: the exact bytes received (Buffer or string), never JSON.stringify(req.body).
 * try {
 *   const event = verifyWebhook(rawBody, req.headers, process.env.WEBHOOK_SECRET!);
 *   console.log(event.appId, event.clientUuid);
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) console.warn('refused:', error.code);
 *   else throw error;
 * }
 * ```
 */
export function verifyWebhook(
  rawBody: RawBody,
  headers: WebhookHeaders,
  secretOrSecrets: string | readonly string[],
  options?: VerifyOptions,
): RegisteredUserEvent {
  return verifyWebhookMessage(rawBody, headers, secretOrSecrets, options).event;
}

/** Like verifyWebhook, but also returns the `webhook-id` and `webhook-timestamp` it verified. */
export function verifyWebhookMessage(
  rawBody: RawBody,
  headers: WebhookHeaders,
  secretOrSecrets: string | readonly string[],
  options?: VerifyOptions,
): VerifiedWebhook {
  return createVerifier(secretOrSecrets, options)(rawBody, headers);
}

function decodeSecrets(secretOrSecrets: string | readonly string[]): Buffer[] {
  const secrets = typeof secretOrSecrets === 'string' ? [secretOrSecrets] : secretOrSecrets;
  if (secrets.length === 0) throw new WebhookVerificationError('invalid_secret', 'no signing secret configured');
  return secrets.map((secret, i) => {
    try {
      return secretKey(secret);
    } catch (error) {
      if (!(error instanceof InvalidSecretError)) throw error;
      // The secret itself never goes into the message.
      throw new WebhookVerificationError('invalid_secret', `signing secret #${i + 1}: ${error.message}`, { cause: error });
    }
  });
}

function missing(name: string): WebhookVerificationError {
  return new WebhookVerificationError('missing_header', `the ${name} header is missing`);
}

function hasGet(headers: WebhookHeaders): headers is { get(name: string): string | null | undefined } {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/** Every value given for a header, whatever the case of its name. */
function headerValues(headers: WebhookHeaders, name: string): string[] {
  if (hasGet(headers)) {
    const value = headers.get(name);
    return value === null || value === undefined ? [] : [value];
  }
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  return values;
}

function singleHeader(headers: WebhookHeaders, name: string): string {
  const values = headerValues(headers, name).filter((v) => v !== '');
  const [first] = values;
  if (first === undefined) throw missing(name);
  if (values.some((v) => v !== first)) {
    throw new WebhookVerificationError('invalid_header', `the ${name} header is given more than once`);
  }
  return first;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseEvent(body: Uint8Array): RegisteredUserEvent {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(body));
  } catch (error) {
    throw new WebhookVerificationError('invalid_payload', 'the body is not UTF-8 JSON', { cause: error });
  }
  const result = validateRegisteredUserEvent(json);
  if (!result.ok) {
    const detail = result.issues.map((issue) => `${issue.path || '(body)'} ${issue.message}`).join('; ');
    throw new WebhookVerificationError('invalid_payload', `the body is not a RegisteredUserEvent: ${detail}`);
  }
  return result.event;
}
