/**
 * Connecting to PostgreSQL: the connection URL (with an optional `?schema=`), a pool whose BIGINT
 * columns read as numbers, transactions that retry on serialization failures and deadlocks, and
 * SQLSTATE classification (by code, never by message text).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError, DATABASE_CONNECTION_LOST, errorCode, toError } from '../../errors.js';

/** Where to connect: the pg connection string (schema folded into `options`), the schema, the pool size. */
export interface PostgresTarget {
  connectionString: string;
  /** The schema every table lives in, or null for the server's default search_path. */
  schema: string | null;
  /** Connections per process (plus one for LISTEN); size max_connections for all processes. */
  poolSize: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const DEFAULT_POOL_SIZE = 10;

/**
 * Reads `postgres://user@host:port/db?schema=name&pool_size=10`. The schema becomes the
 * connection's search_path (`options=-c search_path=name`), so every statement is written
 * unqualified and one database can hold several reghook installations, or one fresh schema per
 * test file; it is created if missing. Other parameters (sslmode, options, …) go to node-postgres.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError('REGHOOK_DATABASE_URL is not a valid postgres:// URL', { cause: error });
  }
  let poolSize = DEFAULT_POOL_SIZE;
  const poolParam = parsed.searchParams.get('pool_size');
  if (poolParam !== null) {
    poolSize = Number(poolParam);
    if (!/^\d+$/.test(poolParam) || poolSize < 1 || poolSize > 1_000) {
      throw new ConfigError(`REGHOOK_DATABASE_URL: pool_size="${poolParam}" must be a whole number from 1 to 1000`);
    }
    parsed.searchParams.delete('pool_size');
  }
  const schema = parsed.searchParams.get('schema');
  if (schema !== null) {
    if (!SCHEMA_NAME.test(schema)) {
      throw new ConfigError(`REGHOOK_DATABASE_URL: schema "${schema}" must be lower-case letters, digits and _ (at most 63)`);
    }
    parsed.searchParams.delete('schema');
    const options = parsed.searchParams.get('options');
    parsed.searchParams.set('options', `${options === null ? '' : options + ' '}-c search_path=${schema}`);
  }
  return { connectionString: parsed.toString(), schema, poolSize };
}

const INT8_OID = 20;

/**
 * Per-pool type parsers (not the process-wide `pg.types`): BIGINT epoch-millisecond times and ids
 * fit in a double exactly, so they read as numbers like every other time in the Store interface.
 */
function typeParsers(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, (text: string) => Number(text));
  return types;
}

export function clientConfig(target: PostgresTarget): pg.ClientConfig {
  return {
    connectionString: target.connectionString,
    types: typeParsers(),
    application_name: 'reghook',
    // A dead peer (server restarted, network cut) is noticed instead of hanging a query forever.
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
  };
}

export function createPool(target: PostgresTarget, logger: Logger, max: number): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(target), max, idleTimeoutMillis: 30_000 });
  // An idle pooled connection that breaks (server restart) emits here; without a listener Node
  // would crash the process. The pool drops that connection and opens a new one when needed.
  pool.on('error', (error) => logger.warn({ error: loggableError(error) }, 'idle PostgreSQL connection lost'));
  // Promise forms only; pg-pool's own callback-style calls pass through untouched.
  pool.query = withCodedRejections(pool.query.bind(pool) as typeof pool.query);
  pool.connect = withCodedRejections(pool.connect.bind(pool) as typeof pool.connect);
  return pool;
}

/**
 * node-postgres reports a lost, closed or timed-out connection ("Connection terminated
 * unexpectedly", "timeout exceeded when trying to connect") as a bare Error without a code; such
 * an error gets DATABASE_CONNECTION_LOST, so callers can classify it by code like any other.
 * Errors of any other class (DatabaseError, TypeError, …) or with a code are left as they are.
 */
export function withConnectionCode(error: unknown): unknown {
  if (!(error instanceof Error) || error.constructor !== Error || errorCode(error) !== undefined) return error;
  return Object.assign(new Error(error.message, { cause: error }), { code: DATABASE_CONNECTION_LOST });
}

/** `fn`, with a rejected promise's error passed through withConnectionCode. */
function withCodedRejections<F extends (...args: never[]) => unknown>(fn: F): F {
  return ((...args: Parameters<F>) => {
    const result = fn(...args);
    return result instanceof Promise
      ? result.catch((error: unknown) => {
          throw withConnectionCode(error);
        })
      : result;
  }) as F;
}

/**
 * What may be logged of a connection error: its message and code only. pg-pool attaches the
 * client (with its connection parameters, password included) to the errors it emits.
 */
export function loggableError(error: unknown): { message: string; code: string | undefined } {
  const e = toError(error);
  const code = (e as { code?: unknown }).code;
  return { message: e.message, code: typeof code === 'string' ? code : undefined };
}

/** The SQLSTATE of a database error, or undefined for anything else (e.g. a socket error). */
export function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
/** serialization_failure and deadlock_detected: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 5;

export type Queryable = Pick<pg.PoolClient, 'query'>;

const isRetryable = (error: unknown) => {
  const code = sqlState(error);
  return code !== undefined && RETRYABLE.has(code);
};
const jitter = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));

/** Runs one self-contained statement (atomic on its own), again on a serialization failure or deadlock. */
export async function retryingStatement<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isRetryable(error) || attempt >= MAX_TRANSACTION_ATTEMPTS) throw error;
      await jitter(attempt);
    }
  }
}

/**
 * Runs `work` in one transaction on one pooled connection: BEGIN … COMMIT, ROLLBACK on error.
 * Serialization failures and deadlocks are retried (a few times, with a little jitter) because the
 * database undid the whole transaction; everything else is rethrown.
 */
export async function inTransaction<T>(pool: pg.Pool, logger: Logger, work: (client: Queryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    // A checked-out connection has no pool listener: a connection error between two queries
    // would otherwise be an unhandled 'error' event. The failing query rejects on its own.
    const onError = (error: Error) => logger.warn({ error: loggableError(error) }, 'PostgreSQL connection lost during a transaction');
    client.on('error', onError);
    let broken: Error | undefined;
    const coded: Queryable = { query: withCodedRejections(client.query.bind(client) as typeof client.query) };
    try {
      await coded.query('BEGIN');
      const result = await work(coded);
      await coded.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection itself is gone: do not hand it back to the pool.
        broken = toError(rollbackError);
      }
      if (isRetryable(error) && attempt < MAX_TRANSACTION_ATTEMPTS) {
        await jitter(attempt);
        continue;
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
