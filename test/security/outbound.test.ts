import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';

// SPEC section 7: bounded responses, whole-request deadline, no redirects, and the network policy
// applied to the service's real deliveries.
let svc: TestService;
let receiver: Receiver;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_DELIVERY_TIMEOUT: '1500ms' });
  receiver = await startReceiver();
  await svc.createProject(1);
  await svc.setEndpoint(1, receiver.url);
});
afterAll(async () => {
  await svc.stop();
  await receiver.close();
});

const testWebhook = async () => (await svc.call('POST', '/v1/projects/1/webhook/test')).json;

describe('responses are bounded', () => {
  it('a gzip bomb (4 GiB of zeros in 4 MiB) is inflated only 64 KiB far: the attempt ends well inside its deadline', async () => {
    // 64 gzip members of 64 MiB of zeros each; inflating all of it would take far longer than the deadline.
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    receiver.respondWith((_r, _i, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(bomb);
    });
    const before = process.memoryUsage().rss;
    const result = await testWebhook();
    expect(result).toMatchObject({ success: true, statusCode: 200, error: null });
    // Zeros are kept as U+FFFD: text every store accepts (PostgreSQL refuses U+0000).
    expect(result.responseBody).toBe('\uFFFD'.repeat(1024));
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('a readable compressed body is kept decompressed (first 1 KiB)', async () => {
    receiver.respondWith((_r, _i, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(gzipSync('thanks, '.repeat(1000)));
    });
    const result = await testWebhook();
    expect(result.responseBody).toBe('thanks, '.repeat(1000).slice(0, 1024));
  });

  it('a body that trickles one byte at a time is cut at the whole-request deadline and fails', async () => {
    receiver.respondWith((_r, _i, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const result = await testWebhook();
    expect(result).toMatchObject({ success: false, statusCode: 200, error: 'timeout' });
    expect(result.durationMs).toBeGreaterThanOrEqual(1400);
    expect(result.durationMs).toBeLessThan(4000);
  });

  it('a redirect (here to the cloud metadata address) is a failed attempt and is never followed', async () => {
    const elsewhere = await startReceiver();
    for (const location of ['http://169.254.169.254/latest/meta-data/', elsewhere.url]) {
      receiver.respondWith(answer(302, '', { location }));
      const result = await testWebhook();
      expect(result).toMatchObject({ success: false, statusCode: 302 });
    }
    expect(elsewhere.requests).toHaveLength(0);
    await elsewhere.close();
  });
});

describe('the network policy on real deliveries', () => {
  let strict: TestService;
  beforeAll(async () => {
    strict = await startTestService({ REGHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
    await strict.createProject(1);
  });
  afterAll(async () => {
    await strict.stop();
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://2130706433/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.1/hook',
    'http://localhost/hook',
    'ftp://example.com/hook',
    'https://user:pass@example.com/hook',
  ])('saving %s answers 422 naming the url', async (url) => {
    const res = await strict.call('PUT', '/v1/projects/1/webhook', { url });
    expect(res.status).toBe(422);
    expect(res.json.errors[0].path).toBe('/url');
    expect((await strict.call('GET', '/v1/projects/1/webhook')).status).toBe(404);
  });

  const name = hostname();
  const loopbackName = lookup(name).then((a) => a.address.startsWith('127.') || a.address === '::1', () => false);

  it('a hostname that resolves to loopback passes the save-time check but is refused at connect time, making no connection', async (ctx) => {
    if (!(await loopbackName)) ctx.skip();
    const target = await startReceiver();
    const port = new URL(target.url).port;
    const res = await strict.call('PUT', '/v1/projects/1/webhook', { url: `http://${name}:${port}/hooks` });
    expect(res.status).toBe(200);
    const result = (await strict.call('POST', '/v1/projects/1/webhook/test')).json;
    expect(result).toMatchObject({ success: false, statusCode: null, error: 'destination_refused' });
    expect(target.requests).toHaveLength(0);
    await target.close();
  });
});
