/**
 * SPEC sections 7 and 8: the failed-authentication budget slows down guessing but never refuses a
 * correct credential; behind a reverse proxy listed in REGHOOK_TRUST_PROXY each client behind it
 * has its own budget, and nobody else's X-Forwarded-For is believed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('failed-authentication budget');
const BUDGET = 30;
const PROXY = '10.9.8.7';

describe.each(backends)('the failed-authentication budget (%s)', (backend) => {
  let svc: TestService;
  let key: string;

  beforeAll(async () => {
    svc = await startTestService({ REGHOOK_TRUST_PROXY: `${PROXY}, 192.0.2.0/24` }, undefined, backend);
    key = await svc.createProject(1);
  });
  afterAll(async () => {
    await svc.stop();
  });

  const request = (
    remoteAddress: string,
    token: string,
    options: { forwardedFor?: string; method?: 'GET' | 'POST'; url?: string; body?: unknown } = {},
  ) =>
    svc.app!.inject({
      method: options.method ?? 'GET',
      url: options.url ?? '/v1/projects/1',
      remoteAddress,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.forwardedFor === undefined ? {} : { 'x-forwarded-for': options.forwardedFor }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    });
  const exhaust = async (remoteAddress: string, forwardedFor?: (i: number) => string) => {
    for (let i = 0; i < BUDGET; i++) {
      const res = await request(remoteAddress, `wrong-${i}`, forwardedFor ? { forwardedFor: forwardedFor(i) } : {});
      expect(res.statusCode).toBe(401);
    }
  };
  const signIn = (remoteAddress: string, token: string) =>
    svc.app!.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80', host: 'localhost:80' },
      payload: `token=${encodeURIComponent(token)}`,
    });

  it('after the budget is spent, the correct admin token and ingest still answer 2xx; a bad token gets 429 with Retry-After', async () => {
    const nat = '198.51.100.77';
    await exhaust(nat);
    const bad = await request(nat, 'wrong-again');
    expect(bad.statusCode).toBe(429);
    expect(Number(bad.headers['retry-after'])).toBeGreaterThan(0);
    expect(bad.json().code).toBe('REGHOOK_RATE_LIMITED');
    expect((await request(nat, ADMIN_TOKEN)).statusCode).toBe(200);
    expect((await request(nat, key)).statusCode).toBe(200);
    const ingest = await request(nat, ADMIN_TOKEN, { method: 'POST', url: '/v1/registrations', body: registration() });
    expect(ingest.statusCode).toBe(202);
    // Correct credentials do not reset the budget: guessing from there stays slowed down.
    expect((await request(nat, 'wrong-once-more')).statusCode).toBe(429);
  });

  it('the dashboard sign-in alike: a correct key signs in from a blocked address, a bad one gets 429', async () => {
    const nat = '198.51.100.78';
    await exhaust(nat);
    const refused = await signIn(nat, 'wrong-sign-in');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    const accepted = await signIn(nat, key);
    expect(accepted.statusCode).toBe(303);
    expect(accepted.headers['set-cookie']).toBeDefined();
  });

  it('two clients behind a trusted proxy have separate budgets', async () => {
    await exhaust(PROXY, () => '203.0.113.10');
    expect((await request(PROXY, 'wrong', { forwardedFor: '203.0.113.10' })).statusCode).toBe(429);
    expect((await request(PROXY, 'wrong', { forwardedFor: '203.0.113.11' })).statusCode).toBe(401);
    // A proxy inside a trusted CIDR, in a chain of two trusted hops.
    expect((await request('192.0.2.5', 'wrong', { forwardedFor: `203.0.113.10, ${PROXY}` })).statusCode).toBe(429);
    expect((await request('192.0.2.5', 'wrong', { forwardedFor: `203.0.113.12, ${PROXY}` })).statusCode).toBe(401);
  });

  it("an untrusted peer's X-Forwarded-For changes neither its own budget nor anybody else's", async () => {
    const peer = '198.51.100.90';
    const victim = '198.51.100.91';
    // Spoofing a new client address on every try does not buy the peer a fresh budget…
    await exhaust(peer, (i) => `203.0.113.${100 + i}`);
    expect((await request(peer, 'wrong', { forwardedFor: '203.0.113.250' })).statusCode).toBe(429);
    // …and the address it named as its client was not charged.
    await exhaust('198.51.100.92', () => victim);
    expect((await request(victim, 'wrong')).statusCode).toBe(401);
  });
});
