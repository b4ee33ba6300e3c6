import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service.js';

// Property: no generated request to any write route yields a 5xx.
let svc: TestService;
let key: string;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_ALLOW_PRIVATE_NETWORKS: 'false', REGHOOK_KEY_RATE_LIMIT: '1000000' });
  key = await svc.createProject(1);
});
afterAll(async () => {
  await svc.stop();
});

const segment = fc.oneof(
  fc.constantFrom('1', '2', '0', '-1', '2147483648', '1e3', '%00', '..', 'evt_00000000000000000000000000', 'key_0000000000000000'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);

const routes: ((a: string, b: string) => [string, string])[] = [
  () => ['POST', '/v1/registrations'],
  () => ['POST', '/v1/purchases'],
  () => ['POST', '/v1/projects'],
  (a) => ['POST', `/v1/projects/${a}/api-keys`],
  (a, b) => ['DELETE', `/v1/projects/${a}/api-keys/${b}`],
  (a) => ['PUT', `/v1/projects/${a}/webhook`],
  (a) => ['POST', `/v1/projects/${a}/webhook/secret`],
  (a) => ['POST', `/v1/projects/${a}/webhook/secret/rotate`],
  (a, b) => ['POST', `/v1/projects/${a}/events/${b}/redeliver`],
  (a) => ['POST', `/v1/projects/${a}/events/recover`],
  (a, b) => ['DELETE', `/v1/projects/${a}/subscribers/${b}`],
];

const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.record({ appId: fc.oneof(fc.integer(), fc.string()), url: fc.webUrl(), since: fc.string(), clientUuid: fc.uuid() }).map((v) => JSON.stringify(v)),
);

it('no generated request to a write route answers 5xx (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: routes.length - 1 }),
      segment,
      segment,
      body,
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', ''),
      fc.constantFrom(ADMIN_TOKEN, 'KEY'),
      async (route, a, b, payload, contentType, token) => {
        const [method, url] = routes[route]!(a, b);
        const res = await svc.app!.inject({
          method: method as 'POST',
          url,
          payload,
          headers: { authorization: `Bearer ${token === 'KEY' ? key : token}`, ...(contentType ? { 'content-type': contentType } : {}) },
        });
        expect(res.statusCode, `${method} ${url} ${payload.slice(0, 80)} -> ${res.body.slice(0, 200)}`).toBeLessThan(500);
      },
    ),
    { numRuns: 400 },
  );
});
