/**
 * SPEC section 5: the delivery log found by subscriberId — exact match, through a keyed hash (no
 * plain-text index of it), per project, not after erasure, older events backfilled by the
 * retention sweeper, and the subscriberId never in the logs (NEVER_LOGGED holds 905555555555).
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRegistration, type RegistrationReport } from '../src/domain/registration.js';
import { newEventId } from '../src/domain/ids.js';
import { LOCK_UNHASHED_USERS_OF_SUBSCRIBER, LOCK_USERS_OF_SUBSCRIBER } from '../src/store/postgres/retention.js';
import { USERS_OF_SUBSCRIBER } from '../src/store/sqlite/retention.js';
import { capturedLogs, registration, startTestService, testBackends, uuid, type TestService } from './helpers/service.js';
import { TEST_DATABASE_URL } from './store/postgres-database.js';

const backends = await testBackends('subscriber search');

describe.each(backends)('search by subscriberId (%s)', (backend) => {
  let svc: TestService;
  let key2: string;
  let offset = 0;
  const clock = { now: () => Date.UTC(2026, 0, 1) + offset };
  const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();
  const alice: string[] = [];

  beforeAll(async () => {
    svc = await startTestService({}, clock, backend);
    // No endpoints: every event is created skipped, nothing is sent.
    await svc.createProject(1);
    key2 = await svc.createProject(2);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const register = async (appId: number, subscriberId: string, more: Record<string, unknown> = {}) => {
    const res = await svc.call('POST', '/v1/registrations', registration({ appId, clientUuid: uuid(), subscriberId, ...more }));
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    return res.json.eventId as string;
  };
  const search = async (appId: number, query: string, token?: string) => {
    const res = await svc.call('GET', `/v1/projects/${appId}/events?${query}`, undefined, token);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return { ids: (res.json.data as { eventId: string }[]).map((e) => e.eventId), nextCursor: res.json.nextCursor as string | null };
  };
  const ids = async (appId: number, query: string, token?: string) => (await search(appId, query, token)).ids;

  /** Runs raw SQL on the service's own database, below the Store interface; answers the rows. */
  const sql = async (statement: string, values: unknown[] = []): Promise<Record<string, unknown>[]> => {
    if (svc.config.database.kind === 'sqlite') {
      const db = new Database(path.join(svc.dir, 'reghook.db'));
      try {
        const prepared = db.prepare(statement);
        return prepared.reader ? (prepared.all(...values) as Record<string, unknown>[]) : (prepared.run(...values), []);
      } finally {
        db.close();
      }
    }
    const schema = new URL(svc.config.database.url).searchParams.get('schema')!;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
      // A test database is tiny: without this the planner rightly prefers a scan of a few rows.
      await client.query('SET enable_seqscan = off');
      return (await client.query(statement, values)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const p = (n: number) => (backend === 'sqlite' ? '?' : `$${n}`);
  /** Makes a person's rows look as the release before migration 0007 wrote them: no hash. */
  const forgetHashes = async (clientUuids: string[]) => {
    for (const clientUuid of clientUuids) {
      await sql(`UPDATE registrations SET subscriber_hash = NULL WHERE app_id = 1 AND client_uuid = ${p(1)}`, [clientUuid]);
      await sql(`UPDATE events SET subscriber_hash = NULL WHERE app_id = 1 AND client_uuid = ${p(1)}`, [clientUuid]);
    }
  };

  it('finds exactly the events of a subscriberId, combined with status, time and the cursor', async () => {
    for (let minute = 0; minute < 3; minute++) {
      offset = minute * 60_000;
      alice.push(await register(1, '905555555555'));
      await register(1, '905555555556');
    }
    const newestFirst = [...alice].reverse();
    expect(await ids(1, 'subscriberId=905555555555')).toEqual(newestFirst);
    // Exact: neither a prefix nor another letter case.
    expect(await ids(1, 'subscriberId=90555555555')).toEqual([]);
    expect(await ids(1, 'subscriberId=905555555555&status=skipped')).toEqual(newestFirst);
    expect(await ids(1, 'subscriberId=905555555555&status=failed')).toEqual([]);
    expect(await ids(1, `subscriberId=905555555555&since=${at(1)}`)).toEqual([alice[2], alice[1]]);
    expect(await ids(1, `subscriberId=905555555555&until=${at(0)}`)).toEqual([alice[0]]);
    const first = await search(1, 'subscriberId=905555555555&limit=2');
    expect(first).toEqual({ ids: [alice[2], alice[1]], nextCursor: alice[1] });
    expect(await search(1, `subscriberId=905555555555&limit=2&cursor=${first.nextCursor}`)).toEqual({ ids: [alice[0]], nextCursor: null });
  });

  it('is per project: the same subscriberId elsewhere is another project’s, and a key sees its own only', async () => {
    const theirs = await register(2, '905555555555');
    expect(await ids(2, 'subscriberId=905555555555')).toEqual([theirs]);
    expect(await ids(2, 'subscriberId=905555555555', key2)).toEqual([theirs]);
    expect(await ids(1, 'subscriberId=905555555555')).not.toContain(theirs);
    expect((await svc.call('GET', '/v1/projects/1/events?subscriberId=905555555555', undefined, key2)).status).toBe(404);
  });

  it('finds a store user’s event, created by their first purchase', async () => {
    const clientUuid = uuid();
    await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid, subscriberId: 'store-user-1', storeRegister: true }));
    expect(await ids(1, 'subscriberId=store-user-1')).toEqual([]);
    const bought = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid, transactionId: `tx-${clientUuid}` });
    expect(bought.json).toMatchObject({ triggered: true });
    expect(await ids(1, 'subscriberId=store-user-1')).toEqual([bought.json.eventId]);
  });

  it('takes any subscriberId ingest takes (up to 128 characters), and no longer', async () => {
    const long = 'x'.repeat(128);
    const eventId = await register(1, long);
    expect(await ids(1, `subscriberId=${long}`)).toEqual([eventId]);
    const refused = await svc.call('GET', `/v1/projects/1/events?subscriberId=${'x'.repeat(129)}`);
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0].path).toContain('subscriberId');
  });

  it('stores a keyed hash, never the subscriberId, in the searched column', async () => {
    if (backend !== 'sqlite') return;
    const db = new Database(path.join(svc.dir, 'reghook.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT subscriber_hash AS h FROM events').all() as { h: string | null }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const { h } of rows) {
        expect(h).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(h).not.toContain('905555555555');
      }
      // One person in two projects: two unrelated hashes.
      const hashes = db.prepare(`SELECT DISTINCT app_id, subscriber_hash FROM events WHERE body LIKE '%"subscriberId":"905555555555"%'`).all();
      expect(hashes).toHaveLength(2);
      // The plan uses the index.
      const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM events WHERE app_id = 1 AND subscriber_hash = 'x' ORDER BY id DESC LIMIT 51`).all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).toContain('USING INDEX events_by_subscriber');
    } finally {
      db.close();
    }
  });

  it('an erased person is no longer found', async () => {
    const before = await register(1, 'erase-me-please');
    expect(await ids(1, 'subscriberId=erase-me-please')).toEqual([before]);
    expect((await svc.call('DELETE', '/v1/projects/1/subscribers/erase-me-please')).status).toBe(200);
    expect(await ids(1, 'subscriberId=erase-me-please')).toEqual([]);
    // The retention sweep (and its backfill) does not bring it back.
    await svc.sweepRetention();
    expect(await ids(1, 'subscriberId=erase-me-please')).toEqual([]);
    expect(await ids(1, 'subscriberId=905555555555')).toEqual([...alice].reverse());
  });

  it('erases a person whose rows were written before the hash existed, by the plain value', async () => {
    const people = [uuid(), uuid()];
    const events = [];
    for (const clientUuid of people) {
      const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid, subscriberId: 'from-before-hashes' }));
      events.push(res.json.eventId as string);
    }
    await forgetHashes(people);
    const erased = await svc.call('DELETE', '/v1/projects/1/subscribers/from-before-hashes');
    expect(erased.status).toBe(200);
    expect(erased.json).toMatchObject({ erasedRegistrations: 2 });
    expect(await sql(`SELECT client_uuid FROM registrations WHERE app_id = 1 AND client_uuid IN (${p(1)}, ${p(2)})`, people)).toEqual([]);
    for (const eventId of events) expect((await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json).toMatchObject({ status: 'erased', payload: null });
    // Nothing brings it back to the search: neither the hash nor the backfill (no payload to read).
    expect(await ids(1, 'subscriberId=from-before-hashes')).toEqual([]);
    await svc.sweepRetention();
    expect(await ids(1, 'subscriberId=from-before-hashes')).toEqual([]);
  });

  it('the retention sweep backfills registrations written without a hash, which erasure then finds by the hash', async () => {
    const clientUuid = uuid();
    await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid, subscriberId: 'backfilled-person' }));
    const { subscriber_hash: written } = (await sql(`SELECT subscriber_hash FROM registrations WHERE app_id = 1 AND client_uuid = ${p(1)}`, [clientUuid]))[0]!;
    await forgetHashes([clientUuid]);
    expect(await svc.store.listUnhashedRegistrations(10)).toHaveLength(1);
    await svc.sweepRetention();
    expect(await svc.store.listUnhashedRegistrations(10)).toEqual([]);
    // The same keyed hash ingest writes.
    expect(await sql(`SELECT subscriber_hash FROM registrations WHERE app_id = 1 AND client_uuid = ${p(1)}`, [clientUuid])).toEqual([{ subscriber_hash: written }]);
    expect(await ids(1, 'subscriberId=backfilled-person')).toHaveLength(1);
    // Prove erasure uses the hash: the plain value alone no longer leads to the row.
    await sql(`UPDATE registrations SET subscriber_id = ${p(1)} WHERE app_id = 1 AND client_uuid = ${p(2)}`, ['something-else', clientUuid]);
    expect((await svc.call('DELETE', '/v1/projects/1/subscribers/backfilled-person')).json).toMatchObject({ erasedRegistrations: 1, erasedPayloads: 1 });
    expect(await ids(1, 'subscriberId=backfilled-person')).toEqual([]);
  });

  it('erasure looks registrations up through the hash index and the not-yet-backfilled index, never a scan', async () => {
    const detail =
      backend === 'sqlite'
        ? (await sql(`EXPLAIN QUERY PLAN ${USERS_OF_SUBSCRIBER.replace(/@appId/g, '1').replace('@hash', "'h'").replace('@id', "'i'")}`)).map((r) => String(r.detail)).join('\n')
        : [
            ...(await sql(`EXPLAIN ${LOCK_USERS_OF_SUBSCRIBER}`, [1, 'h'])),
            ...(await sql(`EXPLAIN ${LOCK_UNHASHED_USERS_OF_SUBSCRIBER}`, [1, 'i'])),
          ].map((r) => String(r['QUERY PLAN'])).join('\n');
    expect(detail).toMatch(/registrations_by_subscriber_hash/);
    expect(detail).toMatch(/registrations_without_subscriber_hash/);
    expect(detail).not.toMatch(/SCAN registrations|Seq Scan|registrations_pkey/);
    // The plain-text index of subscriberIds is gone.
    const indexes = backend === 'sqlite' ? await sql(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'registrations'`) : await sql(`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'registrations' AND schemaname = current_schema()`);
    expect(indexes.map((r) => r.name)).not.toContain('registrations_by_subscriber');
  });

  it('the retention sweep backfills events created without a hash (before migration 0007)', async () => {
    // As the release before 0007 recorded them: no subscriber hash.
    const report = registration({ appId: 1, clientUuid: uuid(), subscriberId: 'from-before-0007' }) as unknown as RegistrationReport;
    const now = clock.now();
    const old = await svc.store.recordRegistration(normalizeRegistration(report), newEventId(now), now);
    const eventId = old.kind === 'created' ? old.answer.eventId : null;
    expect(await ids(1, 'subscriberId=from-before-0007')).toEqual([]);
    await svc.sweepRetention();
    expect(await ids(1, 'subscriberId=from-before-0007')).toEqual([eventId]);
    expect(await svc.store.listUnhashedEvents(10)).toEqual([]);
  });

  it('never logs the subscriberId searched for (the request URL is redacted)', () => {
    const lines = capturedLogs.filter((line) => line.includes('/events?'));
    for (const line of lines) expect(line).not.toMatch(/905555555555|store-user-1|erase-me-please/);
    expect(lines.join('')).toContain('subscriberId=[redacted]');
  });
});
