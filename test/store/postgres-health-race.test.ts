/**
 * PostgreSQL only: two dispatchers (two stores, each its own pool, as two processes have) claim and
 * record failed attempts for the same endpoints at once, in batches of varying size spanning two
 * endpoints. Health is read and written under the health rows' locks, so no update is lost:
 * consecutiveFailures equals the attempts recorded, exactly, and exactly one "failing" transition
 * is reported per endpoint across both. And no deadlock (they would surface as errors after retries).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration, type RegistrationReport } from '../../src/domain/registration.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { EndpointTransition } from '../../src/store/store.js';
import { registration } from '../helpers/service.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaUrl } from './postgres-database.js';

const postgres = await postgresForTests('PostgreSQL health race');
const T0 = 1_700_000_000_000;
const EVENTS_PER_APP = 150;

describe.runIf(postgres.run || postgres.failure !== null)('PostgreSQL: two dispatchers recording for one endpoint', () => {
  let release: () => Promise<void>;
  let stores: PostgresStore[] = [];
  let schema: string;

  beforeAll(async () => {
    if (postgres.failure !== null) throw new Error(postgres.failure);
    release = await holdServerLock('shared');
    schema = freshSchemaName();
    stores = [await PostgresStore.open(schemaUrl(schema), { poolSize: 4 }), await PostgresStore.open(schemaUrl(schema), { poolSize: 4 })];
    const [a] = stores;
    for (const appId of [1, 2]) {
      await a!.createProject({ appId, name: `p${appId}`, createdAt: T0 });
      await a!.putEndpoint(appId, `https://hooks.example/${appId}`, true, 'sealed', T0);
      for (let i = 0; i < EVENTS_PER_APP; i++) {
        const user = normalizeRegistration(registration({ appId, storeRegister: false }) as unknown as RegistrationReport);
        await a!.recordRegistration(user, newEventId(T0), T0);
      }
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    if (schema) await dropSchema(schema);
    await release?.();
  });

  it('keeps consecutiveFailures exact and reports one failing transition per endpoint', async () => {
    const transitions: EndpointTransition[] = [];
    let recorded = 0;
    const dispatcher = async (store: PostgresStore, seed: number) => {
      let k = seed;
      for (;;) {
        k = (k * 48271) % 2147483647;
        const claimed = await store.claimDue({ now: T0 + 10, limit: 1 + (k % 9), leaseMs: 600_000, maxAttempts: 10, perEndpointLimit: 100, inFlight: {}, excludeAppIds: [] });
        if (claimed.length === 0) return;
        const failure = { success: false, statusCode: 500, errorKind: null, durationMs: k % 50, responseBody: null };
        const result = await store.recordAttempts(
          claimed.map((c) => ({ attemptId: c.attemptId, eventId: c.eventId, outcome: failure, next: { status: 'pending' as const, nextAttemptAt: T0 + 3_600_000 } })),
          T0 + 20,
          3,
        );
        recorded += claimed.length;
        transitions.push(...result.transitions);
      }
    };
    await Promise.all([dispatcher(stores[0]!, 11), dispatcher(stores[1]!, 23), dispatcher(stores[0]!, 37), dispatcher(stores[1]!, 41)]);
    expect(recorded).toBe(2 * EVENTS_PER_APP);
    for (const appId of [1, 2]) {
      const health = (await stores[0]!.getEndpointHealth(appId))!.health;
      expect(health.consecutiveFailures).toBe(EVENTS_PER_APP);
      expect(health.failingSince).toBe(T0 + 10);
      expect(transitions.filter((t) => t.appId === appId).map((t) => t.transition)).toEqual(['failing']);
    }
    expect((await stores[1]!.windowCounts(1, T0 - 1, T0 + 100)).attempts).toEqual({ succeeded: 0, failed: EVENTS_PER_APP });
  }, 60_000);
});
