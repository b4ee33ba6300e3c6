/**
 * SPEC section 7: the data directory is created 0700, the database files and secret.key 0600 (the
 * database holds personal data in clear). Checked on a real `reghook serve`.
 */
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnReghook } from '../helpers/process.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaUrl } from '../store/postgres-database.js';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
const pg = await postgresForTests('file modes');

describe('file modes', () => {
  it('a data directory reghook creates is 0700; the SQLite database and its -wal/-shm are 0600', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reghook-modes-'));
    const dir = path.join(root, 'data', 'nested');
    const db = path.join(dir, 'reghook.db');
    const serve = await spawnReghook('serve', { REGHOOK_DATABASE_URL: `sqlite:${db}`, REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough' });
    try {
      expect(mode(path.join(root, 'data'))).toBe('700');
      expect(mode(dir)).toBe('700');
      expect(mode(db)).toBe('600');
      // WAL mode: both exist while the database is open.
      expect(mode(`${db}-wal`)).toBe('600');
      expect(mode(`${db}-shm`)).toBe('600');
      expect(mode(path.join(dir, 'secret.key'))).toBe('600');
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
  });

  it('an existing database file readable by others is tightened to 0600; an existing folder keeps its mode', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-modes-'));
    const folder = path.join(dir, 'shared');
    mkdirSync(folder, { mode: 0o755 });
    const db = path.join(folder, 'reghook.db');
    writeFileSync(db, '', { mode: 0o644 });
    writeFileSync(`${db}-wal`, '', { mode: 0o644 });
    const serve = await spawnReghook('serve', { REGHOOK_DATABASE_URL: `sqlite:${db}`, REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough' });
    try {
      expect(mode(db)).toBe('600');
      expect(mode(`${db}-wal`)).toBe('600');
      expect(mode(`${db}-shm`)).toBe('600');
      expect(mode(folder)).toBe('755');
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
  });

  it.runIf(pg.run)('on PostgreSQL the data directory created for secret.key is 0700', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'reghook-modes-')), 'data');
    const schema = freshSchemaName();
    const release = await holdServerLock('shared');
    const serve = await spawnReghook('serve', {
      REGHOOK_DATABASE_URL: schemaUrl(schema),
      REGHOOK_DATA_DIR: dir,
      REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough',
    });
    try {
      expect(existsSync(path.join(dir, 'secret.key'))).toBe(true);
      expect(mode(dir)).toBe('700');
      expect(mode(path.join(dir, 'secret.key'))).toBe('600');
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
      await dropSchema(schema);
      await release();
    }
  });
});
