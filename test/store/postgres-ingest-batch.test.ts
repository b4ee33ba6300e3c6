/**
 * PostgreSQL only: registrations reported in one turn are recorded in one transaction (ingest.ts
 * batches them), and whatever a batch cannot record as decided (a user reported twice in it, a
 * user who already has an event, a row that will not insert) is recorded report by report with
 * the answers it would have had alone. Transactions are observed with a trigger that writes each
 * inserting transaction's id.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration, type RegistrationReport } from '../../src/domain/registration.js';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { IndexedRegistration } from '../../src/store/store.js';
import { registration } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaQuery, schemaUrl } from './postgres-database.js';

const postgres = await postgresForTests('PostgreSQL ingest batches');
const T0 = 1_700_000_000_000;

describe.runIf(postgres.run || postgres.failure !== null)('PostgreSQL ingest batches', () => {
  let release: () => Promise<void>;
  let store: PostgresStore;
  let schema: string;
  let url: string;
  let nextAppId = 1;

  const exec = (sql: string) => schemaQuery(url, sql);

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
    schema = freshSchemaName();
    url = schemaUrl(schema);
    store = await PostgresStore.open(url, { poolSize: 4 });
    await exec(`
      CREATE TABLE inserting_transactions (app_id integer, txid bigint);
      CREATE FUNCTION note_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO inserting_transactions VALUES (NEW.app_id, txid_current()); RETURN NEW; END $$;
      CREATE TRIGGER note_transaction AFTER INSERT ON registrations FOR EACH ROW EXECUTE FUNCTION note_transaction();`);
  });
  afterAll(async () => {
    await store?.close();
    if (schema) await dropSchema(schema);
    await release?.();
  });

  async function project(storeRegister = false) {
    const appId = nextAppId++;
    await store.createProject({ appId, name: 'p', createdAt: T0 });
    await store.putEndpoint(appId, 'https://hooks.example/1', true, 'sealed', T0);
    const user = (overrides: Record<string, unknown> = {}): IndexedRegistration => ({
      ...normalizeRegistration(registration({ appId, storeRegister, ...overrides }) as unknown as RegistrationReport),
      subscriberHash: null,
    });
    return { appId, user };
  }

  const transactionsOf = async (appId: number) =>
    (await exec(`SELECT count(DISTINCT txid)::int AS n FROM inserting_transactions WHERE app_id = ${appId}`)).rows[0].n as number;

  it('the registrations of one turn share one transaction, each with its own event', async () => {
    const { appId, user } = await project();
    const users = Array.from({ length: 40 }, () => user());
    const results = await Promise.all(users.map((u, i) => store.recordRegistration(u, newEventId(T0 + i), T0 + i)));
    expect(results.every((r) => r.kind === 'created' && r.answer.status === 'pending')).toBe(true);
    expect(await transactionsOf(appId)).toBe(1);
    const events = (await store.listEvents(appId, { limit: 100 })).data;
    expect(new Set(events.map((e) => e.eventId))).toEqual(new Set(results.map((r) => (r as { answer: { eventId: string } }).answer.eventId)));
    // Each event keeps its own report's time.
    const created = (await exec(`SELECT id, created_at FROM events WHERE app_id = ${appId}`)).rows as { id: string; created_at: string }[];
    for (const [i, r] of results.entries()) {
      const id = (r as { answer: { eventId: string } }).answer.eventId;
      expect(Number(created.find((c) => c.id === id)!.created_at)).toBe(T0 + i);
    }
  });

  it('a store registration (no event yet) and a Self Service one in one batch: one event, one awaiting', async () => {
    const { appId, user } = await project();
    const [selfService, store_] = await Promise.all([
      store.recordRegistration(user(), newEventId(T0), T0),
      store.recordRegistration(user({ storeRegister: true }), newEventId(T0), T0),
    ]);
    expect(selfService).toMatchObject({ kind: 'created', answer: { status: 'pending' } });
    expect(store_).toEqual({ kind: 'created', answer: { eventId: null, status: 'awaiting_first_purchase' } });
    expect((await store.listEvents(appId, { limit: 10 })).data).toHaveLength(1);
  });

  it('a user reported twice in one turn: created once, the repeat answers it', async () => {
    const { appId, user } = await project();
    const u = user();
    const others = Array.from({ length: 5 }, () => user());
    const [first, second, ...rest] = await Promise.all([u, u, ...others].map((x, i) => store.recordRegistration(x, newEventId(T0 + i), T0 + i)));
    expect(first!.kind).toBe('created');
    expect(second).toEqual({ kind: 'repeat', answer: (first as { answer: unknown }).answer });
    expect(rest.every((r) => r.kind === 'created')).toBe(true);
    expect((await store.listEvents(appId, { limit: 10 })).data).toHaveLength(6);
  });

  it('a user whose event outlived an erasure, in a batch with others: everyone gets the answer they would alone', async () => {
    const { appId, user } = await project();
    const erased = user();
    const before = await store.recordRegistration(erased, newEventId(T0), T0);
    expect(before.kind).toBe('created');
    // Written without a hash (as before migration 0007): erasure finds it by its plain subscriberId.
    await store.eraseSubscriber(appId, { id: erased.subscriberId, hash: 'no-row-has-this-hash' }, T0 + 1);
    const others = Array.from({ length: 5 }, () => user());
    const [again, ...rest] = await Promise.all([erased, ...others].map((x, i) => store.recordRegistration(x, newEventId(T0 + 10 + i), T0 + 10 + i)));
    // The user has an event (erased): registering again names that event and creates none.
    expect(again).toMatchObject({ kind: 'created', answer: { eventId: (before as { answer: { eventId: string } }).answer.eventId } });
    expect(rest.every((r) => r.kind === 'created' && r.answer.status === 'pending')).toBe(true);
    expect((await store.listEvents(appId, { limit: 10 })).data).toHaveLength(6);
    // The batch was rolled back and recorded report by report.
    expect(await transactionsOf(appId)).toBe(1 + 6);
  });

  it('a batch waiting on one user\'s lock does not hold up the reports after it', async () => {
    const { appId, user } = await project();
    const stuck = user();
    const holder = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
    await holder.connect();
    try {
      // Another session holds the user's lock (as another process's transaction would).
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [appId, stuck.clientUuid]);
      let stuckDone = false;
      const waiting = store.recordRegistration(stuck, newEventId(T0), T0).finally(() => (stuckDone = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Later reports, one turn after another, are recorded while the first batch waits.
      for (let i = 1; i <= 5; i++) expect((await store.recordRegistration(user(), newEventId(T0 + i), T0 + i)).kind).toBe('created');
      expect(stuckDone).toBe(false);
      await holder.query('COMMIT');
      expect((await waiting).kind).toBe('created');
      expect((await store.listEvents(appId, { limit: 10 })).data).toHaveLength(6);
    } finally {
      await holder.end();
    }
  });

  it('a report for an unknown project in a batch changes nothing for the others', async () => {
    const { appId, user } = await project();
    const unknown = { ...user(), appId: 999_999 };
    const [refused, ...rest] = await Promise.all([unknown, user(), user()].map((x, i) => store.recordRegistration(x, newEventId(T0 + i), T0 + i)));
    expect(refused).toEqual({ kind: 'unknown_app' });
    expect(rest.every((r) => r.kind === 'created')).toBe(true);
    expect(await transactionsOf(appId)).toBe(1);
  });
});
