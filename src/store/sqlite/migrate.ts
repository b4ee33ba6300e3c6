/**
 * SQLite migrations: the numbered, append-only files of migrations/sqlite, each applied in one
 * BEGIN IMMEDIATE transaction together with its ledger row, so a second process opening the same
 * file waits and then finds the ledger row.
 */
import type Database from 'better-sqlite3';
import { appliesEvery, loadMigrations, refuseNewerSchema } from '../migration-files.js';

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`;

const APPLIED_VERSIONS = `SELECT version FROM schema_migrations`;

const RECORD_MIGRATION = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`;

const APPLIED_VERSION = `SELECT MAX(version) AS v FROM schema_migrations`;

// Tables first, then indexes, then triggers: the order the migrations need them in.
const SCHEMA_DUMP = `
SELECT sql FROM sqlite_master
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name`;

export function applyMigrations(db: Database.Database): void {
  db.exec(CREATE_LEDGER);
  const applied = new Set((db.prepare(APPLIED_VERSIONS).all() as { version: number }[]).map((r) => r.version));
  refuseNewerSchema('sqlite', [...applied]);
  for (const migration of loadMigrations('sqlite')) {
    if (applied.has(migration.version)) continue;
    // The migration and its ledger row commit together, or neither does.
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare(RECORD_MIGRATION).run(migration.version, migration.name, Date.now());
    }).immediate();
  }
}

/** The newest migration version the file has applied (0 before the first). */
export function appliedVersion(db: Database.Database): number {
  return (db.prepare(APPLIED_VERSION).get() as { v: number | null }).v ?? 0;
}

/** Whether every migration of this release is applied (readiness; see appliesEvery). */
export function allApplied(db: Database.Database): boolean {
  return appliesEvery('sqlite', (db.prepare(APPLIED_VERSIONS).all() as { version: number }[]).map((r) => r.version));
}

export function latestVersion(): number {
  return loadMigrations('sqlite').at(-1)?.version ?? 0;
}

/** The schema as SQLite reports it (tables, indexes, triggers), for the committed dump. */
export function schemaDump(db: Database.Database): string {
  const rows = db.prepare(SCHEMA_DUMP).all() as { sql: string }[];
  return rows.map((r) => `${r.sql};\n`).join('\n');
}
