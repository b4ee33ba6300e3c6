/**
 * Which failures are the database's own (answered 503 with Retry-After, retried at start): decided
 * by code, never by message text. The driver errors here are real ones.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATABASE_CONNECTION_LOST, errorCode, isDatabaseUnavailable } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { createPool, parsePostgresUrl } from '../src/store/postgres/connection.js';

const coded = (code: string, cause?: unknown) => Object.assign(new Error('any text at all', cause === undefined ? {} : { cause }), { code });

describe('classifying database failures', () => {
  it.each([
    'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT', 'SQLITE_CANTOPEN', '08006', '08001', '53100', '53200', '57P01', '57P02', '57P03', '25006',
    'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', DATABASE_CONNECTION_LOST,
  ])('%s is the database being unavailable', (code) => {
    expect(isDatabaseUnavailable(coded(code))).toBe(true);
    // Also when wrapped as a cause.
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: coded(code) }))).toBe(true);
  });

  it.each(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_FULLY', '23505', '40001', '28P01', '3D000', '42P01', '57014', 'ENOENT'])(
    '%s is not',
    (code) => {
      expect(isDatabaseUnavailable(coded(code))).toBe(false);
    },
  );

  it('the message never decides', () => {
    expect(isDatabaseUnavailable(new Error('database or disk is full'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('a real SQLITE_FULL from better-sqlite3', () => {
    const db = new Database(path.join(mkdtempSync(path.join(tmpdir(), 'reghook-errors-')), 'full.db'));
    db.exec('CREATE TABLE t (v TEXT)');
    db.pragma('max_page_count = 1');
    let thrown: unknown;
    try {
      db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000));
    } catch (error) {
      thrown = error;
    }
    db.close();
    expect(errorCode(thrown)).toBe('SQLITE_FULL');
    expect(isDatabaseUnavailable(thrown)).toBe(true);
  });

  it('a real refused and a real cut PostgreSQL connection (the cut one gets a code from the pool)', async () => {
    const logger = createLogger('silent');
    // Nothing listens on a port just released.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const freePort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = createPool(parsePostgresUrl(`postgres://reghook@127.0.0.1:${freePort}/none`), logger, 1);
    const refusal = await refused.query('SELECT 1').catch((error: unknown) => error);
    await refused.end();
    expect(errorCode(refusal)).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(refusal)).toBe(true);

    // A server that accepts and hangs up at once: pg says "Connection terminated unexpectedly", no code.
    const hangUp = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
    const cut = createPool(parsePostgresUrl(`postgres://reghook@127.0.0.1:${(hangUp.address() as net.AddressInfo).port}/none`), logger, 1);
    const cutError = await cut.query('SELECT 1').catch((error: unknown) => error);
    await cut.end();
    await new Promise((resolve) => hangUp.close(resolve));
    expect(errorCode(cutError)).toBe(DATABASE_CONNECTION_LOST);
    expect(isDatabaseUnavailable(cutError)).toBe(true);
  });
});
