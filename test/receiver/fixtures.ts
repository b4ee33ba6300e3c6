/** Events, secrets and signed requests shared by the receiver SDK tests. */
import fc from 'fast-check';
import { request } from 'undici';
import { secretKey, signatureHeader } from '@reghook/receiver/signing';
import type { RegisteredUserEvent } from '@reghook/receiver';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const OTHER_SECRET = 'whsec_c2Vjb25kLXNlY3JldC1mb3ItdGVzdHMtb25seQ==';

/** The example event of SPEC section 3, as the sender serialises it. */
export const SAMPLE_EVENT: RegisteredUserEvent = {
  clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
  clientIp: '203.0.113.7',
  country: 'TR',
  language: 'en',
  storeRegister: true,
  subscriberId: '905555555555',
  subscriberName: 'John Doe',
  appId: 1,
  flowId: 1,
  siteId: 1,
  registerDate: '2020-03-20 12:35:41',
  registerOtpStatus: false,
};

export const SAMPLE_BODY =
  '{"clientUuid":"8a6e0804-2bd0-4672-b79d-d97027f9071a","clientIp":"203.0.113.7","country":"TR","language":"en","storeRegister":true,"subscriberId":"905555555555","subscriberName":"John Doe","appId":1,"flowId":1,"siteId":1,"registerDate":"2020-03-20 12:35:41","registerOtpStatus":false}';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

let counter = 0;
/** A fresh webhook-id in reghook's form (`evt_` + 26 characters). */
export function newWebhookId(): string {
  counter += 1;
  return `evt_${Date.now().toString(36).toUpperCase().padStart(10, '0')}${String(counter).padStart(16, '0')}`;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
  webhookId: string;
  timestamp: number;
}

/** A request as reghook sends it: the body signed under each of `secrets`. */
export function signedRequest(
  body: string | RegisteredUserEvent = SAMPLE_BODY,
  { secrets = [SECRET], webhookId = newWebhookId(), timestamp = nowSeconds() }: {
    secrets?: string[];
    webhookId?: string;
    timestamp?: number;
  } = {},
): SignedRequest {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { body: text, webhookId, timestamp, headers: signedHeaders(text, { secrets, webhookId, timestamp }) };
}

/** The headers reghook sends with `body` (exact bytes, or a string taken as UTF-8). */
export function signedHeaders(
  body: string | Uint8Array,
  { secrets = [SECRET], webhookId = newWebhookId(), timestamp = nowSeconds() }: {
    secrets?: string[];
    webhookId?: string;
    timestamp?: number;
  } = {},
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets.map(secretKey), webhookId, timestamp, body),
  };
}

/** `YYYY-MM-DD HH:mm:ss` in UTC. */
export const formatRegisterDate = (date: Date): string => date.toISOString().slice(0, 19).replace('T', ' ');

const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });
const anyText = (minLength = 0): fc.Arbitrary<string> => fc.string({ unit: 'binary', minLength, maxLength: 40 });
const positiveId = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

/** Any valid RegisteredUserEvent. */
export const eventArbitrary: fc.Arbitrary<RegisteredUserEvent> = fc.record({
  clientUuid: fc.uuid(),
  clientIp: fc.oneof(fc.ipV4(), fc.ipV6()),
  country: nullable(fc.stringMatching(/^[A-Z]{2}$/)),
  language: anyText(1),
  storeRegister: fc.boolean(),
  subscriberId: anyText(1),
  subscriberName: nullable(anyText()),
  appId: positiveId,
  flowId: positiveId,
  siteId: positiveId,
  registerDate: fc
    .date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map(formatRegisterDate),
  registerOtpStatus: fc.boolean(),
});

/** POSTs over loopback with undici; the answer's status and body (parsed when it is JSON). */
export async function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; json: unknown }> {
  const response = await request(url, { method: 'POST', body, headers });
  const text = await response.body.text();
  const isJson = String(response.headers['content-type']).includes('json');
  return { status: response.statusCode, json: isJson ? JSON.parse(text) : text };
}
