/**
 * One-shot messages across redirect-after-POST: a cookie sealed (AES-256-GCM) with the secret box,
 * bound to the session that made it and valid for a minute. It can carry a signing secret the
 * person just asked to see, or an API key just created, so it is encrypted, never merely signed,
 * and cleared on first read.
 */
import type { SecretBox } from '../secrets/secret-box.js';
import { csrfMatches, type Session } from './session.js';

export const FLASH_COOKIE = 'reghook_flash';
export const FLASH_LIFETIME_MS = 60_000;
/** Browsers drop cookies above ~4 KiB; stay well below. */
const MAX_COOKIE_CHARS = 3800;

export type Tone = 'success' | 'error' | 'info';

export interface Flash {
  notices?: { tone: Tone; text: string }[];
  secret?: { value: string; reason: 'created' | 'revealed' | 'rotated'; previousExpiresAt: number | null };
  /** A key just created: shown on the next page only. */
  apiKey?: { id: string; value: string };
  test?: { success: boolean; statusCode: number | null; durationMs: number; error: string | null; responseBody: string | null; at: number };
}

interface Sealed {
  csrf: string;
  exp: number;
  flash: Flash;
}

export class FlashCodec {
  constructor(private readonly box: SecretBox) {}

  seal(session: Session, flash: Flash, now: number): string {
    let copy = flash;
    for (;;) {
      const value = this.box.seal(JSON.stringify({ csrf: session.csrf, exp: now + FLASH_LIFETIME_MS, flash: copy } satisfies Sealed));
      const body = copy.test?.responseBody;
      if (value.length <= MAX_COOKIE_CHARS || !body) return value;
      // Only the response excerpt can be long: shorten it until the cookie fits.
      copy = { ...copy, test: { ...copy.test!, responseBody: body.slice(0, Math.floor(body.length / 2)) } };
    }
  }

  /** The flash a cookie holds for this session, or null (absent, foreign, expired or altered). */
  open(session: Session, value: string | undefined, now: number): Flash | null {
    if (value === undefined || value === '') return null;
    try {
      const sealed = JSON.parse(this.box.open(value)) as Sealed;
      if (!csrfMatches(session, sealed.csrf) || typeof sealed.exp !== 'number' || sealed.exp <= now) return null;
      if (typeof sealed.flash !== 'object' || sealed.flash === null) return null;
      return sealed.flash;
    } catch {
      return null;
    }
  }
}
