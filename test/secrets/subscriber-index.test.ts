/** The keyed hash of subscriberIds (the log search's index), its key sealed in the settings, and rekey. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/logger.js';
import { rekey } from '../../src/operations/secret-key.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { createSubscriberIndex, loadSubscriberIndex, SUBSCRIBER_INDEX_SETTING } from '../../src/secrets/subscriber-index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));
const subscriberId = fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme' });
const appId = fc.integer({ min: 1, max: 2_147_483_647 });

describe('the subscriber index', () => {
  it('is 22 base64url characters, the same for the same input, different across projects, ids and keys', () => {
    fc.assert(
      fc.property(key, key, appId, appId, subscriberId, subscriberId, (k1, k2, a1, a2, s1, s2) => {
        const index = createSubscriberIndex(k1);
        const h = index.hash(a1, s1);
        expect(h).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(createSubscriberIndex(Buffer.from(k1)).hash(a1, s1)).toBe(h);
        if (a1 !== a2) expect(index.hash(a2, s1)).not.toBe(h);
        if (s1 !== s2) expect(index.hash(a1, s2)).not.toBe(h);
        if (!k1.equals(k2)) expect(createSubscriberIndex(k2).hash(a1, s1)).not.toBe(h);
        // Not the id in another spelling.
        if (s1.length >= 4) expect(h).not.toContain(s1);
      }),
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createSubscriberIndex(Buffer.alloc(16))).toThrow(RangeError);
  });

  it('keeps its key sealed in the settings, made once; rekey re-seals it and every hash stays valid', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-index-'));
    const store = new SqliteStore(path.join(dir, 'reghook.db'));
    try {
      await store.migrate();
      const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
      const oldBox = createSecretBox(oldKey);
      const before = (await loadSubscriberIndex(store, oldBox)).hash(1, '905555555555');
      // A second process starting gets the same key.
      expect((await loadSubscriberIndex(store, oldBox)).hash(1, '905555555555')).toBe(before);
      const sealed = (await store.getSetting(SUBSCRIBER_INDEX_SETTING))!;
      expect(sealed).toMatch(/^v1\./);
      expect(() => createSecretBox(newKey).open(sealed)).toThrow();

      await rekey(store, createSecretBox([newKey, oldKey]));
      const resealed = (await store.getSetting(SUBSCRIBER_INDEX_SETTING))!;
      expect(resealed).not.toBe(sealed);
      expect(() => oldBox.open(resealed)).toThrow();
      // The new key alone opens it, and it is the same index key.
      expect((await loadSubscriberIndex(store, createSecretBox(newKey))).hash(1, '905555555555')).toBe(before);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redactUrl', () => {
  it('masks the subscriberId filter and the dashboard search wherever they are in the query', () => {
    expect(redactUrl('/v1/projects/1/events?subscriberId=905555555555')).toBe('/v1/projects/1/events?subscriberId=[redacted]');
    expect(redactUrl('/v1/projects/1/events?status=failed&subscriberId=9055%2055&limit=2')).toBe('/v1/projects/1/events?status=failed&subscriberId=[redacted]&limit=2');
    expect(redactUrl('/projects/1/webhooks?status=failed&q=905555555555#log')).toBe('/projects/1/webhooks?status=failed&q=[redacted]#log');
    expect(redactUrl('/v1/projects/1/events?clientUuid=x')).toBe('/v1/projects/1/events?clientUuid=x');
  });
});
