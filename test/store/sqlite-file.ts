/** A fresh SQLite file per test, opened by `open` (on this thread or on the store thread), for the Store contract. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Store } from '../../src/store/store.js';
import type { StoreFactory } from './contract.js';

export function sqliteFileFactory(open: (file: string) => Store | Promise<Store>): StoreFactory {
  return async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-'));
    const file = path.join(dir, 'reghook.db');
    const store = await open(file);
    return {
      store,
      async exec(sql) {
        const db = new Database(file);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}
