/**
 * The error catalogue. Every error the API can answer has a stable `code` (never reused, never
 * given a second meaning) and an HTTP status; the API turns them into RFC 9457 problem+json.
 * Callers branch on `code`, never on text: each situation a caller may want to handle on its own
 * has a code of its own.
 */
export const ERROR_CATALOGUE = {
  REGHOOK_VALIDATION: { status: 400, title: 'Request validation failed' },
  REGHOOK_UNAUTHORIZED: { status: 401, title: 'Missing or invalid credentials' },
  /** The route needs the admin token (or a full portal session); a project key may not. */
  REGHOOK_ADMIN_ONLY: { status: 403, title: 'This needs the admin token' },
  /** Unknown route. */
  REGHOOK_NOT_FOUND: { status: 404, title: 'Not found' },
  /** No such project, or another project than the key's (the two look alike: no probing). */
  REGHOOK_PROJECT_NOT_FOUND: { status: 404, title: 'Project not found' },
  REGHOOK_EVENT_NOT_FOUND: { status: 404, title: 'Event not found' },
  /** The project has no webhook endpoint yet (its routes need one). */
  REGHOOK_ENDPOINT_NOT_FOUND: { status: 404, title: 'No webhook endpoint yet' },
  REGHOOK_API_KEY_NOT_FOUND: { status: 404, title: 'API key not found' },
  REGHOOK_PROJECT_EXISTS: { status: 409, title: 'A project with this appId exists' },
  /** The user was already reported with other data; nothing was changed. */
  REGHOOK_REGISTRATION_CONFLICT: { status: 409, title: 'Registration conflicts with the one recorded' },
  /** The transactionId was already reported for another user. */
  REGHOOK_TRANSACTION_REUSED: { status: 409, title: 'transactionId already used' },
  /** Redelivery needs an endpoint: set one first. */
  REGHOOK_ENDPOINT_MISSING: { status: 409, title: 'The project has no webhook endpoint' },
  REGHOOK_ENDPOINT_DISABLED: { status: 409, title: 'The webhook endpoint is disabled' },
  /** A scheduled attempt of this event holds its lease: no second, concurrent delivery of one webhook-id. */
  REGHOOK_ATTEMPT_IN_FLIGHT: { status: 409, title: 'An attempt of this event is in flight' },
  /**
   * A concurrent request changed what this one was deciding on (an identical report won the race and
   * the user was erased before this one could read it): nothing was stored; send it again.
   */
  REGHOOK_CONCURRENT_CHANGE: { status: 409, title: 'A concurrent change got in the way; send the request again' },
  REGHOOK_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  REGHOOK_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  /** Not http(s), credentials in it, too long, or a host the network policy refuses. */
  REGHOOK_ENDPOINT_URL_REFUSED: { status: 422, title: 'The endpoint URL cannot be used' },
  /** A reserved name (content-type, host, webhook-*, proxy-* …) or a name given twice: `errors` names `/headers/<name>`. */
  REGHOOK_HEADER_REFUSED: { status: 422, title: 'A custom header cannot be used' },
  REGHOOK_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  REGHOOK_INTERNAL: { status: 500, title: 'Internal server error' },
  /** The database cannot take writes right now (full, read-only, unreachable): retry after Retry-After. */
  REGHOOK_NOT_READY: { status: 503, title: 'Service not ready' },
} as const;

/** What a 503 for an unavailable database tells the caller to wait (Retry-After, seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Codes that were answered once and are retired: never to be given another meaning. */
export const RETIRED_ERROR_CODES = ['REGHOOK_FORBIDDEN', 'REGHOOK_CONFLICT', 'REGHOOK_UNPROCESSABLE'] as const;

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

/**
 * The codes an operator sees rather than an API caller: a command or a start that fails (exit 1,
 * one line), a log line, an attempt's recorded error. Stable like the API's: never reused. None
 * is answered over HTTP (a request that meets one answers REGHOOK_INTERNAL or REGHOOK_NOT_READY).
 */
export const OPERATOR_ERRORS = {
  /** A setting is missing or wrong (ConfigError): the message names the variable, never a secret's value. */
  REGHOOK_CONFIG: 'a setting is missing or wrong; the line names the variable (or the option, or the file it was read from)',
  /** Something outside the process prevents the start (StartupError): the database, a port, a file. */
  REGHOOK_START: 'something outside the process prevents the start: the database (read-only, unreachable, a newer schema), a port, a file',
  /** SecretKeyMismatchError (secrets/secret-box.ts). */
  REGHOOK_SECRET_KEY_MISMATCH: 'a stored signing secret does not open with REGHOOK_SECRET_KEY (another key, or an altered value)',
  /** InvalidSecretError (@reghook/receiver/signing, shared by the server and the receiver SDK). */
  REGHOOK_INVALID_SECRET: 'a signing secret is not whsec_ followed by base64',
  /** DestinationRefusedError (dispatch/network-policy/connector.ts): recorded as the attempt\'s error `destination_refused`. */
  REGHOOK_DESTINATION_REFUSED: 'the network policy refused the address a delivery would connect to (REGHOOK_ALLOW_PRIVATE_NETWORKS)',
  /** A PostgreSQL connection lost, closed or timed out (node-postgres gives no code; the store adds this one). */
  REGHOOK_DB_CONNECTION_LOST: 'a PostgreSQL connection was lost, closed or timed out; the request is retried or answered 503',
} as const;

export type OperatorErrorCode = keyof typeof OPERATOR_ERRORS;

/** Raised at start for a bad configuration value; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'REGHOOK_CONFIG' satisfies OperatorErrorCode;
}

/** Normalises anything thrown into an Error, so catch blocks never handle `unknown` loosely. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

/**
 * The code pg's connection layer lacks: a lost, closed or timed-out connection surfaces from
 * node-postgres as a bare Error, which the PostgreSQL store tags with this code (connection.ts).
 */
export const DATABASE_CONNECTION_LOST = 'REGHOOK_DB_CONNECTION_LOST' satisfies OperatorErrorCode;

/** Node socket and DNS failures on the way to a database server. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'EAI_AGAIN', 'ENOTFOUND', DATABASE_CONNECTION_LOST,
]);
/** SQLite result codes (and their extended forms, e.g. SQLITE_IOERR_WRITE) of a database that cannot be written now. */
const SQLITE_PREFIXES = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_CANTOPEN'];
/** SQLSTATEs: admin_shutdown, crash_shutdown, cannot_connect_now, read_only_sql_transaction. */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '25006']);
/** SQLSTATE classes: 08 connection exception, 53 insufficient resources (53100 disk_full). */
const SQLSTATE_CLASSES = new Set(['08', '53']);

/** The `code` of an error, or of the first error in its `cause` chain that has one. */
export function errorCode(thrown: unknown): string | undefined {
  let current: unknown = thrown;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Whether a failure is the database's own (disk full, read-only, I/O error, busy, unreachable,
 * restarting) rather than the request's: the same request may succeed later, so the API answers
 * 503 with Retry-After. Decided by code (SQLite result code, SQLSTATE, Node errno), never by text.
 */
export function isDatabaseUnavailable(thrown: unknown): boolean {
  const code = errorCode(thrown);
  if (code === undefined) return false;
  if (code.startsWith('SQLITE_')) return SQLITE_PREFIXES.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));
  if (/^[0-9A-Z]{5}$/.test(code) && (SQLSTATES.has(code) || SQLSTATE_CLASSES.has(code.slice(0, 2)))) return true;
  return NETWORK_CODES.has(code);
}

/**
 * The process cannot start for a reason outside it (the database is read-only, refuses the
 * password, stays unreachable…): the message is one complete line for the operator, no stack.
 */
export class StartupError extends Error {
  readonly code = 'REGHOOK_START' satisfies OperatorErrorCode;
}
