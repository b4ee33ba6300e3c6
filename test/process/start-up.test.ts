/**
 * SPEC sections 7 and 8: a process that starts while PostgreSQL is unreachable keeps trying (capped
 * exponential backoff, a line per retry) and comes up when it answers; what waiting cannot cure
 * (a missing database or role, a read-only SQLite file) stops the start at once with one line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openStore } from '../../src/store/open-store.js';
import { BIN, childEnv } from '../helpers/process.js';
import { TEST_SECRET_KEY } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, TEST_DATABASE_URL } from '../store/postgres-database.js';

const pg = await postgresForTests('start-up');
const STACK_LINE = /^\s+at /m;
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy on `port` to the test PostgreSQL server: "the database is back". */
async function proxyToPostgres(port: number): Promise<net.Server> {
  const target = new URL(TEST_DATABASE_URL);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

const postgresUrl = (port: number, database = new URL(TEST_DATABASE_URL).pathname.slice(1), user = 'postgres') => {
  const schema = freshSchemaName('reghook_start');
  schemas.push(schema);
  return `postgres://${user}@127.0.0.1:${port}/${database}?schema=${schema}`;
};

/**
 * Runs `reghook <command>`; `until` resolves when the output matches. With `fileModesBind`, a root
 * test process starts it without the capabilities that let root write through file modes
 * (setpriv, util-linux), so a read-only file is read-only to it as to any other user.
 */
function start(command: 'serve' | 'worker', env: Record<string, string>, options: { fileModesBind?: boolean } = {}) {
  const asRoot = process.getuid?.() === 0;
  const [file, args] =
    options.fileModesBind && asRoot
      ? ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, BIN, command]]
      : [process.execPath, [BIN, command]];
  const child = spawn(file, args, {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const until = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        const match = pattern.exec(stdout + stderr);
        if (match) return resolve(match);
        if (child.exitCode !== null || Date.now() > deadline) {
          return reject(new Error(`no ${String(pattern)} (exit ${String(child.exitCode)}):\n${stdout}${stderr}`));
        }
        setTimeout(check, 20);
      };
      check();
    });
  return { child, exited, until, output: () => stdout + stderr, stderr: () => stderr };
}

describe.runIf(pg.run)('starting while PostgreSQL is unreachable', () => {
  it.each(['serve', 'worker'] as const)('%s retries with backoff and comes up once the server answers', async (command) => {
    const release = await holdServerLock('shared');
    const port = await freePort();
    const proc = start(command, { REGHOOK_DATABASE_URL: postgresUrl(port), REGHOOK_LOG_LEVEL: 'info' });
    let proxy: net.Server | undefined;
    try {
      await proc.until(/PostgreSQL is not reachable yet; retrying/);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      proxy = await proxyToPostgres(port);
      await proc.until(/"msg":"reghook started"/);
      if (command === 'serve') {
        const url = (await proc.until(/listening on (http:\/\/\S+)/))[1]!;
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
        const projects = await fetch(`${url}/v1/projects`, { headers: { authorization: 'Bearer an-admin-token-long-enough' } });
        expect(projects.status).toBe(200);
      }
      const retries = proc.output().match(/not reachable yet; retrying/g) ?? [];
      expect(retries.length).toBeGreaterThanOrEqual(2);
      // Backoff: the waits grow.
      const waits = [...proc.output().matchAll(/"retryInMs":(\d+)/g)].map((m) => Number(m[1]));
      expect(waits[1]!).toBeGreaterThan(waits[0]!);
      expect(proc.output()).not.toMatch(STACK_LINE);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      proc.child.kill('SIGKILL');
      await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
      await release();
    }
  });

  it.each([
    ['a database that does not exist', { database: 'reghook_no_such_database' }, /3D000/],
    ['a role that does not exist', { user: 'reghook_no_such_role' }, /28000/],
  ])('%s fails at once with one line', async (_case, parts, code) => {
    const target = new URL(TEST_DATABASE_URL);
    const url = postgresUrl(Number(target.port || 5432), 'database' in parts ? parts.database : undefined, 'user' in parts ? parts.user : undefined);
    const began = Date.now();
    const proc = start('worker', { REGHOOK_DATABASE_URL: url, REGHOOK_LOG_LEVEL: 'info' });
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - began).toBeLessThan(10_000);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^reghook: cannot open the database PostgreSQL at 127\.0\.0\.1:\d+\/\w+: /);
    expect(lines[0]).toMatch(code);
    expect(proc.output()).not.toMatch(/retrying/);
  });
});

describe('giving up', () => {
  it('an unreachable PostgreSQL is retried for a bounded time, then one clear error', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const port = await freePort();
    const began = Date.now();
    const failure = await openStore({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test` }, { logger, retryForMs: 1_500 }).catch(
      (error: unknown) => error,
    );
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toMatch(/^cannot open the database PostgreSQL at 127\.0\.0\.1:\d+\/test: .*ECONNREFUSED.*gave up after \d+ attempts/);
    expect((failure as Error).message).not.toContain('\n');
    expect(lines.filter((l) => l.includes('retrying')).length).toBeGreaterThanOrEqual(2);
  });

  it('a signal ends the wait between retries at once', async () => {
    const port = await freePort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM received')), 300);
    const began = Date.now();
    const failure = await openStore({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test` }, { signal: controller.signal }).catch(
      (error: unknown) => error,
    );
    expect((failure as Error).message).toBe('SIGTERM received');
    expect(Date.now() - began).toBeLessThan(2_000);
  });
});

describe('a SQLite database reghook cannot write', () => {

  it('a read-only database file stops the start with one line naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-ro-'));
    const db = path.join(dir, 'reghook.db');
    await new SqliteStore(db).close();
    chmodSync(db, 0o400);
    // The folder stays writable (for -wal/-shm): it is the file that is read-only.
    chmodSync(dir, 0o700);
    const proc = start('serve', { REGHOOK_DATABASE_URL: `sqlite:${db}` }, { fileModesBind: true });
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toEqual([`reghook: cannot open the database ${db}: it is read-only (SQLITE_READONLY); check its permissions and its folder's`]);
  });

  it('a read-only folder stops the start with one line too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-ro-'));
    const db = path.join(dir, 'reghook.db');
    await new SqliteStore(db).close();
    chmodSync(db, 0o400);
    chmodSync(dir, 0o555);
    const proc = start('serve', { REGHOOK_DATABASE_URL: `sqlite:${db}` }, { fileModesBind: true });
    expect(await proc.exited).toEqual({ code: 1, signal: null });
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^reghook: cannot open the database ${db}: it is read-only \\(SQLITE_READONLY\\w*\\)`));
  });

  it('a path that is a folder stops the start with one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-ro-'));
    mkdirSync(path.join(dir, 'reghook.db'));
    const res = spawnSync(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH ?? '', REGHOOK_DATABASE_URL: `sqlite:${dir}/reghook.db`, REGHOOK_SECRET_KEY: TEST_SECRET_KEY },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      `reghook: cannot open the database ${dir}/reghook.db: it cannot be opened (SQLITE_CANTOPEN); check that the path names a file in a folder reghook may write`,
    ]);
  });
});
