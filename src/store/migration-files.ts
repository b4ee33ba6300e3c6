import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../errors.js';
import { packageRoot, packageVersion } from '../package-info.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered migrations (`0001_init.sql` …) of one backend, in order. */
export function loadMigrations(kind: 'sqlite' | 'postgres'): Migration[] {
  const dir = path.join(packageRoot, 'migrations', kind);
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
}

/**
 * Whether a database has applied every migration this release carries. Not "the newest version
 * is applied": numbers may land out of order (0005 merged before 0004), and a database that took
 * 0005 first still owes 0004, which the next migrate applies.
 */
export function appliesEvery(kind: 'sqlite' | 'postgres', appliedVersions: readonly number[]): boolean {
  const applied = new Set(appliedVersions);
  return knownVersions(kind).every((v) => applied.has(v));
}

const versionsByKind = new Map<string, number[]>();
function knownVersions(kind: 'sqlite' | 'postgres'): number[] {
  let versions = versionsByKind.get(kind);
  if (versions === undefined) versionsByKind.set(kind, (versions = loadMigrations(kind).map((m) => m.version)));
  return versions;
}

/** One row of `reghook migrate --status`. */
export interface MigrationState {
  version: number;
  name: string;
  /** `unknown`: applied by a newer reghook, this one has no such file. */
  state: 'applied' | 'pending' | 'unknown';
  appliedAt: number | null;
}

/** The ledger of a database (its schema_migrations rows) against the files this release carries. */
export function compareMigrations(
  known: readonly Migration[],
  applied: readonly { version: number; name: string; appliedAt: number }[],
): MigrationState[] {
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  const states: MigrationState[] = known.map((m) => {
    const row = byVersion.get(m.version);
    return { version: m.version, name: m.name, state: row ? 'applied' : 'pending', appliedAt: row?.appliedAt ?? null };
  });
  const knownVersions = new Set(known.map((m) => m.version));
  for (const row of applied) {
    if (!knownVersions.has(row.version)) states.push({ version: row.version, name: row.name, state: 'unknown', appliedAt: row.appliedAt });
  }
  return states.sort((a, b) => a.version - b.version);
}

/**
 * Refuses a database a newer reghook has migrated: this release does not know that schema, and
 * writing to it could break the newer one's rules. Upgrades go forward; rollback is a restore.
 */
export function refuseNewerSchema(kind: 'sqlite' | 'postgres', appliedVersions: readonly number[]): void {
  const latest = loadMigrations(kind).at(-1)?.version ?? 0;
  const newest = Math.max(0, ...appliedVersions);
  if (newest <= latest) return;
  throw new StartupError(
    `the database's schema is at migration ${newest}, newer than this reghook ${packageVersion} knows (${latest}): ` +
      'a newer release migrated it; run that release, or restore the backup taken before the upgrade',
  );
}
