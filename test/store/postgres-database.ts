/**
 * PostgreSQL for tests: the server at REGHOOK_TEST_DATABASE_URL, a fresh schema per test file (or
 * per test), and a lock that keeps PostgreSQL-using test files apart from the one that restarts
 * the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';

export const TEST_DATABASE_URL = process.env.REGHOOK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const IN_CI = process.env.CI === 'true';

/** Whether the server answers; the reason when it does not. */
export async function probePostgres(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Decides whether a PostgreSQL test file runs: it runs when the server is reachable; otherwise it
 * is skipped with a clear line, except under CI=true, where an unreachable server is a failure.
 */
export async function postgresForTests(suite: string): Promise<{ run: boolean; failure: string | null }> {
  const probe = await probePostgres();
  if (probe.ok) return { run: true, failure: null };
  const message = `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${probe.reason})`;
  if (IN_CI) return { run: false, failure: `${message}; CI=true requires it. Start it with: pg_ctlcluster --skip-systemctl-redirect 15 main start` };
  process.stderr.write(`\n  SKIPPED ${suite}: ${message}. Set REGHOOK_TEST_DATABASE_URL or start PostgreSQL to run it.\n\n`);
  return { run: false, failure: null };
}

/** Runs SQL in the schema of `url` (schemaUrl) on a short-lived connection of its own: the triggers and probes a test stages. */
export async function schemaQuery(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs one statement on a short-lived connection of its own. */
export async function adminQuery<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new, unused schema name; the store creates it when it migrates. */
export function freshSchemaName(prefix = 'reghook_test'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** The database URL of one schema. */
export function schemaUrl(schema: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}

/** How long a test file may wait for the server lock (another file may be restarting the server). */
export const LOCK_WAIT_MS = 120_000;

/** Session-level advisory lock key that PostgreSQL test files share (the restart test holds it alone). */
const SERVER_LOCK = 0x7265_6768; // "regh"

/**
 * Holds a lock for the length of a test file: `shared` for files that merely use the server,
 * `exclusive` for the file that restarts it, so a restart never cuts another file's connections.
 * Waits (bounded) for the server to come back if a restart is under way. Release by calling the
 * returned function; a restart releases it too.
 */
export async function holdServerLock(mode: 'shared' | 'exclusive', timeoutMs = LOCK_WAIT_MS - 5_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(`SET lock_timeout = ${Math.max(1_000, deadline - Date.now())}`);
      await client.query(mode === 'shared' ? 'SELECT pg_advisory_lock_shared($1)' : 'SELECT pg_advisory_lock($1)', [SERVER_LOCK]);
      return async () => {
        await client.end().catch(() => {});
      };
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw error;
      // The server is restarting (connection refused or cut): try again shortly.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
