import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, leaksIn, registration, startTestService, uuid, type TestService } from './helpers/service.js';

// SPEC section 7: the audit log, erasure, retention, and what never reaches the logs.
const DAY = 86_400_000;
let offset = 0;
const clock = { now: () => Date.now() + offset };
let svc: TestService;
let receiver: Receiver;
let projectKey: string;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_RETENTION: '30d', REGHOOK_AWAITING_RETENTION: '365d' }, clock);
  receiver = await startReceiver(answer(200, 'echo John Doe'));
  projectKey = await svc.createProject(1);
  await svc.setEndpoint(1, receiver.url);
});
afterAll(async () => {
  await svc.stop();
  await receiver.close();
});

const delivered = (eventId: string) =>
  eventually(async () => {
    const e = (await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json;
    return e.status === 'delivered' ? e : undefined;
  });

describe('audit log', () => {
  it('records every change to keys, endpoints and secrets: who, what, from where, never the secret', async () => {
    const key = await svc.call('POST', '/v1/projects/1/api-keys');
    await svc.call('DELETE', `/v1/projects/1/api-keys/${key.json.id}`, undefined, projectKey);
    await svc.call('PUT', '/v1/projects/1/webhook', { url: receiver.url, enabled: true }, projectKey);
    await svc.call('POST', '/v1/projects/1/webhook/secret', undefined, projectKey);
    const rotated = await svc.call('POST', '/v1/projects/1/webhook/secret/rotate');
    const log = await svc.call('GET', '/v1/projects/1/audit-log?limit=250', undefined, projectKey);
    expect(log.status).toBe(200);
    const actions = log.json.data.map((e: any) => e.action).reverse();
    expect(actions).toEqual([
      'project.created',
      'endpoint.created',
      'api_key.created',
      'api_key.revoked',
      'endpoint.updated',
      'secret.revealed',
      'secret.rotated',
    ]);
    const byAction = Object.fromEntries(log.json.data.map((e: any) => [e.action, e]));
    expect(byAction['api_key.created'].actor).toBe('admin');
    expect(byAction['api_key.revoked'].actor).toMatch(/^key:key_[0-9a-f]{16}$/);
    expect(byAction['endpoint.updated'].details).toMatchObject({ url: receiver.url, enabled: true });
    expect(byAction['secret.rotated'].sourceIp).toBe('127.0.0.1');
    const text = JSON.stringify(log.json);
    expect(text).not.toContain(rotated.json.signingSecret);
    expect(text).not.toContain(key.json.apiKey);
    expect(text).not.toMatch(/whsec_|rhk_/);
  });

  it('another project cannot read it', async () => {
    await svc.createProject(2);
    const other = await svc.call('GET', '/v1/projects/2/audit-log', undefined, projectKey);
    expect(other.status).toBe(404);
  });
});

describe('erasure', () => {
  it("removes a person's registrations, payloads and attempt bodies; delivery metadata stays", async () => {
    const subscriberId = `90${Date.now()}`;
    const reg = registration({ appId: 1, subscriberId });
    const res = await svc.call('POST', '/v1/registrations', reg);
    const before = await delivered(res.json.eventId);
    expect(before.payload.subscriberId).toBe(subscriberId);
    expect(before.attempts[0].responseBody).toBe('echo John Doe');

    const erased = await svc.call('DELETE', `/v1/projects/1/subscribers/${subscriberId}`, undefined, projectKey);
    expect(erased.status).toBe(200);
    expect(erased.json).toEqual({ erasedRegistrations: 1, erasedPayloads: 1 });

    const after = (await svc.call('GET', `/v1/projects/1/events/${res.json.eventId}`)).json;
    expect(after.payload).toBeNull();
    expect(after.attempts[0]).toMatchObject({ responseBody: null, statusCode: 200, success: true });
    expect(after.status).toBe('delivered');
    expect(JSON.stringify(after)).not.toContain(subscriberId);
    // Redelivering an erased event is impossible: there is nothing left to send.
    expect((await svc.call('POST', `/v1/projects/1/events/${res.json.eventId}/redeliver`)).status).toBe(404);
    // The erasure is audited without naming the person.
    const log = (await svc.call('GET', '/v1/projects/1/audit-log')).json.data;
    expect(log[0].action).toBe('subscriber.erased');
    expect(JSON.stringify(log)).not.toContain(subscriberId);
  });

  it('an unknown person erases nothing', async () => {
    const res = await svc.call('DELETE', '/v1/projects/2/subscribers/905555555555');
    expect(res.json).toEqual({ erasedRegistrations: 0, erasedPayloads: 0 });
  });
});

describe('retention', () => {
  it('drops payloads and attempt bodies of events finished longer ago than REGHOOK_RETENTION', async () => {
    const reg = registration({ appId: 1 });
    const res = await svc.call('POST', '/v1/registrations', reg);
    await delivered(res.json.eventId);

    offset += 29 * DAY;
    await svc.sweepRetention();
    expect((await svc.call('GET', `/v1/projects/1/events/${res.json.eventId}`)).json.payload).not.toBeNull();

    offset += 2 * DAY;
    const swept = await svc.sweepRetention();
    expect(swept.payloads).toBeGreaterThanOrEqual(1);
    const after = (await svc.call('GET', `/v1/projects/1/events/${res.json.eventId}`)).json;
    expect(after.payload).toBeNull();
    expect(after.attempts[0].responseBody).toBeNull();
    expect(after.status).toBe('delivered');
    // The user is still known: reporting them again answers the original answer, and no second event.
    const again = await svc.call('POST', '/v1/registrations', reg);
    expect(again.status).toBe(200);
    expect(again.json.eventId).toBe(res.json.eventId);
  });

  it('forgets store registrations that never saw a purchase after REGHOOK_AWAITING_RETENTION', async () => {
    const reg = registration({ appId: 1, storeRegister: true });
    await svc.call('POST', '/v1/registrations', reg);
    offset += 364 * DAY;
    await svc.sweepRetention();
    const stillKnown = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid: reg.clientUuid, transactionId: `t-${uuid()}` });
    expect(stillKnown.json.triggered).toBe(true);

    const late = registration({ appId: 1, storeRegister: true });
    await svc.call('POST', '/v1/registrations', late);
    offset += 366 * DAY;
    const swept = await svc.sweepRetention();
    expect(swept.awaiting).toBeGreaterThanOrEqual(1);
    const forgotten = await svc.call('POST', '/v1/purchases', { appId: 1, clientUuid: late.clientUuid, transactionId: `t-${uuid()}` });
    expect(forgotten.json).toEqual({ triggered: false, reason: 'awaiting_registration' });
  });
});

describe('logs', () => {
  it('the logger redacts personal data and secrets wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger.info({ subscriberId: '905555555555', event: { subscriberName: 'John Doe', clientIp: '203.0.113.7' }, signingSecret: 'whsec_abc' }, 'x');
    logger.flush();
    expect(lines.join('')).toContain('[redacted]');
    expect(leaksIn(lines.join(''))).toEqual([]);
  });
});

describe('secrets at rest', () => {
  it('no signing secret, API key or token is stored in clear: the database files hold none of them', async () => {
    const secret = (await svc.call('POST', '/v1/projects/1/webhook/secret')).json.signingSecret as string;
    const key = (await svc.call('POST', '/v1/projects/1/api-keys')).json.apiKey as string;
    const dbFiles = readdirSync(svc.dir).filter((f) => f.startsWith('reghook.db'));
    expect(dbFiles.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(dbFiles.map((f) => readFileSync(path.join(svc.dir, f))));
    // (A key's first 8 characters are kept on purpose, to tell keys apart in lists.)
    for (const needle of ['whsec_', secret.slice('whsec_'.length), key, key.slice(8), 'test-admin-token']) {
      expect(bytes.includes(Buffer.from(needle)), needle.slice(0, 8)).toBe(false);
    }
  });
});

