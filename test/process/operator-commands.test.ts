/**
 * The commands an operator runs beside the service (SPEC section 5): `migrate --status`, refusing
 * a schema from a newer release, `backup`, `rekey` with `REGHOOK_SECRET_KEY=new,old`, and
 * `admin-token rotate`. Each runs as a real child process against a real database.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { headerHasSignature, secretKey, sign } from '@reghook/receiver/signing';
import { loadMigrations } from '../../src/store/migration-files.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { BIN, childEnv, spawnReghook } from '../helpers/process.js';
import { registration, startTestService, TEST_SECRET_KEY, testBackends, uuid, type TestService } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, schemaUrl } from '../store/postgres-database.js';

const backends = await testBackends('operator commands');

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `reghook <args>` without blocking this process (a service may be running in it). */
function reghook(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}

/** A clock the test moves (the service reads time only from it). */
function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

const scratch = () => mkdtempSync(path.join(tmpdir(), 'reghook-ops-'));
const lines = (text: string) => text.trim().split('\n');

describe.each(backends)('reghook migrate --status (%s)', (backend) => {
  it('lists every migration as pending, then applied; exits 1 while one is pending; applies nothing itself', async () => {
    const known = loadMigrations(backend);
    expect(known.length).toBeGreaterThanOrEqual(3);
    const dir = scratch();
    const url = backend === 'sqlite' ? `sqlite:${dir}/r.db` : undefined;
    if (url !== undefined) {
      const before = await reghook(['migrate', '--status'], { REGHOOK_DATABASE_URL: url });
      expect(before.status).toBe(1);
      expect(lines(before.stdout).slice(0, -1)).toEqual(known.map((m) => expect.stringMatching(new RegExp(`^${String(m.version).padStart(4, '0')} ${m.name} +pending$`))));
      expect(before.stdout).toContain(`${known.length} migration(s) pending`);
      expect(existsSync(`${dir}/r.db`)).toBe(false);
    }
    // A running service migrated it (on PostgreSQL, a fresh schema).
    const svc = await startTestService(url === undefined ? {} : { REGHOOK_DATABASE_URL: url }, undefined, backend);
    try {
      const target = svc.config.database;
      const after = await reghook(['migrate', '--status'], { REGHOOK_DATABASE_URL: target.kind === 'sqlite' ? `sqlite:${target.path}` : target.url });
      expect(after.stderr).toBe('');
      expect(after.status).toBe(0);
      expect(lines(after.stdout)).toEqual([
        ...known.map((m) => expect.stringMatching(new RegExp(`^${String(m.version).padStart(4, '0')} ${m.name} +applied 20\\d\\d-\\d\\d-\\d\\dT`))),
        'reghook: up to date',
      ]);
    } finally {
      await svc.stop();
    }
  });

  it('a database migrated by a newer release: the status says so, and no process starts on it', async () => {
    const svc = await startTestService({}, undefined, backend);
    let url: string;
    try {
      const target = svc.config.database;
      url = target.kind === 'sqlite' ? `sqlite:${target.path}` : target.url;
      const insert = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9001, 'from_the_future', 1)`;
      if (target.kind === 'sqlite') {
        const db = new Database(target.path);
        db.exec(insert);
        db.close();
      } else {
        const pg = await import('pg');
        const { clientConfig, parsePostgresUrl } = await import('../../src/store/postgres/connection.js');
        const client = new pg.default.Client(clientConfig(parsePostgresUrl(target.url)));
        await client.connect();
        await client.query(insert);
        await client.end();
      }
      const status = await reghook(['migrate', '--status'], { REGHOOK_DATABASE_URL: url });
      expect(status.status).toBe(1);
      expect(status.stdout).toMatch(/^9001 from_the_future +applied by a newer reghook/m);

      for (const command of ['serve', 'migrate']) {
        const res = await reghook([command], childEnv({ REGHOOK_DATABASE_URL: url }));
        expect(res.status).toBe(1);
        expect(lines(res.stderr)).toEqual([expect.stringContaining('schema is at migration 9001, newer than this reghook')]);
      }
    } finally {
      await svc.stop();
    }
  });
});

describe('reghook backup', () => {
  it('copies the running database under load: a restore holds every event acknowledged before the backup began', async () => {
    const dir = scratch();
    // Every event gets one failed attempt, its retry an hour away: attempts are written too.
    const receiver = await startReceiver(answer(503));
    const env = childEnv({ REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true', REGHOOK_RETRY_INTERVAL: '1h' });
    const serve = await spawnReghook('serve', env);
    const admin = { authorization: `Bearer ${env.REGHOOK_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    try {
      await fetch(`${serve.url}/v1/projects`, { method: 'POST', headers: admin, body: JSON.stringify({ appId: 1, name: 'one' }) });
      await fetch(`${serve.url}/v1/projects/1/webhook`, { method: 'PUT', headers: admin, body: JSON.stringify({ url: receiver.url, enabled: true }) });

      // A long read (a report, an sqlite3 shell) holds checkpoints back: everything written from
      // now on stays in the WAL, where a file copy would not see it.
      const reader = new Database(`${dir}/r.db`, { readonly: true });
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM events').get();

      const acknowledged: string[] = [];
      let loading = true;
      const load = Array.from({ length: 6 }, async () => {
        while (loading) {
          const res = await fetch(`${serve.url}/v1/registrations`, { method: 'POST', headers: admin, body: JSON.stringify(registration({ appId: 1 })) });
          const json = (await res.json()) as { eventId?: string };
          if (res.status === 202 && json.eventId) acknowledged.push(json.eventId);
        }
      });
      while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
      const before = [...acknowledged];
      const backup = path.join(dir, 'backup.db');
      const res = await reghook(['backup', backup], env);
      const duringOrAfter = acknowledged.length - before.length;
      loading = false;
      await Promise.all(load);
      reader.exec('COMMIT');
      reader.close();

      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/backed up .* to .*backup\.db \(\d+ pages, \d+ events\)/);
      expect(res.stdout).toContain('back up the secret key too');
      expect(statSync(backup).mode & 0o777).toBe(0o600);
      expect(duringOrAfter).toBeGreaterThanOrEqual(0);
      const raw = new Database(backup, { readonly: true });
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(raw.pragma('journal_mode', { simple: true })).toBe('delete');
      const attemptsInCopy = (raw.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n;
      raw.close();
      expect(attemptsInCopy).toBeGreaterThan(0);

      // Restore: the copy becomes the database of a new installation with the same key.
      const restored = scratch();
      copyFileSync(backup, path.join(restored, 'reghook.db'));
      const svc = await startTestService({ REGHOOK_DATABASE_URL: `sqlite:${path.join(restored, 'reghook.db')}`, REGHOOK_DISPATCH: 'false' });
      try {
        const found = new Set<string>();
        let cursor: string | null = null;
        do {
          const page: { json: { data: { eventId: string }[]; nextCursor: string | null } } = await svc.call(
            'GET',
            `/v1/projects/1/events?limit=250${cursor === null ? '' : `&cursor=${cursor}`}`,
          );
          for (const e of page.json.data) found.add(e.eventId);
          cursor = page.json.nextCursor;
        } while (cursor !== null);
        expect(before.filter((id) => !found.has(id))).toEqual([]);
        expect(found.size).toBeGreaterThanOrEqual(before.length);
        // Its signing secret opens with the key: the endpoint is usable as it was.
        expect((await svc.call('POST', '/v1/projects/1/webhook/secret')).status).toBe(200);
      } finally {
        await svc.stop();
      }
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      await receiver.close();
    }
  });

  it('never overwrites a file, and refuses PostgreSQL with a pointer to pg_dump', async () => {
    const dir = scratch();
    const env = { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db` };
    expect((await reghook(['migrate'], env)).status).toBe(0);
    expect((await reghook(['backup', `${dir}/b.db`], env)).status).toBe(0);
    const again = await reghook(['backup', `${dir}/b.db`], env);
    expect(again.status).toBe(1);
    expect(lines(again.stderr)).toEqual([`reghook: ${dir}/b.db exists; remove it or name another file (a backup never overwrites)`]);
    const missing = await reghook(['backup'], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('reghook backup <file>');
    const pg = await reghook(['backup', `${dir}/p.db`], { REGHOOK_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(pg.status).toBe(1);
    expect(pg.stderr).toContain('pg_dump');
  });
});

describe.each(backends)('rotating the secret key: REGHOOK_SECRET_KEY=new,old, then reghook rekey (%s)', (backend) => {
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  afterAll(async () => {
    for (const r of receivers) await r.close();
  });

  it('re-seals current and previous signing secrets; afterwards the new key alone starts and signs with both', async () => {
    const receiver = await startReceiver(answer(200));
    receivers.push(receiver);
    // One database across the restarts: a SQLite file, or one PostgreSQL schema made here.
    const dir = scratch();
    const schema = backend === 'postgres' ? freshSchemaName() : null;
    const releaseServer = schema === null ? null : await holdServerLock('shared');
    const url = schema === null ? `sqlite:${dir}/r.db` : schemaUrl(schema);
    const start = (key: string) => startTestService({ REGHOOK_SECRET_KEY: key, REGHOOK_DATABASE_URL: url, REGHOOK_DATA_DIR: dir });
    try {
      await rotateTheKey(start, url, receiver);
    } finally {
      if (schema !== null) await dropSchema(schema);
      await releaseServer?.();
    }
  });
});

async function rotateTheKey(restart: (key: string) => Promise<TestService>, url: string, receiver: Receiver): Promise<void> {
    const oldKey = TEST_SECRET_KEY;
    const newKey = randomBytes(32).toString('base64');
    const first = await restart(oldKey);
    let previous: string;
    let current: string;
    try {
      await first.createProject(1);
      previous = await first.setEndpoint(1, receiver.url);
      current = (await first.call('POST', '/v1/projects/1/webhook/secret/rotate')).json.signingSecret;
      // Custom header values are sealed like the secrets: re-sealed too.
      expect((await first.call('PUT', '/v1/projects/1/webhook', { url: receiver.url, headers: { 'X-Api-Key': 'survives-the-rekey' } })).status).toBe(200);
      await first.createProject(2);
      await first.setEndpoint(2, receiver.url);
      // A project without an endpoint (nothing is sent): its event is found by subscriberId.
      await first.createProject(3);
      expect((await first.call('POST', '/v1/registrations', registration({ appId: 3, clientUuid: uuid() }))).status).toBe(202);
    } finally {
      await first.stop();
    }

    await expect(restart(newKey)).rejects.toThrow(/REGHOOK_SECRET_KEY does not match/);
    const wrongKey = await reghook(['rekey'], { REGHOOK_DATABASE_URL: url, REGHOOK_SECRET_KEY: newKey });
    expect(wrongKey.status).toBe(1);
    expect(lines(wrongKey.stderr)).toEqual([expect.stringContaining('REGHOOK_SECRET_KEY does not match')]);

    // Step 1: every process runs with new,old: it starts, and the secrets still open.
    const both = await restart(`${newKey},${oldKey}`);
    expect((await both.call('POST', '/v1/projects/1/webhook/secret')).json.signingSecret).toBe(current);
    // Step 2: rekey (beside the running service).
    const rekeyed = await reghook(['rekey'], { REGHOOK_DATABASE_URL: url, REGHOOK_SECRET_KEY: `${newKey},${oldKey}` });
    expect(rekeyed.stderr).toBe('');
    expect(rekeyed.status).toBe(0);
    expect(rekeyed.stdout).toContain('re-sealed the signing secrets of 2 endpoint(s)');
    await both.stop();

    // Step 3: the old key is gone; the new one alone opens everything, the old one alone nothing.
    await expect(restart(oldKey)).rejects.toThrow(/REGHOOK_SECRET_KEY does not match/);
    const svc = await restart(newKey);
    try {
      expect((await svc.call('POST', '/v1/projects/1/webhook/secret')).json.signingSecret).toBe(current);
      // The subscriber index key was re-sealed, not changed: the stored hashes still find the event.
      expect((await svc.call('GET', '/v1/projects/3/events?subscriberId=905555555555')).json.data).toHaveLength(1);
      expect((await svc.call('POST', '/v1/projects/1/webhook/test')).status).toBe(200);
      const [request] = await receiver.waitFor(1);
      const id = String(request!.headers['webhook-id']);
      const timestamp = Number(request!.headers['webhook-timestamp']);
      const header = String(request!.headers['webhook-signature']);
      expect(request!.headers['x-api-key']).toBe('survives-the-rekey');
      // The previous secret co-signs until it expires: it survived the re-sealing too.
      for (const secret of [current, previous]) expect(headerHasSignature(header, sign(secretKey(secret), id, timestamp, request!.body))).toBe(true);
    } finally {
      await svc.stop();
    }
}

describe('reghook admin-token rotate', () => {
  it('prints a new token once; the running service accepts it and refuses the old one within the recheck interval', async () => {
    const dir = scratch();
    const url = `sqlite:${dir}/r.db`;
    const clock = manualClock();
    const lines_: string[] = [];
    const svc = await startTestService({ REGHOOK_DATABASE_URL: url, REGHOOK_ADMIN_TOKEN: '' }, clock);
    try {
      // No REGHOOK_ADMIN_TOKEN: the first start generated one; take it from the database by rotating once.
      const first = await reghook(['admin-token', 'rotate'], { REGHOOK_DATABASE_URL: url, REGHOOK_SECRET_KEY: TEST_SECRET_KEY });
      expect(first.status).toBe(0);
      const oldToken = /admin token \(shown once, store it now\): (rhadm_\S+)/.exec(first.stdout)?.[1];
      expect(oldToken).toBeDefined();
      clock.advance(5_000);
      expect((await svc.call('GET', '/v1/projects', undefined, oldToken)).status).toBe(200);

      const second = await reghook(['admin-token', 'rotate'], { REGHOOK_DATABASE_URL: url, REGHOOK_SECRET_KEY: TEST_SECRET_KEY });
      const newToken = /: (rhadm_\S+)/.exec(second.stdout)?.[1];
      expect(newToken).toBeDefined();
      expect(newToken).not.toBe(oldToken);
      lines_.push(second.stdout);
      clock.advance(5_000);
      expect((await svc.call('GET', '/v1/projects', undefined, oldToken)).status).toBe(401);
      expect((await svc.call('GET', '/v1/projects', undefined, newToken)).status).toBe(200);
    } finally {
      await svc.stop();
    }
    expect(lines_.join('')).toContain('running processes refuse the old one within 5 s');
  });

  it('refuses while REGHOOK_ADMIN_TOKEN is set (the variable is the token), and takes only "rotate"', async () => {
    const dir = scratch();
    const env = { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough' };
    const set = await reghook(['admin-token', 'rotate'], env);
    expect(set.status).toBe(1);
    expect(lines(set.stderr)).toEqual([expect.stringContaining('REGHOOK_ADMIN_TOKEN is set, so the admin token is that variable')]);
    const unknown = await reghook(['admin-token', 'show'], env);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('reghook admin-token rotate');
  });
});
