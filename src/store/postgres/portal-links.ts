/** Portal session links (PostgreSQL): stored by the hash of their token, used once. */
import type pg from 'pg';
import { toPortalLink, type PortalLinkRow } from '../rows.js';
import type { PortalLink } from '../store.js';

const INSERT_PORTAL_LINK = {
  name: 'insert_portal_link',
  text: `
INSERT INTO portal_links (id, app_id, hash, read_only, created_at, expires_at, used_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`,
};

// Single use is this one statement, not a read then a write: of two racing uses, the second
// waits for the first's row lock, re-reads the row once the first commits (READ COMMITTED), finds
// used_at set and matches nothing. The lookup is answered by the unique index on hash.
const CONSUME_PORTAL_LINK = {
  name: 'consume_portal_link',
  text: `
UPDATE portal_links SET used_at = $2
WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING id, app_id, read_only, created_at, expires_at, used_at`,
};

// portal_links_by_expiry answers it; at most `limit` per call. SKIP LOCKED passes over a link
// being used right now (it is unexpired anyway, unless it expires this very millisecond).
const DELETE_EXPIRED = {
  name: 'delete_expired_portal_links',
  text: `
DELETE FROM portal_links WHERE id IN (
  SELECT id FROM portal_links WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
};

export class PortalLinks {
  constructor(private readonly pool: pg.Pool) {}

  async addPortalLink(link: PortalLink & { hash: string }): Promise<void> {
    await this.pool.query({
      ...INSERT_PORTAL_LINK,
      values: [link.id, link.appId, link.hash, link.readOnly, link.createdAt, link.expiresAt, link.usedAt],
    });
  }

  async consumePortalLink(hash: string, now: number): Promise<PortalLink | null> {
    const { rows } = await this.pool.query<PortalLinkRow>({ ...CONSUME_PORTAL_LINK, values: [hash, now] });
    return rows[0] ? toPortalLink(rows[0]) : null;
  }

  async deleteExpiredPortalLinks(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query({ ...DELETE_EXPIRED, values: [before, limit] });
    return rowCount ?? 0;
  }
}
