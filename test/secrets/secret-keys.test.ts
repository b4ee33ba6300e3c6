/** REGHOOK_SECRET_KEY's values (one key, or new,old while rotating) and the box that seals with the first. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSecretKeys } from '../../src/secrets/key-file.js';
import { createSecretBox, SecretKeyMismatchError } from '../../src/secrets/secret-box.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

describe('parseSecretKeys', () => {
  it('reads back any list of 32-byte keys, newest first, with or without spaces after the commas', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 4 }), fc.boolean(), (keys, spaced) => {
        const parsed = parseSecretKeys(keys.map((k) => k.toString('base64')).join(spaced ? ', ' : ','));
        expect(parsed?.map((k) => k.toString('hex'))).toEqual(keys.map((k) => k.toString('hex')));
      }),
    );
  });

  it('refuses a list with any entry that is not base64 of exactly 32 bytes', () => {
    const wrongLength = fc.uint8Array({ minLength: 0, maxLength: 64 }).filter((b) => b.length !== 32).map((b) => Buffer.from(b).toString('base64'));
    const notBase64 = fc.string({ minLength: 1 }).filter((s) => !/^[A-Za-z0-9+/]+={0,2}$/.test(s.trim()) && !s.includes(','));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 3 }), fc.oneof(wrongLength, notBase64), fc.nat(3), (keys, bad, at) => {
        const entries = keys.map((k) => k.toString('base64'));
        entries.splice(Math.min(at, entries.length), 0, bad);
        expect(parseSecretKeys(entries.join(','))).toBeNull();
      }),
    );
  });
});

describe('a box with several keys', () => {
  it('seals with the first key and opens what any of its keys sealed', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 4 }), fc.nat(3), fc.string(), (keys, pick, secret) => {
        const sealer = keys[pick % keys.length]!;
        const sealed = createSecretBox(sealer).seal(secret);
        expect(createSecretBox(keys).open(sealed)).toBe(secret);
        // What the box seals opens with its first key alone.
        expect(createSecretBox(keys[0]!).open(createSecretBox(keys).seal(secret))).toBe(secret);
      }),
    );
  });

  it('refuses what none of its keys sealed', () => {
    const sealed = createSecretBox(randomBytes(32)).seal('whsec_x');
    expect(() => createSecretBox([randomBytes(32), randomBytes(32)]).open(sealed)).toThrow(SecretKeyMismatchError);
  });
});
