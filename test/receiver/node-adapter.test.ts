import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createDeduper,
  createNodeHandler,
  type ReceiverOptions,
  type RegisteredUserEvent,
  type WebhookEventHandler,
  type WebhookMeta,
} from '@reghook/receiver';
import { SAMPLE_EVENT, SECRET, nowSeconds, post, signedRequest } from './fixtures.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function receiver(onEvent: WebhookEventHandler, options: ReceiverOptions = {}): Promise<string> {
  const server = createServer(createNodeHandler(SECRET, onEvent, { onError: () => {}, ...options }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
}

describe('createNodeHandler over real HTTP', () => {
  it('a signed delivery reaches onEvent as a typed event with its webhook-id and timestamp, and is answered 200', async () => {
    const received: Array<[RegisteredUserEvent, WebhookMeta]> = [];
    const url = await receiver((event, meta) => void received.push([event, meta]));
    const req = signedRequest();
    const res = await post(url, req.body, req.headers);
    expect(res).toEqual({ status: 200, json: { received: true } });
    expect(received).toEqual([[SAMPLE_EVENT, { webhookId: req.webhookId, timestamp: req.timestamp }]]);
    const [event] = received[0]!;
    expect(event.appId + 1).toBe(2); // typed: a number, not a string
  });

  it('a tampered body is answered 401 and never reaches onEvent', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent);
    const req = signedRequest();
    const res = await post(url, req.body.replace('"appId":1', '"appId":9'), req.headers);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'invalid_signature' } });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a duplicate webhook-id is acknowledged 200 but delivered to onEvent once', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent, { deduper: createDeduper() });
    const req = signedRequest();
    expect(await post(url, req.body, req.headers)).toEqual({ status: 200, json: { received: true } });
    // A retry: same event and id, a later timestamp and a fresh signature.
    const retry = signedRequest(req.body, { webhookId: req.webhookId, timestamp: req.timestamp + 1 });
    expect(await post(url, retry.body, retry.headers)).toEqual({ status: 200, json: { received: true, duplicate: true } });
    expect(onEvent).toHaveBeenCalledTimes(1);
  });

  it('when onEvent throws the answer is 500, and the retry of that webhook-id is delivered again', async () => {
    const onError = vi.fn();
    const onEvent = vi.fn().mockRejectedValueOnce(new Error('database down')).mockResolvedValueOnce(undefined);
    const url = await receiver(onEvent, { deduper: createDeduper(), onError });
    const req = signedRequest();
    const first = await post(url, req.body, req.headers);
    expect(first.status).toBe(500);
    expect(first.json).toMatchObject({ error: { code: 'handler_failed' } });
    expect(JSON.stringify(first.json)).not.toContain('database down');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'database down' }));
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(2);
  });

  it('an authentic but stale delivery is answered 401 timestamp_too_old', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent);
    const req = signedRequest(SAMPLE_EVENT, { timestamp: nowSeconds() - 301 });
    const res = await post(url, req.body, req.headers);
    expect(res).toMatchObject({ status: 401, json: { error: { code: 'timestamp_too_old' } } });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a request without signature headers is answered 400 missing_header', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent);
    const res = await post(url, JSON.stringify(SAMPLE_EVENT), { 'content-type': 'application/json' });
    expect(res).toMatchObject({ status: 400, json: { error: { code: 'missing_header' } } });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('an authentic body that is not a valid event is answered 400 invalid_payload', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent);
    const req = signedRequest(JSON.stringify({ ...SAMPLE_EVENT, appId: 0 }));
    const res = await post(url, req.body, req.headers);
    expect(res).toMatchObject({ status: 400, json: { error: { code: 'invalid_payload' } } });
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a body over maxBodyBytes is answered 413, whether declared by content-length or streamed chunked', async () => {
    const onEvent = vi.fn();
    const url = await receiver(onEvent, { maxBodyBytes: 100 });
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(413);
    const chunked = await request(url, {
      method: 'POST',
      headers: req.headers,
      // A stream is sent chunked: no content-length for the handler to check up front.
      body: Readable.from([Buffer.from(req.body)]),
    });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.dump();
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('a body of exactly maxBodyBytes is accepted', async () => {
    const onEvent = vi.fn();
    const req = signedRequest();
    const url = await receiver(onEvent, { maxBodyBytes: Buffer.byteLength(req.body) });
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect(onEvent).toHaveBeenCalledTimes(1);
  });

  it('anything but POST is answered 405 with Allow: POST', async () => {
    const url = await receiver(vi.fn());
    const res = await request(url, { method: 'GET' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
    await res.body.dump();
  });

  it('an invalid secret is refused when the handler is created, not at the first request', () => {
    expect(() => createNodeHandler('whsec_not base64!', vi.fn())).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
  });
});
