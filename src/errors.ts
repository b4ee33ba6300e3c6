/**
 * The error catalogue. Every error the API can answer has a stable `code` (never reused) and an
 * HTTP status; the API turns them into RFC 9457 problem+json. Callers branch on `code`, never on text.
 */
export const ERROR_CATALOGUE = {
  REGHOOK_VALIDATION: { status: 400, title: 'Request validation failed' },
  REGHOOK_UNAUTHORIZED: { status: 401, title: 'Missing or invalid credentials' },
  REGHOOK_FORBIDDEN: { status: 403, title: 'Not allowed with this credential' },
  REGHOOK_NOT_FOUND: { status: 404, title: 'Not found' },
  REGHOOK_CONFLICT: { status: 409, title: 'Conflicts with what was already recorded' },
  REGHOOK_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  REGHOOK_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  REGHOOK_UNPROCESSABLE: { status: 422, title: 'Unprocessable request' },
  REGHOOK_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  REGHOOK_INTERNAL: { status: 500, title: 'Internal server error' },
  REGHOOK_NOT_READY: { status: 503, title: 'Service not ready' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldError {
  /** JSON pointer to the offending field, e.g. `/clientIp`. */
  path: string;
  message: string;
}

/** An error meant for the API caller: its code decides the status; its message is the problem's detail. */
export class ReghookError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  /** For 429 and 503: when the caller may try again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options?: { cause?: unknown; errors?: FieldError[]; retryAfterSeconds?: number },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReghookError';
    this.code = code;
    this.errors = options?.errors;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** Raised at start for a bad configuration value; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'REGHOOK_CONFIG';
}

/** Normalises anything thrown into an Error, so catch blocks never handle `unknown` loosely. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
