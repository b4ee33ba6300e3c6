import type { SecretBox } from '../secrets/secret-box.js';
import { secretKey } from '@reghook/receiver/signing';

export interface SealedSecrets {
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: number | null;
}

/**
 * Turns an endpoint's sealed secrets into HMAC keys (and its sealed custom headers into headers): the current one, plus the rotated-out one
 * while it is still valid. Opened keys are cached by their sealed form (which changes on rotation).
 */
export class SigningKeys {
  private readonly cache = new Map<string, Buffer>();
  private readonly headerCache = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly box: SecretBox) {}

  keysFor(secrets: SealedSecrets, now: number): Buffer[] {
    const keys = [this.open(secrets.secretSealed)];
    if (secrets.previousSecretSealed && (secrets.previousSecretExpiresAt ?? 0) > now) {
      keys.push(this.open(secrets.previousSecretSealed));
    }
    return keys;
  }

  /** The endpoint's custom headers, opened (cached by their sealed form, which changes with them). */
  headersFor(headersSealed: string | null): Readonly<Record<string, string>> | undefined {
    if (headersSealed === null) return undefined;
    let headers = this.headerCache.get(headersSealed);
    if (!headers) {
      headers = Object.freeze(JSON.parse(this.box.open(headersSealed)) as Record<string, string>);
      if (this.headerCache.size >= 10_000) this.headerCache.clear();
      this.headerCache.set(headersSealed, headers);
    }
    return headers;
  }

  private open(sealed: string): Buffer {
    let key = this.cache.get(sealed);
    if (!key) {
      key = secretKey(this.box.open(sealed));
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(sealed, key);
    }
    return key;
  }
}
