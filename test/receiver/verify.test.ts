import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOLERANCE_SECONDS,
  verifyWebhook,
  verifyWebhookMessage,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from '@reghook/receiver';
import { OTHER_SECRET, SAMPLE_BODY, SAMPLE_EVENT, SECRET, signedHeaders, signedRequest } from './fixtures.js';

function codeOf(run: () => unknown): WebhookVerificationErrorCode | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
}

describe('verifyWebhook', () => {
  it('returns the event of a correctly signed request', () => {
    const { body, headers } = signedRequest();
    expect(verifyWebhook(body, headers, SECRET)).toEqual(SAMPLE_EVENT);
  });

  it('returns the webhook-id and timestamp alongside the event from verifyWebhookMessage', () => {
    const request = signedRequest();
    expect(verifyWebhookMessage(request.body, request.headers, SECRET)).toEqual({
      webhookId: request.webhookId,
      timestamp: request.timestamp,
      event: SAMPLE_EVENT,
    });
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('a request without %s is refused as missing_header', (name) => {
    const { body, headers } = signedRequest();
    const without = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
    expect(codeOf(() => verifyWebhook(body, without, SECRET))).toBe('missing_header');
    expect(codeOf(() => verifyWebhook(body, { ...headers, [name]: '' }, SECRET))).toBe('missing_header');
  });

  it('a webhook-id given twice with different values is refused as invalid_header', () => {
    const { body, headers } = signedRequest();
    const twice = { ...headers, 'webhook-id': [headers['webhook-id']!, 'evt_other'] };
    expect(codeOf(() => verifyWebhook(body, twice, SECRET))).toBe('invalid_header');
  });

  it('signatures split over several header values (string[]) are all considered', () => {
    const { body, headers } = signedRequest();
    const split = { ...headers, 'webhook-signature': ['v1,bm90LWl0', headers['webhook-signature']!] };
    expect(verifyWebhook(body, split, SECRET)).toEqual(SAMPLE_EVENT);
  });

  it('any matching entry of a multi-signature header is enough', () => {
    const { body, headers } = signedRequest();
    const several = { ...headers, 'webhook-signature': `v1,AAAA v2,${headers['webhook-signature']!.slice(3)} ${headers['webhook-signature']!}` };
    expect(verifyWebhook(body, several, SECRET)).toEqual(SAMPLE_EVENT);
  });

  it('a signature under a version other than v1 is not accepted', () => {
    const { body, headers } = signedRequest();
    const v2 = { ...headers, 'webhook-signature': headers['webhook-signature']!.replace(/^v1,/, 'v2,') };
    expect(codeOf(() => verifyWebhook(body, v2, SECRET))).toBe('invalid_signature');
  });

  it('with several configured secrets, a request signed under any one of them is accepted', () => {
    const third = 'whsec_dGhpcmQtc2VjcmV0LW5vdC1jb25maWd1cmVk';
    const byOld = signedRequest(SAMPLE_BODY, { secrets: [OTHER_SECRET] });
    const byNew = signedRequest(SAMPLE_BODY, { secrets: [SECRET] });
    const byNeither = signedRequest(SAMPLE_BODY, { secrets: [third] });
    expect(verifyWebhook(byOld.body, byOld.headers, [SECRET, OTHER_SECRET])).toEqual(SAMPLE_EVENT);
    expect(verifyWebhook(byNew.body, byNew.headers, [SECRET, OTHER_SECRET])).toEqual(SAMPLE_EVENT);
    expect(codeOf(() => verifyWebhook(byNeither.body, byNeither.headers, [SECRET, OTHER_SECRET]))).toBe('invalid_signature');
  });

  it.each([
    ['not whsec_ base64', 'whsec_not base64!'],
    ['decoding to no bytes', 'whsec_A'],
    ['empty', ''],
  ])('a configured secret %s is refused as invalid_secret, without echoing it', (_label, secret) => {
    const { body, headers } = signedRequest();
    let caught: unknown;
    try {
      verifyWebhook(body, headers, [SECRET, secret]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WebhookVerificationError);
    expect((caught as WebhookVerificationError).code).toBe('invalid_secret');
    if (secret.length > 0) expect((caught as Error).message).not.toContain(secret);
  });

  it('no configured secret at all is invalid_secret', () => {
    const { body, headers } = signedRequest();
    expect(codeOf(() => verifyWebhook(body, headers, []))).toBe('invalid_secret');
  });

  it('the signature is checked on the raw bytes before any JSON parsing', () => {
    const notJson = 'this is { not json';
    const { headers } = signedRequest(SAMPLE_BODY);
    // Unsigned garbage is a signature failure, not a parse failure: the parser never saw it.
    expect(codeOf(() => verifyWebhook(notJson, headers, SECRET))).toBe('invalid_signature');
    const signedGarbage = signedRequest(notJson);
    expect(codeOf(() => verifyWebhook(signedGarbage.body, signedGarbage.headers, SECRET))).toBe('invalid_payload');
  });

  it('the same JSON re-serialised with different whitespace no longer verifies', () => {
    const { body, headers } = signedRequest();
    const reserialised = JSON.stringify(JSON.parse(body), null, 2);
    expect(codeOf(() => verifyWebhook(reserialised, headers, SECRET))).toBe('invalid_signature');
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['a JSON array', Buffer.from('[1,2]')],
    ['JSON null', Buffer.from('null')],
    ['an event without appId', Buffer.from(JSON.stringify({ ...SAMPLE_EVENT, appId: undefined }))],
    ['an empty body', Buffer.alloc(0)],
  ])('an authentic body that is %s is refused as invalid_payload', (_label, bytes) => {
    expect(codeOf(() => verifyWebhook(bytes, signedHeaders(bytes), SECRET))).toBe('invalid_payload');
  });

  it('the invalid_payload message names the offending property', () => {
    const request = signedRequest(JSON.stringify({ ...SAMPLE_EVENT, country: 'tr' }));
    expect(() => verifyWebhook(request.body, request.headers, SECRET)).toThrow(/\/country/);
  });

  it('accepts an authentic event with a property it does not know, and hands it on (forward compatible)', () => {
    const request = signedRequest(JSON.stringify({ ...SAMPLE_EVENT, referrer: 'newsletter' }));
    expect(verifyWebhook(request.body, request.headers, SECRET)).toEqual({ ...SAMPLE_EVENT, referrer: 'newsletter' });
  });

  it('returns the properties in the spec order even when the body lists them in another order', () => {
    const reversed = Object.fromEntries(Object.entries(SAMPLE_EVENT).reverse());
    const request = signedRequest(JSON.stringify(reversed));
    expect(Object.keys(verifyWebhook(request.body, request.headers, SECRET))).toEqual(Object.keys(SAMPLE_EVENT));
  });

  it('accepts the clock as a Date or as epoch milliseconds', () => {
    const request = signedRequest(SAMPLE_BODY, { timestamp: 1_600_000_000 });
    const inside = 1_600_000_000_000 + DEFAULT_TOLERANCE_SECONDS * 1000;
    expect(verifyWebhook(request.body, request.headers, SECRET, { now: () => inside })).toEqual(SAMPLE_EVENT);
    expect(verifyWebhook(request.body, request.headers, SECRET, { now: () => new Date(inside) })).toEqual(SAMPLE_EVENT);
    expect(codeOf(() => verifyWebhook(request.body, request.headers, SECRET, { now: () => new Date(inside + 1000) }))).toBe(
      'timestamp_too_old',
    );
    // With the real clock, 2020 is long past.
    expect(codeOf(() => verifyWebhook(request.body, request.headers, SECRET))).toBe('timestamp_too_old');
  });

  it('an authentic but replayed old request is told apart from a forged one', () => {
    const old = signedRequest(SAMPLE_BODY, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(codeOf(() => verifyWebhook(old.body, old.headers, SECRET))).toBe('timestamp_too_old');
    expect(codeOf(() => verifyWebhook(old.body, old.headers, OTHER_SECRET))).toBe('invalid_signature');
  });

  it('a negative or non-finite tolerance is a programming error', () => {
    const { body, headers } = signedRequest();
    expect(() => verifyWebhook(body, headers, SECRET, { toleranceSeconds: -1 })).toThrow(RangeError);
    expect(() => verifyWebhook(body, headers, SECRET, { toleranceSeconds: Number.NaN })).toThrow(RangeError);
  });

  it('works with a WHATWG Headers and with any object exposing get()', () => {
    const { body, headers } = signedRequest();
    expect(verifyWebhook(body, new Headers(headers), SECRET)).toEqual(SAMPLE_EVENT);
    const map = new Map(Object.entries(headers));
    expect(verifyWebhook(body, { get: (name: string) => map.get(name) }, SECRET)).toEqual(SAMPLE_EVENT);
  });

  it('WebhookVerificationError is an Error with a stable name and code', () => {
    const error = new WebhookVerificationError('invalid_signature', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('WebhookVerificationError');
    expect(error.code).toBe('invalid_signature');
  });
});
