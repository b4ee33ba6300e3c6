import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationErrorCode } from '@reghook/receiver';
import { SECRET, eventArbitrary, signedRequest } from './fixtures.js';

const NOW_S = 1_700_000_000;
const at = { now: () => NOW_S * 1000 };

function codeOf(run: () => unknown): WebhookVerificationErrorCode | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
}

const webhookIdArbitrary = fc.stringMatching(/^evt_[0-9A-Z]{26}$/);
const signed = fc
  .record({ event: eventArbitrary, webhookId: webhookIdArbitrary })
  .map(({ event, webhookId }) => ({ event, ...signedRequest(event, { webhookId, timestamp: NOW_S }) }));

describe('verifyWebhook properties', () => {
  it('any valid event signed with the secret is accepted and returned as sent', () => {
    fc.assert(
      fc.property(signed, ({ event, body, headers }) => {
        expect(verifyWebhook(body, headers, SECRET, at)).toEqual(event);
      }),
    );
  });

  it('a signature over a mutated body is rejected', () => {
    const mutation = fc.oneof(
      // flip bits of one byte
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(signed, mutation, ({ body, headers }, m) => {
        const bytes = Buffer.from(body);
        const i = m.at % bytes.length;
        let mutated: Buffer;
        if (m.kind === 'flip') {
          mutated = Buffer.from(bytes);
          mutated[i] = bytes[i]! ^ m.bits;
        } else if (m.kind === 'insert') {
          mutated = Buffer.concat([bytes.subarray(0, i), Buffer.of(m.byte), bytes.subarray(i)]);
        } else {
          mutated = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
        }
        expect(codeOf(() => verifyWebhook(mutated, headers, SECRET, at))).toBe('invalid_signature');
      }),
    );
  });

  it('a signature presented with another webhook-id is rejected', () => {
    fc.assert(
      fc.property(signed, fc.string({ minLength: 1 }), ({ body, headers }, otherId) => {
        fc.pre(otherId !== headers['webhook-id']);
        const code = codeOf(() => verifyWebhook(body, { ...headers, 'webhook-id': otherId }, SECRET, at));
        expect(code).toBe('invalid_signature');
      }),
    );
  });

  it('a signature presented with another timestamp is rejected, even one within tolerance', () => {
    fc.assert(
      fc.property(signed, fc.integer({ min: -299, max: 299 }).filter((d) => d !== 0), ({ body, headers }, delta) => {
        const moved = { ...headers, 'webhook-timestamp': String(NOW_S + delta) };
        expect(codeOf(() => verifyWebhook(body, moved, SECRET, at))).toBe('invalid_signature');
      }),
    );
  });

  it('a timestamp spelled other than canonical unix seconds is refused as an invalid header', () => {
    const respell = fc.constantFrom(
      (ts: string) => `0${ts}`,
      (ts: string) => `${ts}.0`,
      (ts: string) => ` ${ts}`,
      (ts: string) => `+${ts}`,
      (ts: string) => `${Number(ts) / 1e9}e9`,
    );
    fc.assert(
      fc.property(signed, respell, ({ body, headers }, f) => {
        const respelled = { ...headers, 'webhook-timestamp': f(headers['webhook-timestamp']!) };
        expect(codeOf(() => verifyWebhook(body, respelled, SECRET, at))).toBe('invalid_header');
      }),
    );
  });

  it('a mutated signature is rejected', () => {
    fc.assert(
      fc.property(signed, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ body, headers }, position, bits) => {
        const signature = headers['webhook-signature']!;
        const i = position % signature.length;
        const changed = String.fromCharCode(signature.charCodeAt(i) ^ bits);
        const mutated = signature.slice(0, i) + changed + signature.slice(i + 1);
        const code = codeOf(() => verifyWebhook(body, { ...headers, 'webhook-signature': mutated }, SECRET, at));
        // Turning the whole header into blanks is a missing header; anything else a bad signature.
        expect(code).toBe(mutated.trim() === '' ? 'missing_header' : 'invalid_signature');
      }),
    );
  });

  it('a signature made with another secret is rejected', () => {
    const secret = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`);
    fc.assert(
      fc.property(fc.record({ event: eventArbitrary, secret }), ({ event, secret: other }) => {
        fc.pre(other !== SECRET);
        const { body, headers } = signedRequest(event, { secrets: [other], timestamp: NOW_S });
        expect(codeOf(() => verifyWebhook(body, headers, SECRET, at))).toBe('invalid_signature');
      }),
    );
  });

  it('header name casing does not matter, in a plain object or a WHATWG Headers', () => {
    const casing = fc.array(fc.boolean(), { minLength: 20, maxLength: 20 });
    const recase = (name: string, upper: boolean[]): string =>
      [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('');
    fc.assert(
      fc.property(signed, casing, ({ event, body, headers }, upper) => {
        const recased = Object.fromEntries(Object.entries(headers).map(([k, v]) => [recase(k, upper), v]));
        expect(verifyWebhook(body, recased, SECRET, at)).toEqual(event);
        expect(verifyWebhook(body, new Headers(recased), SECRET, at)).toEqual(event);
      }),
    );
  });

  it('the same bytes verify as a Buffer, a string, a Uint8Array and a Uint8Array view into a larger buffer', () => {
    fc.assert(
      fc.property(signed, fc.nat({ max: 64 }), ({ event, body, headers }, offset) => {
        const bytes = Buffer.from(body);
        const backing = new Uint8Array(offset + bytes.length + 7).fill(0x41);
        backing.set(bytes, offset);
        const view = new Uint8Array(backing.buffer, offset, bytes.length);
        for (const raw of [bytes, body, new Uint8Array(bytes), view]) {
          expect(verifyWebhook(raw, headers, SECRET, at)).toEqual(event);
        }
      }),
    );
  });

  it('timestamps outside the tolerance are rejected with the code for their direction, inside accepted', () => {
    fc.assert(
      fc.property(
        eventArbitrary,
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: -5000, max: 5000 }),
        (event, tolerance, age) => {
          const { body, headers } = signedRequest(event, { timestamp: NOW_S - age });
          const code = codeOf(() => verifyWebhook(body, headers, SECRET, { ...at, toleranceSeconds: tolerance }));
          expect(code).toBe(age > tolerance ? 'timestamp_too_old' : -age > tolerance ? 'timestamp_too_new' : 'accepted');
        },
      ),
    );
  });

  it('the default tolerance is 300 seconds each way, inclusive', () => {
    fc.assert(
      fc.property(eventArbitrary, fc.constantFrom(-301, -300, 300, 301), (event, age) => {
        const { body, headers } = signedRequest(event, { timestamp: NOW_S - age });
        const code = codeOf(() => verifyWebhook(body, headers, SECRET, at));
        expect(code).toBe(age === 301 ? 'timestamp_too_old' : age === -301 ? 'timestamp_too_new' : 'accepted');
      }),
    );
  });
});
