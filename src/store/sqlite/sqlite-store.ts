/**
 * The embedded SQLite Store (better-sqlite3, WAL). One process owns the writes; transactions are
 * BEGIN IMMEDIATE so that several processes on one file still serialise their ingest decisions.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants as fsConstants, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AttemptErrorKind } from '../../domain/attempt-error.js';
import type { NormalizedRegistration } from '../../domain/registration.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type EventToCreate, type PurchaseState } from '../../domain/ingest.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../../domain/triggers.js';
import { loadMigrations } from '../migration-files.js';
import type {
  ApiKeyRecord,
  AuditEntry,
  AttemptBucket,
  AttemptOutcome,
  AttemptRecord,
  ClaimedDelivery,
  ClaimOptions,
  Endpoint,
  EventDetail,
  EventLogItem,
  FinishedAttempt,
  ManualAttempt,
  Page,
  Project,
  PurchaseReport,
  PurchaseResult,
  QueueStats,
  RegistrationResult,
  Store,
} from '../store.js';
import { toEventLogItem, toEventSummary, type EventRow } from '../rows.js';
import { WorkSignal } from '../work-signal.js';
import { DUE_ENDPOINTS_SQL, DUE_OF_APP_SQL, LEASE_SQL } from './claim-due.js';


interface EndpointRow {
  app_id: number;
  url: string;
  enabled: number;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  number: number;
  trigger: AttemptRecord['trigger'];
  started_at: number;
  finished: number;
  success: number | null;
  status_code: number | null;
  // Written by recordAttempts only: one of the attempt error kinds.
  error_kind: AttemptErrorKind | null;
  duration_ms: number | null;
  response_body: string | null;
}

const toEndpoint = (r: EndpointRow): Endpoint => ({
  appId: r.app_id,
  url: r.url,
  enabled: r.enabled === 1,
  secretSealed: r.secret_sealed,
  previousSecretSealed: r.previous_secret_sealed,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});


const toAttempt = (r: AttemptRow): AttemptRecord => ({
  number: r.number,
  trigger: r.trigger,
  startedAt: r.started_at,
  outcome:
    r.finished === 1
      ? {
          success: r.success === 1,
          statusCode: r.status_code,
          errorKind: r.error_kind,
          durationMs: r.duration_ms ?? 0,
          responseBody: r.response_body,
        }
      : null,
});

/** Pages the readiness probe must be able to allocate (more than one report ever needs). */
const READINESS_PROBE_PAGES = 8;

/**
 * The database holds personal data in clear: folders created for it are 0700, and the file exists
 * with mode 0600 before SQLite opens it (SQLite gives -wal and -shm the main file's mode). An
 * existing file, and leftover -wal/-shm, lose any group and other bits; nothing gains a bit.
 */
function createPrivately(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
  } catch (error) {
    // It exists already (EEXIST); anything else (a read-only folder…) is for SQLite to report.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = statSync(name).mode & 0o777;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // nothing to tighten
      return; // unreadable: SQLite's open reports it
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(name, mode & 0o700);
    } catch (error) {
      // Another user's file: SQLite still opens it if it may; reghook cannot change its mode.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    }
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly s;

  constructor(file: string) {
    if (file !== ':memory:') createPrivately(file);
    this.db = new Database(file);
    try {
      // WAL: readers never block the writer. synchronous=FULL (SPEC §8): every commit is on disk
      // before its 2xx, across a power loss too; group commit shares one fsync per batch.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('foreign_keys = ON');
      this.migrateNow();
      // A read-only file (or folder) opens and reads fine; fail here, at start, not at the first
      // report. A write that matches no row still needs write access (SQLITE_READONLY otherwise).
      this.db.prepare(`DELETE FROM settings WHERE key = 'reghook.write_check'`).run();
      this.s = this.prepare();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  private readonly work = new WorkSignal();
  private readonly latestMigration = loadMigrations('sqlite').at(-1)?.version ?? 0;
  private readonly pendingWrites: { work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];

  private migrateNow(): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const migration of loadMigrations('sqlite')) {
      if (applied.has(migration.version)) continue;
      // The migration and its ledger row commit together, or neither does.
      this.db
        .transaction(() => {
          this.db.exec(migration.sql);
          this.db
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(migration.version, migration.name, Date.now());
        })
        .immediate();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      insertProject: db.prepare(
        'INSERT INTO projects (app_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (app_id) DO NOTHING',
      ),
      getProject: db.prepare<[number], { app_id: number; name: string; created_at: number }>(
        'SELECT app_id, name, created_at FROM projects WHERE app_id = ?',
      ),
      listProjects: db.prepare<[number, number], { app_id: number; name: string; created_at: number }>(
        'SELECT app_id, name, created_at FROM projects WHERE app_id > ? ORDER BY app_id LIMIT ?',
      ),
      insertKey: db.prepare(
        'INSERT INTO api_keys (id, app_id, hash, prefix, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      listKeys: db.prepare<[number], { id: string; app_id: number; prefix: string; created_at: number; revoked_at: number | null }>(
        'SELECT id, app_id, prefix, created_at, revoked_at FROM api_keys WHERE app_id = ? ORDER BY created_at, id',
      ),
      keyByHash: db.prepare<[string], { id: string; app_id: number; hash: string; prefix: string; created_at: number; revoked_at: number | null }>(
        'SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE hash = ?',
      ),
      revokeKey: db.prepare(
        'UPDATE api_keys SET revoked_at = ? WHERE app_id = ? AND id = ? AND revoked_at IS NULL',
      ),
      getEndpoint: db.prepare<[number], EndpointRow>('SELECT * FROM endpoints WHERE app_id = ?'),
      insertEndpoint: db.prepare(
        `INSERT INTO endpoints (app_id, url, enabled, secret_sealed, created_at, updated_at)
         VALUES (@appId, @url, @enabled, @secret, @now, @now)`,
      ),
      updateEndpoint: db.prepare(
        'UPDATE endpoints SET url = @url, enabled = @enabled, updated_at = @now WHERE app_id = @appId',
      ),
      rotateSecret: db.prepare(
        `UPDATE endpoints
         SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = @expires,
             secret_sealed = @secret, updated_at = @now
         WHERE app_id = @appId`,
      ),
      getRegistration: db.prepare<[number, string], { store_register: number; body: string | null; answer: string }>(
        'SELECT store_register, body, answer FROM registrations WHERE app_id = ? AND client_uuid = ?',
      ),
      insertRegistration: db.prepare(
        `INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, body, answer, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      purchaseExists: db.prepare<[number, string], { one: number }>(
        'SELECT 1 AS one FROM purchases WHERE app_id = ? AND client_uuid = ? LIMIT 1',
      ),
      getPurchase: db.prepare<[number, string], { client_uuid: string; answer: string }>(
        'SELECT client_uuid, answer FROM purchases WHERE app_id = ? AND transaction_id = ?',
      ),
      insertPurchase: db.prepare(
        `INSERT INTO purchases (app_id, transaction_id, client_uuid, purchase_date, answer, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      // The unique (app_id, client_uuid) constraint turns a second creation into a no-op.
      insertEvent: db.prepare(
        `INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at, finished_at)
         VALUES (@id, @appId, @clientUuid, @body, @status, @due, @now, CASE WHEN @status = 'skipped' THEN @now END)
         ON CONFLICT (app_id, client_uuid) DO NOTHING`,
      ),
      eventByUser: db.prepare<[number, string], { id: string; status: EventStatus }>(
        'SELECT id, status FROM events WHERE app_id = ? AND client_uuid = ?',
      ),
      getEvent: db.prepare<[number, string], EventRow>('SELECT * FROM events WHERE app_id = ? AND id = ?'),
      eventForClaim: db.prepare<[string], EventRow & EndpointRow>(
        `SELECT e.*, p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at
         FROM events e JOIN endpoints p ON p.app_id = e.app_id WHERE e.id = ?`,
      ),
      attemptsOf: db.prepare<[string], AttemptRow>(
        'SELECT * FROM attempts WHERE event_id = ? ORDER BY number, id',
      ),
      dueEndpoints: db.prepare<{ now: number; limit: number }, { app_id: number }>(DUE_ENDPOINTS_SQL),
      dueOfApp: db.prepare<{ appId: number; now: number; limit: number }, { id: string; app_id: number; next_attempt_at: number }>(
        DUE_OF_APP_SQL,
      ),
      lease: db.prepare(LEASE_SQL),
      failExhausted: db.prepare(
        `UPDATE events SET status = 'failed', next_attempt_at = NULL, lease_token = NULL, finished_at = ? WHERE id = ?`,
      ),
      openAttempt: db.prepare(
        `INSERT INTO attempts (event_id, app_id, number, trigger, started_at)
         VALUES (@eventId, @appId, @number, @trigger, @now)`,
      ),
      bumpAttemptCount: db.prepare('UPDATE events SET attempt_count = attempt_count + 1 WHERE id = ?'),
      finishAttempt: db.prepare(
        `UPDATE attempts
         SET finished = 1, success = @success, status_code = @statusCode, error_kind = @errorKind,
             duration_ms = @durationMs, response_body = @responseBody
         WHERE id = @attemptId`,
      ),
      // Fenced: only the holder of the current lease may move the event on.
      settleScheduled: db.prepare(
        `UPDATE events
         SET status = @status, next_attempt_at = @next, lease_token = NULL,
             delivered_at = CASE WHEN @status = 'delivered' THEN @now ELSE delivered_at END,
             finished_at = CASE WHEN @status IN ('delivered', 'failed') THEN @now END
         WHERE id = @eventId AND lease_token = @attemptId AND status = 'pending'`,
      ),
      // A manual success delivers the event whatever its state, and voids any lease in flight.
      settleManualSuccess: db.prepare(
        `UPDATE events
         SET status = 'delivered', next_attempt_at = NULL, lease_token = NULL, delivered_at = @now, finished_at = @now
         WHERE id = @eventId AND status <> 'delivered'`,
      ),
      // endpoints.next_due_at is each enabled endpoint's earliest pending due time (migration 0002).
      nextDue: db.prepare<[], { next_due_at: number }>(
        'SELECT next_due_at FROM endpoints INDEXED BY endpoints_due WHERE next_due_at IS NOT NULL ORDER BY next_due_at LIMIT 1',
      ),
      recoverFailed: db.prepare(
        `UPDATE events SET status = 'pending', scheduled_attempts = 0, next_attempt_at = @now, lease_token = NULL, finished_at = NULL
         WHERE app_id = @appId AND status = 'failed' AND created_at >= @since`,
      ),
      attemptStats: db.prepare<Record<string, number>, { bucket: number; succeeded: number; failed: number }>(
        `SELECT CAST(started_at / @bucketMs AS INTEGER) * @bucketMs AS bucket,
                SUM(success = 1) AS succeeded, SUM(success = 0) AS failed
         FROM attempts
         WHERE app_id = @appId AND started_at >= @since AND finished = 1
         GROUP BY bucket ORDER BY bucket`,
      ),
      appendAudit: db.prepare(
        `INSERT INTO audit_log (app_id, at, actor, action, details, source_ip)
         VALUES (@appId, @at, @actor, @action, @details, @sourceIp)`,
      ),
      listAudit: db.prepare<[number, number, number], { id: number; app_id: number; at: number; actor: string; action: string; details: string; source_ip: string | null }>(
        'SELECT * FROM audit_log WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
      ),
      usersOfSubscriber: db.prepare<[number, string], { client_uuid: string }>(
        'SELECT client_uuid FROM registrations WHERE app_id = ? AND subscriber_id = ?',
      ),
      // Erasure cancels what is still owed: an event not delivered yet becomes `erased`, never sent.
      eraseEvents: db.prepare(
        `UPDATE events
         SET body = NULL,
             status = CASE WHEN status = 'delivered' THEN status ELSE 'erased' END,
             next_attempt_at = CASE WHEN status = 'delivered' THEN next_attempt_at END,
             lease_token = CASE WHEN status = 'delivered' THEN lease_token END,
             finished_at = CASE WHEN status = 'delivered' THEN finished_at ELSE @now END
         WHERE app_id = @appId AND client_uuid = @clientUuid`,
      ),
      eraseAttemptBodies: db.prepare(
        `UPDATE attempts SET response_body = NULL
         WHERE event_id IN (SELECT id FROM events WHERE app_id = ? AND client_uuid = ?)`,
      ),
      deleteRegistration: db.prepare('DELETE FROM registrations WHERE app_id = ? AND client_uuid = ?'),
      expiredPayloads: db.prepare<[number, number], { id: string; app_id: number; client_uuid: string }>(
        'SELECT id, app_id, client_uuid FROM events WHERE body IS NOT NULL AND finished_at < ? LIMIT ?',
      ),
      dropPayload: db.prepare('UPDATE events SET body = NULL WHERE id = ?'),
      dropAttemptBodies: db.prepare('UPDATE attempts SET response_body = NULL WHERE event_id = ?'),
      anonymiseRegistration: db.prepare(
        'UPDATE registrations SET body = NULL, subscriber_id = NULL WHERE app_id = ? AND client_uuid = ?',
      ),
      dropTestBodies: db.prepare(
        `UPDATE attempts SET response_body = NULL
         WHERE trigger = 'test' AND started_at < ? AND response_body IS NOT NULL`,
      ),
      // Store users who never bought within the awaiting retention are forgotten.
      dropAwaiting: db.prepare(
        `DELETE FROM registrations WHERE rowid IN (
           SELECT r.rowid FROM registrations r
           WHERE r.store_register = 1 AND r.created_at < ?
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.app_id = r.app_id AND e.client_uuid = r.client_uuid)
           LIMIT ?)`,
      ),
      countDue: db.prepare<[number], { n: number; oldest: number | null }>(
        `SELECT COUNT(*) AS n, MIN(next_attempt_at) AS oldest FROM events
         WHERE status = 'pending' AND next_attempt_at <= ? AND lease_token IS NULL`,
      ),
      countPending: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM events WHERE status = 'pending'`),
      insertFinishedAttempt: db.prepare(
        `INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code,
                               error_kind, duration_ms, response_body)
         VALUES (@eventId, @appId, 1, 'test', @startedAt, 1, @success, @statusCode, @errorKind, @durationMs, @responseBody)`,
      ),
    };
  }

  async migrate(): Promise<void> {
    this.migrateNow();
  }

  onWorkAvailable(listener: () => void): () => void {
    return this.work.subscribe(listener);
  }

  /**
   * Caps the database file at `pages` pages (never below its current size), so writes that need
   * room beyond it fail with SQLITE_FULL as on a full disk; null lifts the cap. For tests and
   * drills of the disk-full path; answers the cap now in force.
   */
  limitPages(pages: number | null): number {
    return this.db.pragma(`max_page_count = ${pages === null ? 4294967294 : Math.max(1, Math.floor(pages))}`, { simple: true }) as number;
  }

  /**
   * Migrations applied, and a real write commits: a settings row of READINESS_PROBE_PAGES pages is
   * written and removed in one transaction, so it needs at least the room a report needs (a
   * report can split a page in each of several indexes). A full disk, a read-only file or a lock
   * held too long make it false, and it turns true again by itself.
   */
  async isReady(): Promise<boolean> {
    try {
      const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
      if ((row.v ?? 0) < this.latestMigration) return false;
      this.readinessProbe ??= this.db.transaction(() => {
        const pageSize = this.db.pragma('page_size', { simple: true }) as number;
        this.db.prepare(`INSERT OR REPLACE INTO settings (key, value) VALUES ('readiness_probe', ?)`).run('x'.repeat(pageSize * READINESS_PROBE_PAGES));
        this.db.prepare(`DELETE FROM settings WHERE key = 'readiness_probe'`).run();
      });
      this.readinessProbe.immediate();
      return true;
    } catch {
      // Any failure means "not ready"; the API's error handler classifies and logs request failures.
      return false;
    }
  }

  private readinessProbe: Database.Transaction<() => void> | undefined;

  /** The schema as SQLite reports it (tables, indexes, triggers), for the committed dump. */
  schemaDump(): string {
    const rows = this.db
      .prepare(
        `SELECT sql FROM sqlite_master
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name`,
      )
      .all() as { sql: string }[];
    return rows.map((r) => `${r.sql};\n`).join('\n');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async getSetting(key: string): Promise<string | null> {
    return this.s.getSetting.get(key)?.value ?? null;
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    this.s.putSetting.run(key, value);
    return this.s.getSetting.get(key)!.value;
  }

  async createProject(project: Project): Promise<'created' | 'exists'> {
    const info = this.s.insertProject.run(project.appId, project.name, project.createdAt);
    return info.changes === 1 ? 'created' : 'exists';
  }

  async getProject(appId: number): Promise<Project | null> {
    const r = this.s.getProject.get(appId);
    return r ? { appId: r.app_id, name: r.name, createdAt: r.created_at } : null;
  }

  async listProjects(limit: number, cursor: number | null): Promise<Project[]> {
    return this.s.listProjects
      .all(cursor ?? 0, limit)
      .map((r) => ({ appId: r.app_id, name: r.name, createdAt: r.created_at }));
  }

  async addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    this.s.insertKey.run(key.id, key.appId, key.hash, key.prefix, key.createdAt, key.revokedAt);
  }

  async listApiKeys(appId: number): Promise<ApiKeyRecord[]> {
    return this.s.listKeys.all(appId).map((r) => ({
      id: r.id,
      appId: r.app_id,
      prefix: r.prefix,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
    const r = this.s.keyByHash.get(hash);
    return r
      ? { id: r.id, appId: r.app_id, hash: r.hash, prefix: r.prefix, createdAt: r.created_at, revokedAt: r.revoked_at }
      : null;
  }

  async revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean> {
    return this.s.revokeKey.run(now, appId, keyId).changes === 1;
  }

  async getEndpoint(appId: number): Promise<Endpoint | null> {
    const r = this.s.getEndpoint.get(appId);
    return r ? toEndpoint(r) : null;
  }

  async putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const result = this.db
      .transaction(() => {
        const params = { appId, url, enabled: enabled ? 1 : 0, secret: secretSealedIfNew, now };
        const created = this.s.updateEndpoint.run(params).changes === 0;
        if (created) this.s.insertEndpoint.run(params);
        return { endpoint: toEndpoint(this.s.getEndpoint.get(appId)!), created };
      })
      .immediate();
    // Deliveries that waited for an enabled endpoint are due now.
    if (result.endpoint.enabled) this.work.announce();
    return result;
  }

  async rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null> {
    this.s.rotateSecret.run({ appId, secret: newSecretSealed, expires: previousExpiresAt, now });
    return this.getEndpoint(appId);
  }

  /** Creates the user's event unless one exists; answers the event that exists afterwards. */
  private createEvent(appId: number, clientUuid: string, event: EventToCreate, eventId: string, now: number) {
    const due = event.status === 'pending' ? now : null;
    const info = this.s.insertEvent.run({ id: eventId, appId, clientUuid, body: event.body, status: event.status, due, now });
    if (info.changes === 1) return { eventId, status: event.status };
    const existing = this.s.eventByUser.get(appId, clientUuid)!;
    return { eventId: existing.id, status: existing.status === 'skipped' ? ('skipped' as const) : ('pending' as const) };
  }

  /** Whether the project exists and has an enabled endpoint, for the ingest decision. */
  private projectState(appId: number) {
    return { projectExists: this.s.getProject.get(appId) !== undefined, endpointEnabled: this.s.getEndpoint.get(appId)?.enabled === 1 };
  }

  async recordRegistration(reg: NormalizedRegistration, newEventId: string, now: number): Promise<RegistrationResult> {
    const result = await this.groupCommit((): RegistrationResult => {
      const recorded = this.s.getRegistration.get(reg.appId, reg.clientUuid);
      const decision = decideRegistration(
        {
          ...this.projectState(reg.appId),
          registration: recorded ? { body: recorded.body, answer: JSON.parse(recorded.answer) as RegistrationAnswer } : null,
          purchased: this.s.purchaseExists.get(reg.appId, reg.clientUuid) !== undefined,
        },
        reg,
      );
      if (decision.kind !== 'record') return decision;
      const answer = registrationAnswer(decision.event && this.createEvent(reg.appId, reg.clientUuid, decision.event, newEventId, now));
      this.s.insertRegistration.run(
        reg.appId, reg.clientUuid, reg.storeRegister ? 1 : 0, reg.subscriberId, reg.body, JSON.stringify(answer), now,
      );
      return { kind: 'created', answer };
    });
    // Resolved after the group's commit: the new delivery is due now.
    if (result.kind === 'created' && result.answer.status === 'pending') this.work.announce();
    return result;
  }

  async recordPurchase(p: PurchaseReport, newEventId: string, now: number): Promise<PurchaseResult> {
    let createdPending = false;
    const result = await this.groupCommit((): PurchaseResult => {
      createdPending = false;
      const recorded = this.s.getPurchase.get(p.appId, p.transactionId);
      const registration = this.s.getRegistration.get(p.appId, p.clientUuid);
      const state: PurchaseState = {
        ...this.projectState(p.appId),
        purchase: recorded ? { clientUuid: recorded.client_uuid, answer: JSON.parse(recorded.answer) as PurchaseAnswer } : null,
        registration: registration ? { storeRegister: registration.store_register === 1, body: registration.body } : null,
        eventExists: this.s.eventByUser.get(p.appId, p.clientUuid) !== undefined,
      };
      const decision = decidePurchaseReport(state, p.clientUuid);
      if (decision.kind !== 'record') return decision;
      const event = decision.event && this.createEvent(p.appId, p.clientUuid, decision.event, newEventId, now);
      createdPending = event?.status === 'pending';
      const answer = purchaseAnswer(state, event);
      this.s.insertPurchase.run(p.appId, p.transactionId, p.clientUuid, p.purchaseDate, JSON.stringify(answer), now);
      return { kind: 'created', answer };
    });
    if (result.kind === 'created' && createdPending) this.work.announce();
    return result;
  }

  /**
   * Group commit: the reports that arrive in one event-loop turn are decided one after another,
   * each in its own savepoint, inside ONE write transaction, so a burst pays one commit instead of
   * one each. Decisions stay strictly sequential, so the trigger rules see each other's writes.
   */
  private groupCommit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pendingWrites.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.pendingWrites.length === 1) setImmediate(() => this.commitPendingWrites());
    });
  }

  private commitPendingWrites(): void {
    const batch = this.pendingWrites.splice(0);
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db
        .transaction(() => {
          for (const { work } of batch) {
            try {
              // A nested transaction is a savepoint: one report's failure undoes only its writes.
              outcomes.push({ ok: true, value: this.db.transaction(work)() });
            } catch (error) {
              // SQLite rolled the whole transaction back by itself (SQLITE_FULL, SQLITE_IOERR…):
              // nothing of the batch stands, and every report fails with this report's error.
              if (!this.db.inTransaction) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      // The commit itself failed: nothing of the batch was stored.
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    });
  }

  async listEvents(
    appId: number,
    options: { status?: EventStatus | undefined; limit: number; cursor?: string | undefined },
  ): Promise<Page<EventLogItem>> {
    const where = ['app_id = @appId'];
    if (options.status) where.push('status = @status');
    if (options.cursor) where.push('id < @cursor');
    const rows = this.db
      .prepare<Record<string, unknown>, EventRow>(
        `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`,
      )
      .all({ appId, status: options.status, cursor: options.cursor, limit: options.limit + 1 });
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { data: page.map(toEventLogItem), nextCursor: more ? page.at(-1)!.id : null };
  }

  async getEvent(appId: number, eventId: string): Promise<EventDetail | null> {
    const row = this.s.getEvent.get(appId, eventId);
    if (!row) return null;
    return { ...toEventSummary(row), body: row.body, attempts: this.s.attemptsOf.all(eventId).map(toAttempt) };
  }

  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const recovered = this.s.recoverFailed.run({ appId, since, now }).changes;
    if (recovered > 0) this.work.announce();
    return recovered;
  }

  async claimDue(o: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.db
      .transaction(() => {
        // Projects in order of their oldest due work, each up to its room, until the batch is full.
        const excluded = new Set(o.excludeAppIds);
        const rows: { id: string }[] = [];
        for (const { app_id } of this.s.dueEndpoints.all({ now: o.now, limit: o.limit + excluded.size })) {
          if (excluded.has(app_id)) continue;
          const room = Math.min(o.perEndpointLimit - (o.inFlight[app_id] ?? 0), o.limit - rows.length);
          if (room <= 0) continue;
          rows.push(...this.s.dueOfApp.all({ appId: app_id, now: o.now, limit: room }));
          if (rows.length >= o.limit) break;
        }
        const claimed: ClaimedDelivery[] = [];
        for (const { id } of rows) {
          const e = this.s.eventForClaim.get(id)!;
          if (e.scheduled_attempts >= o.maxAttempts) {
            // Its last attempt was leased by a process that died: the attempts are used up.
            this.s.failExhausted.run(o.now, id);
            continue;
          }
          const attemptId = Number(
            this.s.openAttempt.run({ eventId: id, appId: e.app_id, number: e.attempt_count + 1, trigger: 'scheduled', now: o.now })
              .lastInsertRowid,
          );
          this.s.lease.run({ id, leaseUntil: o.now + o.leaseMs, attemptId });
          claimed.push({
            eventId: id,
            appId: e.app_id,
            attemptId,
            attemptNumber: e.attempt_count + 1,
            scheduledAttempts: e.scheduled_attempts + 1,
            url: e.url,
            body: pendingBody(e),
            secretSealed: e.secret_sealed,
            previousSecretSealed: e.previous_secret_sealed,
            previousSecretExpiresAt: e.previous_secret_expires_at,
            createdAt: e.created_at,
            reclaimed: e.lease_token !== null,
          });
        }
        return claimed;
      })
      .immediate();
  }

  async recordAttempts(finished: readonly FinishedAttempt[], now: number): Promise<void> {
    if (finished.length === 0) return;
    this.db
      .transaction(() => {
        for (const f of finished) {
          this.s.finishAttempt.run({ attemptId: f.attemptId, ...outcomeParams(f.outcome) });
          if (f.next === null) {
            if (f.outcome.success) this.s.settleManualSuccess.run({ eventId: f.eventId, now });
          } else {
            this.s.settleScheduled.run({
              eventId: f.eventId,
              attemptId: f.attemptId,
              status: f.next.status,
              next: f.next.status === 'pending' ? f.next.nextAttemptAt : null,
              now,
            });
          }
        }
      })
      .immediate();
  }

  async nextDueAt(): Promise<number | null> {
    return this.s.nextDue.get()?.next_due_at ?? null;
  }

  async openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null> {
    return this.db
      .transaction((): ManualAttempt | 'in_flight' | null => {
        const e = this.s.getEvent.get(appId, eventId);
        const endpoint = this.s.getEndpoint.get(appId);
        if (!e || !endpoint || e.body === null) return null;
        if (e.status === 'pending' && e.lease_token !== null && (e.next_attempt_at ?? 0) > now) return 'in_flight';
        const attemptId = Number(
          this.s.openAttempt.run({ eventId, appId, number: e.attempt_count + 1, trigger: 'manual', now }).lastInsertRowid,
        );
        this.s.bumpAttemptCount.run(eventId);
        return {
          attemptId,
          attemptNumber: e.attempt_count + 1,
          url: endpoint.url,
          body: e.body,
          secretSealed: endpoint.secret_sealed,
          previousSecretSealed: endpoint.previous_secret_sealed,
          previousSecretExpiresAt: endpoint.previous_secret_expires_at,
        };
      })
      .immediate();
  }

  async attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    return this.s.attemptStats
      .all({ appId, since, bucketMs })
      .map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    this.s.appendAudit.run({ ...entry, details: JSON.stringify(entry.details) });
  }

  async listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]> {
    return this.s.listAudit.all(appId, cursor ?? Number.MAX_SAFE_INTEGER, limit).map((r) => ({
      id: r.id,
      appId: r.app_id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      details: JSON.parse(r.details) as Record<string, unknown>,
      sourceIp: r.source_ip,
    }));
  }

  async eraseSubscriber(appId: number, subscriberId: string, now: number): Promise<{ registrations: number; events: number }> {
    return this.db
      .transaction(() => {
        let events = 0;
        const users = this.s.usersOfSubscriber.all(appId, subscriberId);
        for (const { client_uuid } of users) {
          events += this.s.eraseEvents.run({ appId, clientUuid: client_uuid, now }).changes;
          this.s.eraseAttemptBodies.run(appId, client_uuid);
          this.s.deleteRegistration.run(appId, client_uuid);
        }
        return { registrations: users.length, events };
      })
      .immediate();
  }

  async sweepRetention(o: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }> {
    return this.db
      .transaction(() => {
        const expired = this.s.expiredPayloads.all(o.finishedBefore, o.limit);
        for (const e of expired) {
          this.s.dropPayload.run(e.id);
          this.s.dropAttemptBodies.run(e.id);
          this.s.anonymiseRegistration.run(e.app_id, e.client_uuid);
        }
        this.s.dropTestBodies.run(o.finishedBefore);
        const awaiting = this.s.dropAwaiting.run(o.awaitingBefore, o.limit).changes;
        return { payloads: expired.length, awaiting };
      })
      .immediate();
  }

  async queueStats(now: number): Promise<QueueStats> {
    const due = this.s.countDue.get(now)!;
    const pending = this.s.countPending.get()!.n;
    return { due: due.n, scheduled: Math.max(0, pending - due.n), oldestDueAt: due.oldest };
  }

  async recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void> {
    this.s.insertFinishedAttempt.run({ eventId: webhookId, appId, startedAt, ...outcomeParams(outcome) });
  }
}

/** A pending event's body: the CHECK events_pending_has_body guarantees one (migration 0002). */
function pendingBody(e: { id: string; body: string | null }): string {
  if (e.body === null) throw new Error(`event ${e.id} is pending without a body, which the schema forbids`);
  return e.body;
}

function outcomeParams(o: AttemptOutcome) {
  return {
    success: o.success ? 1 : 0,
    statusCode: o.statusCode,
    errorKind: o.errorKind,
    durationMs: Math.round(o.durationMs),
    responseBody: o.responseBody,
  };
}
