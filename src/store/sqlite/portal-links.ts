/** Portal session links (SQLite): stored by the hash of their token, used once. */
import type Database from 'better-sqlite3';
import { toPortalLink, type PortalLinkRow } from '../rows.js';
import type { PortalLink } from '../store.js';

const INSERT_PORTAL_LINK = `
INSERT INTO portal_links (id, app_id, hash, read_only, created_at, expires_at, used_at)
VALUES (@id, @appId, @hash, @readOnly, @createdAt, @expiresAt, @usedAt)`;

// Single use is this one statement: it matches only an unused, unexpired link and marks it used,
// so a second use (or a racing one, however many processes share the file) matches nothing. The
// lookup is answered by the unique index on hash.
const CONSUME_PORTAL_LINK = `
UPDATE portal_links SET used_at = @now
WHERE hash = @hash AND used_at IS NULL AND expires_at > @now
RETURNING id, app_id, read_only, created_at, expires_at, used_at`;

// portal_links_by_expiry answers it; at most `limit` per call, through rowid (SQLite's DELETE has
// no LIMIT of its own without a compile option).
const DELETE_EXPIRED = `
DELETE FROM portal_links WHERE rowid IN (SELECT rowid FROM portal_links WHERE expires_at < ? LIMIT ?)`;

export class PortalLinks {
  private readonly insert;
  private readonly consume;
  private readonly deleteExpired;

  constructor(db: Database.Database) {
    this.insert = db.prepare<Record<string, unknown>>(INSERT_PORTAL_LINK);
    this.consume = db.prepare<{ hash: string; now: number }, PortalLinkRow>(CONSUME_PORTAL_LINK);
    this.deleteExpired = db.prepare<[number, number]>(DELETE_EXPIRED);
  }

  addPortalLink(link: PortalLink & { hash: string }): void {
    this.insert.run({ ...link, readOnly: link.readOnly ? 1 : 0 });
  }

  consumePortalLink(hash: string, now: number): PortalLink | null {
    const row = this.consume.get({ hash, now });
    return row ? toPortalLink(row) : null;
  }

  deleteExpiredPortalLinks(before: number, limit: number): number {
    return this.deleteExpired.run(before, limit).changes;
  }
}
