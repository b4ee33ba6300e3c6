/**
 * The admin token (the platform's credential): REGHOOK_ADMIN_TOKEN when set, else generated once,
 * printed once, and kept as a hash in the settings; `reghook admin-token rotate` replaces it.
 * Running processes re-read the hash every ADMIN_TOKEN_RECHECK_MS, so a rotation takes effect
 * everywhere (old token refused, its dashboard sessions ended) without a restart.
 */
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { generateAdminToken, hashToken } from '../secrets/tokens.js';
import type { Store } from '../store/store.js';

const ADMIN_TOKEN_SETTING = 'admin_token_hash';

/** How stale a process's copy of the admin token's hash may be: the longest an old token still works after a rotation. */
export const ADMIN_TOKEN_RECHECK_MS = 5_000;

/** Makes sure an admin token exists: generates one (printed once) when none is configured or stored. */
export async function ensureAdminToken(store: Store, configured: string | undefined, print: (line: string) => void): Promise<void> {
  if (configured !== undefined || (await store.getSetting(ADMIN_TOKEN_SETTING)) !== null) return;
  const token = generateAdminToken();
  // Two processes starting at once: one hash wins, and only its process prints its token.
  if ((await store.putSettingIfAbsent(ADMIN_TOKEN_SETTING, hashToken(token))) === hashToken(token)) {
    print(`reghook: generated the admin token (shown once, store it now): ${token}`);
  }
}

/** Replaces the generated admin token with a new one and returns it (to be shown once). */
export async function rotateAdminToken(store: Store, configured: string | undefined): Promise<string> {
  if (configured !== undefined) {
    throw new ConfigError(
      'REGHOOK_ADMIN_TOKEN is set, so the admin token is that variable: change it in every process\'s environment and restart them',
    );
  }
  const token = generateAdminToken();
  await store.putSetting(ADMIN_TOKEN_SETTING, hashToken(token));
  return token;
}

/** The admin token's hash as this process knows it: the variable's, or the stored one, re-read at most every ADMIN_TOKEN_RECHECK_MS. */
export class AdminTokenHash {
  private cached: { hash: string; readAt: number } | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly configured: string | undefined,
  ) {}

  async current(): Promise<string> {
    if (this.configured !== undefined) return hashToken(this.configured);
    const now = this.clock.now();
    if (this.cached === null || now - this.cached.readAt >= ADMIN_TOKEN_RECHECK_MS) {
      const hash = await this.store.getSetting(ADMIN_TOKEN_SETTING);
      // ensureAdminToken ran at start, so a hash exists; without one, no token is the admin's.
      this.cached = { hash: hash ?? '', readAt: now };
    }
    return this.cached.hash;
  }
}
