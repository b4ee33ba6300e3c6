/**
 * An attempt holds its slot in the process's REGHOOK_CONCURRENCY until its outcome is committed,
 * not only until the receiver answered. While the store cannot record, the dispatcher claims no
 * more than that: a crash then repeats at most REGHOOK_CONCURRENCY deliveries per process, and a
 * store that records slowly slows delivery down instead of piling up attempts that are made but
 * not written (and could outlive their lease).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const CONCURRENCY = 3; // below the endpoint's initial window (4), so the process's limit is the one that binds
let svc: TestService;
let receiver: Receiver;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_CONCURRENCY: String(CONCURRENCY) });
  receiver = await startReceiver();
});
afterAll(async () => {
  await svc?.stop();
  await receiver?.close();
});

describe('attempt slots', () => {
  it('no more attempts than REGHOOK_CONCURRENCY are made while the finished ones are not recorded yet', async () => {
    await svc.createProject(1);
    await svc.setEndpoint(1, receiver.url);
    const before = receiver.requests.length;

    // Hold every commit of attempt outcomes until the test lets go (the real store, gated).
    const store = svc.store;
    const record = store.recordAttempts.bind(store);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let recordCalls = 0;
    store.recordAttempts = async (...args) => {
      recordCalls++;
      await gate;
      return record(...args);
    };
    try {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1 }));
        expect(res.status).toBe(202);
        ids.push(res.json.eventId);
      }
      await receiver.waitFor(before + CONCURRENCY, 5_000);
      await eventually(() => (recordCalls > 0 ? true : undefined), 5_000);
      // Every answer came back long ago; none is recorded, so no slot is free.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(receiver.requests.length - before).toBe(CONCURRENCY);

      open();
      await receiver.waitFor(before + ids.length, 10_000);
      const delivered = receiver.requests.slice(before).map((r) => r.headers['webhook-id']);
      expect(new Set(delivered)).toEqual(new Set(ids));
      expect(delivered).toHaveLength(ids.length);
      await eventually(async () => {
        const { json } = await svc.call('GET', '/v1/projects/1/events?status=delivered&limit=100');
        return json.data.length === ids.length ? true : undefined;
      }, 5_000);
    } finally {
      open();
      store.recordAttempts = record;
    }
  });
});
