/** Why a webhook was refused; stable strings that callers may branch on (never on the message). */
export type WebhookVerificationErrorCode =
  /** A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is absent or empty. */
  | 'missing_header'
  /** A header is present but malformed (a timestamp that is not unix seconds, a repeated id). */
  | 'invalid_header'
  /** The configured secret is not `whsec_<base64>` (a configuration error, not the sender's). */
  | 'invalid_secret'
  /** No signature in the header matches the body under any configured secret. */
  | 'invalid_signature'
  /** Authentic, but signed longer ago than the tolerance allows (a replay, or a slow clock). */
  | 'timestamp_too_old'
  /** Authentic, but signed further in the future than the tolerance allows (a fast clock). */
  | 'timestamp_too_new'
  /** Authentic, but the body is not UTF-8 JSON of a valid RegisteredUserEvent. */
  | 'invalid_payload';

/** The one error verifyWebhook throws; `code` says why. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The HTTP status an adapter answers a refused webhook with. */
export function statusOf(code: WebhookVerificationErrorCode): number {
  switch (code) {
    case 'invalid_signature':
    case 'timestamp_too_old':
    case 'timestamp_too_new':
      return 401;
    case 'invalid_secret':
      return 500;
    default:
      return 400;
  }
}
