/**
 * The key that seals signing secrets at rest (REGHOOK_SECRET_KEY or secret.key): checked at every
 * start, and rotated in three steps: every process restarted with `REGHOOK_SECRET_KEY=new,old`,
 * then `reghook rekey` (re-seals every stored secret under `new`), then `old` removed.
 */
import { ConfigError } from '../errors.js';
import { SecretKeyMismatchError, type SecretBox } from '../secrets/secret-box.js';
import { SUBSCRIBER_INDEX_SETTING } from '../secrets/subscriber-index.js';
import type { Store } from '../store/store.js';

const CHECK_SETTING = 'secret_key_check';
const CHECK_PLAINTEXT = 'reghook secret key check';

/** Fails closed when none of the keys is the one this database's secrets were sealed under. */
export async function checkSecretKey(store: Store, box: SecretBox): Promise<void> {
  const sealed = await store.putSettingIfAbsent(CHECK_SETTING, box.seal(CHECK_PLAINTEXT));
  try {
    if (box.open(sealed) === CHECK_PLAINTEXT) return;
  } catch {
    // fall through
  }
  throw new ConfigError(
    'REGHOOK_SECRET_KEY does not match the key this database was created with: every process of one deployment ' +
      'must share the same REGHOOK_SECRET_KEY (or secret.key file); start with the original key ' +
      '(to change keys, set REGHOOK_SECRET_KEY=new,old and run reghook rekey)',
  );
}

/**
 * Re-seals every signing secret, the subscriber index key (the same key bytes: the stored
 * subscriber hashes stay valid) and the key check under the box's first key; afterwards the older
 * keys may be dropped. Safe to run again (after a crash half-way, say).
 */
export async function rekey(store: Store, box: SecretBox): Promise<{ endpoints: number }> {
  await checkSecretKey(store, box);
  let endpoints: number;
  try {
    endpoints = await store.resealSecrets((sealed) => box.seal(box.open(sealed)));
  } catch (error) {
    if (!(error instanceof SecretKeyMismatchError)) throw error;
    throw new ConfigError(
      "an endpoint's secret was sealed under a key REGHOOK_SECRET_KEY does not list: nothing was changed; add that key after the new one",
      { cause: error },
    );
  }
  const indexKey = await store.getSetting(SUBSCRIBER_INDEX_SETTING);
  if (indexKey !== null) {
    let opened: string;
    try {
      opened = box.open(indexKey);
    } catch (error) {
      throw new ConfigError('the subscriber index key was sealed under a key REGHOOK_SECRET_KEY does not list; add that key after the new one', {
        cause: error,
      });
    }
    await store.putSetting(SUBSCRIBER_INDEX_SETTING, box.seal(opened));
  }
  await store.putSetting(CHECK_SETTING, box.seal(CHECK_PLAINTEXT));
  return { endpoints };
}
