/**
 * PostgreSQL migrations: the numbered, append-only files of migrations/postgres, each applied in
 * one transaction together with its ledger row. Every transaction first takes a transaction-level
 * advisory lock keyed on the schema, so any number of processes starting at once apply each
 * migration exactly once: the others wait, then find its ledger row and skip it.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { loadMigrations } from '../migration-files.js';
import { inTransaction, type Queryable } from './connection.js';

/** One lock per schema, so test files migrating their own fresh schemas do not queue behind each other. */
async function lockMigrations(client: Queryable, schema: string | null): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('reghook.migrate:' || $1::text, 0))`, [schema ?? '']);
}

export async function applyMigrations(pool: pg.Pool, schema: string | null, logger: Logger): Promise<void> {
  await inTransaction(pool, logger, async (client) => {
    await lockMigrations(client, schema);
    if (schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
  });
  for (const migration of loadMigrations('postgres')) {
    await inTransaction(pool, logger, async (client) => {
      await lockMigrations(client, schema);
      // Checked under the lock: another process may have applied it while this one waited.
      const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (done.rowCount !== 0) return;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
      logger.info({ version: migration.version, name: migration.name }, 'migration applied');
    });
  }
}

/** The newest migration version the database has applied (0 before the first). */
export async function appliedVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}

export function latestVersion(): number {
  return loadMigrations('postgres').at(-1)?.version ?? 0;
}
