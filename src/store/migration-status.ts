/**
 * `reghook migrate --status`: which migrations a database has applied, against the files this
 * release carries. It only reads: it opens no Store (opening one migrates) and creates nothing.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import { compareMigrations, loadMigrations, type MigrationState } from './migration-files.js';
import { startupError } from './open-store.js';
import { clientConfig, parsePostgresUrl } from './postgres/connection.js';

interface LedgerRow {
  version: number;
  name: string;
  appliedAt: number;
}

export async function migrationStatus(target: DatabaseTarget): Promise<MigrationState[]> {
  try {
    const applied = target.kind === 'sqlite' ? sqliteLedger(target.path) : await postgresLedger(target.url);
    return compareMigrations(loadMigrations(target.kind), applied);
  } catch (error) {
    throw startupError(target, error);
  }
}

function sqliteLedger(file: string): LedgerRow[] {
  // A database that does not exist yet has applied nothing; opening it would create it.
  if (file === ':memory:' || !existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
    if (table === undefined) return [];
    return db.prepare('SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all() as LedgerRow[];
  } finally {
    db.close();
  }
}

async function postgresLedger(url: string): Promise<LedgerRow[]> {
  const client = new pg.Client(clientConfig(parsePostgresUrl(url)));
  await client.connect();
  try {
    // to_regclass follows the search_path, i.e. the URL's ?schema= (null when not migrated yet).
    const { rows: found } = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
    if (found[0]?.t === null || found[0] === undefined) return [];
    const { rows } = await client.query<LedgerRow>(
      'SELECT version, name, applied_at::float8 AS "appliedAt" FROM schema_migrations ORDER BY version',
    );
    return rows;
  } finally {
    await client.end();
  }
}
