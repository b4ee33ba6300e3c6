/**
 * `reghook backup <file>`: a consistent copy of a live SQLite database, taken with SQLite's online
 * backup API while reghook keeps writing (a plain `cp` misses what is still in the WAL). The copy
 * is checked, private (0600), and appears under its name only once complete; an existing file is
 * never overwritten.
 */
import { closeSync, constants as fsConstants, existsSync, fsyncSync, linkSync, openSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StartupError } from '../../errors.js';

export interface BackupResult {
  pages: number;
  events: number;
}

export async function backupSqlite(source: string, destination: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new StartupError(`there is no database at ${source} to back up`);
  if (existsSync(destination)) throw new StartupError(`${destination} exists; remove it or name another file (a backup never overwrites)`);
  const partial = `${destination}.partial-${process.pid}`;
  // Created before SQLite writes to it, so the copy of personal data is never readable by others.
  closeSync(openSync(partial, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
  try {
    const db = new Database(source, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      // The first step copies 100 pages; the rest goes in one step. A write by the running
      // service between two steps restarts the copy, so one step for everything left means the
      // copy is the database as of one moment, however busy it is.
      await db.backup(partial, { progress: ({ totalPages }) => Math.max(totalPages, 100) });
    } finally {
      db.close();
    }
    const result = verify(partial);
    const fd = openSync(partial, fsConstants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // link fails if the name was taken meanwhile: never overwrite a file.
    linkSync(partial, destination);
    return result;
  } finally {
    for (const name of [partial, `${partial}-wal`, `${partial}-shm`, `${partial}-journal`]) rmSync(name, { force: true });
  }
}

/**
 * A backup is a sound database with reghook's tables (quick_check), or it is not a backup. It
 * leaves WAL mode, so it is one self-contained file (reghook turns WAL back on when it opens it).
 */
function verify(file: string): BackupResult {
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StartupError(`the copy failed SQLite's check (${String(check)}); nothing was written`);
    const pages = copy.pragma('page_count', { simple: true }) as number;
    const { n } = copy.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
    return { pages, events: n };
  } finally {
    copy.close();
  }
}
