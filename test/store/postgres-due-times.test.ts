/**
 * PostgreSQL only (SQLite has one writer): a project's due time stays exact while another
 * transaction inserts one of its deliveries and a claim leases another at the same moment; and
 * since migration 0011 neither waits for the other, two inserts of one project do not wait for each
 * other, and the hourly event counts (one row per session's shard) still add up.
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

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
    await client.connect();
    return client;
  };
  /** Two sessions whose event counts go to different shards (backend pid mod 8, migration 0011). */
  const twoShards = async (): Promise<[pg.Client, pg.Client]> => {
    const first = await connect();
    const shardOf = async (c: pg.Client) => Number((await c.query<{ s: number }>('SELECT pg_backend_pid() % 8 AS s')).rows[0]!.s);
    const firstShard = await shardOf(first);
    for (;;) {
      const second = await connect();
      if ((await shardOf(second)) !== firstShard) return [first, second];
      await second.end();
    }
  };
  const outcome = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => 'done' as const), new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), ms))]);

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
      // The claim leases `first` and recomputes project 1's due time while `second` is uncommitted,
      // without waiting for that transaction (before 0011 it queued behind the endpoint row).
      const claim = store.claimDue({ now: T0 + 5, limit: 1, leaseMs: 60_000, maxAttempts: 3, perEndpointLimit: 10, inFlight: {}, excludeAppIds: [] });
      expect(await outcome(claim, 2_000)).toBe('done');
      await inserting.query('COMMIT');
      expect((await claim).map((c) => c.eventId)).toEqual([first]);
      expect(await store.nextDueAt()).toBe(T0 + 1);
      const next = await store.claimDue({ now: T0 + 6, limit: 10, leaseMs: 60_000, maxAttempts: 3, perEndpointLimit: 10, inFlight: {}, excludeAppIds: [] });
      expect(next.map((c) => c.eventId)).toEqual([second]);
    } finally {
      await inserting.end();
    }
  });

  it('two transactions inserting deliveries of one project do not wait for each other', async () => {
    const [a, b] = await twoShards();
    try {
      await a.query('BEGIN');
      const held = newEventId(T0 + 10);
      await insertEvent(a, held, T0 + 10);
      // Before 0011 this insert queued behind `a`'s lock on the endpoint row until `a` committed.
      const other = newEventId(T0 + 11);
      expect(await outcome(insertEvent(b, other, T0 + 11), 2_000)).toBe('done');
      await a.query('COMMIT');
      const claimed = await store.claimDue({ now: T0 + 20, limit: 10, leaseMs: 60_000, maxAttempts: 3, perEndpointLimit: 10, inFlight: {}, excludeAppIds: [] });
      expect(claimed.map((c) => c.eventId).sort()).toEqual([held, other].sort());
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('the hourly event counts add up across shards, through inserts, status changes and deletions', async () => {
    const hour = T0 - (T0 % 3_600_000) + 10 * 3_600_000;
    const [a, b] = await twoShards();
    try {
      await store.putEndpoint(2, 'https://hooks.example/2', true, 'sealed', T0).catch(async () => {
        await store.createProject({ appId: 2, name: 'q', createdAt: T0 });
        await store.putEndpoint(2, 'https://hooks.example/2', true, 'sealed', T0);
      });
      const insert = (c: pg.Client, id: string, status: string) =>
        c.query(`INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at) VALUES ($1, 2, $1, '{}', $2, $3, $4)`, [id, status, status === 'pending' ? hour + 1 : null, hour]);
      const ids = Array.from({ length: 6 }, (_, i) => newEventId(hour + i));
      await insert(a, ids[0]!, 'pending');
      await insert(a, ids[1]!, 'pending');
      await insert(b, ids[2]!, 'pending');
      await insert(b, ids[3]!, 'skipped');
      await insert(a, ids[4]!, 'pending');
      await insert(b, ids[5]!, 'pending');
      // Status changes and a deletion, each by the session that did not insert the row.
      await b.query(`UPDATE events SET status = 'delivered', next_attempt_at = NULL, finished_at = $2 WHERE id = ANY ($1)`, [[ids[0], ids[1]], hour + 5]);
      await a.query(`UPDATE events SET status = 'failed', next_attempt_at = NULL, finished_at = $2 WHERE id = $1`, [ids[2], hour + 6]);
      await b.query(`DELETE FROM events WHERE id = $1`, [ids[4]]);
      const shards = await a.query<{ n: number }>(`SELECT count(DISTINCT shard)::int AS n FROM event_stats_hourly WHERE app_id = 2 AND hour = $1`, [hour]);
      expect(shards.rows[0]!.n).toBe(2);
      // A window of whole hours is answered from the rollup rows alone.
      const counts = await store.windowCounts(2, hour, hour + 3_600_000);
      expect(counts.events).toEqual({ pending: 1, delivered: 2, failed: 1, skipped: 1 });
    } finally {
      await a.end();
      await b.end();
    }
  });
});
