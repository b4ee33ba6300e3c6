/**
 * The second step of a dangerous form: the first POST answers a confirmation page whose form
 * carries what was typed sealed (AES-256-GCM with the secret box), bound to the session and to one
 * purpose, valid for CONFIRMATION_LIFETIME_MS. What a person typed (a subscriberId: personal
 * data) thus never sits in clear in a URL, a hidden field or the browser's form cache, and the
 * second POST can act only on what the first one showed.
 */
import type { SecretBox } from '../secrets/secret-box.js';
import { csrfMatches, type Session } from './session.js';

export const CONFIRMATION_LIFETIME_MS = 10 * 60_000;

export type ConfirmationPurpose = 'erase-subscriber';

interface Sealed {
  purpose: ConfirmationPurpose;
  csrf: string;
  exp: number;
  value: string;
}

export class ConfirmationCodec {
  constructor(private readonly box: SecretBox) {}

  seal(session: Session, purpose: ConfirmationPurpose, value: string, now: number): string {
    return this.box.seal(JSON.stringify({ purpose, csrf: session.csrf, exp: now + CONFIRMATION_LIFETIME_MS, value } satisfies Sealed));
  }

  /** The value sealed for this session and purpose, or null (absent, foreign, expired, altered, or another purpose). */
  open(session: Session, purpose: ConfirmationPurpose, sealed: string | undefined, now: number): string | null {
    if (sealed === undefined || sealed === '' || sealed.length > 4096) return null;
    try {
      const parsed = JSON.parse(this.box.open(sealed)) as Sealed;
      if (parsed.purpose !== purpose || !csrfMatches(session, parsed.csrf)) return null;
      if (typeof parsed.exp !== 'number' || parsed.exp <= now || typeof parsed.value !== 'string') return null;
      return parsed.value;
    } catch {
      return null;
    }
  }
}
