/** Each project's webhook endpoint and its sealed signing secrets (SQLite). */
import type Database from 'better-sqlite3';
import { toEndpoint, type EndpointRow } from '../rows.js';
import type { Endpoint, EndpointChanges } from '../store.js';

const GET_ENDPOINT = `SELECT * FROM endpoints WHERE app_id = ?`;

// The secret is set only here, at creation; afterwards only rotateSecret changes it.
const INSERT_ENDPOINT = `
INSERT INTO endpoints (app_id, url, enabled, secret_sealed, headers_sealed, rate_limit_per_second, created_at, updated_at)
VALUES (@appId, @url, @enabled, @secret, @headers, @rate, @now, @now)`;

// Updating `enabled` fires endpoints_due_on_enabled (migration 0002), which sets or clears next_due_at.
// @keepHeaders / @keepRate: a change that names no headers (no rate limit) keeps the one set.
const UPDATE_ENDPOINT = `
UPDATE endpoints
SET url = @url, enabled = @enabled, updated_at = @now,
    headers_sealed = CASE WHEN @keepHeaders THEN headers_sealed ELSE @headers END,
    rate_limit_per_second = CASE WHEN @keepRate THEN rate_limit_per_second ELSE @rate END
WHERE app_id = @appId`;

// The current secret becomes the previous one, which co-signs until it expires.
const ROTATE_SECRET = `
UPDATE endpoints
SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = @expires,
    secret_sealed = @secret, updated_at = @now
WHERE app_id = @appId`;

const SEALED_SECRETS = `SELECT app_id, secret_sealed, previous_secret_sealed, headers_sealed FROM endpoints`;

const RESEAL = `UPDATE endpoints SET secret_sealed = ?, previous_secret_sealed = ?, headers_sealed = ? WHERE app_id = ?`;

interface EndpointParams {
  appId: number;
  url: string;
  enabled: number;
  secret: string;
  headers: string | null;
  keepHeaders: number;
  rate: number | null;
  keepRate: number;
  now: number;
}

export class Endpoints {
  private readonly getEndpointStatement;
  private readonly insertEndpoint;
  private readonly updateEndpoint;
  private readonly rotateSecretStatement;
  private readonly sealedSecrets;
  private readonly reseal;

  constructor(private readonly db: Database.Database) {
    this.getEndpointStatement = db.prepare<[number], EndpointRow & { enabled: number }>(GET_ENDPOINT);
    this.insertEndpoint = db.prepare<EndpointParams>(INSERT_ENDPOINT);
    this.updateEndpoint = db.prepare<EndpointParams>(UPDATE_ENDPOINT);
    this.rotateSecretStatement = db.prepare<{ appId: number; secret: string; expires: number; now: number }>(ROTATE_SECRET);
    this.sealedSecrets = db.prepare<[], { app_id: number; secret_sealed: string; previous_secret_sealed: string | null; headers_sealed: string | null }>(
      SEALED_SECRETS,
    );
    this.reseal = db.prepare<[string, string | null, string | null, number]>(RESEAL);
  }

  /** The row itself, for reads inside another aggregate's transaction (ingest, manual attempts). */
  row(appId: number): (EndpointRow & { enabled: number }) | undefined {
    return this.getEndpointStatement.get(appId);
  }

  getEndpoint(appId: number): Endpoint | null {
    const r = this.getEndpointStatement.get(appId);
    return r ? toEndpoint(r) : null;
  }

  putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
    changes: EndpointChanges = {},
  ): { endpoint: Endpoint; created: boolean } {
    return this.db
      .transaction(() => {
        const params = {
          appId,
          url,
          enabled: enabled ? 1 : 0,
          secret: secretSealedIfNew,
          headers: changes.headersSealed ?? null,
          keepHeaders: changes.headersSealed === undefined ? 1 : 0,
          rate: changes.rateLimitPerSecond ?? null,
          keepRate: changes.rateLimitPerSecond === undefined ? 1 : 0,
          now,
        };
        const created = this.updateEndpoint.run(params).changes === 0;
        if (created) this.insertEndpoint.run(params);
        return { endpoint: toEndpoint(this.getEndpointStatement.get(appId)!), created };
      })
      .immediate();
  }

  rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Endpoint | null {
    this.rotateSecretStatement.run({ appId, secret: newSecretSealed, expires: previousExpiresAt, now });
    return this.getEndpoint(appId);
  }

  /** `reghook rekey`: every endpoint's secrets re-sealed in one write transaction (a rotation from another process waits). */
  resealSecrets(reseal: (sealed: string) => string): number {
    return this.db
      .transaction(() => {
        const rows = this.sealedSecrets.all();
        for (const r of rows) {
          const maybe = (sealed: string | null) => (sealed === null ? null : reseal(sealed));
          this.reseal.run(reseal(r.secret_sealed), maybe(r.previous_secret_sealed), maybe(r.headers_sealed), r.app_id);
        }
        return rows.length;
      })
      .immediate();
  }
}
