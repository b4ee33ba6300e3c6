import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { generateSecret, headerHasSignature, secretKey, sign } from '@reghook/receiver/signing';
import { spawnReghook, type ReghookProcess } from '../helpers/process.js';
import { answer, hang, startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, registration } from '../helpers/service.js';

// SPEC section 5: operator notifications are stored like registrations. One written in the
// transaction of the attempt that caused it survives a kill -9 before it was sent, and is sent
// after the restart (when the dead process's lease on it runs out).
const dir = mkdtempSync(path.join(tmpdir(), 'reghook-operator-crash-'));
const SECRET = generateSecret();
const processes: ReghookProcess[] = [];
const receivers: Receiver[] = [];

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
});

async function api(base: string, method: string, url: string, body?: unknown) {
  const res = await request(base + url, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}

it('kill -9 after the triggering attempt is recorded, before its notification is sent: delivered after the restart', async () => {
  // The operator's server takes each request and never answers: the notification is on its way, not delivered.
  const operator = await startReceiver(hang);
  const endpoint = await startReceiver(answer(500));
  receivers.push(operator, endpoint);
  const env = {
    REGHOOK_DATABASE_URL: `sqlite:${path.join(dir, 'reghook.db')}`,
    REGHOOK_ADMIN_TOKEN: ADMIN_TOKEN,
    REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    REGHOOK_DELIVERY_TIMEOUT: '2s',
    REGHOOK_RETRY_INTERVAL: '100ms',
    REGHOOK_FAILING_AFTER: '1',
    // The notifications' limit too: the attempt the killed process made counts, one is left.
    REGHOOK_MAX_ATTEMPTS: '2',
    REGHOOK_OPERATOR_WEBHOOK_URL: operator.url,
    REGHOOK_OPERATOR_WEBHOOK_SECRET: SECRET,
  };
  const first = await spawnReghook('serve', env);
  processes.push(first);
  expect((await api(first.url!, 'POST', '/v1/projects', { appId: 1, name: 'crash' })).status).toBe(201);
  expect((await api(first.url!, 'PUT', '/v1/projects/1/webhook', { url: endpoint.url })).status).toBe(200);
  expect((await api(first.url!, 'POST', '/v1/registrations', registration({ appId: 1 }))).status).toBe(202);

  // The first failed attempt made the endpoint failing, the second used the event's last attempt:
  // two notifications, both hanging (killed well inside the 2 s delivery timeout).
  await operator.waitFor(2, 10_000);
  const owed = new Set(operator.requests.map((r) => r.headers['webhook-id'] as string));
  expect(owed.size).toBe(2);
  first.child.kill('SIGKILL');
  await first.exited;

  operator.respondWith(answer(200));
  const before = operator.requests.length;
  const second = await spawnReghook('serve', env);
  processes.push(second);
  // The dead process's lease (2 × the delivery timeout + 5 s) runs out, then each is sent again.
  const after = await eventually(() => {
    const later = operator.requests.slice(before);
    return later.length >= 2 ? later : undefined;
  }, 25_000);
  expect(new Set(after.map((r) => r.headers['webhook-id'] as string))).toEqual(owed);
  for (const r of after) {
    const id = r.headers['webhook-id'] as string;
    expect(headerHasSignature(r.headers['webhook-signature'] as string, sign(secretKey(SECRET), id, Number(r.headers['webhook-timestamp']), r.body))).toBe(true);
  }
  expect(after.map((r) => JSON.parse(r.body).type).sort()).toEqual(['endpoint.failing', 'event.failed']);
  const listed = await eventually(async () => {
    const l = await api(second.url!, 'GET', '/v1/operator-events');
    return l.json.data.every((e: any) => e.status === 'delivered') ? l : undefined;
  }, 5_000);
  expect(listed.json.data).toHaveLength(2);
  expect(listed.json.data.every((e: any) => e.attemptCount === 2)).toBe(true);
}, 45_000);

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
