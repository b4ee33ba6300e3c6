import express from 'express';
import Fastify from 'fastify';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeduper,
  createNodeHandler,
  expressWebhook,
  fastifyWebhook,
  type RegisteredUserEvent,
  type VerifiedWebhook,
} from '@reghook/receiver';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';

// Each adapter receives real deliveries from a running reghook service (its dispatcher, its
// signer, its HTTP client), not requests built by the test.
let svc: TestService;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => {
  for (const close of closers) await close();
  await svc.stop();
});

const urlOf = (server: Server, path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
const listening = (server: Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

/** A project with an endpoint; answers its signing secret (created by the first PUT, kept by later ones). */
async function project(appId: number): Promise<string> {
  await svc.createProject(appId);
  return svc.setEndpoint(appId, 'http://127.0.0.1:9/not-yet');
}

/** Points the project's endpoint at the adapter's URL. */
const point = (appId: number, url: string) => svc.setEndpoint(appId, url);

async function deliveredTo(appId: number, received: RegisteredUserEvent[]) {
  const reg = registration({ appId });
  const res = await svc.call('POST', '/v1/registrations', reg);
  await eventually(async () => ((await svc.call('GET', `/v1/projects/${appId}/events/${res.json.eventId}`)).json.status === 'delivered' ? true : undefined));
  // Redelivered by hand: the same webhook-id, deduplicated by the adapter.
  await svc.call('POST', `/v1/projects/${appId}/events/${res.json.eventId}/redeliver`);
  await eventually(async () => ((await svc.call('GET', `/v1/projects/${appId}/events/${res.json.eventId}`)).json.attemptCount === 2 ? true : undefined));
  return { reg, eventId: res.json.eventId as string, received };
}

describe('adapters receiving from reghook serve', () => {
  it('node:http handler', async () => {
    const received: RegisteredUserEvent[] = [];
    const secret = await project(301);
    const server = createServer(createNodeHandler(secret, (event) => void received.push(event), { deduper: createDeduper() }));
    await listening(server);
    closers.push(() => new Promise((r) => server.close(r)));
    await point(301, urlOf(server, '/webhooks'));
    const { reg } = await deliveredTo(301, received);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ clientUuid: reg.clientUuid, appId: 301, subscriberId: reg.subscriberId });
  });

  it('Express middleware', async () => {
    const received: RegisteredUserEvent[] = [];
    const secret = await project(302);
    const app = express();
    app.post('/webhooks', expressWebhook(secret, { deduper: createDeduper() }), (_req, res) => {
      received.push((res.locals.webhook as VerifiedWebhook).event);
      res.sendStatus(200);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    closers.push(() => new Promise((r) => server.close(r)));
    await point(302, urlOf(server, '/webhooks'));
    const { reg } = await deliveredTo(302, received);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ clientUuid: reg.clientUuid, appId: 302 });
  });

  it('Fastify plugin', async () => {
    const received: RegisteredUserEvent[] = [];
    const secret = await project(303);
    const app = Fastify();
    await app.register(fastifyWebhook, { secret, path: '/webhooks', deduper: createDeduper(), onEvent: (event) => void received.push(event) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    await point(303, urlOf(app.server, '/webhooks'));
    const { reg } = await deliveredTo(303, received);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ clientUuid: reg.clientUuid, appId: 303 });
  });
});
