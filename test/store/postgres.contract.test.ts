/**
 * The Store contract on PostgreSQL: a fresh schema per test, on the server at
 * REGHOOK_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). Skipped, saying so,
 * when no server answers; under CI=true an unreachable server fails instead.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { storeContract } from './contract.js';
import { dropSchema, freshSchemaName, holdServerLock, LOCK_WAIT_MS, postgresForTests, schemaUrl } from './postgres-database.js';

const postgres = await postgresForTests('Store contract: postgres');

if (postgres.failure !== null) {
  const failure = postgres.failure;
  describe('Store contract: postgres', () => {
    it('needs a reachable PostgreSQL server', () => {
      throw new Error(failure);
    });
  });
} else if (!postgres.run) {
  describe.skip('Store contract: postgres (no PostgreSQL server reachable)', () => {
    it('runs when REGHOOK_TEST_DATABASE_URL answers', () => {});
  });
} else {
  let release: () => Promise<void>;
  beforeAll(async () => {
    release = await holdServerLock('shared');
  }, LOCK_WAIT_MS);
  afterAll(async () => {
    await release();
  });

  storeContract('postgres', async () => {
    const schema = freshSchemaName();
    const url = schemaUrl(schema);
    const store = await PostgresStore.open(url, { poolSize: 8 });
    return {
      store,
      async exec(sql) {
        const client = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      async cleanup() {
        await store.close();
        await dropSchema(schema);
      },
    };
  });
}
