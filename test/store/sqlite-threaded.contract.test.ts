/**
 * The Store contract on SQLite through its own thread (threaded-store.ts): every call crosses to
 * the store thread and back, errors keep their codes, work and event signals reach the main thread.
 * The thread runs the compiled store (dist/, built by `npm test` before vitest).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCode, isDatabaseUnavailable } from '../../src/errors.js';
import { openThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { storeContract } from './contract.js';
import { sqliteFileFactory } from './sqlite-file.js';

export const STORE_THREAD = new URL('../../dist/src/store/sqlite/store-thread.js', import.meta.url);
if (!existsSync(STORE_THREAD)) throw new Error(`${STORE_THREAD.pathname} is missing: run npm run build first`);

storeContract('sqlite (store thread)', sqliteFileFactory((file) => openThreadedSqliteStore(file, { workerUrl: STORE_THREAD })));

describe('the store thread', () => {
  it('keeps a SQLite error code across the threads, so a full disk is still a 503', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-'));
    const store = await openThreadedSqliteStore(path.join(dir, 'reghook.db'), { workerUrl: STORE_THREAD });
    try {
      await store.migrate();
      await store.limitPages(1);
      const error = await store.createProject({ appId: 1, name: 'p'.repeat(10_000), createdAt: 1 }).catch((e: unknown) => e);
      expect(errorCode(error)).toBe('SQLITE_FULL');
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(await store.isReady()).toBe(false);
      await store.limitPages(null);
      expect(await store.createProject({ appId: 1, name: 'p', createdAt: 1 })).toBe('created');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an open that fails, with the code SqliteStore gives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-'));
    const file = path.join(dir, 'not-a-db');
    writeFileSync(file, 'this is not a SQLite database, and it is long enough to have a header page'.repeat(20));
    try {
      const error = await openThreadedSqliteStore(file, { workerUrl: STORE_THREAD }).then(async (s) => {
        await s.migrate().finally(() => s.close());
        return null;
      }, (e: unknown) => e);
      expect(errorCode(error)).toBe('SQLITE_NOTADB');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('calls of one turn cross together, and one whose argument cannot cross fails alone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-'));
    const store = await openThreadedSqliteStore(path.join(dir, 'reghook.db'), { workerUrl: STORE_THREAD });
    try {
      await store.migrate();
      // Three calls in one turn: the middle one carries a function, which structured clone refuses.
      const calls = [
        store.createProject({ appId: 1, name: 'one', createdAt: 1 }),
        store.createProject({ appId: 2, name: 'two', createdAt: 1, extra: () => 0 } as never),
        store.createProject({ appId: 3, name: 'three', createdAt: 1 }),
      ];
      const [one, two, three] = await Promise.allSettled(calls);
      expect(one).toEqual({ status: 'fulfilled', value: 'created' });
      expect(two).toMatchObject({ status: 'rejected', reason: { name: 'DataCloneError' } });
      expect(three).toEqual({ status: 'fulfilled', value: 'created' });
      expect((await store.listProjects(10, null)).map((p) => p.appId)).toEqual([1, 3]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers calls after close with an error, and does not keep the process alive while idle', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-store-'));
    const store = await openThreadedSqliteStore(path.join(dir, 'reghook.db'), { workerUrl: STORE_THREAD });
    await store.migrate();
    await store.close();
    await expect(store.getProject(1)).rejects.toThrow(/closed/);
    expect(await store.isReady()).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
