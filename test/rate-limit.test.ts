import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestService, type TestService } from './helpers/service.js';

let offset = 0;
const clock = { now: () => Date.now() + offset };
let svc: TestService;
let key: string;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_KEY_RATE_LIMIT: '5' }, clock);
  key = await svc.createProject(1);
});
afterAll(async () => {
  await svc.stop();
});

const asClient = (ip: string, token: string) =>
  svc.app!.inject({ method: 'GET', url: '/v1/projects/1', remoteAddress: ip, headers: { authorization: `Bearer ${token}` } });

describe('rate limits', () => {
  it('failed authentication is limited per client address: 429 with Retry-After for a wrong token, never for a right one', async () => {
    for (let i = 0; i < 30; i++) expect((await asClient('198.51.100.1', `wrong-${i}`)).statusCode).toBe(401);
    const blocked = await asClient('198.51.100.1', 'wrong-again');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json().code).toBe('REGHOOK_RATE_LIMITED');
    expect((await asClient('198.51.100.1', ADMIN_TOKEN)).statusCode).toBe(200);
    // Another address is not affected.
    expect((await asClient('198.51.100.2', 'wrong')).statusCode).toBe(401);
    // The window passes.
    offset += 61_000;
    expect((await asClient('198.51.100.1', 'wrong')).statusCode).toBe(401);
  });

  it('a project key gets REGHOOK_KEY_RATE_LIMIT requests a minute; the admin token is not limited', async () => {
    offset += 61_000;
    for (let i = 0; i < 5; i++) expect((await asClient('192.0.2.9', key)).statusCode).toBe(200);
    const limited = await asClient('192.0.2.9', key);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    for (let i = 0; i < 10; i++) expect((await asClient('192.0.2.9', ADMIN_TOKEN)).statusCode).toBe(200);
  });

  it('the API and the dashboard sign-in share one failed-authentication budget per address', async () => {
    offset += 61_000;
    for (let i = 0; i < 30; i++) expect((await asClient('203.0.113.50', `wrong-${i}`)).statusCode).toBe(401);
    const signIn = await svc.app!.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress: '203.0.113.50',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80', host: 'localhost:80' },
      payload: `token=${encodeURIComponent('not-a-key')}`,
    });
    expect(signIn.statusCode).toBe(429);
    expect(signIn.headers['retry-after']).toBeDefined();
    expect(signIn.headers['set-cookie']).toBeUndefined();
    const elsewhere = await svc.app!.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress: '203.0.113.51',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80', host: 'localhost:80' },
      payload: `token=${encodeURIComponent('not-a-key')}`,
    });
    expect(elsewhere.statusCode).toBe(401);
  });
});
