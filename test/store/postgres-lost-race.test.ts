/**
 * PostgreSQL only: a report whose registration/purchase row lost its insert race to an identical
 * one, whose row is then gone (the user was erased), answers REGHOOK_CONCURRENT_CHANGE (409: send
 * it again) and stores nothing. The race is staged with a trigger that swallows the insert, as a
 * winner committed a moment before would, and leaves no row behind, as an erasure would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration, type RegistrationReport } from '../../src/domain/registration.js';
import { ReghookError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { registration } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaQuery, schemaUrl } from './postgres-database.js';

const postgres = await postgresForTests('PostgreSQL lost insert race');
const T0 = 1_700_000_000_000;

describe.runIf(postgres.run || postgres.failure !== null)('PostgreSQL lost insert race', () => {
  let release: () => Promise<void>;
  let store: PostgresStore;
  let schema: string;
  let url: string;

  const exec = (sql: string) => schemaQuery(url, sql);

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
    schema = freshSchemaName();
    url = schemaUrl(schema);
    store = await PostgresStore.open(url, { poolSize: 2 });
    await store.createProject({ appId: 1, name: 'p', createdAt: T0 });
    await store.putEndpoint(1, 'https://hooks.example/1', true, 'sealed', T0);
    await exec(`CREATE FUNCTION swallow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`);
  });
  afterAll(async () => {
    await store?.close();
    if (schema) await dropSchema(schema);
    await release?.();
  });

  const expectConcurrentChange = async (recording: Promise<unknown>) => {
    const error = await recording.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ReghookError);
    expect((error as ReghookError).code).toBe('REGHOOK_CONCURRENT_CHANGE');
    expect((error as ReghookError).status).toBe(409);
  };

  it('a registration answers REGHOOK_CONCURRENT_CHANGE and its event is rolled back', async () => {
    const user = normalizeRegistration(registration({ appId: 1, storeRegister: false }) as unknown as RegistrationReport);
    await exec(`CREATE TRIGGER lost_race BEFORE INSERT ON registrations FOR EACH ROW EXECUTE FUNCTION swallow_insert()`);
    try {
      await expectConcurrentChange(store.recordRegistration(user, newEventId(T0), T0));
    } finally {
      await exec(`DROP TRIGGER lost_race ON registrations`);
    }
    expect((await exec(`SELECT count(*)::int AS n FROM events`)).rows[0].n).toBe(0);
    // Sent again, it is recorded.
    expect((await store.recordRegistration(user, newEventId(T0 + 1), T0 + 1)).kind).toBe('created');
  });

  it('a purchase answers REGHOOK_CONCURRENT_CHANGE', async () => {
    await exec(`CREATE TRIGGER lost_race BEFORE INSERT ON purchases FOR EACH ROW EXECUTE FUNCTION swallow_insert()`);
    try {
      await expectConcurrentChange(store.recordPurchase({ appId: 1, clientUuid: 'nobody', transactionId: 'tx-1', purchaseDate: null }, newEventId(T0), T0));
    } finally {
      await exec(`DROP TRIGGER lost_race ON purchases`);
    }
    expect((await exec(`SELECT count(*)::int AS n FROM purchases`)).rows[0].n).toBe(0);
  });
});
