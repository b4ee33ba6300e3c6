import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The 32-byte key that seals signing secrets: REGHOOK_SECRET_KEY when set, else `<dataDir>/secret.key`,
 * created on first start with mode 0600 (exclusive create, so two processes cannot write two keys).
 */
export function loadOrCreateSecretKey(configured: string | undefined, dataDir: string): { key: Buffer; created: boolean } {
  if (configured !== undefined) return { key: Buffer.from(configured, 'base64'), created: false };
  const file = path.join(dataDir, 'secret.key');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return { key: readKey(file), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: readKey(file), created: false };
  }
}

function readKey(file: string): Buffer {
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold base64 of 32 bytes`);
  return key;
}
