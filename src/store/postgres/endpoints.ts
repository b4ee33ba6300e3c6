/** Each project's webhook endpoint and its sealed signing secrets (PostgreSQL). */
import type pg from 'pg';
import type { Logger } from 'pino';
import { toEndpoint, type EndpointRow } from '../rows.js';
import type { Endpoint, EndpointChanges } from '../store.js';
import { inTransaction } from './connection.js';

const GET_ENDPOINT = { name: 'get_endpoint', text: `SELECT * FROM endpoints WHERE app_id = $1` };

// Updating `enabled` fires the due-time trigger (migration 0002), which sets or clears next_due_at.
// $5 ($7) true: a change that names no headers (no rate limit) keeps the one set.
const UPDATE_ENDPOINT = `
UPDATE endpoints
SET url = $2, enabled = $3, updated_at = $4, headers_sealed = CASE WHEN $5::boolean THEN headers_sealed ELSE $6 END,
    rate_limit_per_second = CASE WHEN $7::boolean THEN rate_limit_per_second ELSE $8::int END
WHERE app_id = $1 RETURNING *`;

// The secret is set only here, at creation. DO NOTHING: a concurrent request may have created it
// a moment ago (then the update is tried again).
const INSERT_ENDPOINT = `
INSERT INTO endpoints (app_id, url, enabled, secret_sealed, headers_sealed, rate_limit_per_second, created_at, updated_at)
VALUES ($1, $2, $3, $4, $6, $7, $5, $5) ON CONFLICT (app_id) DO NOTHING RETURNING *`;

// The current secret becomes the previous one, which co-signs until it expires.
const ROTATE_SECRET = {
  name: 'rotate_secret',
  text: `
UPDATE endpoints
SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = $3,
    secret_sealed = $2, updated_at = $4
WHERE app_id = $1
RETURNING *`,
};

// Locked in app_id order, the order every other multi-endpoint lock takes (no deadlock).
const SEALED_SECRETS = `SELECT app_id, secret_sealed, previous_secret_sealed, headers_sealed FROM endpoints ORDER BY app_id FOR NO KEY UPDATE`;

// One statement for every endpoint: the endpoints triggers run once, not once per row.
const RESEAL = `
UPDATE endpoints e SET secret_sealed = u.secret, previous_secret_sealed = u.previous, headers_sealed = u.headers
FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS u (app_id, secret, previous, headers)
WHERE e.app_id = u.app_id`;

export class Endpoints {
  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  async getEndpoint(appId: number): Promise<Endpoint | null> {
    const { rows } = await this.pool.query<EndpointRow>({ ...GET_ENDPOINT, values: [appId] });
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** Update first, insert if there is none: one transaction, correct under a concurrent creation. */
  putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
    changes: EndpointChanges = {},
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const headers = changes.headersSealed ?? null;
    const rate = changes.rateLimitPerSecond ?? null;
    return inTransaction(this.pool, this.logger, async (client) => {
      const update = () =>
        client.query<EndpointRow>(UPDATE_ENDPOINT, [appId, url, enabled, now, changes.headersSealed === undefined, headers, changes.rateLimitPerSecond === undefined, rate]);
      let { rows } = await update();
      if (rows[0]) return { endpoint: toEndpoint(rows[0]), created: false };
      ({ rows } = await client.query<EndpointRow>(INSERT_ENDPOINT, [appId, url, enabled, secretSealedIfNew, now, headers, rate]));
      if (rows[0]) return { endpoint: toEndpoint(rows[0]), created: true };
      // Created by a concurrent request a moment ago: change it like any existing one.
      ({ rows } = await update());
      return { endpoint: toEndpoint(rows[0]!), created: false };
    });
  }

  async rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null> {
    const { rows } = await this.pool.query<EndpointRow>({ ...ROTATE_SECRET, values: [appId, newSecretSealed, previousExpiresAt, now] });
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** `reghook rekey`: every endpoint's secrets re-sealed in one transaction. */
  async resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    return inTransaction(this.pool, this.logger, async (client) => {
      const { rows } = await client.query<{ app_id: number; secret_sealed: string; previous_secret_sealed: string | null; headers_sealed: string | null }>(
        SEALED_SECRETS,
      );
      const maybe = (sealed: string | null) => (sealed === null ? null : reseal(sealed));
      await client.query(RESEAL, [
        rows.map((r) => r.app_id),
        rows.map((r) => reseal(r.secret_sealed)),
        rows.map((r) => maybe(r.previous_secret_sealed)),
        rows.map((r) => maybe(r.headers_sealed)),
      ]);
      return rows.length;
    });
  }
}
