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

/**
 * The code pg's connection layer lacks: a lost, closed or timed-out connection surfaces from
 * node-postgres as a bare Error, which the PostgreSQL store tags with this code (connection.ts).
 */
export const DATABASE_CONNECTION_LOST = 'REGHOOK_DB_CONNECTION_LOST';

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
  readonly code = 'REGHOOK_START';
}
