/**
 * The committed signed sample (docs/samples/signed-webhook.json) is what reghook's code builds and
 * signs, so it cannot drift from the sender; the Node SDK and the reference library verify it.
 * UPDATE_SAMPLE=1 rewrites the file from signed-sample.ts instead of failing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { normalizeRegistration } from '../../src/domain/registration.js';
import { validateRegisteredUserEvent, verifyWebhookMessage } from '@reghook/receiver';
import { secretKey, sign } from '@reghook/receiver/signing';
import { buildSample, SAMPLE_FILE, sampleText, type SignedSample } from './signed-sample.js';

if (process.env.UPDATE_SAMPLE === '1') writeFileSync(SAMPLE_FILE, sampleText(buildSample()));
const committed = (): SignedSample => JSON.parse(readFileSync(SAMPLE_FILE, 'utf8')) as SignedSample;

describe('docs/samples/signed-webhook.json', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is exactly what our body builder and signer produce (UPDATE_SAMPLE=1 rewrites it)', () => {
    expect(existsSync(SAMPLE_FILE), SAMPLE_FILE).toBe(true);
    expect(readFileSync(SAMPLE_FILE, 'utf8')).toBe(sampleText(buildSample()));
  });

  it('carries, for its own id, timestamp and body, the signature of the current secret then of the previous one', () => {
    const sample = committed();
    const id = sample.headers['webhook-id'];
    const timestamp = Number(sample.headers['webhook-timestamp']);
    expect(id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(sample.headers['webhook-signature']).toBe(
      `${sign(secretKey(sample.secret), id, timestamp, sample.body)} ${sign(secretKey(sample.previousSecret), id, timestamp, sample.body)}`,
    );
  });

  it('has a real event body: valid, and the canonical form the registration builder makes of itself', () => {
    const { body } = committed();
    const parsed = validateRegisteredUserEvent(JSON.parse(body));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(normalizeRegistration(parsed.event).body).toBe(body);
  });

  it('the Node SDK verifies it under either secret at its timestamp, and refuses it 301 s later', () => {
    const sample = committed();
    const at = (seconds: number) => ({ now: () => seconds * 1000 });
    const timestamp = Number(sample.headers['webhook-timestamp']);
    for (const secret of [sample.secret, sample.previousSecret]) {
      const verified = verifyWebhookMessage(sample.body, sample.headers, secret, at(timestamp));
      expect(verified.webhookId).toBe(sample.headers['webhook-id']);
      expect(verified.event.subscriberName).toBe('Jane Example');
    }
    expect(() => verifyWebhookMessage(sample.body, sample.headers, sample.secret, at(timestamp + 301))).toThrow(/past/);
  });

  it('the reference library (npm standardwebhooks) verifies it under either secret', () => {
    const sample = committed();
    vi.useFakeTimers({ now: Number(sample.headers['webhook-timestamp']) * 1000, toFake: ['Date'] });
    for (const secret of [sample.secret, sample.previousSecret]) {
      expect(new Webhook(secret).verify(sample.body, sample.headers)).toEqual(JSON.parse(sample.body));
    }
  });
});
