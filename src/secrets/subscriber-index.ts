/**
 * The keyed hash that makes the delivery log searchable by subscriberId (SPEC section 5) without a
 * plain-text index of it: HMAC-SHA256(index key, `${appId}:${subscriberId}`), its first 16 bytes
 * in base64url (22 characters). The appId is part of the input, so one person in two projects has
 * two unrelated hashes. The index key is 32 random bytes made once per database and kept in the
 * settings sealed with the secret box: the store never sees it, a copy of the database alone
 * cannot test guessed ids against the hashes, and `reghook rekey` re-seals it without changing it
 * (so every stored hash stays valid).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { SecretBox } from './secret-box.js';

export const SUBSCRIBER_INDEX_SETTING = 'subscriber_index_key';

export interface SubscriberIndex {
  /** The hash stored in events.subscriber_hash for this project's subscriberId. */
  hash(appId: number, subscriberId: string): string;
}

export function createSubscriberIndex(key: Buffer): SubscriberIndex {
  if (key.length !== 32) throw new RangeError('a subscriber index key must be 32 bytes');
  const copy = Buffer.from(key);
  return {
    hash: (appId, subscriberId) => createHmac('sha256', copy).update(`${appId}:${subscriberId}`, 'utf8').digest().subarray(0, 16).toString('base64url'),
  };
}

/**
 * The database's index key, made on first use (of any number of processes starting at once, the
 * first one's key is kept: putSettingIfAbsent). Throws SecretKeyMismatchError when the box cannot
 * open it (checkSecretKey has said so already by then).
 */
export async function loadSubscriberIndex(store: Store, box: SecretBox): Promise<SubscriberIndex> {
  const sealed = await store.putSettingIfAbsent(SUBSCRIBER_INDEX_SETTING, box.seal(randomBytes(32).toString('base64')));
  return createSubscriberIndex(Buffer.from(box.open(sealed), 'base64'));
}
