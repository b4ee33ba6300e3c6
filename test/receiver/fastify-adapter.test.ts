import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createDeduper,
  fastifyWebhook,
  type ReceiverOptions,
  type RegisteredUserEvent,
  type WebhookEventHandler,
  type WebhookMeta,
} from '@reghook/receiver';
import { SAMPLE_EVENT, SECRET, post, signedRequest } from './fixtures.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** A Fastify app with the plugin at /webhooks beside an ordinary JSON route at /echo. */
async function app(onEvent: WebhookEventHandler, options: ReceiverOptions = {}): Promise<string> {
  const fastify = Fastify();
  apps.push(fastify);
  fastify.post('/echo', async (request) => ({ parsed: request.body }));
  await fastify.register(fastifyWebhook, { secret: SECRET, onEvent, path: '/webhooks', onError: () => {}, ...options });
  return fastify.listen({ port: 0, host: '127.0.0.1' });
}

describe('fastifyWebhook over real HTTP', () => {
  it('a signed delivery reaches onEvent as a typed event and is answered 200', async () => {
    const received: Array<[RegisteredUserEvent, WebhookMeta]> = [];
    const base = await app((event, meta) => void received.push([event, meta]));
    const req = signedRequest();
    expect(await post(`${base}/webhooks`, req.body, req.headers)).toEqual({ status: 200, json: { received: true } });
    expect(received).toEqual([[SAMPLE_EVENT, { webhookId: req.webhookId, timestamp: req.timestamp }]]);
  });

  it('verifies the raw bytes whatever the content-type parameters', async () => {
    const onEvent = vi.fn();
    const base = await app(onEvent);
    const req = signedRequest();
    const headers = { ...req.headers, 'content-type': 'application/json; charset=utf-8' };
    expect((await post(`${base}/webhooks`, req.body, headers)).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(1);
  });

  it('a tampered request is answered 401 and onEvent is not called', async () => {
    const onEvent = vi.fn();
    const base = await app(onEvent);
    const req = signedRequest();
    const res = await post(`${base}/webhooks`, req.body.replace('"en"', '"de"'), req.headers);
    expect(res).toMatchObject({ status: 401, json: { error: { code: 'invalid_signature' } } });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a body that is JSON-equal but differently spaced is refused: the raw bytes were kept', async () => {
    const onEvent = vi.fn();
    const base = await app(onEvent);
    const req = signedRequest();
    const respaced = JSON.stringify(JSON.parse(req.body), null, 1);
    expect((await post(`${base}/webhooks`, respaced, req.headers)).status).toBe(401);
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a duplicate webhook-id is acknowledged 200 but delivered to onEvent once', async () => {
    const onEvent = vi.fn();
    const base = await app(onEvent, { deduper: createDeduper() });
    const req = signedRequest();
    expect((await post(`${base}/webhooks`, req.body, req.headers)).status).toBe(200);
    expect(await post(`${base}/webhooks`, req.body, req.headers)).toEqual({
      status: 200,
      json: { received: true, duplicate: true },
    });
    expect(onEvent).toHaveBeenCalledTimes(1);
  });

  it('when onEvent throws the answer is 500 and the retry is delivered again', async () => {
    const onEvent = vi.fn().mockRejectedValueOnce(new Error('boom')).mockResolvedValueOnce(undefined);
    const base = await app(onEvent, { deduper: createDeduper() });
    const req = signedRequest();
    expect((await post(`${base}/webhooks`, req.body, req.headers)).status).toBe(500);
    expect((await post(`${base}/webhooks`, req.body, req.headers)).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(2);
  });

  it('a body over maxBodyBytes is answered 413', async () => {
    const onEvent = vi.fn();
    const base = await app(onEvent, { maxBodyBytes: 64 });
    const req = signedRequest();
    expect((await post(`${base}/webhooks`, req.body, req.headers)).status).toBe(413);
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('keeps its raw-body parser to itself: the application\'s other routes still get parsed JSON', async () => {
    const base = await app(vi.fn());
    expect(await post(`${base}/echo`, '{"a":1}', { 'content-type': 'application/json' })).toEqual({
      status: 200,
      json: { parsed: { a: 1 } },
    });
  });
});
