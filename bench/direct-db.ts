/**
 * Direct access to reghook's database for the bench: bulk-inserting scheduled deliveries into the
 * SQLite file (the `events` table of migrations/sqlite/0001_init.sql, the event being its own queue
 * row), and reading the status of events the receiver has not seen (pending = still owed, not lost).
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { newEventId } from '../src/domain/ids.js';
import { normalizeRegistration } from '../src/domain/registration.js';
import { registrationBody } from './load.js';

/** The canonical webhook body of one user of `appId` (exactly what the API would have stored). */
export function canonicalBody(appId: number, clientUuid: string = randomUUID()): string {
  return normalizeRegistration(JSON.parse(registrationBody(appId, clientUuid)) as Parameters<typeof normalizeRegistration>[0]).body;
}

export interface BulkInsert {
  appIds: readonly number[];
  count: number;
  /** next_attempt_at of row i. */
  dueAt: (i: number) => number;
  /** Rows per transaction. */
  batch: number;
  onProgress?: (done: number) => void;
}

/** Inserts `count` pending events with their due times; answers their ids. Safe while reghook runs (short transactions, busy timeout). */
export function insertPending(file: string, o: BulkInsert): string[] {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('cache_size = -262144'); // 256 MiB for this connection's index building
    const insert = db.prepare(
      `INSERT INTO events (id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts, next_attempt_at, lease_token, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, 0, ?, NULL, ?)`,
    );
    const ids: string[] = [];
    const run = db.transaction((from: number, to: number) => {
      const now = Date.now();
      for (let i = from; i < to; i++) {
        const appId = o.appIds[i % o.appIds.length]!;
        const clientUuid = randomUUID();
        const id = newEventId(now);
        insert.run(id, appId, clientUuid, canonicalBody(appId, clientUuid), o.dueAt(i), now);
        ids.push(id);
      }
    });
    for (let from = 0; from < o.count; from += o.batch) {
      run.immediate(from, Math.min(o.count, from + o.batch));
      o.onProgress?.(Math.min(o.count, from + o.batch));
    }
    return ids;
  } finally {
    db.close();
  }
}

/** Makes every pending event of these projects due at `at` (one transaction). Answers the rows changed. */
export function makeDue(file: string, appIds: readonly number[], at: number): number {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    return db
      .prepare(`UPDATE events SET next_attempt_at = ? WHERE status = 'pending' AND app_id IN (${appIds.map(() => '?').join(',')})`)
      .run(at, ...appIds).changes;
  } finally {
    db.close();
  }
}

export type StatusCounts = Record<string, number>;

/** How many of these events are in each status; ids the database does not know count as `absent`. */
export async function statusesOf(target: { sqlite: string } | { postgres: string }, ids: readonly string[]): Promise<StatusCounts> {
  const counts: StatusCounts = {};
  let found = 0;
  if (ids.length === 0) return counts;
  if ('sqlite' in target) {
    const db = new Database(target.sqlite, { readonly: true, fileMustExist: true });
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = db
          .prepare(`SELECT status, COUNT(*) AS n FROM events WHERE id IN (${chunk.map(() => '?').join(',')}) GROUP BY status`)
          .all(...chunk) as { status: string; n: number }[];
        for (const r of rows) {
          counts[r.status] = (counts[r.status] ?? 0) + r.n;
          found += r.n;
        }
      }
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: target.postgres, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      for (let i = 0; i < ids.length; i += 5_000) {
        const { rows } = await client.query<{ status: string; n: string }>(
          'SELECT status, COUNT(*) AS n FROM events WHERE id = ANY($1) GROUP BY status',
          [ids.slice(i, i + 5_000)],
        );
        for (const r of rows) {
          counts[r.status] = (counts[r.status] ?? 0) + Number(r.n);
          found += Number(r.n);
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (found < ids.length) counts.absent = ids.length - found;
  return counts;
}

/**
 * Copies project `fromAppId` and its endpoint (sealed secret included) to every id of `appIds`,
 * each endpoint at `urlOf(appId)`: thousands of projects without thousands of API round trips.
 */
export function cloneProjects(file: string, fromAppId: number, appIds: readonly number[], urlOf: (appId: number) => string): void {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const project = db.prepare(`INSERT INTO projects (app_id, name, created_at) SELECT ?, 'bench ' || ?, created_at FROM projects WHERE app_id = ?`);
    const endpoint = db.prepare(
      `INSERT INTO endpoints (app_id, url, enabled, secret_sealed, created_at, updated_at)
       SELECT ?, ?, enabled, secret_sealed, created_at, updated_at FROM endpoints WHERE app_id = ?`,
    );
    db.transaction(() => {
      for (const appId of appIds) {
        project.run(appId, appId, fromAppId);
        endpoint.run(appId, urlOf(appId), fromAppId);
      }
    }).immediate();
  } finally {
    db.close();
  }
}
