import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationErrorCode } from '@reghook/receiver';
import { secretKey, sign } from '@reghook/receiver/signing';
import { OTHER_SECRET, SAMPLE_BODY, SAMPLE_EVENT, SECRET, newWebhookId, nowSeconds, signedRequest } from './fixtures.js';

/** The test vector of the Standard Webhooks specification. */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function codeOf(run: () => unknown): WebhookVerificationErrorCode | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
}

describe('Standard Webhooks interoperability', () => {
  it('our signer reproduces the specification test vector', () => {
    expect(sign(secretKey(VECTOR.secret), VECTOR.msgId, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
  });

  it('the reference library agrees on the test vector (so the vector is what we think it is)', () => {
    expect(new Webhook(VECTOR.secret).sign(VECTOR.msgId, new Date(VECTOR.timestamp * 1000), VECTOR.payload)).toBe(
      VECTOR.signature,
    );
  });

  it('the test vector signature passes our verification, which then refuses the non-event body', () => {
    const headers = {
      'webhook-id': VECTOR.msgId,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    };
    const at = { now: () => VECTOR.timestamp * 1000 };
    // Signature and timestamp pass; only the payload check ({"test": …} is no event) fails.
    expect(codeOf(() => verifyWebhook(VECTOR.payload, headers, VECTOR.secret, at))).toBe('invalid_payload');
    const flipped = VECTOR.signature.replace('g0hM', 'g0hN');
    expect(codeOf(() => verifyWebhook(VECTOR.payload, { ...headers, 'webhook-signature': flipped }, VECTOR.secret, at))).toBe(
      'invalid_signature',
    );
  });

  it('a webhook signed by the reference library is verified by ours', () => {
    const msgId = newWebhookId();
    const timestamp = nowSeconds();
    const signature = new Webhook(SECRET).sign(msgId, new Date(timestamp * 1000), SAMPLE_BODY);
    const headers = { 'webhook-id': msgId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
    expect(verifyWebhook(SAMPLE_BODY, headers, SECRET)).toEqual(SAMPLE_EVENT);
    expect(codeOf(() => verifyWebhook(SAMPLE_BODY, headers, OTHER_SECRET))).toBe('invalid_signature');
  });

  it('a webhook signed by ours is verified by the reference library', () => {
    const request = signedRequest(SAMPLE_BODY);
    expect(new Webhook(SECRET).verify(request.body, request.headers)).toEqual(SAMPLE_EVENT);
    expect(() => new Webhook(OTHER_SECRET).verify(request.body, request.headers)).toThrow(/No matching signature/);
  });

  it('during rotation both the reference library and ours accept the header signed under two secrets, with either', () => {
    const request = signedRequest(SAMPLE_BODY, { secrets: [OTHER_SECRET, SECRET] });
    expect(request.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    for (const secret of [SECRET, OTHER_SECRET]) {
      expect(new Webhook(secret).verify(request.body, request.headers)).toEqual(SAMPLE_EVENT);
      expect(verifyWebhook(request.body, request.headers, secret)).toEqual(SAMPLE_EVENT);
    }
  });

  it('the reference library, like ours, refuses our signature once the body is altered', () => {
    const request = signedRequest(SAMPLE_BODY);
    const altered = request.body.replace('"appId":1', '"appId":2');
    expect(() => new Webhook(SECRET).verify(altered, request.headers)).toThrow(/No matching signature/);
    expect(codeOf(() => verifyWebhook(altered, request.headers, SECRET))).toBe('invalid_signature');
  });
});
