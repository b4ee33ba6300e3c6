/**
 * SPEC section 7: a database that cannot be written (disk full, read-only, down) answers 503
 * problem+json with Retry-After, /readyz reports it, the error log is not flooded, nothing already
 * accepted is lost, and the service recovers by itself when the database does.
 *
 * A full disk for real: on SQLite, `PRAGMA max_page_count` on the store's own connection (writes
 * fail with SQLITE_FULL); on PostgreSQL, triggers that raise SQLSTATE 53100 (disk_full) on every
 * write to the registrations and settings tables, as a full disk refuses every write.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { adminQuery } from './store/postgres-database.js';
import { capturedLogs, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('database unavailable');
const FAILING_REQUESTS = 60;

describe.each(backends)('a database that cannot be written (%s)', (backend) => {
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  let svc: TestService;
  let schema: string;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_DISPATCH: 'false' }, clock, backend);
    await svc.createProject(1);
    if (svc.config.database.kind === 'postgres') schema = new URL(svc.config.database.url).searchParams.get('schema')!;
  });
  afterAll(async () => {
    await svc.stop();
  });

  const fillTheDisk = async () => {
    if (backend === 'sqlite') {
      (svc.store as SqliteStore).limitPages(1);
      return;
    }
    const s = pg.escapeIdentifier(schema);
    await adminQuery(`CREATE FUNCTION ${s}.test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
    for (const table of ['registrations', 'settings']) {
      await adminQuery(`CREATE TRIGGER test_disk_full BEFORE INSERT OR UPDATE ON ${s}.${table}
        FOR EACH ROW EXECUTE FUNCTION ${s}.test_disk_full()`);
    }
  };
  const freeTheDisk = async () => {
    if (backend === 'sqlite') {
      (svc.store as SqliteStore).limitPages(null);
      return;
    }
    await adminQuery(`DROP FUNCTION ${pg.escapeIdentifier(schema)}.test_disk_full() CASCADE`);
  };
  const readyz = async () => (await svc.app!.inject({ method: 'GET', url: '/readyz' })).statusCode;
  const errorLines = (from: number) =>
    capturedLogs.slice(from).filter((line) => (JSON.parse(line) as { level: number }).level >= 50);

  it('answers 503 REGHOOK_NOT_READY with Retry-After, /readyz says 503, few error lines; then recovers by itself', async () => {
    const accepted = await svc.call('POST', '/v1/registrations', registration());
    expect(accepted.status).toBe(202);
    expect(await readyz()).toBe(200);

    await fillTheDisk();
    const logsBefore = capturedLogs.length;
    // SQLite still fills the free room of its last pages first; then every write fails.
    let first: Awaited<ReturnType<TestService['call']>> | undefined;
    for (let i = 0; i < 200 && first === undefined; i++) {
      const res = await svc.call('POST', '/v1/registrations', registration());
      if (res.status !== 202) first = res;
    }
    expect(first?.status).toBe(503);
    expect(first!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(first!.headers['retry-after'])).toBeGreaterThan(0);
    expect(first!.json).toMatchObject({ status: 503, code: 'REGHOOK_NOT_READY' });
    expect(await readyz()).toBe(503);
    for (let i = 0; i < FAILING_REQUESTS; i++) {
      const res = await svc.call('POST', '/v1/registrations', registration());
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
    }
    expect(await readyz()).toBe(503);
    // One error line for the whole burst, not one per request…
    expect(errorLines(logsBefore)).toHaveLength(1);
    // …and, some time later, one more that counts what it suppressed meanwhile.
    offset += 61_000;
    expect((await svc.call('POST', '/v1/registrations', registration())).status).toBe(503);
    const lines = errorLines(logsBefore);
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[1]!) as { suppressed: number }).suppressed).toBeGreaterThanOrEqual(FAILING_REQUESTS);

    await freeTheDisk();
    expect(await readyz()).toBe(200);
    expect((await svc.call('POST', '/v1/registrations', registration())).status).toBe(202);
    // What was accepted before the outage is still there.
    const event = await svc.call('GET', `/v1/projects/1/events/${accepted.json.eventId as string}`);
    expect(event.status).toBe(200);
  });
});

describe.each(backends)('the dispatcher while the database cannot be written (%s)', (backend) => {
  let svc: TestService;
  let schema: string;

  beforeAll(async () => {
    // 100 attempts 100 ms apart: the work stays due for ~10 s, however slowly the machine gets to
    // the disk-full step (with the default 10, a loaded CI used them up first and nothing was due).
    svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '100' }, undefined, backend);
    await svc.createProject(1);
    // Due work whose claims fail: the endpoint refuses connections, so attempts keep being due.
    await svc.setEndpoint(1, 'http://127.0.0.1:9/hooks');
    if (svc.config.database.kind === 'postgres') schema = new URL(svc.config.database.url).searchParams.get('schema')!;
  });
  afterAll(async () => {
    await svc.stop();
  });

  it('logs the failing claims once, not once a second', async () => {
    const s = backend === 'postgres' ? pg.escapeIdentifier(schema) : '';
    // Due work, retried every 100 ms (the endpoint refuses connections), before the disk fills.
    for (let i = 0; i < 5; i++) expect((await svc.call('POST', '/v1/registrations', registration())).status).toBe(202);
    if (backend === 'sqlite') {
      (svc.store as SqliteStore).limitPages(1);
      // Until the free room of the last pages is used up too.
      for (let i = 0; i < 500; i++) if ((await svc.call('POST', '/v1/registrations', registration())).status === 503) break;
    } else {
      await adminQuery(`CREATE FUNCTION ${s}.test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
      await adminQuery(`CREATE TRIGGER test_disk_full BEFORE INSERT ON ${s}.attempts FOR EACH ROW EXECUTE FUNCTION ${s}.test_disk_full()`);
    }
    const logsBefore = capturedLogs.length;
    svc.dispatcher!.wake();
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const dispatcherErrors = capturedLogs
      .slice(logsBefore)
      .map((line) => JSON.parse(line) as { level: number; component?: string; msg: string })
      .filter((e) => e.level >= 50 && e.component === 'dispatcher');
    expect(dispatcherErrors.length).toBeGreaterThan(0);
    expect(dispatcherErrors.length).toBeLessThanOrEqual(1);
    if (backend === 'sqlite') (svc.store as SqliteStore).limitPages(null);
    else await adminQuery(`DROP FUNCTION ${s}.test_disk_full() CASCADE`);
  });
});
