/**
 * Opening the configured store at start: SQLite at once; PostgreSQL again and again, with capped
 * exponential backoff, while the server is unreachable or restarting (for `retryForMs`), so a
 * process started alongside its database comes up instead of exiting. A failure that waiting
 * cannot cure (a read-only file, a wrong password, a missing database) is a StartupError: one line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DatabaseTarget } from '../config.js';
import { ConfigError, errorCode, isDatabaseUnavailable, StartupError, toError } from '../errors.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { openThreadedSqliteStore } from './sqlite/threaded-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Where a shared database's connection errors and the start-up retries are reported. */
  logger?: Logger;
  /** Ends the start: a wait between retries stops at once and openStore rejects with its reason. */
  signal?: AbortSignal;
  /** How long an unreachable PostgreSQL is retried before the start gives up (default 60 s). */
  retryForMs?: number;
  /** SQLite: run the store on a thread of its own (threaded-store.ts). The service's choice; commands open it directly. */
  thread?: boolean;
}

export const START_RETRY_FOR_MS = 60_000;
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/** Opens the configured store and applies its migrations. */
export async function openStore(target: DatabaseTarget, options: OpenStoreOptions = {}): Promise<Store> {
  if (target.kind === 'sqlite') {
    try {
      return options.thread === true ? await openThreadedSqliteStore(target.path) : new SqliteStore(target.path);
    } catch (error) {
      throw startupError(target, error);
    }
  }
  const { logger, signal } = options;
  const deadline = Date.now() + (options.retryForMs ?? START_RETRY_FOR_MS);
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await abortable(PostgresStore.open(target.url, logger ? { logger } : {}), signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const delayMs = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1));
      if (!isDatabaseUnavailable(error) || Date.now() + delayMs > deadline) throw startupError(target, error, attempt);
      logger?.warn(
        { error: { code: errorCode(error), message: toError(error).message }, attempt, retryInMs: delayMs },
        'PostgreSQL is not reachable yet; retrying',
      );
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => {
        throw signal?.reason;
      });
    }
  }
}

/** `opening`, or signal's reason as soon as it aborts; a store that opens after that is closed. */
function abortable(opening: Promise<PostgresStore>, signal: AbortSignal | undefined): Promise<PostgresStore> {
  if (signal === undefined) return opening;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      opening.then((store) => store.close(), () => {}).catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    opening.then(
      (store) => {
        signal.removeEventListener('abort', onAbort);
        resolve(store);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Where the database is, for a message: the SQLite path, or PostgreSQL's host, port and database (never the password). */
export function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return target.path;
  try {
    const url = new URL(target.url);
    return `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** What the operator can do about a database failure at start, by code. */
function hint(code: string): string {
  if (code.startsWith('SQLITE_READONLY')) return `it is read-only (${code}); check its permissions and its folder's`;
  if (code.startsWith('SQLITE_CANTOPEN')) return `it cannot be opened (${code}); check that the path names a file in a folder reghook may write`;
  if (code === 'SQLITE_NOTADB') return `it is not a SQLite database (${code})`;
  if (code.startsWith('SQLITE_FULL')) return `the disk is full (${code})`;
  if (code.startsWith('28')) return `the server refused the credentials (SQLSTATE ${code}); check the user and password in REGHOOK_DATABASE_URL`;
  if (code === '3D000') return `the database does not exist (SQLSTATE ${code}); create it or fix REGHOOK_DATABASE_URL`;
  return '';
}

/**
 * A failure at open as one line (a StartupError) when it carries a code, i.e. it comes from the
 * database, the network or the file system; anything else is unexpected and stays as it is (stack).
 */
export function startupError(target: DatabaseTarget, thrown: unknown, attempts = 1): unknown {
  const code = errorCode(thrown);
  if (code === undefined || thrown instanceof StartupError || thrown instanceof ConfigError) return thrown;
  const error = toError(thrown);
  const why = hint(code) || `${error.message} (${code})`;
  const tried = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  return new StartupError(`cannot open the database ${describeTarget(target)}: ${why}${tried}`, { cause: error });
}
