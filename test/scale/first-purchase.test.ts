/**
 * SPEC section 2, rule 4, across processes: two PostgresStore instances (two pools, as two API
 * processes would have) racing on one user must still produce exactly one event.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration, type RegistrationReport } from '../../src/domain/registration.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { registration } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, LOCK_WAIT_MS, postgresForTests, schemaUrl } from '../store/postgres-database.js';

const postgres = await postgresForTests('concurrent first purchases across two stores');

describe.skipIf(!postgres.run && postgres.failure === null)('two API processes racing on one user', () => {
  const schema = freshSchemaName('reghook_race');
  let release: (() => Promise<void>) | undefined;
  let stores: PostgresStore[] = [];
  let nextAppId = 1;

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
    // Both open (and migrate) at once, like processes starting together.
    stores = await Promise.all([PostgresStore.open(schemaUrl(schema)), PostgresStore.open(schemaUrl(schema))]);
  }, LOCK_WAIT_MS);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchema(schema);
    await release?.();
  });

  /** A project with an enabled endpoint, and one user of it (not reported yet). */
  async function projectAndUser(storeRegister: boolean) {
    const appId = nextAppId++;
    await stores[0]!.createProject({ appId, name: 'race', createdAt: Date.now() });
    await stores[0]!.putEndpoint(appId, 'https://hooks.example/race', true, 'sealed', Date.now());
    const user = normalizeRegistration(registration({ appId, storeRegister }) as unknown as RegistrationReport);
    return { appId, user };
  }

  it('50 concurrent first purchases of one store user through two stores create exactly one event', async () => {
    const { appId, user } = await projectAndUser(true);
    expect((await stores[1]!.recordRegistration(user, newEventId(Date.now()), Date.now())).kind).toBe('created');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stores[i % 2]!.recordPurchase({ appId, clientUuid: user.clientUuid, transactionId: `tx-${i}`, purchaseDate: null }, newEventId(Date.now()), Date.now()),
      ),
    );
    const triggered = results.filter((r) => r.kind === 'created' && r.answer.triggered);
    expect(triggered).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'created' && !r.answer.triggered && r.answer.reason === 'not_first_purchase')).toHaveLength(49);
    const events = (await stores[0]!.listEvents(appId, { limit: 100 })).data;
    expect(events.map((e) => e.eventId)).toEqual([(triggered[0] as { answer: { eventId: string } }).answer.eventId]);
  });

  it('50 concurrent identical registrations through two stores: one is created, every other answers it as a repeat', async () => {
    const { appId, user } = await projectAndUser(false);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 2]!.recordRegistration(user, newEventId(Date.now()), Date.now())),
    );
    expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'repeat')).toHaveLength(49);
    const answers = new Set(results.map((r) => JSON.stringify((r as { answer: unknown }).answer)));
    expect(answers.size).toBe(1);
    expect((await stores[1]!.listEvents(appId, { limit: 100 })).data).toHaveLength(1);
  });

  it('a store user\'s registration and first purchase, queued behind the user\'s lock together, make exactly one event', async () => {
    // Whichever goes second must read what the first committed while it waited for the lock: a
    // read from before the wait would have each see no other, and neither would fire.
    for (let round = 0; round < 6; round++) {
      const { appId, user } = await projectAndUser(true);
      const holder = new pg.Client({ connectionString: schemaUrl(schema) });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [appId, user.clientUuid]);
        const purchase = { appId, clientUuid: user.clientUuid, transactionId: 'first', purchaseDate: null };
        // Alternate who queues first, so each kind of report is the one that reads after the wait.
        const reports =
          round % 2 === 0
            ? [stores[0]!.recordRegistration(user, newEventId(Date.now()), Date.now()), stores[1]!.recordPurchase(purchase, newEventId(Date.now()), Date.now())]
            : [stores[1]!.recordPurchase(purchase, newEventId(Date.now()), Date.now()), stores[0]!.recordRegistration(user, newEventId(Date.now()), Date.now())];
        // Both are waiting on the lock once the server shows two sessions blocked on it.
        for (let i = 0; i < 200; i++) {
          const { rows } = await holder.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid::bigint = $1 AND NOT granted`,
            [appId],
          );
          if (rows[0]!.n === 2) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await holder.query('COMMIT');
        const results = await Promise.all(reports);
        expect(results.every((r) => r.kind === 'created')).toBe(true);
        const events = (await stores[0]!.listEvents(appId, { limit: 10 })).data;
        expect(events, `round ${round}`).toHaveLength(1);
      } finally {
        await holder.end();
      }
    }
  });

  it('the same purchase retried concurrently through two stores answers the original every time', async () => {
    const { appId, user } = await projectAndUser(true);
    await stores[0]!.recordRegistration(user, newEventId(Date.now()), Date.now());
    const purchase = { appId, clientUuid: user.clientUuid, transactionId: 'retried', purchaseDate: null };
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 2]!.recordPurchase(purchase, newEventId(Date.now()), Date.now())));
    expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'repeat')).toHaveLength(29);
    expect(new Set(results.map((r) => JSON.stringify((r as { answer: unknown }).answer))).size).toBe(1);
    expect((await stores[0]!.listEvents(appId, { limit: 100 })).data).toHaveLength(1);
  });
});
