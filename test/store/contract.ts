/**
 * The Store contract: ONE suite, run against every backend (sqlite.contract.test.ts,
 * postgres.contract.test.ts). Each test gets a fresh, empty store from the factory, so tests share
 * no state. Time is a parameter: `now` values are made up, so ten hours of leases take no time.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventIdFloor, newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration, type NormalizedRegistration } from '../../src/domain/registration.js';
import { latencyBucket, percentilesOf } from '../../src/domain/latency-histogram.js';
import { REPLAY_BATCH, type AttemptOutcome, type ClaimOptions, type FinishedAttempt, type Store } from '../../src/store/store.js';

export interface StoreUnderTest {
  store: Store;
  /** Runs raw SQL on the same database, to prove what holds below the interface. */
  exec(sql: string): Promise<void>;
  /** Closes the store and removes its database. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

/** A person as erasure names them; registrations recorded by reg() have no hash (as before migration 0007). */
const person = (id: string) => ({ id, hash: `hash-of-${id}` });

let uuidCounter = 0;
const uuid = () => `5b1c7e0a-0000-4000-8000-${(++uuidCounter).toString(16).padStart(12, '0')}`;

function reg(appId: number, overrides: Record<string, unknown> = {}): NormalizedRegistration {
  return normalizeRegistration({
    clientUuid: uuid(),
    clientIp: '203.0.113.7',
    country: 'TR',
    language: 'en',
    storeRegister: false,
    subscriberId: '905555555555',
    subscriberName: 'John Doe',
    appId,
    flowId: 1,
    siteId: 1,
    registerDate: '2020-03-20 12:35:41',
    registerOtpStatus: false,
    ...overrides,
  });
}

const ok = (statusCode = 200) => ({ success: statusCode === 200, statusCode, errorKind: null, durationMs: 12.4, responseBody: 'ok' });
const timeout: AttemptOutcome = { success: false, statusCode: null, errorKind: 'timeout', durationMs: 400, responseBody: null };

export function storeContract(backend: string, factory: StoreFactory): void {
  describe(`Store contract: ${backend}`, () => {
    let sut: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      sut = await factory();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    const claimOptions = (now: number, overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
      now,
      limit: 10,
      leaseMs: LEASE,
      maxAttempts: 3,
      perEndpointLimit: 100,
      inFlight: {},
      excludeAppIds: [],
      ...overrides,
    });

    /** Opens a manual attempt that the test expects to be allowed. */
    async function manualAttempt(appId: number, eventId: string, now: number) {
      const m = await store.openManualAttempt(appId, eventId, now);
      if (m === null || m === 'in_flight') throw new Error(`no manual attempt: ${String(m)}`);
      return m;
    }

    /** A project with an endpoint (enabled unless told otherwise). */
    async function project(appId: number, enabled: boolean | null = true) {
      expect(await store.createProject({ appId, name: `project ${appId}`, createdAt: T0 })).toBe('created');
      if (enabled !== null) await store.putEndpoint(appId, `https://hooks.example/${appId}`, enabled, `sealed-${appId}`, T0);
    }

    /** A self-service registration, so a pending event at `now`; answers the event id. */
    async function pendingEvent(appId: number, now = T0, overrides: Record<string, unknown> = {}) {
      const result = await store.recordRegistration(reg(appId, overrides), newEventId(now), now);
      if (result.kind !== 'created' || result.answer.eventId === null) throw new Error(`no event: ${JSON.stringify(result)}`);
      return result.answer.eventId;
    }

    const finished = (
      attemptId: number,
      eventId: string,
      outcome: FinishedAttempt['outcome'],
      next: FinishedAttempt['next'],
    ): FinishedAttempt => ({ attemptId, eventId, outcome, next });

    const event = async (appId: number, eventId: string) => (await store.getEvent(appId, eventId))!;

    describe('lifecycle', () => {
      it('is ready after migrating, and migrating again changes nothing', async () => {
        expect(await store.isReady()).toBe(true);
        await store.migrate();
        expect(await store.isReady()).toBe(true);
      });

      it('keeps the first value of a setting', async () => {
        expect(await store.getSetting('k')).toBeNull();
        expect(await store.putSettingIfAbsent('k', 'first')).toBe('first');
        expect(await store.putSettingIfAbsent('k', 'second')).toBe('first');
        expect(await store.getSetting('k')).toBe('first');
      });
    });

    describe('projects, keys and endpoints', () => {
      it('creates a project once and lists projects by appId with a cursor', async () => {
        for (const appId of [3, 1, 2]) await project(appId, null);
        expect(await store.createProject({ appId: 1, name: 'again', createdAt: T0 + 1 })).toBe('exists');
        expect(await store.getProject(1)).toEqual({ appId: 1, name: 'project 1', createdAt: T0 });
        expect(await store.getProject(99)).toBeNull();
        expect((await store.listProjects(2, null)).map((p) => p.appId)).toEqual([1, 2]);
        expect((await store.listProjects(2, 2)).map((p) => p.appId)).toEqual([3]);
      });

      it('stores API keys by hash, lists them without it, and revokes each once', async () => {
        await project(1, null);
        await project(2, null);
        await store.addApiKey({ id: 'key_b', appId: 1, hash: 'h-b', prefix: 'rk_b', createdAt: T0 + 1, revokedAt: null });
        await store.addApiKey({ id: 'key_a', appId: 1, hash: 'h-a', prefix: 'rk_a', createdAt: T0, revokedAt: null });
        const keys = await store.listApiKeys(1);
        expect(keys).toEqual([
          { id: 'key_a', appId: 1, prefix: 'rk_a', createdAt: T0, revokedAt: null },
          { id: 'key_b', appId: 1, prefix: 'rk_b', createdAt: T0 + 1, revokedAt: null },
        ]);
        expect(await store.findApiKeyByHash('h-b')).toEqual({ id: 'key_b', appId: 1, hash: 'h-b', prefix: 'rk_b', createdAt: T0 + 1, revokedAt: null });
        expect(await store.findApiKeyByHash('nope')).toBeNull();
        expect(await store.revokeApiKey(2, 'key_b', T0 + 5)).toBe(false); // another project's key
        expect(await store.revokeApiKey(1, 'key_b', T0 + 5)).toBe(true);
        expect(await store.revokeApiKey(1, 'key_b', T0 + 6)).toBe(false);
        expect((await store.findApiKeyByHash('h-b'))!.revokedAt).toBe(T0 + 5);
      });

      it('creates an endpoint with its secret, changes url and state without touching it, and rotates it', async () => {
        await project(1, null);
        const first = await store.putEndpoint(1, 'https://a.example/hook', true, 'sealed-1', T0);
        expect(first.created).toBe(true);
        expect(first.endpoint).toEqual({
          appId: 1,
          url: 'https://a.example/hook',
          enabled: true,
          secretSealed: 'sealed-1',
          previousSecretSealed: null,
          previousSecretExpiresAt: null,
          headersSealed: null,
          rateLimitPerSecond: null,
          createdAt: T0,
          updatedAt: T0,
        });
        const second = await store.putEndpoint(1, 'https://b.example/hook', false, 'sealed-ignored', T0 + 10);
        expect(second.created).toBe(false);
        expect(second.endpoint).toMatchObject({ url: 'https://b.example/hook', enabled: false, secretSealed: 'sealed-1', createdAt: T0, updatedAt: T0 + 10 });
        const rotated = await store.rotateSecret(1, 'sealed-2', T0 + 86_400_000, T0 + 20);
        expect(rotated).toMatchObject({ secretSealed: 'sealed-2', previousSecretSealed: 'sealed-1', previousSecretExpiresAt: T0 + 86_400_000, updatedAt: T0 + 20 });
        expect(await store.getEndpoint(1)).toEqual(rotated);
        expect(await store.rotateSecret(2, 'x', 0, T0)).toBeNull();
        // Custom headers: set, kept by a change that names none (undefined), cleared by null.
        expect((await store.putEndpoint(1, 'https://b.example/hook', true, 'x', T0 + 30, { headersSealed: 'sealed-headers' })).endpoint.headersSealed).toBe('sealed-headers');
        expect((await store.putEndpoint(1, 'https://c.example/hook', true, 'x', T0 + 31)).endpoint).toMatchObject({ headersSealed: 'sealed-headers', secretSealed: 'sealed-2' });
        expect((await store.putEndpoint(1, 'https://c.example/hook', true, 'x', T0 + 32, { headersSealed: null })).endpoint.headersSealed).toBeNull();
        // The rate limit: set, kept, cleared; a claimed delivery carries it.
        expect((await store.putEndpoint(1, 'https://c.example/hook', true, 'x', T0 + 33, { rateLimitPerSecond: 5 })).endpoint.rateLimitPerSecond).toBe(5);
        expect((await store.putEndpoint(1, 'https://c.example/hook', true, 'x', T0 + 34)).endpoint.rateLimitPerSecond).toBe(5);
        expect((await store.putEndpoint(1, 'https://c.example/hook', true, 'x', T0 + 35, { rateLimitPerSecond: null })).endpoint.rateLimitPerSecond).toBeNull();
        await project(3, null);
        expect((await store.putEndpoint(3, 'https://d.example/hook', true, 'sealed-3', T0, { headersSealed: 'sealed-headers-3' })).endpoint).toMatchObject({ secretSealed: 'sealed-3', headersSealed: 'sealed-headers-3' });
        expect(await store.getEndpoint(2)).toBeNull();
      });
    });

    describe('trigger rules', () => {
      it('a self service registration creates a pending event at once', async () => {
        await project(1);
        const r = reg(1);
        const result = await store.recordRegistration(r, newEventId(T0), T0);
        expect(result).toMatchObject({ kind: 'created', answer: { status: 'pending' } });
        const eventId = (result as { answer: { eventId: string } }).answer.eventId;
        expect(await event(1, eventId)).toMatchObject({
          eventId,
          appId: 1,
          clientUuid: r.clientUuid,
          status: 'pending',
          attemptCount: 0,
          createdAt: T0,
          nextAttemptAt: T0,
          deliveredAt: null,
          body: r.body,
          attempts: [],
        });
      });

      it('an event created while the project has no enabled endpoint is skipped, not queued', async () => {
        await project(1, false);
        await project(2, null);
        for (const appId of [1, 2]) {
          const result = await store.recordRegistration(reg(appId), newEventId(T0), T0);
          expect(result).toMatchObject({ kind: 'created', answer: { status: 'skipped' } });
          const eventId = (result as { answer: { eventId: string } }).answer.eventId;
          expect(await event(appId, eventId)).toMatchObject({ status: 'skipped', nextAttemptAt: null });
        }
        await store.putEndpoint(1, 'https://a.example', true, 'x', T0 + 1);
        expect(await store.claimDue(claimOptions(T0 + 2))).toEqual([]);
      });

      it('a store registration fires at its first purchase only', async () => {
        await project(1);
        const r = reg(1, { storeRegister: true });
        expect(await store.recordRegistration(r, newEventId(T0), T0)).toEqual({
          kind: 'created',
          answer: { eventId: null, status: 'awaiting_first_purchase' },
        });
        expect((await store.listEvents(1, { limit: 10 })).data).toEqual([]);
        const eventId = newEventId(T0 + 1);
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: T0 }, eventId, T0 + 1)).toEqual({
          kind: 'created',
          answer: { triggered: true, eventId },
        });
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-2', purchaseDate: null }, newEventId(T0 + 2), T0 + 2)).toEqual({
          kind: 'created',
          answer: { triggered: false, reason: 'not_first_purchase' },
        });
        const events = (await store.listEvents(1, { limit: 10 })).data;
        expect(events.map((e) => e.eventId)).toEqual([eventId]);
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', body: r.body, nextAttemptAt: T0 + 1 });
      });

      it('a purchase reported before its registration fires when the registration arrives', async () => {
        await project(1);
        const r = reg(1, { storeRegister: true });
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: null }, newEventId(T0), T0)).toEqual({
          kind: 'created',
          answer: { triggered: false, reason: 'awaiting_registration' },
        });
        const eventId = newEventId(T0 + 1);
        expect(await store.recordRegistration(r, eventId, T0 + 1)).toEqual({ kind: 'created', answer: { eventId, status: 'pending' } });
        // A later purchase of that user is not the first.
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-2', purchaseDate: null }, newEventId(T0 + 2), T0 + 2)).toMatchObject({
          answer: { triggered: false, reason: 'not_first_purchase' },
        });
      });

      it("a self service user's purchase fires nothing", async () => {
        await project(1);
        const r = reg(1);
        await store.recordRegistration(r, newEventId(T0), T0);
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: null }, newEventId(T0 + 1), T0 + 1)).toEqual({
          kind: 'created',
          answer: { triggered: false, reason: 'self_service_user' },
        });
        expect((await store.listEvents(1, { limit: 10 })).data).toHaveLength(1);
      });

      it('a repeated report answers the original answer, even after the state moved on', async () => {
        await project(1);
        const r = reg(1, { storeRegister: true });
        const first = await store.recordRegistration(r, newEventId(T0), T0);
        const purchase = { appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: null };
        const firstPurchase = await store.recordPurchase(purchase, newEventId(T0 + 1), T0 + 1);
        expect(await store.recordRegistration(r, newEventId(T0 + 2), T0 + 2)).toEqual({ kind: 'repeat', answer: (first as { answer: unknown }).answer });
        expect(await store.recordPurchase(purchase, newEventId(T0 + 3), T0 + 3)).toEqual({ kind: 'repeat', answer: (firstPurchase as { answer: unknown }).answer });
        expect((await store.listEvents(1, { limit: 10 })).data).toHaveLength(1);
      });

      it('the same user with different data, or a transactionId of another user, is a conflict that changes nothing', async () => {
        await project(1);
        const r = reg(1);
        const first = await store.recordRegistration(r, newEventId(T0), T0);
        const changed = { ...r, body: r.body.replace('John Doe', 'Jane Doe') };
        expect(await store.recordRegistration(changed, newEventId(T0 + 1), T0 + 1)).toEqual({ kind: 'conflict' });
        expect(await store.recordRegistration(r, newEventId(T0 + 2), T0 + 2)).toEqual({ kind: 'repeat', answer: (first as { answer: unknown }).answer });

        const s = reg(1, { storeRegister: true });
        await store.recordRegistration(s, newEventId(T0), T0);
        await store.recordPurchase({ appId: 1, clientUuid: s.clientUuid, transactionId: 'tx-1', purchaseDate: null }, newEventId(T0), T0);
        expect(await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: null }, newEventId(T0), T0)).toEqual({ kind: 'conflict' });
        const events = (await store.listEvents(1, { limit: 10 })).data;
        expect(events).toHaveLength(2);
        expect(events.find((e) => e.clientUuid === r.clientUuid)!.eventId).toBe((first as { answer: { eventId: string } }).answer.eventId);
      });

      it('reports for an unknown app are refused and store nothing', async () => {
        const r = reg(7);
        expect(await store.recordRegistration(r, newEventId(T0), T0)).toEqual({ kind: 'unknown_app' });
        expect(await store.recordPurchase({ appId: 7, clientUuid: r.clientUuid, transactionId: 'tx', purchaseDate: null }, newEventId(T0), T0)).toEqual({ kind: 'unknown_app' });
        await project(7);
        // Nothing was kept from the refused reports: the purchase is not "already reported".
        expect(await store.recordRegistration(reg(7, { clientUuid: r.clientUuid, storeRegister: true }), newEventId(T0), T0)).toMatchObject({
          answer: { status: 'awaiting_first_purchase' },
        });
      });

      it('concurrent identical registrations create one event and all answer it', async () => {
        await project(1);
        const r = reg(1);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordRegistration(r, newEventId(T0 + i), T0 + i)));
        expect(results.filter((x) => x.kind === 'created')).toHaveLength(1);
        expect(results.filter((x) => x.kind === 'repeat')).toHaveLength(19);
        const ids = new Set(results.map((x) => (x as { answer: { eventId: string } }).answer.eventId));
        expect(ids.size).toBe(1);
        expect((await store.listEvents(1, { limit: 50 })).data).toHaveLength(1);
      });

      it('concurrent first purchases of one store user create exactly one event', async () => {
        await project(1);
        const r = reg(1, { storeRegister: true });
        await store.recordRegistration(r, newEventId(T0), T0);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: `tx-${i}`, purchaseDate: null }, newEventId(T0 + i), T0 + i),
          ),
        );
        expect(results.every((x) => x.kind === 'created')).toBe(true);
        expect(results.filter((x) => (x as { answer: { triggered: boolean } }).answer.triggered)).toHaveLength(1);
        expect((await store.listEvents(1, { limit: 50 })).data).toHaveLength(1);
      });

      it('one transactionId reported for two users at once: one wins, the other is a conflict and leaves no event', async () => {
        await project(1);
        for (let i = 0; i < 8; i++) {
          const a = reg(1, { storeRegister: true });
          const b = reg(1, { storeRegister: true });
          await store.recordRegistration(a, newEventId(T0), T0);
          await store.recordRegistration(b, newEventId(T0), T0);
          const results = await Promise.all(
            [a, b].map((u) => store.recordPurchase({ appId: 1, clientUuid: u.clientUuid, transactionId: `shared-${i}`, purchaseDate: null }, newEventId(T0 + i), T0 + i)),
          );
          expect(results.map((r) => r.kind).sort()).toEqual(['conflict', 'created']);
          const winner = results.findIndex((r) => r.kind === 'created');
          const users = (await store.listEvents(1, { limit: 100 })).data.map((e) => e.clientUuid);
          expect(users).toContain([a, b][winner]!.clientUuid);
          expect(users).not.toContain([a, b][1 - winner]!.clientUuid);
        }
      });

      it('a registration and its first purchase racing each other still fire exactly once', async () => {
        await project(1);
        const users = Array.from({ length: 25 }, () => reg(1, { storeRegister: true }));
        await Promise.all(
          users.flatMap((r, i) => [
            store.recordRegistration(r, newEventId(T0 + i), T0 + i),
            store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: `tx-${i}`, purchaseDate: null }, newEventId(T0 + i), T0 + i),
          ]),
        );
        const events = (await store.listEvents(1, { limit: 100 })).data;
        expect(events.map((e) => e.clientUuid).sort()).toEqual(users.map((u) => u.clientUuid).sort());
      });

      it('the database itself refuses a second event for one user', async () => {
        await project(1);
        const r = reg(1);
        await pendingEvent(1, T0, { clientUuid: r.clientUuid });
        await expect(
          sut.exec(`INSERT INTO events (id, app_id, client_uuid, body, status, created_at) VALUES ('evt_dup', 1, '${r.clientUuid}', NULL, 'pending', 0)`),
        ).rejects.toThrow();
      });
    });

    describe('claiming, leases and fencing', () => {
      it('leases due deliveries oldest first and opens an attempt for each', async () => {
        await project(1);
        const later = await pendingEvent(1, T0 + 5);
        const earlier = await pendingEvent(1, T0);
        const claimed = await store.claimDue(claimOptions(T0 + 10));
        expect(claimed.map((c) => c.eventId)).toEqual([earlier, later]);
        const e = (await event(1, earlier))!;
        expect(claimed[0]).toEqual({
          eventId: earlier,
          appId: 1,
          attemptId: expect.any(Number),
          attemptNumber: 1,
          scheduledAttempts: 1,
          url: 'https://hooks.example/1',
          body: e.body,
          secretSealed: 'sealed-1',
          previousSecretSealed: null,
          previousSecretExpiresAt: null,
          headersSealed: null,
          rateLimitPerSecond: null,
          createdAt: T0,
          reclaimed: false,
          sendAt: null,
        });
        expect(claimed[0]!.attemptId).not.toBe(claimed[1]!.attemptId);
        expect(e).toMatchObject({ status: 'pending', attemptCount: 1, nextAttemptAt: null });
        expect(e.attempts).toEqual([{ number: 1, trigger: 'scheduled', startedAt: T0 + 10, outcome: null }]);
      });

      it('a claimed delivery is not claimed again before its lease ends, and is claimable again after', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const [first] = await store.claimDue(claimOptions(T0));
        expect(first!.eventId).toBe(eventId);
        expect(await store.claimDue(claimOptions(T0 + LEASE - 1))).toEqual([]);
        const [second] = await store.claimDue(claimOptions(T0 + LEASE));
        expect(first!.reclaimed).toBe(false);
        expect(second).toMatchObject({ eventId, attemptNumber: 2, scheduledAttempts: 2, reclaimed: true });
        expect(second!.attemptId).not.toBe(first!.attemptId);
      });

      it("a stale attempt's result is recorded but does not move the event", async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const [stale] = await store.claimDue(claimOptions(T0));
        const [current] = await store.claimDue(claimOptions(T0 + LEASE));
        await store.recordAttempts([finished(stale!.attemptId, eventId, ok(), { status: 'delivered' })], T0 + LEASE + 1);
        let e = await event(1, eventId);
        expect(e).toMatchObject({ status: 'pending', deliveredAt: null });
        expect(e.attempts[0]!.outcome).toMatchObject({ success: true, statusCode: 200 });
        // The lease holder still decides.
        await store.recordAttempts([finished(current!.attemptId, eventId, timeout, { status: 'pending', nextAttemptAt: T0 + 99_000 })], T0 + LEASE + 2);
        e = await event(1, eventId);
        expect(e).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 99_000 });
        // A stale result arriving after the holder settled changes nothing either.
        await store.recordAttempts([finished(stale!.attemptId, eventId, ok(), { status: 'delivered' })], T0 + LEASE + 3);
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 99_000 });
      });

      it('a lease that runs out on the last attempt marks the event failed instead of attempting again', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const o = { maxAttempts: 2 };
        expect(await store.claimDue(claimOptions(T0, o))).toHaveLength(1);
        expect(await store.claimDue(claimOptions(T0 + LEASE, o))).toHaveLength(1);
        expect(await store.claimDue(claimOptions(T0 + 2 * LEASE, o))).toEqual([]);
        expect(await event(1, eventId)).toMatchObject({ status: 'failed', attemptCount: 2, nextAttemptAt: null });
        expect(await store.claimDue(claimOptions(T0 + 10 * LEASE, o))).toEqual([]);
        expect(await store.nextDueAt()).toBeNull();
      });

      it("a disabled endpoint's deliveries wait without using attempts, and resume when enabled", async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        await store.putEndpoint(1, 'https://hooks.example/1', false, 'x', T0 + 1);
        expect(await store.claimDue(claimOptions(T0 + 5))).toEqual([]);
        expect(await store.nextDueAt()).toBeNull();
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', attemptCount: 0 });
        await store.putEndpoint(1, 'https://changed.example/1', true, 'x', T0 + 6);
        expect(await store.nextDueAt()).toBe(T0);
        const [claimed] = await store.claimDue(claimOptions(T0 + 7));
        // The changed URL applies to pending deliveries.
        expect(claimed).toMatchObject({ eventId, attemptNumber: 1, scheduledAttempts: 1, url: 'https://changed.example/1' });
      });

      it('takes at most perEndpointLimit deliveries of one project per claim', async () => {
        await project(1);
        await project(2);
        for (let i = 0; i < 5; i++) {
          await pendingEvent(1, T0 + i);
          await pendingEvent(2, T0 + 10 + i);
        }
        const claimed = await store.claimDue(claimOptions(T0 + 100, { perEndpointLimit: 2 }));
        expect(claimed.map((c) => c.appId)).toEqual([1, 1, 2, 2]);
      });

      it('counts the attempts already in flight against the per-endpoint limit', async () => {
        await project(1);
        await project(2);
        for (let i = 0; i < 5; i++) {
          await pendingEvent(1, T0 + i);
          await pendingEvent(2, T0 + 10 + i);
        }
        const claimed = await store.claimDue(claimOptions(T0 + 100, { perEndpointLimit: 4, inFlight: { 1: 3, 2: 1 } }));
        expect(claimed.map((c) => c.appId)).toEqual([1, 2, 2, 2]);
      });

      it("takes a project's own window instead of perEndpointLimit when given one, counting its attempts in flight", async () => {
        await project(1);
        await project(2);
        await project(3);
        for (let i = 0; i < 5; i++) {
          await pendingEvent(1, T0 + i);
          await pendingEvent(2, T0 + 10 + i);
          await pendingEvent(3, T0 + 20 + i);
        }
        const claimed = await store.claimDue(claimOptions(T0 + 100, { perEndpointLimit: 2, windows: { 1: 1, 3: 4 }, inFlight: { 3: 1 } }));
        expect(claimed.map((c) => c.appId)).toEqual([1, 2, 2, 3, 3, 3]);
      });

      it('skips the projects it is told to exclude', async () => {
        await project(1);
        await project(2);
        await pendingEvent(1, T0);
        await pendingEvent(2, T0 + 1);
        const claimed = await store.claimDue(claimOptions(T0 + 5, { excludeAppIds: [1] }));
        expect(claimed.map((c) => c.appId)).toEqual([2]);
        expect((await store.claimDue(claimOptions(T0 + 5))).map((c) => c.appId)).toEqual([1]);
      });

      it('claims no more than the limit, and nothing not yet due', async () => {
        await project(1);
        for (let i = 0; i < 4; i++) await pendingEvent(1, T0 + i);
        expect(await store.claimDue(claimOptions(T0 - 1))).toEqual([]);
        expect(await store.claimDue(claimOptions(T0 + 10, { limit: 3 }))).toHaveLength(3);
        expect(await store.claimDue(claimOptions(T0 + 10, { limit: 3 }))).toHaveLength(1);
        expect(await store.claimDue(claimOptions(T0 + 10, { limit: 0 }))).toEqual([]);
      });

      it('concurrent claimers never lease one delivery twice', async () => {
        await project(1);
        await project(2);
        const all = new Set<string>();
        for (let i = 0; i < 120; i++) all.add(await pendingEvent(1 + (i % 2), T0 + i));
        const seen: string[] = [];
        for (let round = 0; round < 20 && seen.length < all.size; round++) {
          const batches = await Promise.all(Array.from({ length: 6 }, () => store.claimDue(claimOptions(T0 + 1_000, { limit: 15 }))));
          for (const batch of batches) seen.push(...batch.map((c) => c.eventId));
        }
        expect(seen).toHaveLength(all.size);
        expect(new Set(seen)).toEqual(all);
      });

      describe('rateLimitPerSecond: one pace per endpoint, shared by every claimer', () => {
        /** A project capped at `perSecond` with `count` deliveries due at T0. */
        async function cappedBacklog(appId: number, perSecond: number, count: number) {
          expect(await store.createProject({ appId, name: `project ${appId}`, createdAt: T0 })).toBe('created');
          await store.putEndpoint(appId, `https://hooks.example/${appId}`, true, 'x', T0, { rateLimitPerSecond: perSecond });
          for (let i = 0; i < count; i++) await pendingEvent(appId, T0);
        }
        const slots = (claimed: readonly { sendAt: number | null }[]) => claimed.map((c) => c.sendAt);

        it('gives only the slots within a second of now, 1/rate apart; the next claim goes on from there', async () => {
          await cappedBacklog(1, 4, 12);
          await project(2);
          await pendingEvent(2, T0);
          const first = await store.claimDue(claimOptions(T0 + 1));
          expect(first.filter((c) => c.appId === 1).map((c) => c.sendAt)).toEqual([T0 + 1, T0 + 251, T0 + 501, T0 + 751]);
          // An uncapped project's delivery is sent at once.
          expect(first.filter((c) => c.appId === 2).map((c) => c.sendAt)).toEqual([null]);
          // 100 ms later one more slot has come inside the horizon, and only that one.
          expect(slots(await store.claimDue(claimOptions(T0 + 101)))).toEqual([T0 + 1001]);
          expect(await store.claimDue(claimOptions(T0 + 101))).toEqual([]);
          // After a quiet spell no burst is saved up: slots start at now again.
          expect(slots(await store.claimDue(claimOptions(T0 + 10_000)))).toEqual([T0 + 10_000, T0 + 10_250, T0 + 10_500, T0 + 10_750]);
        });

        it('a delivery whose attempts are used up takes no slot', async () => {
          await cappedBacklog(1, 2, 1);
          expect(await store.claimDue(claimOptions(T0, { maxAttempts: 1 }))).toHaveLength(1);
          await pendingEvent(1, T0);
          // The first lease ran out on its last attempt: it is failed, and the other delivery gets the next slot.
          expect(slots(await store.claimDue(claimOptions(T0 + LEASE, { maxAttempts: 1 })))).toEqual([T0 + LEASE]);
        });

        it('concurrent claimers never get one slot twice', async () => {
          await cappedBacklog(1, 50, 200);
          const seen: number[] = [];
          for (let round = 0; round < 6; round++) {
            const batches = await Promise.all(Array.from({ length: 6 }, () => store.claimDue(claimOptions(T0 + 1, { limit: 20 }))));
            for (const batch of batches) seen.push(...batch.map((c) => c.sendAt!));
          }
          seen.sort((a, b) => a - b);
          expect(seen.length).toBeGreaterThanOrEqual(50);
          for (let i = 1; i < seen.length; i++) expect(seen[i]! - seen[i - 1]!).toBeCloseTo(20, 6);
          expect(seen[0]).toBe(T0 + 1);
        });
      });

      it('answers when the next delivery of an enabled endpoint is due', async () => {
        await project(1);
        expect(await store.nextDueAt()).toBeNull();
        await pendingEvent(1, T0 + 50);
        await pendingEvent(1, T0 + 20);
        expect(await store.nextDueAt()).toBe(T0 + 20);
      });

      it('announces work itself once a committed write may have made some due', async () => {
        // "May be due": PostgreSQL also announces after (re)connecting its listener, so only
        // that each due-making write announces is asserted, not silence in between.
        let announced = 0;
        const stop = store.onWorkAvailable(() => announced++);
        try {
          await project(1, false);
          let before = announced;
          await store.putEndpoint(1, 'https://hooks.example/1', true, 'x', T0);
          expect(announced).toBeGreaterThan(before);
          before = announced;
          await pendingEvent(1, T0 + 1);
          expect(announced).toBeGreaterThan(before);
          const failed = await pendingEvent(1, T0 + 2);
          for (const c of await store.claimDue(claimOptions(T0 + 3, { maxAttempts: 1 }))) {
            await store.recordAttempts([finished(c.attemptId, c.eventId, ok(500), { status: 'failed' })], T0 + 4);
          }
          expect((await event(1, failed)).status).toBe('failed');
          before = announced;
          expect(await store.recoverFailed(1, T0, T0 + 5)).toBeGreaterThan(0);
          expect(announced).toBeGreaterThan(before);
        } finally {
          stop();
        }
      });

      it('the next due time follows leases, settled attempts, disabled endpoints and erasure', async () => {
        await project(1);
        await project(2);
        const a = await pendingEvent(1, T0 + 10, { subscriberId: 'erase-me' });
        const b = await pendingEvent(2, T0 + 30);
        expect(await store.nextDueAt()).toBe(T0 + 10);
        // Leased: due again only when its lease ends.
        const [c] = await store.claimDue(claimOptions(T0 + 20, { limit: 1 }));
        expect(c!.eventId).toBe(a);
        expect(await store.nextDueAt()).toBe(T0 + 30);
        // A failed attempt schedules the retry.
        await store.recordAttempts([finished(c!.attemptId, a, ok(500), { status: 'pending', nextAttemptAt: T0 + 25 })], T0 + 21);
        expect(await store.nextDueAt()).toBe(T0 + 25);
        // A disabled endpoint's deliveries are not due; enabling it makes them due again.
        await store.putEndpoint(1, 'https://hooks.example/1', false, 'x', T0 + 22);
        expect(await store.nextDueAt()).toBe(T0 + 30);
        expect((await store.claimDue(claimOptions(T0 + 40))).map((d) => d.eventId)).toEqual([b]);
        await store.putEndpoint(1, 'https://hooks.example/1', true, 'x', T0 + 41);
        expect(await store.nextDueAt()).toBe(T0 + 25);
        // Erased: nothing left to deliver.
        await store.eraseSubscriber(1, person('erase-me'), T0 + 42);
        expect((await store.nextDueAt()) ?? Number.MAX_SAFE_INTEGER).toBeGreaterThan(T0 + 42);
        expect(await store.claimDue(claimOptions(T0 + 43))).toEqual([]);
      });

      it('serves projects in order of their oldest due work, each up to its room, until the batch is full', async () => {
        for (const appId of [1, 2, 3, 4]) await project(appId);
        // Project 3's work is the oldest, then 1, then 4, then 2.
        const due: Record<number, number> = { 3: T0, 1: T0 + 1, 4: T0 + 2, 2: T0 + 3 };
        const ids: Record<number, string[]> = {};
        for (const appId of [1, 2, 3, 4]) {
          ids[appId] = [];
          for (let i = 0; i < 3; i++) ids[appId]!.push(await pendingEvent(appId, due[appId]! + i * 10));
        }
        const claimed = await store.claimDue(claimOptions(T0 + 100, { limit: 5, perEndpointLimit: 2 }));
        // Two of 3, two of 1, then one of 4 fills the batch; 2 waits.
        expect(claimed.map((c) => c.appId).sort()).toEqual([1, 1, 3, 3, 4]);
        expect(claimed.filter((c) => c.appId === 3).map((c) => c.eventId).sort()).toEqual(ids[3]!.slice(0, 2).sort());
      });
    });

    describe('recording attempts', () => {
      it('a success delivers the event and keeps the outcome', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const [c] = await store.claimDue(claimOptions(T0));
        await store.recordAttempts([finished(c!.attemptId, eventId, ok(), { status: 'delivered' })], T0 + 50);
        const e = await event(1, eventId);
        expect(e).toMatchObject({ status: 'delivered', deliveredAt: T0 + 50, nextAttemptAt: null, attemptCount: 1 });
        expect(e.attempts).toEqual([
          { number: 1, trigger: 'scheduled', startedAt: T0, outcome: { success: true, statusCode: 200, errorKind: null, durationMs: 12, responseBody: 'ok' } },
        ]);
        expect(await store.claimDue(claimOptions(T0 + 10 * LEASE))).toEqual([]);
      });

      it('a failure schedules the next attempt, and the last failure fails the event', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const o = { maxAttempts: 2 };
        const [c1] = await store.claimDue(claimOptions(T0, o));
        await store.recordAttempts([finished(c1!.attemptId, eventId, ok(503), { status: 'pending', nextAttemptAt: T0 + 3_600_000 })], T0 + 1);
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 3_600_000 });
        expect(await store.claimDue(claimOptions(T0 + 3_599_999, o))).toEqual([]);
        const [c2] = await store.claimDue(claimOptions(T0 + 3_600_000, o));
        expect(c2).toMatchObject({ attemptNumber: 2, scheduledAttempts: 2 });
        await store.recordAttempts([finished(c2!.attemptId, eventId, timeout, { status: 'failed' })], T0 + 3_600_001);
        const e = await event(1, eventId);
        expect(e).toMatchObject({ status: 'failed', nextAttemptAt: null, deliveredAt: null, attemptCount: 2 });
        expect(e.attempts.map((a) => a.outcome)).toEqual([
          { success: false, statusCode: 503, errorKind: null, durationMs: 12, responseBody: 'ok' },
          { success: false, statusCode: null, errorKind: 'timeout', durationMs: 400, responseBody: null },
        ]);
      });

      it('records a batch naming one event twice in order', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const [c] = await store.claimDue(claimOptions(T0));
        // (After the lease ran out without a result, a manual attempt may be opened.)
        const manual = await manualAttempt(1, eventId, T0 + LEASE + 1);
        await store.recordAttempts(
          [
            finished(c!.attemptId, eventId, ok(500), { status: 'pending', nextAttemptAt: T0 + 1_000 }),
            finished(manual.attemptId, eventId, ok(), null),
          ],
          T0 + LEASE + 2,
        );
        expect(await event(1, eventId)).toMatchObject({ status: 'delivered', deliveredAt: T0 + LEASE + 2 });
      });
    });

    describe('manual attempts', () => {
      it('are numbered after the others and do not use scheduled attempts', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        const o = { maxAttempts: 2 };
        const [c] = await store.claimDue(claimOptions(T0, o));
        await store.recordAttempts([finished(c!.attemptId, eventId, ok(500), { status: 'pending', nextAttemptAt: T0 + 100 })], T0 + 1);
        const manual = await store.openManualAttempt(1, eventId, T0 + 2);
        expect(manual).toEqual({
          attemptId: expect.any(Number),
          attemptNumber: 2,
          url: 'https://hooks.example/1',
          body: (await event(1, eventId)).body,
          secretSealed: 'sealed-1',
          previousSecretSealed: null,
          previousSecretExpiresAt: null,
          headersSealed: null,
        });
        await store.recordAttempts([finished((manual as { attemptId: number }).attemptId, eventId, ok(500), null)], T0 + 3);
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', attemptCount: 2, nextAttemptAt: T0 + 100 });
        // The scheduled schedule still has its second attempt.
        expect(await store.claimDue(claimOptions(T0 + 100, o))).toMatchObject([{ attemptNumber: 3, scheduledAttempts: 2 }]);
        const attempts = (await event(1, eventId)).attempts;
        expect(attempts.map((a) => [a.number, a.trigger])).toEqual([
          [1, 'scheduled'],
          [2, 'manual'],
          [3, 'scheduled'],
        ]);
      });

      it('a manual success delivers a failed or skipped event, and voids a lease that ran out', async () => {
        await project(1);
        const failedId = await pendingEvent(1);
        const [c] = await store.claimDue(claimOptions(T0, { maxAttempts: 1 }));
        await store.recordAttempts([finished(c!.attemptId, failedId, ok(500), { status: 'failed' })], T0 + 1);
        const m1 = await manualAttempt(1, failedId, T0 + 2);
        await store.recordAttempts([finished(m1.attemptId, failedId, ok(), null)], T0 + 3);
        expect(await event(1, failedId)).toMatchObject({ status: 'delivered', deliveredAt: T0 + 3 });

        const leasedId = await pendingEvent(1, T0 + 10);
        const [leased] = await store.claimDue(claimOptions(T0 + 10));
        // While a scheduled attempt holds its lease, no second, concurrent delivery of the webhook-id.
        expect(await store.openManualAttempt(1, leasedId, T0 + 11)).toBe('in_flight');
        const late = T0 + 10 + LEASE + 1;
        const m2 = await manualAttempt(1, leasedId, late);
        await store.recordAttempts([finished(m2.attemptId, leasedId, ok(), null)], late + 1);
        await store.recordAttempts([finished(leased!.attemptId, leasedId, ok(500), { status: 'pending', nextAttemptAt: late + 99 })], late + 2);
        expect(await event(1, leasedId)).toMatchObject({ status: 'delivered', deliveredAt: late + 1 });

        await store.putEndpoint(1, 'https://hooks.example/1', false, 'x', T0 + 20);
        const skippedId = await pendingEvent(1, T0 + 21);
        expect(await event(1, skippedId)).toMatchObject({ status: 'skipped' });
        const m3 = await manualAttempt(1, skippedId, T0 + 22);
        await store.recordAttempts([finished(m3.attemptId, skippedId, ok(), null)], T0 + 23);
        expect(await event(1, skippedId)).toMatchObject({ status: 'delivered' });
      });

      it('are not opened for an unknown event, another project, no endpoint, or an erased payload', async () => {
        await project(1);
        await project(2, null);
        const eventId = await pendingEvent(1);
        const noEndpoint = await pendingEvent(2);
        expect(await store.openManualAttempt(1, 'evt_nope', T0)).toBeNull();
        expect(await store.openManualAttempt(2, eventId, T0)).toBeNull();
        expect(await store.openManualAttempt(2, noEndpoint, T0)).toBeNull();
        await store.eraseSubscriber(1, person('905555555555'), T0);
        expect(await store.openManualAttempt(1, eventId, T0)).toBeNull();
        expect(await event(1, eventId)).toMatchObject({ attemptCount: 0 });
      });
    });

    describe('recovering failed events', () => {
      it('puts failed events created since a time back on a fresh schedule', async () => {
        await project(1);
        await project(2);
        const o = { maxAttempts: 1 };
        const old = await pendingEvent(1, T0);
        const recent = await pendingEvent(1, T0 + 1_000);
        const otherApp = await pendingEvent(2, T0 + 1_000);
        for (const c of await store.claimDue(claimOptions(T0 + 2_000, o))) {
          await store.recordAttempts([finished(c.attemptId, c.eventId, ok(500), { status: 'failed' })], T0 + 2_001);
        }
        expect(await store.recoverFailed(1, T0 + 1_000, T0 + 5_000)).toBe(1);
        expect(await event(1, recent)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 5_000 });
        expect(await event(1, old)).toMatchObject({ status: 'failed' });
        expect(await event(2, otherApp)).toMatchObject({ status: 'failed' });
        // A fresh schedule: its attempts count from zero again.
        expect(await store.claimDue(claimOptions(T0 + 5_000, o))).toMatchObject([{ eventId: recent, attemptNumber: 2, scheduledAttempts: 1 }]);
        expect(await store.recoverFailed(1, T0 + 1_000, T0 + 6_000)).toBe(0);
      });

      it('leaves a failed event whose payload retention dropped, and recovers the others', async () => {
        await project(1);
        const o = { maxAttempts: 1 };
        const expired = await pendingEvent(1, T0);
        for (const c of await store.claimDue(claimOptions(T0 + 10, o))) {
          await store.recordAttempts([finished(c.attemptId, c.eventId, ok(500), { status: 'failed' })], T0 + 20);
        }
        expect(await store.sweepRetention({ finishedBefore: T0 + 50, awaitingBefore: T0, limit: 10 })).toMatchObject({ payloads: 1 });
        const kept = await pendingEvent(1, T0 + 100);
        for (const c of await store.claimDue(claimOptions(T0 + 110, o))) {
          await store.recordAttempts([finished(c.attemptId, c.eventId, ok(500), { status: 'failed' })], T0 + 120);
        }
        // Nothing can be sent without its payload: that one stays failed, and the other is not held back by it.
        expect(await store.recoverFailed(1, T0, T0 + 200)).toBe(1);
        expect(await event(1, expired)).toMatchObject({ status: 'failed', body: null });
        expect(await event(1, kept)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 200 });
      });
    });

    describe('the delivery log', () => {
      it('lists events newest first, paginated by cursor, filtered by status', async () => {
        await project(1);
        await project(2);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await pendingEvent(1, T0 + i * 1_000));
        await pendingEvent(2, T0);
        const [c] = await store.claimDue(claimOptions(T0 + 10_000, { limit: 1 }));
        await store.recordAttempts([finished(c!.attemptId, c!.eventId, ok(), { status: 'delivered' })], T0 + 10_001);

        const p1 = await store.listEvents(1, { limit: 2 });
        expect(p1.data.map((e) => e.eventId)).toEqual([ids[4], ids[3]]);
        expect(p1.nextCursor).toBe(ids[3]);
        const p2 = await store.listEvents(1, { limit: 2, cursor: p1.nextCursor! });
        expect(p2.data.map((e) => e.eventId)).toEqual([ids[2], ids[1]]);
        const p3 = await store.listEvents(1, { limit: 2, cursor: p2.nextCursor! });
        expect(p3.data.map((e) => e.eventId)).toEqual([ids[0]]);
        expect(p3.nextCursor).toBeNull();

        expect((await store.listEvents(1, { limit: 10, status: 'delivered' })).data.map((e) => e.eventId)).toEqual([ids[0]]);
        expect((await store.listEvents(1, { limit: 10, status: 'pending' })).data).toHaveLength(4);
        expect((await store.listEvents(1, { limit: 10, status: 'failed' })).data).toEqual([]);
        expect(p1.data[0]).toEqual({
          eventId: ids[4],
          appId: 1,
          clientUuid: expect.any(String),
          status: 'pending',
          attemptCount: 0,
          createdAt: T0 + 4_000,
          nextAttemptAt: T0 + 4_000,
          deliveredAt: null,
          // What the dashboard's log shows, without reading each event.
          subscriber: { id: '905555555555', name: 'John Doe' },
          lastAttempt: null,
        });
        // The newest attempt rides along with the row.
        expect((await store.listEvents(1, { limit: 10, status: 'delivered' })).data[0]!.lastAttempt).toEqual({
          number: 1,
          trigger: 'scheduled',
          startedAt: T0 + 10_000,
          outcome: { success: true, statusCode: 200, errorKind: null, durationMs: expect.any(Number), responseBody: null },
        });
      });

      it('filters by eventId, clientUuid and creation time (inclusive), combined with status and the cursor', async () => {
        await project(1);
        await project(2);
        const ids: string[] = [];
        const uuids: string[] = [];
        for (let i = 0; i < 6; i++) {
          const clientUuid = `00000000-0000-4000-8000-00000000000${i}`;
          uuids.push(clientUuid);
          ids.push(await pendingEvent(1, T0 + i * 60_000, { clientUuid }));
        }
        await pendingEvent(2, T0 + 60_000);
        const list = async (filter: Record<string, unknown>, limit = 10) => (await store.listEvents(1, { limit, ...filter })).data.map((e) => e.eventId);
        expect(await list({ eventId: ids[2] })).toEqual([ids[2]]);
        expect(await list({ eventId: ids[2], status: 'delivered' })).toEqual([]);
        expect(await list({ clientUuid: uuids[4] })).toEqual([ids[4]]);
        expect(await list({ since: T0 + 3 * 60_000 })).toEqual([ids[5], ids[4], ids[3]]);
        expect(await list({ until: T0 + 60_000 })).toEqual([ids[1], ids[0]]);
        expect(await list({ since: T0 + 60_000 + 1, until: T0 + 4 * 60_000 - 1 })).toEqual([ids[3], ids[2]]);
        expect(await list({ since: T0 + 60_000, until: T0 + 4 * 60_000, status: 'pending' })).toEqual([ids[4], ids[3], ids[2], ids[1]]);
        const first = await store.listEvents(1, { limit: 2, since: T0 + 60_000 });
        expect(first.data.map((e) => e.eventId)).toEqual([ids[5], ids[4]]);
        expect(await list({ since: T0 + 60_000, cursor: first.nextCursor }, 10)).toEqual([ids[3], ids[2], ids[1]]);
      });

      it('shows no next attempt time while a delivery is leased', async () => {
        await project(1);
        const eventId = await pendingEvent(1);
        await store.claimDue(claimOptions(T0));
        expect((await store.listEvents(1, { limit: 10 })).data[0]).toMatchObject({ eventId, nextAttemptAt: null });
      });

      it('lists the events created after an id, oldest first, by page, with their exact bodies (the development stream)', async () => {
        await project(1);
        await project(2);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await pendingEvent(1, T0 + i * 1_000));
        await pendingEvent(2, T0 + 500);
        // A skipped event (no enabled endpoint) is an event of the project too.
        await store.putEndpoint(1, 'https://hooks.example/1', false, 'x', T0);
        const skipped = await pendingEvent(1, T0 + 9_000);
        expect((await event(1, skipped)).status).toBe('skipped');
        ids.push(skipped);

        const all = await store.listEventsAfter(1, eventIdFloor(T0), 100);
        expect(all.map((e) => e.eventId)).toEqual(ids);
        expect(all[0]!.body).toBe((await event(1, ids[0]!)).body);
        expect(JSON.parse(all[0]!.body)).toMatchObject({ appId: 1, subscriberId: '905555555555' });
        // After an id (exclusive), at most the page.
        expect((await store.listEventsAfter(1, ids[1]!, 2)).map((e) => e.eventId)).toEqual([ids[2], ids[3]]);
        // "Created since": the time part alone bounds the ids of that millisecond and later.
        expect((await store.listEventsAfter(1, eventIdFloor(T0 + 3_000), 100)).map((e) => e.eventId)).toEqual(ids.slice(3));
        expect(await store.listEventsAfter(1, ids.at(-1)!, 100)).toEqual([]);
        expect((await store.listEventsAfter(2, eventIdFloor(T0), 100)).map((e) => e.eventId)).toHaveLength(1);
        expect(await store.listEventsAfter(3, eventIdFloor(T0), 100)).toEqual([]);

        // An erased person's event has no body left to stream.
        const erased = await pendingEvent(1, T0 + 10_000, { subscriberId: 'erase-me' });
        expect((await store.listEventsAfter(1, skipped, 100)).map((e) => e.eventId)).toEqual([erased]);
        await store.eraseSubscriber(1, person('erase-me'), T0 + 11_000);
        expect(await store.listEventsAfter(1, skipped, 100)).toEqual([]);
      });

      it('announces created events with their project, whatever their status, once committed', async () => {
        await project(1);
        await project(2, false);
        const heard: (readonly number[] | null)[] = [];
        const stop = store.onEventsCreated((appIds) => heard.push(appIds));
        try {
          await pendingEvent(1, T0 + 1);
          // On PostgreSQL the same notification comes back through LISTEN too: at least once each.
          expect(heard).toContainEqual([1]);
          heard.length = 0;
          await pendingEvent(2, T0 + 2);
          expect(heard).toContainEqual([2]);
          heard.length = 0;
          // Waiting for a purchase creates no event; the first purchase does; a repeat does not.
          const storeUser = reg(1, { storeRegister: true });
          await store.recordRegistration(storeUser, newEventId(T0 + 3), T0 + 3);
          await store.recordRegistration(storeUser, newEventId(T0 + 3), T0 + 3);
          expect(heard.filter((h) => h !== null && h.includes(1))).toEqual([]);
          const purchase = { appId: 1, clientUuid: storeUser.clientUuid, transactionId: 'tx-1', purchaseDate: null };
          await store.recordPurchase(purchase, newEventId(T0 + 4), T0 + 4);
          expect(heard).toContainEqual([1]);
          heard.length = 0;
          await store.recordPurchase({ ...purchase, transactionId: 'tx-2' }, newEventId(T0 + 5), T0 + 5);
          await store.recordPurchase(purchase, newEventId(T0 + 5), T0 + 5);
          // Let a notification of the earlier purchase that is still on its way arrive.
          await new Promise((resolve) => setTimeout(resolve, 100));
          heard.length = 0;
          await store.recordPurchase({ ...purchase, transactionId: 'tx-3' }, newEventId(T0 + 6), T0 + 6);
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(heard.filter((h) => h !== null && h.includes(1))).toEqual([]);
        } finally {
          stop();
        }
      });

      it("does not show one project's event to another", async () => {
        await project(1);
        await project(2);
        const eventId = await pendingEvent(1);
        expect(await store.getEvent(2, eventId)).toBeNull();
        expect(await store.getEvent(1, 'evt_unknown')).toBeNull();
      });
    });

    describe('search by subscriber hash', () => {
      /** A registration with its keyed hash, as the ingest route gives it (the store never computes one). */
      const indexed = (appId: number, subscriberHash: string | null, overrides: Record<string, unknown> = {}) => ({ ...reg(appId, overrides), subscriberHash });
      const search = async (appId: number, subscriberHash: string, more: Record<string, unknown> = {}, limit = 10) =>
        (await store.listEvents(appId, { subscriberHash, limit, ...more })).data.map((e) => e.eventId);

      it('finds the events of one hash, combined with status, time and the cursor; never another project’s', async () => {
        await project(1);
        await project(2);
        const mine: string[] = [];
        for (let i = 0; i < 4; i++) {
          const result = await store.recordRegistration(indexed(1, 'hash-a'), newEventId(T0 + i * 60_000), T0 + i * 60_000);
          mine.push(result.kind === 'created' ? result.answer.eventId! : '');
        }
        await store.recordRegistration(indexed(1, 'hash-b'), newEventId(T0 + 30_000), T0 + 30_000);
        // The same hash in another project is another project's event.
        const theirs = await store.recordRegistration(indexed(2, 'hash-a'), newEventId(T0), T0);
        expect(await search(1, 'hash-a')).toEqual([...mine].reverse());
        expect(await search(1, 'hash-a', { since: T0 + 60_000, until: T0 + 120_000 })).toEqual([mine[2], mine[1]]);
        expect(await search(1, 'hash-a', { status: 'pending', cursor: mine[3] }, 2)).toEqual([mine[2], mine[1]]);
        expect(await search(1, 'hash-a', { status: 'delivered' })).toEqual([]);
        expect(await search(1, 'hash-a', { clientUuid: (await event(1, mine[0]!)).clientUuid })).toEqual([mine[0]]);
        expect(await search(1, 'hash-c')).toEqual([]);
        expect(await search(2, 'hash-a')).toEqual([theirs.kind === 'created' ? theirs.answer.eventId : '']);
      });

      it('a store user’s event, created by the first purchase, carries the hash of their registration', async () => {
        await project(1);
        const r = indexed(1, 'hash-store', { storeRegister: true });
        await store.recordRegistration(r, newEventId(T0), T0);
        expect(await search(1, 'hash-store')).toEqual([]);
        const bought = await store.recordPurchase({ appId: 1, clientUuid: r.clientUuid, transactionId: 'tx-1', purchaseDate: null }, newEventId(T0 + 1), T0 + 1);
        expect(bought).toMatchObject({ kind: 'created', answer: { triggered: true } });
        expect(await search(1, 'hash-store')).toEqual([bought.kind === 'created' && bought.answer.triggered ? bought.answer.eventId : '']);
      });

      it('an erased person is no longer found', async () => {
        await project(1);
        await store.recordRegistration(indexed(1, 'hash-gone', { subscriberId: 'erase-me' }), newEventId(T0), T0);
        await store.recordRegistration(indexed(1, 'hash-stays'), newEventId(T0), T0);
        expect(await search(1, 'hash-gone')).toHaveLength(1);
        expect(await store.eraseSubscriber(1, { id: 'erase-me', hash: 'hash-gone' }, T0 + 1)).toEqual({ registrations: 1, events: 1 });
        expect(await search(1, 'hash-gone')).toEqual([]);
        expect(await search(1, 'hash-stays')).toHaveLength(1);
        // Nor does the backfill bring it back: it has no payload to read a subscriberId from.
        expect(await store.listUnhashedEvents(10)).toEqual([]);
      });

      it('erasure finds registrations by the hash, and only those without a hash yet by the plain subscriberId', async () => {
        await project(1);
        const hashed = await store.recordRegistration(indexed(1, 'hash-p', { subscriberId: 'p' }), newEventId(T0), T0);
        // Written before migration 0007: no hash, found by the plain value.
        const old = await store.recordRegistration(indexed(1, null, { subscriberId: 'p' }), newEventId(T0 + 1), T0 + 1);
        // A row with another hash is not taken for its plain subscriberId: hashed rows are looked up by hash only.
        const other = await store.recordRegistration(indexed(1, 'hash-q', { subscriberId: 'p' }), newEventId(T0 + 2), T0 + 2);
        const idOf = (r: typeof hashed) => (r.kind === 'created' ? r.answer.eventId! : '');
        expect(await store.eraseSubscriber(1, { id: 'p', hash: 'hash-p' }, T0 + 3)).toEqual({ registrations: 2, events: 2 });
        expect((await event(1, idOf(hashed))).status).toBe('erased');
        expect((await event(1, idOf(old))).status).toBe('erased');
        expect((await event(1, idOf(other))).status).toBe('pending');
        expect(await search(1, 'hash-p')).toEqual([]);
        expect(await search(1, 'hash-q')).toEqual([idOf(other)]);
      });

      it('the backfill lists the registrations holding a subscriberId but no hash, and fills them', async () => {
        await project(1);
        await store.recordRegistration(indexed(1, null, { subscriberId: 'old-1' }), newEventId(T0), T0);
        await store.recordRegistration(indexed(1, null, { subscriberId: 'old-2' }), newEventId(T0), T0);
        await store.recordRegistration(indexed(1, 'hash-new', { subscriberId: 'new' }), newEventId(T0), T0);
        const unhashed = await store.listUnhashedRegistrations(10);
        expect(unhashed.map((r) => r.subscriberId).sort()).toEqual(['old-1', 'old-2']);
        expect(unhashed[0]).toEqual({ appId: 1, clientUuid: expect.any(String), subscriberId: expect.stringMatching(/^old-/) });
        expect(await store.listUnhashedRegistrations(1)).toHaveLength(1);
        const [first, second] = unhashed as [(typeof unhashed)[0], (typeof unhashed)[0]];
        // Not when the subscriberId is no longer the one hashed.
        expect(await store.setRegistrationSubscriberHashes([{ ...first, subscriberId: 'changed', subscriberHash: 'x' }])).toBe(0);
        expect(await store.setRegistrationSubscriberHashes([{ ...first, subscriberHash: 'hash-1' }, { ...second, subscriberHash: 'hash-2' }])).toBe(2);
        // A hash is never overwritten.
        expect(await store.setRegistrationSubscriberHashes([{ ...first, subscriberHash: 'other' }])).toBe(0);
        expect(await store.listUnhashedRegistrations(10)).toEqual([]);
        expect(await store.setRegistrationSubscriberHashes([])).toBe(0);
        // Filled, the registration is erased by its hash (its plain value is no longer looked up).
        expect(await store.eraseSubscriber(1, { id: first.subscriberId, hash: 'nope' }, T0 + 1)).toEqual({ registrations: 0, events: 0 });
        expect(await store.eraseSubscriber(1, { id: first.subscriberId, hash: 'hash-1' }, T0 + 1)).toEqual({ registrations: 1, events: 1 });
      });

      it('the backfill lists the events without a hash that still hold a payload, by id, and fills them', async () => {
        await project(1);
        const old: string[] = [];
        for (let i = 0; i < 3; i++) old.push(await pendingEvent(1, T0 + i));
        await store.recordRegistration(indexed(1, 'hash-new'), newEventId(T0 + 5), T0 + 5);
        const unhashed = await store.listUnhashedEvents(10);
        expect(unhashed.map((e) => e.eventId)).toEqual(old);
        expect(unhashed[0]).toEqual({ eventId: old[0], appId: 1, body: expect.stringContaining('"subscriberId":"905555555555"') });
        expect((await store.listUnhashedEvents(1, old[0])).map((e) => e.eventId)).toEqual([old[1]]);
        expect(await store.setSubscriberHashes([{ eventId: old[0]!, subscriberHash: 'hash-old' }, { eventId: old[1]!, subscriberHash: 'hash-old' }])).toBe(2);
        // A hash is never overwritten.
        expect(await store.setSubscriberHashes([{ eventId: old[0]!, subscriberHash: 'other' }])).toBe(0);
        expect(await search(1, 'hash-old')).toEqual([old[1], old[0]]);
        expect((await store.listUnhashedEvents(10)).map((e) => e.eventId)).toEqual([old[2]]);
        expect(await store.setSubscriberHashes([])).toBe(0);
      });

      it('answers exactly the events of the hash, in any mix of projects and people (property)', async () => {
        await project(1);
        await project(2);
        let n = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(fc.record({ appId: fc.constantFrom(1, 2), who: fc.constantFrom('p', 'q', 'r') }), { minLength: 1, maxLength: 8 }), async (people) => {
            const run = `run${++n}-`;
            const created: { appId: number; who: string; eventId: string }[] = [];
            for (const [i, p] of people.entries()) {
              const now = T0 + n * 1_000 + i;
              const result = await store.recordRegistration(indexed(p.appId, run + p.who), newEventId(now), now);
              if (result.kind === 'created') created.push({ ...p, eventId: result.answer.eventId! });
            }
            for (const appId of [1, 2]) {
              for (const who of ['p', 'q', 'r']) {
                const expected = created.filter((c) => c.appId === appId && c.who === who).map((c) => c.eventId).reverse();
                expect(await search(appId, run + who, {}, 50)).toEqual(expected);
              }
            }
          }),
          { numRuns: 15 },
        );
      });
    });

    describe('replay by filter', () => {
      it('counts with dryRun, then reschedules failed and skipped events in the window that still have their payload', async () => {
        await project(1);
        const o = { maxAttempts: 1 };
        const before = await pendingEvent(1, T0);
        const failedIn = await pendingEvent(1, T0 + 1_000);
        const deliveredIn = await pendingEvent(1, T0 + 2_000);
        for (const c of await store.claimDue(claimOptions(T0 + 3_000, o))) {
          const next = c.eventId === deliveredIn ? { status: 'delivered' as const } : { status: 'failed' as const };
          await store.recordAttempts([finished(c.attemptId, c.eventId, next.status === 'delivered' ? ok() : ok(500), next)], T0 + 3_001);
        }
        await project(2, null);
        const skipped = await pendingEvent(2, T0 + 1_000);
        expect(await event(2, skipped)).toMatchObject({ status: 'skipped' });

        const window = { since: T0 + 500 };
        expect(await store.replayEvents(1, { statuses: ['failed'], ...window }, T0 + 5_000, true)).toBe(1);
        expect(await event(1, failedIn)).toMatchObject({ status: 'failed' });
        expect(await store.replayEvents(1, { statuses: ['failed', 'delivered'], ...window }, T0 + 5_000, true)).toBe(2);
        expect(await store.replayEvents(1, { statuses: ['failed', 'delivered'], since: T0 + 500, until: T0 + 1_500 }, T0 + 5_000, true)).toBe(1);

        expect(await store.replayEvents(1, { statuses: ['failed', 'delivered'], ...window }, T0 + 5_000, false)).toBe(2);
        expect(await event(1, failedIn)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 5_000 });
        expect(await event(1, deliveredIn)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 5_000, deliveredAt: null });
        expect(await event(1, before)).toMatchObject({ status: 'failed' });
        // A fresh schedule: a full set of attempts again.
        const claimed = await store.claimDue(claimOptions(T0 + 5_000, o));
        expect(claimed.map((c) => c.scheduledAttempts)).toEqual([1, 1]);
        expect(await store.replayEvents(2, { statuses: ['skipped'], since: T0 }, T0 + 5_000, false)).toBe(1);
        expect(await event(2, skipped)).toMatchObject({ status: 'pending' });
      });

      it('never takes an event whose payload is gone, and works in batches past REPLAY_BATCH', async () => {
        await project(1, null);
        const n = REPLAY_BATCH + 150;
        for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => pendingEvent(1, T0 + i + j)));
        const erasedOne = (await store.listEvents(1, { limit: 1 })).data[0]!;
        await store.eraseSubscriber(1, person('905555555555'), T0 + 1);
        // Every report above is the same person: all erased now, payloads gone; nothing to replay.
        expect(await store.replayEvents(1, { statuses: ['skipped'], since: T0 }, T0 + 10, true)).toBe(0);
        expect(erasedOne).toBeDefined();
        await project(2, null);
        for (let i = 0; i < n; i += 50) {
          await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => pendingEvent(2, T0 + i + j, { subscriberId: `s-${i + j}` })));
        }
        expect(await store.replayEvents(2, { statuses: ['skipped'], since: T0 }, T0 + 10, true)).toBe(n);
        expect(await store.replayEvents(2, { statuses: ['skipped'], since: T0 }, T0 + 10, false)).toBe(n);
        expect((await store.listEvents(2, { limit: 250, status: 'skipped' })).data).toEqual([]);
      });
    });

    describe('portal session links', () => {
      const link = (id: string, hash: string, overrides: Partial<{ appId: number; readOnly: boolean; expiresAt: number }> = {}) => ({
        id,
        hash,
        appId: 1,
        readOnly: false,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        usedAt: null,
        ...overrides,
      });

      it('are used once, before they expire, by the hash of their token', async () => {
        await project(1, null);
        await project(2, null);
        await store.addPortalLink(link('ps_a', 'h-a'));
        await store.addPortalLink(link('ps_b', 'h-b', { appId: 2, readOnly: true, expiresAt: T0 + 1_000 }));
        expect(await store.consumePortalLink('nope', T0 + 1)).toBeNull();
        expect(await store.consumePortalLink('h-a', T0 + 10)).toEqual({
          id: 'ps_a',
          appId: 1,
          readOnly: false,
          createdAt: T0,
          expiresAt: T0 + 600_000,
          usedAt: T0 + 10,
        });
        expect(await store.consumePortalLink('h-a', T0 + 11)).toBeNull();
        // Expiry is exclusive: at expiresAt the link is refused.
        expect(await store.consumePortalLink('h-b', T0 + 1_000)).toBeNull();
        await store.addPortalLink(link('ps_c', 'h-c', { appId: 2, readOnly: true, expiresAt: T0 + 1_000 }));
        expect(await store.consumePortalLink('h-c', T0 + 999)).toMatchObject({ id: 'ps_c', appId: 2, readOnly: true, usedAt: T0 + 999 });
      });

      it('go to exactly one of many concurrent uses', async () => {
        await project(1, null);
        for (let round = 0; round < 5; round++) {
          await store.addPortalLink(link(`ps_race${round}`, `h-race${round}`));
          const uses = await Promise.all(Array.from({ length: 8 }, (_, i) => store.consumePortalLink(`h-race${round}`, T0 + 1 + i)));
          expect(uses.filter((u) => u !== null).map((u) => u!.id)).toEqual([`ps_race${round}`]);
        }
      });

      it('keep a hash once and are deleted by the sweep once expired, used or not', async () => {
        await project(1, null);
        await store.addPortalLink(link('ps_1', 'h-1', { expiresAt: T0 + 100 }));
        await expect(store.addPortalLink(link('ps_2', 'h-1'))).rejects.toThrow();
        await store.addPortalLink(link('ps_3', 'h-3', { expiresAt: T0 + 200 }));
        await store.addPortalLink(link('ps_4', 'h-4', { expiresAt: T0 + 300 }));
        expect(await store.consumePortalLink('h-3', T0 + 50)).not.toBeNull();
        expect(await store.deleteExpiredPortalLinks(T0 + 250, 1)).toBe(1);
        expect(await store.deleteExpiredPortalLinks(T0 + 250, 10)).toBe(1);
        expect(await store.deleteExpiredPortalLinks(T0 + 250, 10)).toBe(0);
        expect(await store.consumePortalLink('h-4', T0 + 260)).toMatchObject({ id: 'ps_4' });
      });
    });

    describe('audit log', () => {
      it('lists entries newest first with a cursor, per project', async () => {
        for (let i = 0; i < 3; i++) {
          await store.appendAudit({ appId: 1, at: T0 + i, actor: 'admin', action: `a.${i}`, details: { i, nested: { b: 1, a: [2] } }, sourceIp: '127.0.0.1' });
        }
        await store.appendAudit({ appId: 2, at: T0, actor: 'key:k1', action: 'other', details: {}, sourceIp: null });
        const first = await store.listAudit(1, 2, null);
        expect(first.map((e) => e.action)).toEqual(['a.2', 'a.1']);
        expect(first[0]).toEqual({ id: expect.any(Number), appId: 1, at: T0 + 2, actor: 'admin', action: 'a.2', details: { i: 2, nested: { b: 1, a: [2] } }, sourceIp: '127.0.0.1' });
        const rest = await store.listAudit(1, 2, first[1]!.id);
        expect(rest.map((e) => e.action)).toEqual(['a.0']);
        expect((await store.listAudit(2, 10, null)).map((e) => [e.actor, e.sourceIp])).toEqual([['key:k1', null]]);
      });

      it('is append-only in the database itself', async () => {
        await store.appendAudit({ appId: 1, at: T0, actor: 'admin', action: 'endpoint.updated', details: {}, sourceIp: null });
        await expect(sut.exec(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow();
        await expect(sut.exec('DELETE FROM audit_log')).rejects.toThrow();
        expect((await store.listAudit(1, 10, null)).map((e) => e.actor)).toEqual(['admin']);
      });
    });

    describe('personal data', () => {
      it('erasing a person cancels their pending delivery: erased, never claimed, and an attempt in flight cannot deliver it', async () => {
        await project(1);
        const waiting = await pendingEvent(1, T0, { subscriberId: 'erase-me' });
        const leased = await pendingEvent(1, T0, { subscriberId: 'erase-me' });
        const other = await pendingEvent(1, T0);
        const inFlight = (await store.claimDue(claimOptions(T0 + 1))).find((c) => c.eventId === leased)!;
        expect(await store.eraseSubscriber(1, person('erase-me'), T0 + 2)).toEqual({ registrations: 2, events: 2 });
        for (const id of [waiting, leased]) {
          expect(await event(1, id)).toMatchObject({ status: 'erased', body: null, nextAttemptAt: null });
        }
        // The attempt that was in flight reports a 200: it changes nothing.
        await store.recordAttempts([finished(inFlight.attemptId, leased, ok(), { status: 'delivered' })], T0 + 3);
        expect(await event(1, leased)).toMatchObject({ status: 'erased', deliveredAt: null });
        // Neither is ever claimed again, nor redeliverable; the other person's event is untouched.
        expect((await store.claimDue(claimOptions(T0 + 10 * LEASE))).map((c) => c.eventId)).toEqual([other]);
        expect(await store.openManualAttempt(1, waiting, T0 + 4)).toBeNull();
        expect(await event(1, other)).toMatchObject({ status: 'pending', body: expect.any(String) });
        expect((await store.listEvents(1, { status: 'erased', limit: 10 })).data.map((e) => e.eventId).sort()).toEqual([waiting, leased].sort());
      });

      it('the database itself refuses a pending delivery without a body', async () => {
        await project(1);
        const eventId = await pendingEvent(1, T0);
        await expect(sut.exec(`UPDATE events SET body = NULL WHERE id = '${eventId}'`)).rejects.toThrow();
        expect(await event(1, eventId)).toMatchObject({ status: 'pending', body: expect.any(String) });
      });

      it('erasing a subscriber removes registrations, payloads and attempt bodies, and keeps delivery metadata', async () => {
        await project(1);
        const kept = reg(1, { subscriberId: 'other' });
        await store.recordRegistration(kept, newEventId(T0), T0);
        const eventId = await pendingEvent(1, T0, { subscriberId: 'erase-me' });
        const awaiting = reg(1, { subscriberId: 'erase-me', storeRegister: true });
        await store.recordRegistration(awaiting, newEventId(T0), T0);
        const [c] = await store.claimDue(claimOptions(T0 + 1, { limit: 10 })).then((all) => all.filter((x) => x.eventId === eventId));
        await store.recordAttempts([finished(c!.attemptId, eventId, { ...ok(), responseBody: 'thanks John' }, { status: 'delivered' })], T0 + 2);

        expect(await store.eraseSubscriber(1, person('erase-me'), T0 + 3)).toEqual({ registrations: 2, events: 1 });
        const e = await event(1, eventId);
        expect(e).toMatchObject({ status: 'delivered', body: null, attemptCount: 1, deliveredAt: T0 + 2 });
        expect(e.attempts[0]!.outcome).toMatchObject({ success: true, statusCode: 200, responseBody: null });
        // The registrations are gone: the store user is unknown again, and the erased user's
        // repeat report finds the existing event rather than making a second one.
        expect(await store.recordPurchase({ appId: 1, clientUuid: awaiting.clientUuid, transactionId: 'tx', purchaseDate: null }, newEventId(T0), T0)).toMatchObject({
          answer: { triggered: false, reason: 'awaiting_registration' },
        });
        const again = await store.recordRegistration(reg(1, { clientUuid: e.clientUuid }), newEventId(T0 + 5), T0 + 5);
        expect(again).toMatchObject({ kind: 'created', answer: { eventId } });
        expect((await store.listEvents(1, { limit: 10 })).data).toHaveLength(2);
        // Nobody else was touched.
        expect(await store.recordRegistration(kept, newEventId(T0 + 6), T0 + 6)).toMatchObject({ kind: 'repeat' });
        expect(await store.eraseSubscriber(1, person('nobody'), T0 + 7)).toEqual({ registrations: 0, events: 0 });
      });

      it('retention drops payloads and attempt bodies of finished events, and old awaiting store users', async () => {
        await project(1);
        await project(2, null);
        const delivered = await pendingEvent(1, T0);
        const [c] = await store.claimDue(claimOptions(T0));
        await store.recordAttempts([finished(c!.attemptId, delivered, ok(), { status: 'delivered' })], T0 + 10);
        const skipped = await pendingEvent(2, T0);
        const pending = await pendingEvent(1, T0 + 20);
        const oldAwaiting = reg(1, { storeRegister: true });
        const newAwaiting = reg(1, { storeRegister: true });
        await store.recordRegistration(oldAwaiting, newEventId(T0), T0);
        await store.recordRegistration(newAwaiting, newEventId(T0 + 100), T0 + 100);
        await store.recordTestAttempt(1, 'evt_test', T0, { ...ok(), responseBody: 'test body' });

        expect(await store.sweepRetention({ finishedBefore: T0 + 50, awaitingBefore: T0 + 50, limit: 1 })).toEqual({ payloads: 1, awaiting: 1 });
        expect(await store.sweepRetention({ finishedBefore: T0 + 50, awaitingBefore: T0 + 50, limit: 10 })).toEqual({ payloads: 1, awaiting: 0 });
        expect(await event(1, delivered)).toMatchObject({ status: 'delivered', body: null });
        expect((await event(1, delivered)).attempts[0]!.outcome).toMatchObject({ statusCode: 200, responseBody: null });
        expect(await event(2, skipped)).toMatchObject({ status: 'skipped', body: null });
        expect((await event(1, pending)).body).not.toBeNull();
        // The old awaiting user is forgotten; the recent one is not.
        expect(await store.recordPurchase({ appId: 1, clientUuid: oldAwaiting.clientUuid, transactionId: 't1', purchaseDate: null }, newEventId(T0), T0 + 200)).toMatchObject({
          answer: { reason: 'awaiting_registration' },
        });
        expect(await store.recordPurchase({ appId: 1, clientUuid: newAwaiting.clientUuid, transactionId: 't2', purchaseDate: null }, newEventId(T0), T0 + 200)).toMatchObject({
          answer: { triggered: true },
        });
        // The anonymised registration of the delivered event can no longer be compared: it answers as before.
        const deliveredUser = (await event(1, delivered)).clientUuid;
        expect(await store.recordRegistration(reg(1, { clientUuid: deliveredUser, subscriberName: 'Someone Else' }), newEventId(T0), T0 + 300)).toMatchObject({
          kind: 'repeat',
          answer: { eventId: delivered },
        });
        expect(await store.sweepRetention({ finishedBefore: T0 + 50, awaitingBefore: T0 + 50, limit: 10 })).toEqual({ payloads: 0, awaiting: 0 });
      });
    });

    describe('statistics', () => {
      it('counts deliveries due now and scheduled later', async () => {
        await project(1);
        expect(await store.queueStats(T0)).toEqual({ due: 0, scheduled: 0, oldestDueAt: null, oldestPendingCreatedAt: null, failingEndpoints: 0 });
        await pendingEvent(1, T0);
        await pendingEvent(1, T0 + 10);
        await pendingEvent(1, T0 + 5_000);
        const second = await pendingEvent(1, T0 + 1);
        const [c] = await store.claimDue(claimOptions(T0 + 1, { limit: 1 }));
        expect(c!.eventId).not.toBe(second); // the oldest (due T0) is leased, so not due
        expect(await store.queueStats(T0 + 100)).toEqual({ due: 2, scheduled: 2, oldestDueAt: T0 + 1, oldestPendingCreatedAt: T0, failingEndpoints: 0 });
      });

      it('counts finished attempts per time bucket by outcome', async () => {
        await project(1);
        for (let i = 0; i < 4; i++) await pendingEvent(1, T0 + i);
        const claimed = await store.claimDue(claimOptions(T0 + 1_500, { limit: 3 }));
        await store.recordAttempts(
          [
            finished(claimed[0]!.attemptId, claimed[0]!.eventId, ok(), { status: 'delivered' }),
            finished(claimed[1]!.attemptId, claimed[1]!.eventId, ok(500), { status: 'pending', nextAttemptAt: T0 + 10_000 }),
          ],
          T0 + 1_600,
        );
        await store.recordTestAttempt(1, 'evt_test', T0 + 2_500, ok());
        await store.recordTestAttempt(1, 'evt_old', T0 - 10_000, ok());
        await store.recordTestAttempt(2, 'evt_other', T0 + 2_500, ok());
        expect(await store.attemptStats(1, T0, 1_000)).toEqual([
          { start: T0 + 1_000, succeeded: 1, failed: 1 },
          { start: T0 + 2_000, succeeded: 1, failed: 0 },
        ]);
      });
    });

    describe('endpoint health', () => {
      /** One scheduled attempt of a fresh event of `appId`, started at `at`, recorded as `outcome`. */
      async function scheduled(appId: number, at: number, outcome: AttemptOutcome, failingAfter?: number) {
        const eventId = await pendingEvent(appId, at);
        const claimed = (await store.claimDue(claimOptions(at, { limit: 100 }))).find((c) => c.eventId === eventId);
        if (!claimed) throw new Error('not claimed');
        const next: FinishedAttempt['next'] = outcome.success ? { status: 'delivered' } : { status: 'pending', nextAttemptAt: at + 10 * 3_600_000 };
        return { eventId, recorded: await store.recordAttempts([finished(claimed.attemptId, eventId, outcome, next)], at + 1, failingAfter) };
      }
      const fail = ok(500);

      it('is unknown before any attempt; a project without an endpoint has none', async () => {
        await project(1);
        await project(2, null);
        expect(await store.getEndpointHealth(1)).toEqual({
          enabled: true,
          health: { consecutiveFailures: 0, streakStartedAt: null, failingSince: null, lastSuccessAt: null, lastFailureAt: null },
        });
        expect(await store.getEndpointHealth(2)).toBeNull();
        expect((await store.listProjectOverviews(10, null)).map((p) => [p.appId, p.webhook?.health.consecutiveFailures ?? null])).toEqual([
          [1, 0],
          [2, null],
        ]);
      });

      it('becomes failing at the third failure, since the first of the streak, once; a success recovers it, once', async () => {
        await project(1);
        const transitions: string[] = [];
        for (const [i, outcome] of [fail, fail, fail, fail].entries()) {
          const { recorded } = await scheduled(1, T0 + i * 1_000, outcome);
          transitions.push(...recorded.transitions.map((t) => `${i}:${t.transition}`));
          expect((await store.getEndpointHealth(1))!.health.failingSince).toBe(i >= 2 ? T0 : null);
        }
        expect(transitions).toEqual(['2:failing']);
        expect((await store.getEndpointHealth(1))!.health).toEqual({
          consecutiveFailures: 4,
          streakStartedAt: T0,
          failingSince: T0,
          lastSuccessAt: null,
          lastFailureAt: T0 + 3_000,
        });
        const { recorded } = await scheduled(1, T0 + 9_000, ok());
        expect(recorded.transitions).toEqual([
          { appId: 1, transition: 'recovered', health: { consecutiveFailures: 0, streakStartedAt: null, failingSince: null, lastSuccessAt: T0 + 9_000, lastFailureAt: T0 + 3_000 } },
        ]);
        expect((await scheduled(1, T0 + 10_000, ok())).recorded.transitions).toEqual([]);
      });

      it('takes the threshold it is given', async () => {
        await project(1);
        for (let i = 0; i < 4; i++) await scheduled(1, T0 + i, fail, 5);
        expect((await store.getEndpointHealth(1))!.health).toMatchObject({ consecutiveFailures: 4, failingSince: null });
        expect((await scheduled(1, T0 + 9, fail, 5)).recorded.transitions.map((t) => t.transition)).toEqual(['failing']);
      });

      it('counts scheduled attempts only: manual and test attempts change nothing', async () => {
        await project(1);
        const { eventId } = await scheduled(1, T0, fail);
        await scheduled(1, T0 + 1, fail);
        const before = (await store.getEndpointHealth(1))!.health;
        const m = await manualAttempt(1, eventId, T0 + 2);
        expect((await store.recordAttempts([finished(m.attemptId, eventId, ok(), null)], T0 + 3)).transitions).toEqual([]);
        const m2 = await manualAttempt(1, eventId, T0 + 4);
        await store.recordAttempts([finished(m2.attemptId, eventId, fail, null)], T0 + 5);
        await store.recordTestAttempt(1, 'evt_test', T0 + 6, ok());
        await store.recordTestAttempt(1, 'evt_test2', T0 + 7, fail);
        expect((await store.getEndpointHealth(1))!.health).toEqual(before);
        expect(before.consecutiveFailures).toBe(2);
      });

      it('counts an attempt recorded twice once', async () => {
        await project(1);
        const eventId = await pendingEvent(1, T0);
        const [c] = await store.claimDue(claimOptions(T0));
        const f = finished(c!.attemptId, eventId, fail, { status: 'pending', nextAttemptAt: T0 + 99_000 });
        await store.recordAttempts([f], T0 + 1);
        await store.recordAttempts([f], T0 + 2);
        expect((await store.getEndpointHealth(1))!.health.consecutiveFailures).toBe(1);
        expect((await store.windowCounts(1, T0 - 1, T0 + 10)).attempts).toEqual({ succeeded: 0, failed: 1 });
      });

      it('folds a batch in order, and answers how many events used their last attempt', async () => {
        await project(1);
        const ids = [await pendingEvent(1, T0), await pendingEvent(1, T0 + 1), await pendingEvent(1, T0 + 2)];
        const claimed = await store.claimDue(claimOptions(T0 + 2));
        expect(claimed).toHaveLength(3);
        const recorded = await store.recordAttempts(
          claimed.map((c, i) => finished(c.attemptId, c.eventId, fail, i === 2 ? { status: 'failed' } : { status: 'pending', nextAttemptAt: T0 + 99_000 })),
          T0 + 3,
        );
        expect(recorded.eventsFailed).toBe(1);
        expect(recorded.transitions.map((t) => [t.appId, t.transition, t.health.failingSince])).toEqual([[1, 'failing', T0 + 2]]);
        expect(ids).toHaveLength(3);
      });

      it('lists failing projects longest first, page by page; counts enabled failing endpoints', async () => {
        for (const appId of [1, 2, 3, 4]) await project(appId);
        // 3 fails first, then 1, then 4; 2 stays healthy.
        for (const [appId, start] of [[3, T0], [1, T0 + 100], [4, T0 + 200]] as const) {
          for (let i = 0; i < 3; i++) await scheduled(appId, start + i, fail);
        }
        await scheduled(2, T0, ok());
        const first = await store.listFailingProjects(2, null);
        expect(first.map((p) => [p.appId, p.webhook!.health.failingSince])).toEqual([
          [3, T0],
          [1, T0 + 100],
        ]);
        const last = first.at(-1)!;
        expect((await store.listFailingProjects(2, { failingSince: last.webhook!.health.failingSince!, appId: last.appId })).map((p) => p.appId)).toEqual([4]);
        expect((await store.queueStats(T0 + 1_000)).failingEndpoints).toBe(3);
        await store.putEndpoint(4, 'https://hooks.example/4', false, 'x', T0 + 1_000);
        expect((await store.queueStats(T0 + 1_000)).failingEndpoints).toBe(2);
        expect((await store.listFailingProjects(10, null)).map((p) => [p.appId, p.webhook!.enabled])).toEqual([
          [3, true],
          [1, true],
          [4, false],
        ]);
      });

      it('the oldest pending event counts retries scheduled later', async () => {
        await project(1);
        await scheduled(1, T0, fail); // pending, retried in 10 h
        await pendingEvent(1, T0 + 5_000);
        expect(await store.queueStats(T0 + 6_000)).toMatchObject({ oldestPendingCreatedAt: T0, oldestDueAt: T0 + 5_000 });
      });
    });

    describe('window stats', () => {
      const HOUR = 3_600_000;

      it('counts events by creation time and attempts by start time, exact to the millisecond across rollup hours', async () => {
        await project(1);
        await project(2);
        await project(3, false);
        // A pseudo-random history over ~50 hours (fixed seed): each event is created, claimed and attempted at once.
        let seed = 7;
        const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
        const events: { at: number; status: string }[] = [];
        const attempts: { at: number; success: boolean; duration: number }[] = [];
        let at = T0;
        for (let i = 0; i < 120; i++) {
          at += Math.floor(random() * 1.5 * HOUR);
          const roll = random();
          if (roll < 0.15) {
            await pendingEvent(3, at); // another project's, never attempted (its endpoint is disabled)
            continue;
          }
          const appId = random() < 0.1 ? 2 : 1;
          const eventId = await pendingEvent(appId, at);
          const [c] = (await store.claimDue(claimOptions(at, { limit: 100 }))).filter((x) => x.eventId === eventId);
          const success = roll < 0.75;
          const duration = Math.floor(random() * random() * 3_000);
          const status = success ? 'delivered' : roll < 0.9 ? 'failed' : 'pending';
          const next: FinishedAttempt['next'] = success ? { status: 'delivered' } : status === 'failed' ? { status: 'failed' } : { status: 'pending', nextAttemptAt: at + 1_000 * HOUR };
          await store.recordAttempts([finished(c!.attemptId, eventId, { ...(success ? ok() : ok(503)), durationMs: duration }, next)], at + duration);
          if (appId === 1) {
            events.push({ at, status });
            attempts.push({ at, success, duration });
          }
        }
        await store.recordTestAttempt(1, 'evt_test', at - 2 * HOUR - 17, { ...ok(), durationMs: 3 });
        attempts.push({ at: at - 2 * HOUR - 17, success: true, duration: 3 });
        const now = at + 1_234;
        for (const since of [now - HOUR, now - 24 * HOUR, now - 7 * 24 * HOUR, events[10]!.at, events[10]!.at + 1, T0 - HOUR, now - 3 * HOUR + 1]) {
          const inWindow = events.filter((e) => e.at >= since);
          const tried = attempts.filter((a) => a.at >= since);
          const histogram = new Map<number, number>();
          for (const a of tried.filter((x) => x.success)) histogram.set(latencyBucket(a.duration), (histogram.get(latencyBucket(a.duration)) ?? 0) + 1);
          const counts = await store.windowCounts(1, since, now);
          expect(counts.events, `since ${since - T0}`).toEqual({
            pending: inWindow.filter((e) => e.status === 'pending').length,
            delivered: inWindow.filter((e) => e.status === 'delivered').length,
            failed: inWindow.filter((e) => e.status === 'failed').length,
            skipped: 0,
          });
          expect(counts.attempts).toEqual({ succeeded: tried.filter((a) => a.success).length, failed: tried.filter((a) => !a.success).length });
          expect(new Map([...counts.latency].sort(([a], [b]) => a - b))).toEqual(new Map([...histogram].sort(([a], [b]) => a - b)));
        }
      });

      it('answers the chart’s buckets (events by status, p50/p95 of successful attempts) in one call, equal to the window counts', async () => {
        await project(1);
        await project(2);
        const DAY = 24 * HOUR;
        const since = Math.floor(T0 / DAY) * DAY;
        let seed = 11;
        const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
        const events: { at: number; status: string }[] = [];
        const attempts: { at: number; success: boolean; duration: number }[] = [];
        // Before the window (not counted), then ~5 days of history, another project's events among them.
        let at = since - 3 * HOUR;
        while (at < since + 5 * DAY) {
          const appId = random() < 0.1 ? 2 : 1;
          const eventId = await pendingEvent(appId, at);
          const roll = random();
          const [c] = (await store.claimDue(claimOptions(at, { limit: 100 }))).filter((x) => x.eventId === eventId);
          const success = roll < 0.6;
          const status = success ? 'delivered' : roll < 0.8 ? 'failed' : 'pending';
          const duration = Math.floor(random() * random() * 2_000);
          const next: FinishedAttempt['next'] = success ? { status: 'delivered' } : status === 'failed' ? { status: 'failed' } : { status: 'pending', nextAttemptAt: at + 1_000 * DAY };
          await store.recordAttempts([finished(c!.attemptId, eventId, { ...(success ? ok() : ok(500)), durationMs: duration }, next)], at + duration);
          if (appId === 1) {
            events.push({ at, status });
            attempts.push({ at, success, duration });
          }
          at += Math.floor(random() * 4 * HOUR);
        }
        const now = at;
        for (const [bucketMs, count] of [
          [DAY, 7],
          [HOUR, 24],
        ] as const) {
          const first = Math.floor(now / bucketMs) * bucketMs - (count - 1) * bucketMs;
          const buckets = await store.chartBuckets(1, first, bucketMs, count);
          const expected = Array.from({ length: count }, (_, i) => {
            const start = first + i * bucketMs;
            const inside = <T extends { at: number }>(xs: T[]) => xs.filter((x) => x.at >= start && x.at < start + bucketMs);
            const histogram = new Map<number, number>();
            for (const a of inside(attempts).filter((x) => x.success)) histogram.set(latencyBucket(a.duration), (histogram.get(latencyBucket(a.duration)) ?? 0) + 1);
            const p = percentilesOf(histogram);
            const of = (status: string) => inside(events).filter((e) => e.status === status).length;
            return { start, events: { pending: of('pending'), delivered: of('delivered'), failed: of('failed'), skipped: 0 }, latencyMs: p && { p50: p.p50, p95: p.p95 } };
          });
          expect(buckets).toEqual(expected);
          expect(buckets.some((b) => b.latencyMs !== null)).toBe(true);
          // The same figures as the window counts since each bucket's start (what the chart read before).
          for (const [i, b] of buckets.entries()) {
            const from = await store.windowCounts(1, b.start, now);
            const next = i + 1 < count ? await store.windowCounts(1, b.start + bucketMs, now) : null;
            for (const k of ['pending', 'delivered', 'failed', 'skipped'] as const) expect(b.events[k]).toBe(from.events[k] - (next?.events[k] ?? 0));
          }
        }
        expect(await store.chartBuckets(3, since, DAY, 2)).toEqual([
          { start: since, events: { pending: 0, delivered: 0, failed: 0, skipped: 0 }, latencyMs: null },
          { start: since + DAY, events: { pending: 0, delivered: 0, failed: 0, skipped: 0 }, latencyMs: null },
        ]);
      });

      it('moves an event between statuses in its creation hour when it changes (recovery)', async () => {
        await project(1);
        const eventId = await pendingEvent(1, T0);
        const [c] = await store.claimDue(claimOptions(T0));
        await store.recordAttempts([finished(c!.attemptId, eventId, ok(500), { status: 'failed' })], T0 + 1);
        const later = T0 + 5 * HOUR;
        expect((await store.windowCounts(1, T0 - HOUR, later)).events).toEqual({ pending: 0, delivered: 0, failed: 1, skipped: 0 });
        expect(await store.recoverFailed(1, T0 - 1, later)).toBe(1);
        expect((await store.windowCounts(1, T0 - HOUR, later)).events).toEqual({ pending: 1, delivered: 0, failed: 0, skipped: 0 });
        expect((await store.windowCounts(1, T0 + 1, later)).events).toEqual({ pending: 0, delivered: 0, failed: 0, skipped: 0 });
      });
    });

    describe('operator notifications', () => {
      const fail = ok(500);
      /** One scheduled attempt of a fresh event of `appId` at `at`; the event fails when `last`. */
      async function attempt(appId: number, at: number, outcome: AttemptOutcome, options: { notify?: boolean; last?: boolean } = {}) {
        const eventId = await pendingEvent(appId, at);
        const claimed = (await store.claimDue(claimOptions(at, { limit: 100 }))).find((c) => c.eventId === eventId);
        if (!claimed) throw new Error('not claimed');
        const next: FinishedAttempt['next'] = outcome.success
          ? { status: 'delivered' }
          : options.last
            ? { status: 'failed' }
            : { status: 'pending', nextAttemptAt: at + 10 * 3_600_000 };
        const f = finished(claimed.attemptId, eventId, outcome, next);
        return { eventId, f, recorded: await store.recordAttempts([f], at + 1, 3, options.notify ?? true) };
      }
      const all = async () => (await store.listOperatorEvents(100, null)).data;
      const bodyOf = (e: { body: string }) => JSON.parse(e.body) as { type: string; timestamp: string; data: Record<string, unknown> };

      it('stores none unless asked to (notifications not configured)', async () => {
        await project(1);
        for (let i = 0; i < 4; i++) await attempt(1, T0 + i, fail, { notify: false, last: i === 3 });
        await attempt(1, T0 + 9, ok(), { notify: false });
        expect(await all()).toEqual([]);
      });

      it('stores endpoint.failing once per streak, endpoint.recovered after it, event.failed per event, with the envelope and no personal data', async () => {
        await project(1);
        const counts: number[] = [];
        for (let i = 0; i < 4; i++) counts.push((await attempt(1, T0 + i * 1_000, fail)).recorded.operatorEvents);
        expect(counts).toEqual([0, 0, 1, 0]);
        const { eventId: failedId } = await attempt(1, T0 + 5_000, { success: false, statusCode: null, errorKind: 'timeout', durationMs: 3, responseBody: null }, { last: true });
        expect((await attempt(1, T0 + 9_000, ok())).recorded.operatorEvents).toBe(1);
        const events = (await all()).reverse();
        expect(events.map((e) => [e.type, e.status, e.attemptCount, e.lastAttempt])).toEqual([
          ['endpoint.failing', 'pending', 0, null],
          ['event.failed', 'pending', 0, null],
          ['endpoint.recovered', 'pending', 0, null],
        ]);
        expect(events.every((e) => /^oev_[0-9A-Z]{26}$/.test(e.id) && e.nextAttemptAt === e.createdAt)).toBe(true);
        expect(bodyOf(events[0]!)).toEqual({
          type: 'endpoint.failing',
          timestamp: new Date(T0 + 2_001).toISOString(),
          data: {
            appId: 1,
            url: 'https://hooks.example/1',
            consecutiveFailures: 3,
            failingSince: new Date(T0).toISOString(),
            lastAttempt: { at: new Date(T0 + 2_000).toISOString(), statusCode: 500, error: 'http_500' },
          },
        });
        expect(bodyOf(events[1]!).data).toEqual({
          appId: 1,
          eventId: failedId,
          attempts: 1,
          lastAttempt: { at: new Date(T0 + 5_000).toISOString(), statusCode: null, error: 'timeout' },
        });
        expect(bodyOf(events[2]!).data).toEqual({
          appId: 1,
          url: 'https://hooks.example/1',
          failingSince: new Date(T0).toISOString(),
          recoveredAt: new Date(T0 + 9_000).toISOString(),
        });
        for (const e of events) expect(e.body).not.toMatch(/905555555555|John Doe|203\.0\.113\.7|5b1c7e0a-/);
      });

      it('is written in the transaction that records the attempt: when it cannot be stored, the attempt is not recorded either', async () => {
        await project(1);
        await attempt(1, T0, fail);
        await attempt(1, T0 + 1, fail);
        await sut.exec('DROP TABLE operator_events');
        await expect(attempt(1, T0 + 2, fail)).rejects.toThrow();
        expect((await store.getEndpointHealth(1))!.health.consecutiveFailures).toBe(2);
      });

      it('owes nothing for an attempt recorded twice, or a stale one whose lease was taken over', async () => {
        await project(1);
        await attempt(1, T0, fail);
        await attempt(1, T0 + 1, fail);
        const third = await attempt(1, T0 + 2, fail, { last: true });
        expect(third.recorded.operatorEvents).toBe(2);
        expect((await store.recordAttempts([third.f], T0 + 3, 3, true)).operatorEvents).toBe(0);
        expect(await all()).toHaveLength(2);
      });

      it('claims due ones under a lease, records outcomes fenced by it, retries and fails them by the limit, lists newest first', async () => {
        await project(1);
        for (let i = 0; i < 3; i++) await attempt(1, T0 + i, fail);
        await attempt(1, T0 + 9, ok());
        const [failing, recovered] = (await all()).reverse();
        const lease = { limit: 10, leaseMs: LEASE, maxAttempts: 2 };
        const first = await store.claimOperatorEvents({ now: T0 + 100, ...lease });
        expect(first.map((c) => [c.id, c.attemptCount])).toEqual([
          [failing!.id, 1],
          [recovered!.id, 1],
        ]);
        expect(first[0]!.body).toBe(failing!.body);
        expect(await store.claimOperatorEvents({ now: T0 + 200, ...lease })).toEqual([]);
        const failed = { success: false, statusCode: 503, errorKind: null, durationMs: 5, responseBody: null };
        await store.recordOperatorAttempts(
          [
            { id: failing!.id, leaseToken: first[0]!.leaseToken, startedAt: T0 + 100, outcome: failed, next: { status: 'pending', nextAttemptAt: T0 + 1_000 } },
            { id: recovered!.id, leaseToken: 'not-the-lease', startedAt: T0 + 100, outcome: ok(), next: { status: 'delivered' } },
          ],
          T0 + 150,
        );
        let listed = await all();
        expect(listed.find((e) => e.id === failing!.id)).toMatchObject({ status: 'pending', attemptCount: 1, nextAttemptAt: T0 + 1_000, lastAttempt: { at: T0 + 100, statusCode: 503, error: 'http_503' } });
        // The stale result changed nothing: it is still leased.
        expect(listed.find((e) => e.id === recovered!.id)).toMatchObject({ status: 'pending', lastAttempt: null, nextAttemptAt: T0 + 100 + LEASE });
        const second = await store.claimOperatorEvents({ now: T0 + 1_000, ...lease });
        expect(second.map((c) => [c.id, c.attemptCount])).toEqual([[failing!.id, 2]]);
        await store.recordOperatorAttempts([{ id: failing!.id, leaseToken: second[0]!.leaseToken, startedAt: T0 + 1_000, outcome: ok(), next: { status: 'delivered' } }], T0 + 1_010);
        // The lease of `recovered` ran out after its only attempt but one: it is claimed again, then its holder dies too.
        const third = await store.claimOperatorEvents({ now: T0 + 100 + LEASE, ...lease });
        expect(third.map((c) => [c.id, c.attemptCount])).toEqual([[recovered!.id, 2]]);
        expect(await store.claimOperatorEvents({ now: T0 + 100 + 3 * LEASE, ...lease })).toEqual([]);
        listed = await all();
        expect(listed.find((e) => e.id === failing!.id)).toMatchObject({ status: 'delivered', deliveredAt: T0 + 1_010, attemptCount: 2, nextAttemptAt: null });
        expect(listed.find((e) => e.id === recovered!.id)).toMatchObject({ status: 'failed', attemptCount: 2, nextAttemptAt: null });
        const page1 = await store.listOperatorEvents(1, null);
        expect(page1.data.map((e) => e.id)).toEqual([recovered!.id]);
        const page2 = await store.listOperatorEvents(1, page1.nextCursor);
        expect(page2).toEqual({ data: [expect.objectContaining({ id: failing!.id })], nextCursor: null });
      });

      it('keeps them out of projects: no health, stats, claims or delivery log of their own', async () => {
        await project(1);
        for (let i = 0; i < 3; i++) await attempt(1, T0 + i, fail);
        const before = await store.windowCounts(1, T0 - 1, T0 + 10);
        const claimed = await store.claimOperatorEvents({ now: T0 + 10, limit: 10, leaseMs: LEASE, maxAttempts: 3 });
        await store.recordOperatorAttempts(claimed.map((c) => ({ id: c.id, leaseToken: c.leaseToken, startedAt: T0 + 10, outcome: fail, next: { status: 'failed' as const } })), T0 + 11);
        expect(await store.windowCounts(1, T0 - 1, T0 + 10)).toEqual(before);
        expect((await store.getEndpointHealth(1))!.health.consecutiveFailures).toBe(3);
        expect(await store.claimDue(claimOptions(T0 + 20))).toEqual([]);
        expect((await store.listEvents(1, { limit: 10 })).data).toHaveLength(3);
      });
    });
  });
}
