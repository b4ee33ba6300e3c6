/** Project API keys and the audit log (SQLite). Keys are stored as hashes only. */
import type Database from 'better-sqlite3';
import { toApiKey, toApiKeyWithHash, toAuditEntry, type ApiKeyRow, type AuditRow } from '../rows.js';
import type { ApiKeyRecord, AuditEntry } from '../store.js';

const INSERT_API_KEY = `INSERT INTO api_keys (id, app_id, hash, prefix, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)`;

// Never the hash: a listing has no use for it.
const LIST_API_KEYS = `SELECT id, app_id, prefix, created_at, revoked_at FROM api_keys WHERE app_id = ? ORDER BY created_at, id`;

// Every authenticated request: answered by the unique index on hash.
const API_KEY_BY_HASH = `SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE hash = ?`;

// Only an active key of that project: a revoked one keeps its first revocation time.
const REVOKE_API_KEY = `UPDATE api_keys SET revoked_at = ? WHERE app_id = ? AND id = ? AND revoked_at IS NULL`;

const APPEND_AUDIT = `
INSERT INTO audit_log (app_id, at, actor, action, details, source_ip)
VALUES (@appId, @at, @actor, @action, @details, @sourceIp)`;

// Newest first by id (keyset pagination: the cursor is the last id of the previous page).
const LIST_AUDIT = `SELECT * FROM audit_log WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?`;

type StoredAuditRow = Omit<AuditRow, 'details'> & { details: string };

export class KeysAndAudit {
  private readonly insertKey;
  private readonly listKeys;
  private readonly keyByHash;
  private readonly revokeKey;
  private readonly appendAuditStatement;
  private readonly listAuditStatement;

  constructor(db: Database.Database) {
    this.insertKey = db.prepare<[string, number, string, string, number, number | null]>(INSERT_API_KEY);
    this.listKeys = db.prepare<[number], Omit<ApiKeyRow, 'hash'>>(LIST_API_KEYS);
    this.keyByHash = db.prepare<[string], ApiKeyRow>(API_KEY_BY_HASH);
    this.revokeKey = db.prepare<[number, number, string]>(REVOKE_API_KEY);
    this.appendAuditStatement = db.prepare<Record<string, unknown>>(APPEND_AUDIT);
    this.listAuditStatement = db.prepare<[number, number, number], StoredAuditRow>(LIST_AUDIT);
  }

  addApiKey(key: ApiKeyRecord & { hash: string }): void {
    this.insertKey.run(key.id, key.appId, key.hash, key.prefix, key.createdAt, key.revokedAt);
  }

  listApiKeys(appId: number): ApiKeyRecord[] {
    return this.listKeys.all(appId).map(toApiKey);
  }

  findApiKeyByHash(hash: string): (ApiKeyRecord & { hash: string }) | null {
    const r = this.keyByHash.get(hash);
    return r ? toApiKeyWithHash(r) : null;
  }

  revokeApiKey(appId: number, keyId: string, now: number): boolean {
    return this.revokeKey.run(now, appId, keyId).changes === 1;
  }

  appendAudit(entry: Omit<AuditEntry, 'id'>): void {
    this.appendAuditStatement.run({ ...entry, details: JSON.stringify(entry.details) });
  }

  listAudit(appId: number, limit: number, cursor: number | null): AuditEntry[] {
    return this.listAuditStatement
      .all(appId, cursor ?? Number.MAX_SAFE_INTEGER, limit)
      .map((r) => toAuditEntry({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  }
}
