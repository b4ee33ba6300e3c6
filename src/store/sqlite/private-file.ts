/**
 * The database holds personal data in clear: folders created for it are 0700, and the file exists
 * with mode 0600 before SQLite opens it (SQLite gives -wal and -shm the main file's mode). An
 * existing file, and leftover -wal/-shm, lose any group and other bits; nothing gains a bit.
 */
import { chmodSync, closeSync, constants as fsConstants, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

export function createPrivately(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
  } catch (error) {
    // It exists already (EEXIST); anything else (a read-only folder…) is for SQLite to report.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = statSync(name).mode & 0o777;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // nothing to tighten
      return; // unreadable: SQLite's open reports it
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(name, mode & 0o700);
    } catch (error) {
      // Another user's file: SQLite still opens it if it may; reghook cannot change its mode.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    }
  }
}
