/**
 * PostgreSQL only (SQLite has one writer): a project's due time stays exact while another
 * transaction inserts one of its deliveries and a claim leases another at the same moment.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '../../src/domain/ids.js';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaUrl } from './postgres-database.js';

const postgres = await postgresForTests('PostgreSQL due times');
const T0 = 1_700_000_000_000;

describe.runIf(postgres.run || postgres.failure !== null)('PostgreSQL due times', () => {
  let release: () => Promise<void>;
  let store: PostgresStore;
  let schema: string;
  let url: string;

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
    schema = freshSchemaName();
    url = schemaUrl(schema);
    store = await PostgresStore.open(url, { poolSize: 4 });
    await store.createProject({ appId: 1, name: 'p', createdAt: T0 });
    await store.putEndpoint(1, 'https://hooks.example/1', true, 'sealed', T0);
  });
  afterAll(async () => {
    await store?.close();
    if (schema) await dropSchema(schema);
    await release?.();
  });

  /** A pending delivery of project 1, inserted on `client` (inside its transaction, if one is open). */
  const insertEvent = (client: pg.Client, id: string, due: number) =>
    client.query(`INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at) VALUES ($1, 1, $1, '{}', 'pending', $2, $2)`, [id, due]);

  it('a claim leasing one delivery while another is being inserted leaves the new one due', async () => {
    const inserting = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
    await inserting.connect();
    try {
      const first = newEventId(T0);
      await insertEvent(inserting, first, T0);
      await inserting.query('BEGIN');
      const second = newEventId(T0 + 1);
      await insertEvent(inserting, second, T0 + 1);
      // The claim leases `first` and recomputes project 1's due time while `second` is uncommitted.
      const claim = store.claimDue({ now: T0 + 5, limit: 1, leaseMs: 60_000, maxAttempts: 3, perEndpointLimit: 10, inFlight: {}, excludeAppIds: [] });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await inserting.query('COMMIT');
      expect((await claim).map((c) => c.eventId)).toEqual([first]);
      expect(await store.nextDueAt()).toBe(T0 + 1);
      const next = await store.claimDue({ now: T0 + 6, limit: 10, leaseMs: 60_000, maxAttempts: 3, perEndpointLimit: 10, inFlight: {}, excludeAppIds: [] });
      expect(next.map((c) => c.eventId)).toEqual([second]);
    } finally {
      await inserting.end();
    }
  });
});
