/**
 * Authenticated encryption of signing secrets at rest (AES-256-GCM under REGHOOK_SECRET_KEY).
 * Stored form: `v1.<base64 iv>.<base64 ciphertext>.<base64 tag>`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { OperatorErrorCode } from '../errors.js';

export class SecretKeyMismatchError extends Error {
  readonly code = 'REGHOOK_SECRET_KEY_MISMATCH' satisfies OperatorErrorCode;
}

export interface SecretBox {
  seal(plaintext: string): string;
  /** Throws SecretKeyMismatchError when the value was sealed under another key or altered. */
  open(sealed: string): string;
}

/**
 * Seals under the first key; opens with whichever key sealed the value (several while the key is
 * being rotated: `REGHOOK_SECRET_KEY=new,old`, then `reghook rekey`).
 */
export function createSecretBox(keys: Buffer | readonly Buffer[]): SecretBox {
  const all = Buffer.isBuffer(keys) ? [keys] : [...keys];
  if (all.length === 0 || all.some((key) => key.length !== 32)) throw new RangeError('a secret key must be 32 bytes');
  const sealing = all[0]!;
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealing, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `v1.${iv.toString('base64')}.${data.toString('base64')}.${cipher.getAuthTag().toString('base64')}`;
    },
    open(sealed) {
      const [version, iv, data, tag] = sealed.split('.');
      if (version !== 'v1' || iv === undefined || data === undefined || tag === undefined) {
        throw new SecretKeyMismatchError('not a sealed secret');
      }
      let failure: unknown;
      for (const key of all) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
          decipher.setAuthTag(Buffer.from(tag, 'base64'));
          return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
        } catch (error) {
          failure = error;
        }
      }
      throw new SecretKeyMismatchError('a stored secret cannot be decrypted with REGHOOK_SECRET_KEY', { cause: failure });
    },
  };
}
