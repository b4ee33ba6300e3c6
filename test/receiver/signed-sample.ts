/**
 * docs/samples/signed-webhook.json: one delivery as reghook sends it during a secret rotation (two
 * signatures), built by the real body builder and signer. The verification programs beside it, in
 * every language, read it; signed-sample.test.ts keeps it equal to what this module builds
 * (regenerate with `UPDATE_SAMPLE=1 npx vitest run test/receiver/signed-sample.test.ts`).
 */
import path from 'node:path';
import { normalizeRegistration } from '../../src/domain/registration.js';
import { secretKey, signatureHeader } from '@reghook/receiver/signing';

export const SAMPLES_DIR = path.resolve(import.meta.dirname, '../../docs/samples');
export const SAMPLE_FILE = path.join(SAMPLES_DIR, 'signed-webhook.json');

export interface SignedSample {
  note: string;
  /** The endpoint's current secret; its signature comes first in the header. */
  secret: string;
  /** The rotated-out secret, still signed with for 24 hours after the rotation. */
  previousSecret: string;
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
  /** The exact raw body. */
  body: string;
}

// Sample values only: the secrets were generated for this file, the person is made up, the IP is
// from the documentation range (RFC 5737).
const SECRET = 'whsec_67z1uXDABPM688R/yLBH/sR5Lpr3idIT';
const PREVIOUS_SECRET = 'whsec_lxSSDdFyQQpvdXoTFvf24gmfOBPyDvNp';
const WEBHOOK_ID = 'evt_01KDWPVMXM02ZE39NWYRX9Y8B7';
/** 2026-01-01 12:00:00 UTC. */
const TIMESTAMP = 1_767_268_800;

/** The sample, built and signed by reghook's own code. */
export function buildSample(): SignedSample {
  const { body } = normalizeRegistration({
    clientUuid: '824df64f-225b-41e3-9dbc-6b7ed6ef547e',
    clientIp: '192.0.2.10',
    country: 'TR',
    language: 'en',
    storeRegister: false,
    subscriberId: '905550000000',
    subscriberName: 'Jane Example',
    appId: 1,
    flowId: 12,
    siteId: 3,
    registerDate: '2026-01-01T14:59:58+03:00',
    registerOtpStatus: true,
  });
  return {
    note: 'A sample delivery during a secret rotation: the signature of the current secret, then of the previous one. Sample data and secrets, never used in production. Built by test/receiver/signed-sample.ts.',
    secret: SECRET,
    previousSecret: PREVIOUS_SECRET,
    headers: {
      'webhook-id': WEBHOOK_ID,
      'webhook-timestamp': String(TIMESTAMP),
      'webhook-signature': signatureHeader([secretKey(SECRET), secretKey(PREVIOUS_SECRET)], WEBHOOK_ID, TIMESTAMP, body),
    },
    body,
  };
}

/** The file's text: two-space JSON and a final newline. */
export function sampleText(sample: SignedSample): string {
  return `${JSON.stringify(sample, null, 2)}\n`;
}
