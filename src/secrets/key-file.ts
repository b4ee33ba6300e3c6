import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * A secret-key value: one base64 key of 32 bytes, or several separated by commas, newest first
 * (`new,old` while rotating: new secrets are sealed with the first, every key opens). Null when an
 * entry is not base64 of 32 bytes.
 */
export function parseSecretKeys(value: string): Buffer[] | null {
  const entries = value.split(',').map((entry) => entry.trim());
  const keys = entries.map((entry) => Buffer.from(entry, 'base64'));
  const valid = entries.every((entry, i) => /^[A-Za-z0-9+/]+={0,2}$/.test(entry) && keys[i]!.length === 32);
  return valid ? keys : null;
}

/**
 * The keys that seal signing secrets: REGHOOK_SECRET_KEY when set, else `<dataDir>/secret.key`,
 * created on first start with mode 0600 (exclusive create, so two processes cannot write two keys).
 * The first key seals; every key opens.
 */
export function loadOrCreateSecretKeys(configured: string | undefined, dataDir: string): { keys: Buffer[]; created: boolean } {
  if (configured !== undefined) {
    const keys = parseSecretKeys(configured);
    if (keys === null) throw new ConfigError('REGHOOK_SECRET_KEY must be base64 of exactly 32 bytes, or several such keys separated by commas');
    return { keys, created: false };
  }
  const file = path.join(dataDir, 'secret.key');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return { keys: readKeys(file), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { keys: readKeys(file), created: false };
  }
}

function readKeys(file: string): Buffer[] {
  const keys = parseSecretKeys(readFileSync(file, 'utf8').trim());
  if (keys === null) throw new ConfigError(`${file} does not hold base64 of 32 bytes (or several such keys separated by commas)`);
  return keys;
}

/** The keys an operator command works with: configured, or the existing secret.key (never created here). */
export function readSecretKeys(configured: string | undefined, dataDir: string): Buffer[] {
  if (configured !== undefined) return loadOrCreateSecretKeys(configured, dataDir).keys;
  const file = path.join(dataDir, 'secret.key');
  if (!existsSync(file)) throw new ConfigError(`there is no ${file} and REGHOOK_SECRET_KEY is not set: name the key the service runs with`);
  return readKeys(file);
}
