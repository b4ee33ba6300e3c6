import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { spawnReghook, type ReghookProcess } from '../helpers/process.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, leaksIn, registration } from '../helpers/service.js';

// SPEC section 4: "Nothing accepted is ever lost: a crash or kill -9 at any moment leaves every
// accepted event delivered, failed after its attempts, or still due and picked up again."
const dir = mkdtempSync(path.join(tmpdir(), 'reghook-crash-'));
const env = {
  REGHOOK_DATABASE_URL: `sqlite:${path.join(dir, 'reghook.db')}`,
  REGHOOK_ADMIN_TOKEN: ADMIN_TOKEN,
  REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  REGHOOK_DELIVERY_TIMEOUT: '1s',
  REGHOOK_RETRY_INTERVAL: '200ms',
  REGHOOK_ENDPOINT_CONCURRENCY: '8',
};
const processes: ReghookProcess[] = [];
let receiver: Receiver;

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await receiver?.close();
});

async function api(base: string, method: string, url: string, body?: unknown) {
  const res = await request(base + url, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}

it('kill -9 while delivering 1,000 accepted registrations, then a restart: every event is delivered', async () => {
  // A receiver that takes a little time, so the burst is still being delivered at the kill.
  receiver = await startReceiver((_req, _i, res) => {
    setTimeout(() => {
      res.writeHead(200);
      res.end('ok');
    }, 50);
  });
  const first = await spawnReghook('serve', env);
  processes.push(first);
  expect((await api(first.url!, 'POST', '/v1/projects', { appId: 1, name: 'crash' })).status).toBe(201);
  expect((await api(first.url!, 'PUT', '/v1/projects/1/webhook', { url: receiver.url })).status).toBe(200);

  const accepted: string[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api(first.url!, 'POST', '/v1/registrations', registration({ appId: 1 }))),
    );
    for (const a of answers) {
      expect(a.status).toBe(202);
      accepted.push(a.json.eventId);
    }
  }
  expect(accepted).toHaveLength(1000);
  const deliveredBeforeKill = new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size;
  expect(deliveredBeforeKill).toBeLessThan(1000); // the kill lands mid-burst
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await spawnReghook('serve', env);
  processes.push(second);
  const want = new Set(accepted);
  const deadline = Date.now() + 45_000;
  const seen = () => new Set(receiver.requests.map((r) => r.headers['webhook-id'] as string));
  while ([...want].some((id) => !seen().has(id))) {
    if (Date.now() > deadline) throw new Error(`only ${[...want].filter((id) => seen().has(id)).length} of 1000 delivered`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Duplicates only for attempts in flight at the kill (at most the endpoint's concurrency).
  const duplicates = receiver.requests.length - seen().size;
  expect(duplicates).toBeLessThanOrEqual(8);
  // And the log agrees: nothing is left pending or failed.
  const failed = await api(second.url!, 'GET', '/v1/projects/1/events?status=failed');
  expect(failed.json.data).toHaveLength(0);

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  // Nothing either process printed carries personal data or a secret.
  expect(leaksIn(first.output() + second.output())).toEqual([]);
}, 90_000);
