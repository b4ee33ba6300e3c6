/**
 * SPEC section 8, durability: an accepted report (its 2xx) is on disk, not only in a cache. On
 * SQLite that is synchronous=FULL: every commit (a group commit of one event-loop turn's reports)
 * is fsynced before it returns, so an OS crash or power loss keeps what was acknowledged.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

describe('durability', () => {
  it('the SQLite store commits with synchronous=FULL (2), in WAL mode', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-durability-'));
    const store = await openStore({ kind: 'sqlite', path: path.join(dir, 'reghook.db') });
    try {
      expect(store).toBeInstanceOf(SqliteStore);
      // The connection is the store's own; its settings are what every commit uses.
      const db = (store as unknown as { db: { pragma(sql: string, options: { simple: true }): unknown } }).db;
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      await store.close();
    }
  });
});
