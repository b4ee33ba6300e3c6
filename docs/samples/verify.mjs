// Verifies a reghook webhook with Node.js built-ins only (the reghook/receiver SDK does more).
// Usage: node verify.mjs signed-webhook.json [now-unix-seconds]
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const TOLERANCE_SECONDS = 300;

/** Throws unless the raw body (a Buffer) is signed with the secret and fresh. */
export function verify(secret, headers, body, now) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body);
  const expected = Buffer.from(`v1,${mac.digest('base64')}`);
  // Any entry may match: during a secret rotation there is one signature per secret.
  const matches = headers['webhook-signature'].split(' ').some((entry) => {
    const given = Buffer.from(entry);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new Error('no webhook-signature matches');
  if (!/^[0-9]+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > TOLERANCE_SECONDS) {
    throw new Error('webhook-timestamp is more than 5 minutes away from now');
  }
}

const sample = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const now = process.argv[3] === undefined ? Math.floor(Date.now() / 1000) : Number(process.argv[3]);
try {
  // In a web handler: the request's raw body bytes, never JSON.stringify(req.body).
  verify(sample.secret, sample.headers, Buffer.from(sample.body, 'utf8'), now);
  console.log(`verified ${sample.headers['webhook-id']}`);
} catch (error) {
  console.error(`refused: ${error.message}`);
  process.exitCode = 1;
}
