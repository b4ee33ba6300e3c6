/** Project API keys and the audit log (PostgreSQL). Keys are stored as hashes only. */
import type pg from 'pg';
import { toApiKey, toApiKeyWithHash, toAuditEntry, type ApiKeyRow, type AuditRow } from '../rows.js';
import type { ApiKeyRecord, AuditEntry } from '../store.js';

const INSERT_API_KEY = {
  name: 'insert_api_key',
  text: `INSERT INTO api_keys (id, app_id, hash, prefix, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)`,
};

const LIST_API_KEYS = {
  name: 'list_api_keys',
  text: `SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE app_id = $1 ORDER BY created_at, id`,
};

// Every authenticated request: answered by the unique index on hash.
const API_KEY_BY_HASH = {
  name: 'api_key_by_hash',
  text: `SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE hash = $1`,
};

// Only an active key of that project: a revoked one keeps its first revocation time.
const REVOKE_API_KEY = {
  name: 'revoke_api_key',
  text: `UPDATE api_keys SET revoked_at = $1 WHERE app_id = $2 AND id = $3 AND revoked_at IS NULL`,
};

const APPEND_AUDIT = {
  name: 'append_audit',
  text: `INSERT INTO audit_log (app_id, at, actor, action, details, source_ip) VALUES ($1, $2, $3, $4, $5::json, $6)`,
};

// Newest first by id (keyset pagination: the cursor is the last id of the previous page).
const LIST_AUDIT = {
  name: 'list_audit',
  text: `SELECT id, app_id, at, actor, action, details, source_ip FROM audit_log WHERE app_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
};

export class KeysAndAudit {
  constructor(private readonly pool: pg.Pool) {}

  async addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    await this.pool.query({ ...INSERT_API_KEY, values: [key.id, key.appId, key.hash, key.prefix, key.createdAt, key.revokedAt] });
  }

  async listApiKeys(appId: number): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<ApiKeyRow>({ ...LIST_API_KEYS, values: [appId] });
    return rows.map(toApiKey);
  }

  async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
    const { rows } = await this.pool.query<ApiKeyRow>({ ...API_KEY_BY_HASH, values: [hash] });
    return rows[0] ? toApiKeyWithHash(rows[0]) : null;
  }

  async revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query({ ...REVOKE_API_KEY, values: [now, appId, keyId] });
    return rowCount === 1;
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.pool.query({
      ...APPEND_AUDIT,
      values: [entry.appId, entry.at, entry.actor, entry.action, JSON.stringify(entry.details), entry.sourceIp],
    });
  }

  /** `details` reads parsed: the column is json. */
  async listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]> {
    const { rows } = await this.pool.query<AuditRow>({ ...LIST_AUDIT, values: [appId, cursor ?? Number.MAX_SAFE_INTEGER, limit] });
    return rows.map(toAuditEntry);
  }
}
