import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDeduper, expressWebhook, type ReceiverOptions, type VerifiedWebhook } from '@reghook/receiver';
import { SAMPLE_EVENT, SECRET, post, signedRequest } from './fixtures.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** An app with `before` parsers, the middleware, then `route` at POST /webhooks. */
async function app(route: RequestHandler, options: ReceiverOptions = {}, before: RequestHandler[] = []): Promise<string> {
  const application = express();
  application.post('/webhooks', ...before, expressWebhook(SECRET, options), route);
  const server = application.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
}

function recordingRoute(): { route: RequestHandler; seen: VerifiedWebhook[] } {
  const seen: VerifiedWebhook[] = [];
  const route: RequestHandler = (_req, res) => {
    seen.push(res.locals.webhook as VerifiedWebhook);
    res.status(200).json({ ok: true });
  };
  return { route, seen };
}

describe('expressWebhook over real HTTP', () => {
  it('without any body parser it reads the stream and hands the verified webhook to the route in res.locals', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route);
    const req = signedRequest();
    expect(await post(url, req.body, req.headers)).toEqual({ status: 200, json: { ok: true } });
    expect(seen).toEqual([{ event: SAMPLE_EVENT, webhookId: req.webhookId, timestamp: req.timestamp }]);
  });

  it('after express.raw() it verifies the Buffer that express.raw() kept', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route, {}, [express.raw({ type: 'application/json' })]);
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect(seen.map((w) => w.event)).toEqual([SAMPLE_EVENT]);
  });

  it('after an express.raw() that did not match application/json it still reads the untouched stream', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route, {}, [express.raw()]); // default type: application/octet-stream only
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect(seen.map((w) => w.event)).toEqual([SAMPLE_EVENT]);
  });

  it('after express.json() consumed the body it fails loudly (500) instead of verifying re-serialised JSON', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route, {}, [express.json()]);
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(500);
    expect(seen).toEqual([]);
  });

  it('a tampered request is answered 401 and the route is not called', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route);
    const req = signedRequest();
    const res = await post(url, req.body.replace('"TR"', '"US"'), req.headers);
    expect(res).toMatchObject({ status: 401, json: { error: { code: 'invalid_signature' } } });
    expect(seen).toEqual([]);
  });

  it('a tampered request is answered 401 after express.raw() too', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route, {}, [express.raw({ type: 'application/json' })]);
    const req = signedRequest();
    const res = await post(url, req.body.replace('"TR"', '"US"'), req.headers);
    expect(res.status).toBe(401);
    expect(seen).toEqual([]);
  });

  it('a duplicate webhook-id is acknowledged 200 but reaches the route once', async () => {
    const { route, seen } = recordingRoute();
    const url = await app(route, { deduper: createDeduper() });
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    const retry = signedRequest(req.body, { webhookId: req.webhookId, timestamp: req.timestamp + 5 });
    expect(await post(url, retry.body, retry.headers)).toEqual({ status: 200, json: { received: true, duplicate: true } });
    expect(seen).toHaveLength(1);
  });

  it('when the route answers other than 200 the webhook-id is forgotten, so the retry reaches the route again', async () => {
    let calls = 0;
    const route: RequestHandler = (_req, res) => {
      calls += 1;
      res.sendStatus(calls === 1 ? 503 : 200);
    };
    const url = await app(route, { deduper: createDeduper() });
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(503);
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect(calls).toBe(2);
    // Now that it succeeded, a third copy is a duplicate.
    expect(await post(url, req.body, req.headers)).toEqual({ status: 200, json: { received: true, duplicate: true } });
    expect(calls).toBe(2);
  });

  it('a body over maxBodyBytes is answered 413 and the route is not called', async () => {
    const route = vi.fn<RequestHandler>();
    const url = await app(route, { maxBodyBytes: 64 });
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(413);
    expect(route).not.toHaveBeenCalled();
  });
});
