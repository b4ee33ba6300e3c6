/**
 * The PostgreSQL Store (node-postgres pool). Same semantics as the SQLite store, method for method,
 * but built for many processes on many machines sharing one database:
 *
 * - Ingest decisions run in one transaction per report, under a transaction-scoped advisory lock
 *   on the user `(appId, clientUuid)`, so a registration and a first purchase racing in two
 *   processes cannot both miss each other. "Exactly one event per user" itself is the unique
 *   constraint (`INSERT … ON CONFLICT DO NOTHING`), not the lock.
 * - Deliveries are claimed with one `FOR UPDATE SKIP LOCKED` statement per batch (claim-due.ts) and
 *   settled fenced by the lease token (record-attempts.ts).
 * - Other processes are woken with LISTEN/NOTIFY (work-notifier.ts).
 * - Time is the caller's `now`, as on SQLite (tests drive it); fencing, not clock agreement, keeps
 *   leases correct across machines (see claim-due.ts). `open()` warns when this machine's clock
 *   and the database's disagree by more than 2 s.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AttemptErrorKind } from '../../domain/attempt-error.js';
import type { NormalizedRegistration } from '../../domain/registration.js';
import type { EventStatus } from '../../domain/retry-policy.js';
import { decidePurchaseReport, decideRegistration, purchaseAnswer, registrationAnswer, type EventToCreate, type PurchaseState } from '../../domain/ingest.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../../domain/triggers.js';
import { createLogger } from '../../logger.js';
import type {
  ApiKeyRecord,
  AttemptBucket,
  AttemptOutcome,
  AttemptRecord,
  AuditEntry,
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
import { CLAIM_DUE_SQL, type ClaimedRow } from './claim-due.js';
import { createPool, inTransaction, parsePostgresUrl, retryingStatement, type PostgresTarget, type Queryable } from './connection.js';
import { appliedVersion, applyMigrations, latestVersion, schemaDump } from './migrate.js';
import { RECORD_ATTEMPTS_SQL } from './record-attempts.js';
import { WorkNotifier } from './work-notifier.js';

export interface PostgresStoreOptions {
  /** Where pool and connection errors are reported (they are survived, not thrown). */
  logger?: Logger;
  /** Connections in the pool; default: the URL's `pool_size`, else 10. */
  poolSize?: number;
}


interface EndpointRow {
  app_id: number;
  url: string;
  enabled: boolean;
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
  finished: boolean;
  success: boolean | null;
  status_code: number | null;
  // Written by recordAttempts only: one of the attempt error kinds.
  error_kind: AttemptErrorKind | null;
  duration_ms: number | null;
  response_body: string | null;
}

interface ProjectRow {
  app_id: number;
  name: string;
  created_at: number;
}

interface ApiKeyRow {
  id: string;
  app_id: number;
  hash: string;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
}

const toEndpoint = (r: EndpointRow): Endpoint => ({
  appId: r.app_id,
  url: r.url,
  enabled: r.enabled,
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
  outcome: r.finished
    ? {
        success: r.success === true,
        statusCode: r.status_code,
        errorKind: r.error_kind,
        durationMs: r.duration_ms ?? 0,
        responseBody: r.response_body,
      }
    : null,
});

const toProject = (r: ProjectRow): Project => ({ appId: r.app_id, name: r.name, createdAt: r.created_at });

const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  appId: r.app_id,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/**
 * Thrown inside an ingest transaction whose registration/purchase row lost the insert race to a
 * concurrent identical report: the transaction (and any event it created) is rolled back and the
 * winner's stored answer is read instead.
 */
class LostInsertRace extends Error {}

/** Serialises ingest for one user across processes; released at commit or rollback. */
const LOCK_USER = `SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))`;

const SELECT_EVENT_COLUMNS = `id, app_id, client_uuid, body, status, attempt_count, scheduled_attempts,
  next_attempt_at, lease_token, created_at, delivered_at`;

/** Clock skew between this process and the database worth a warning (leases assume agreement). */
const CLOCK_SKEW_WARNING_MS = 2_000;

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly target: PostgresTarget;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private readonly notifier: WorkNotifier;
  private closing: Promise<void> | null = null;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.target = parsePostgresUrl(url);
    this.logger = options.logger ?? createLogger('warn');
    this.pool = createPool(this.target, this.logger, options.poolSize ?? this.target.poolSize);
    this.notifier = new WorkNotifier(this.target, this.pool, this.logger);
  }

  /** Connects, applies pending migrations, and warns when this machine's clock disagrees with the database's. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      await store.migrate();
      await store.warnOnClockSkew();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  private async warnOnClockSkew(): Promise<void> {
    const before = Date.now();
    const { rows } = await this.pool.query<{ now: number }>(
      `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
    );
    const local = (before + Date.now()) / 2;
    const skew = Math.round(local - rows[0]!.now);
    if (Math.abs(skew) > CLOCK_SKEW_WARNING_MS) {
      this.logger.warn({ skewMs: skew }, 'this machine\'s clock differs from the database\'s; leases assume clocks agree within the lease margin');
    }
  }

  private query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ name, text, values });
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.pool, this.target.schema, this.logger);
  }

  /** The schema as PostgreSQL reports it, for the committed dump (migrations/postgres/schema.sql). */
  async schemaDump(): Promise<string> {
    const client = await this.pool.connect();
    try {
      return await schemaDump(client);
    } finally {
      client.release();
    }
  }

  /**
   * Migrations applied, and a real write commits (an upsert of a settings row): an unreachable,
   * read-only or full database makes it false, and it turns true again by itself.
   */
  async isReady(): Promise<boolean> {
    try {
      if ((await appliedVersion(this.pool)) < latestVersion()) return false;
      await this.query(
        'readiness_probe',
        `INSERT INTO settings (key, value) VALUES ('readiness_probe', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(Date.now())],
      );
      return true;
    } catch {
      // Any failure means "not ready"; the API's error handler classifies and logs request failures.
      return false;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.notifier.close();
      await this.pool.end();
    })();
    return this.closing;
  }

  /** Calls `listener` whenever any process reports that work may be due (LISTEN reghook_work). */
  onWorkAvailable(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  async getSetting(key: string): Promise<string | null> {
    const { rows } = await this.query<{ value: string }>('get_setting', 'SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.query('put_setting', 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getSetting(key))!;
  }

  async createProject(project: Project): Promise<'created' | 'exists'> {
    const { rowCount } = await this.query(
      'insert_project',
      'INSERT INTO projects (app_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO NOTHING',
      [project.appId, project.name, project.createdAt],
    );
    return rowCount === 1 ? 'created' : 'exists';
  }

  async getProject(appId: number): Promise<Project | null> {
    const { rows } = await this.query<ProjectRow>(
      'get_project',
      'SELECT app_id, name, created_at FROM projects WHERE app_id = $1',
      [appId],
    );
    return rows[0] ? toProject(rows[0]) : null;
  }

  async listProjects(limit: number, cursor: number | null): Promise<Project[]> {
    const { rows } = await this.query<ProjectRow>(
      'list_projects',
      'SELECT app_id, name, created_at FROM projects WHERE app_id > $1 ORDER BY app_id LIMIT $2',
      [cursor ?? 0, limit],
    );
    return rows.map(toProject);
  }

  async addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    await this.query(
      'insert_api_key',
      'INSERT INTO api_keys (id, app_id, hash, prefix, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [key.id, key.appId, key.hash, key.prefix, key.createdAt, key.revokedAt],
    );
  }

  async listApiKeys(appId: number): Promise<ApiKeyRecord[]> {
    const { rows } = await this.query<ApiKeyRow>(
      'list_api_keys',
      'SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE app_id = $1 ORDER BY created_at, id',
      [appId],
    );
    return rows.map(toApiKey);
  }

  async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
    const { rows } = await this.query<ApiKeyRow>(
      'api_key_by_hash',
      'SELECT id, app_id, hash, prefix, created_at, revoked_at FROM api_keys WHERE hash = $1',
      [hash],
    );
    return rows[0] ? { ...toApiKey(rows[0]), hash: rows[0].hash } : null;
  }

  async revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean> {
    const { rowCount } = await this.query(
      'revoke_api_key',
      'UPDATE api_keys SET revoked_at = $1 WHERE app_id = $2 AND id = $3 AND revoked_at IS NULL',
      [now, appId, keyId],
    );
    return rowCount === 1;
  }

  async getEndpoint(appId: number): Promise<Endpoint | null> {
    const { rows } = await this.query<EndpointRow>('get_endpoint', 'SELECT * FROM endpoints WHERE app_id = $1', [appId]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const result = await inTransaction(this.pool, this.logger, async (client) => {
      const update = () =>
        client.query<EndpointRow>(
          'UPDATE endpoints SET url = $2, enabled = $3, updated_at = $4 WHERE app_id = $1 RETURNING *',
          [appId, url, enabled, now],
        );
      let { rows } = await update();
      if (rows[0]) return { endpoint: toEndpoint(rows[0]), created: false };
      ({ rows } = await client.query<EndpointRow>(
        `INSERT INTO endpoints (app_id, url, enabled, secret_sealed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (app_id) DO NOTHING RETURNING *`,
        [appId, url, enabled, secretSealedIfNew, now],
      ));
      if (rows[0]) return { endpoint: toEndpoint(rows[0]), created: true };
      // Created by a concurrent request a moment ago: change it like any existing one.
      ({ rows } = await update());
      return { endpoint: toEndpoint(rows[0]!), created: false };
    });
    // Deliveries that waited for this endpoint are due now.
    if (result.endpoint.enabled) this.notifier.notify();
    return result;
  }

  async rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null> {
    const { rows } = await this.query<EndpointRow>(
      'rotate_secret',
      `UPDATE endpoints
       SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = $3,
           secret_sealed = $2, updated_at = $4
       WHERE app_id = $1
       RETURNING *`,
      [appId, newSecretSealed, previousExpiresAt, now],
    );
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** Creates the user's event unless one exists; answers the event that exists afterwards. */
  private async createEvent(
    client: Queryable,
    appId: number,
    clientUuid: string,
    event: EventToCreate,
    eventId: string,
    now: number,
  ): Promise<{ eventId: string; status: 'pending' | 'skipped' }> {
    const { status, body } = event;
    const due = status === 'pending' ? now : null;
    // The unique (app_id, client_uuid) constraint turns a second creation into a no-op.
    const inserted = await client.query({
      name: 'insert_event',
      text: `INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $5 = 'skipped' THEN $7::bigint END)
             ON CONFLICT (app_id, client_uuid) DO NOTHING`,
      values: [eventId, appId, clientUuid, body, status, due, now],
    });
    if (inserted.rowCount === 1) return { eventId, status };
    const { rows } = await client.query<{ id: string; status: EventStatus }>({
      name: 'event_by_user',
      text: 'SELECT id, status FROM events WHERE app_id = $1 AND client_uuid = $2',
      values: [appId, clientUuid],
    });
    const existing = rows[0]!;
    return { eventId: existing.id, status: existing.status === 'skipped' ? 'skipped' : 'pending' };
  }

  async recordRegistration(reg: NormalizedRegistration, newEventId: string, now: number): Promise<RegistrationResult> {
    let result: RegistrationResult;
    try {
      result = await inTransaction(this.pool, this.logger, async (client): Promise<RegistrationResult> => {
        await client.query({ name: 'lock_user', text: LOCK_USER, values: [reg.appId, reg.clientUuid] });
        // Everything the decision needs, read in one round trip under the user's lock.
        const { rows } = await client.query<{
          project_exists: boolean;
          endpoint_enabled: boolean | null;
          purchased: boolean;
          registered: boolean;
          body: string | null;
          answer: string | null;
        }>({
          name: 'registration_context',
          text: `SELECT EXISTS (SELECT 1 FROM projects WHERE app_id = $1) AS project_exists,
                        (SELECT enabled FROM endpoints WHERE app_id = $1) AS endpoint_enabled,
                        EXISTS (SELECT 1 FROM purchases WHERE app_id = $1 AND client_uuid = $2) AS purchased,
                        r.app_id IS NOT NULL AS registered, r.body, r.answer
                 FROM (SELECT 1) AS one
                 LEFT JOIN registrations r ON r.app_id = $1 AND r.client_uuid = $2`,
          values: [reg.appId, reg.clientUuid],
        });
        const ctx = rows[0]!;
        const decision = decideRegistration(
          {
            projectExists: ctx.project_exists,
            endpointEnabled: ctx.endpoint_enabled === true,
            registration: ctx.registered ? { body: ctx.body, answer: JSON.parse(ctx.answer!) as RegistrationAnswer } : null,
            purchased: ctx.purchased,
          },
          reg,
        );
        if (decision.kind !== 'record') return decision;
        const answer = registrationAnswer(decision.event && (await this.createEvent(client, reg.appId, reg.clientUuid, decision.event, newEventId, now)));
        const inserted = await client.query({
          name: 'insert_registration',
          text: `INSERT INTO registrations (app_id, client_uuid, store_register, subscriber_id, body, answer, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (app_id, client_uuid) DO NOTHING`,
          values: [reg.appId, reg.clientUuid, reg.storeRegister, reg.subscriberId, reg.body, JSON.stringify(answer), now],
        });
        if (inserted.rowCount !== 1) throw new LostInsertRace();
        return { kind: 'created', answer };
      });
    } catch (error) {
      if (!(error instanceof LostInsertRace)) throw error;
      const { rows } = await this.query<{ body: string | null; answer: string }>(
        'get_registration',
        'SELECT body, answer FROM registrations WHERE app_id = $1 AND client_uuid = $2',
        [reg.appId, reg.clientUuid],
      );
      if (!rows[0]) throw new Error('a concurrent identical registration won the insert but is gone (erased); report it again');
      result = repeatedRegistration(rows[0], reg);
    }
    if (result.kind === 'created' && result.answer.status === 'pending') this.notifier.notify();
    return result;
  }

  async recordPurchase(p: PurchaseReport, newEventId: string, now: number): Promise<PurchaseResult> {
    let result: PurchaseResult;
    // The status of the event this purchase created (a skipped one wakes nobody).
    const created: { status: 'pending' | 'skipped' | null } = { status: null };
    try {
      result = await inTransaction(this.pool, this.logger, async (client): Promise<PurchaseResult> => {
        created.status = null;
        await client.query({ name: 'lock_user', text: LOCK_USER, values: [p.appId, p.clientUuid] });
        const { rows } = await client.query<{
          project_exists: boolean;
          endpoint_enabled: boolean | null;
          event_exists: boolean;
          purchased_by: string | null;
          answer: string | null;
        }>({
          name: 'purchase_context',
          text: `SELECT EXISTS (SELECT 1 FROM projects WHERE app_id = $1) AS project_exists,
                        (SELECT enabled FROM endpoints WHERE app_id = $1) AS endpoint_enabled,
                        EXISTS (SELECT 1 FROM events WHERE app_id = $1 AND client_uuid = $2) AS event_exists,
                        pu.client_uuid AS purchased_by, pu.answer
                 FROM (SELECT 1) AS one
                 LEFT JOIN purchases pu ON pu.app_id = $1 AND pu.transaction_id = $3`,
          values: [p.appId, p.clientUuid, p.transactionId],
        });
        const ctx = rows[0]!;
        // FOR SHARE: erasure and the awaiting-retention sweep cannot remove this registration while
        // this transaction turns it into an event (they wait, or skip it).
        const registration = (
          await client.query<{ store_register: boolean; body: string | null }>({
            name: 'registration_for_purchase',
            text: 'SELECT store_register, body FROM registrations WHERE app_id = $1 AND client_uuid = $2 FOR SHARE',
            values: [p.appId, p.clientUuid],
          })
        ).rows[0];
        const state: PurchaseState = {
          projectExists: ctx.project_exists,
          endpointEnabled: ctx.endpoint_enabled === true,
          purchase: ctx.purchased_by !== null ? { clientUuid: ctx.purchased_by, answer: JSON.parse(ctx.answer!) as PurchaseAnswer } : null,
          registration: registration ? { storeRegister: registration.store_register, body: registration.body } : null,
          eventExists: ctx.event_exists,
        };
        const decision = decidePurchaseReport(state, p.clientUuid);
        if (decision.kind !== 'record') return decision;
        const event = decision.event && (await this.createEvent(client, p.appId, p.clientUuid, decision.event, newEventId, now));
        created.status = event?.status ?? null;
        const answer = purchaseAnswer(state, event);
        const inserted = await client.query({
          name: 'insert_purchase',
          text: `INSERT INTO purchases (app_id, transaction_id, client_uuid, purchase_date, answer, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id, transaction_id) DO NOTHING`,
          values: [p.appId, p.transactionId, p.clientUuid, p.purchaseDate, JSON.stringify(answer), now],
        });
        if (inserted.rowCount !== 1) throw new LostInsertRace();
        return { kind: 'created', answer };
      });
    } catch (error) {
      if (!(error instanceof LostInsertRace)) throw error;
      const { rows } = await this.query<{ client_uuid: string; answer: string }>(
        'get_purchase',
        'SELECT client_uuid, answer FROM purchases WHERE app_id = $1 AND transaction_id = $2',
        [p.appId, p.transactionId],
      );
      if (!rows[0]) throw new Error('a concurrent purchase with this transactionId won the insert but is gone; report it again');
      result = repeatedPurchase(rows[0], p);
    }
    if (result.kind === 'created' && created.status === 'pending') this.notifier.notify();
    return result;
  }

  async listEvents(
    appId: number,
    options: { status?: EventStatus | undefined; limit: number; cursor?: string | undefined },
  ): Promise<Page<EventLogItem>> {
    const values: unknown[] = [appId];
    const where = ['app_id = $1'];
    if (options.status) where.push(`status = $${values.push(options.status)}`);
    if (options.cursor) where.push(`id < $${values.push(options.cursor)}`);
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${SELECT_EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${values.push(options.limit + 1)}`,
      values,
    );
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { data: page.map(toEventLogItem), nextCursor: more ? page.at(-1)!.id : null };
  }

  async getEvent(appId: number, eventId: string): Promise<EventDetail | null> {
    const { rows } = await this.query<EventRow>(
      'get_event',
      `SELECT ${SELECT_EVENT_COLUMNS} FROM events WHERE app_id = $1 AND id = $2`,
      [appId, eventId],
    );
    const row = rows[0];
    if (!row) return null;
    const attempts = await this.query<AttemptRow>(
      'attempts_of_event',
      `SELECT number, trigger, started_at, finished, success, status_code, error_kind, duration_ms, response_body
       FROM attempts WHERE event_id = $1 ORDER BY number, id`,
      [eventId],
    );
    return { ...toEventSummary(row), body: row.body, attempts: attempts.rows.map(toAttempt) };
  }

  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const { rowCount } = await this.query(
      'recover_failed',
      `UPDATE events
       SET status = 'pending', scheduled_attempts = 0, next_attempt_at = $3, lease_token = NULL, finished_at = NULL
       WHERE app_id = $1 AND status = 'failed' AND created_at >= $2`,
      [appId, since, now],
    );
    const recovered = rowCount ?? 0;
    if (recovered > 0) this.notifier.notify();
    return recovered;
  }

  async claimDue(o: ClaimOptions): Promise<ClaimedDelivery[]> {
    if (o.limit <= 0) return [];
    const { rows } = await this.query<ClaimedRow>('claim_due', CLAIM_DUE_SQL, [
      o.now,
      [...o.excludeAppIds],
      // Projects considered at most: each gives a row at least, unless other claimers hold its rows.
      Math.max(o.limit * 4, 64),
      o.perEndpointLimit,
      o.limit,
      o.leaseMs,
      o.maxAttempts,
      JSON.stringify(o.inFlight),
    ]);
    return rows.map((r) => ({
      eventId: r.id,
      appId: r.app_id,
      attemptId: r.attempt_id,
      attemptNumber: r.attempt_number,
      scheduledAttempts: r.scheduled_attempts,
      url: r.url,
      body: pendingBody(r),
      secretSealed: r.secret_sealed,
      previousSecretSealed: r.previous_secret_sealed,
      previousSecretExpiresAt: r.previous_secret_expires_at,
      createdAt: r.created_at,
      reclaimed: r.reclaimed,
    }));
  }

  async recordAttempts(finished: readonly FinishedAttempt[], now: number): Promise<void> {
    if (finished.length === 0) return;
    const chunks = chunksWithDistinctEvents(finished);
    const record = (db: Queryable, chunk: readonly FinishedAttempt[]) =>
      db.query({ name: 'record_attempts', text: RECORD_ATTEMPTS_SQL, values: [...attemptArrays(chunk), now] });
    // The usual case is one statement, atomic by itself: no BEGIN/COMMIT round trips.
    if (chunks.length === 1) {
      await retryingStatement(() => record(this.pool, chunks[0]!));
      return;
    }
    await inTransaction(this.pool, this.logger, async (client) => {
      for (const chunk of chunks) await record(client, chunk);
    });
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.query<{ next_due_at: number }>(
      'next_due',
      // endpoints.next_due_at is each enabled endpoint's earliest pending due time (migration 0002).
      'SELECT next_due_at FROM endpoints WHERE next_due_at IS NOT NULL ORDER BY next_due_at LIMIT 1',
    );
    return rows[0]?.next_due_at ?? null;
  }

  async openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null> {
    return inTransaction(this.pool, this.logger, async (client): Promise<ManualAttempt | 'in_flight' | null> => {
      // FOR UPDATE: attempt numbers stay consecutive when a claim or another redelivery races this one.
      const { rows } = await client.query<{
        attempt_count: number;
        body: string | null;
        status: string;
        lease_token: number | null;
        next_attempt_at: number | null;
        url: string | null;
        secret_sealed: string | null;
        previous_secret_sealed: string | null;
        previous_secret_expires_at: number | null;
      }>(
        `SELECT e.attempt_count, e.body, e.status, e.lease_token, e.next_attempt_at, p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at
         FROM events e LEFT JOIN endpoints p ON p.app_id = e.app_id
         WHERE e.app_id = $1 AND e.id = $2
         FOR UPDATE OF e`,
        [appId, eventId],
      );
      const e = rows[0];
      // No such event, no endpoint (left join), or a payload erased / past retention.
      if (!e || e.url === null || e.secret_sealed === null || e.body === null) return null;
      // A scheduled attempt holds the lease: no second, concurrent delivery of this webhook-id.
      if (e.status === 'pending' && e.lease_token !== null && (e.next_attempt_at ?? 0) > now) return 'in_flight';
      const number = e.attempt_count + 1;
      const opened = await client.query<{ id: number }>(
        `INSERT INTO attempts (event_id, app_id, number, trigger, started_at)
         VALUES ($1, $2, $3, 'manual', $4) RETURNING id`,
        [eventId, appId, number, now],
      );
      await client.query('UPDATE events SET attempt_count = attempt_count + 1 WHERE id = $1', [eventId]);
      return {
        attemptId: opened.rows[0]!.id,
        attemptNumber: number,
        url: e.url,
        body: e.body,
        secretSealed: e.secret_sealed,
        previousSecretSealed: e.previous_secret_sealed,
        previousSecretExpiresAt: e.previous_secret_expires_at,
      };
    });
  }

  async attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    const { rows } = await this.query<{ bucket: number; succeeded: number; failed: number }>(
      'attempt_stats',
      `SELECT (started_at / $3::bigint) * $3::bigint AS bucket,
              count(*) FILTER (WHERE success) AS succeeded,
              count(*) FILTER (WHERE NOT success) AS failed
       FROM attempts
       WHERE app_id = $1 AND started_at >= $2 AND finished
       GROUP BY bucket ORDER BY bucket`,
      [appId, since, bucketMs],
    );
    return rows.map((r) => ({ start: r.bucket, succeeded: r.succeeded, failed: r.failed }));
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.query(
      'append_audit',
      `INSERT INTO audit_log (app_id, at, actor, action, details, source_ip) VALUES ($1, $2, $3, $4, $5::json, $6)`,
      [entry.appId, entry.at, entry.actor, entry.action, JSON.stringify(entry.details), entry.sourceIp],
    );
  }

  async listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]> {
    const { rows } = await this.query<{
      id: number;
      app_id: number;
      at: number;
      actor: string;
      action: string;
      details: Record<string, unknown>;
      source_ip: string | null;
    }>(
      'list_audit',
      'SELECT id, app_id, at, actor, action, details, source_ip FROM audit_log WHERE app_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3',
      [appId, cursor ?? Number.MAX_SAFE_INTEGER, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      appId: r.app_id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      details: r.details,
      sourceIp: r.source_ip,
    }));
  }

  async eraseSubscriber(appId: number, subscriberId: string, now: number): Promise<{ registrations: number; events: number }> {
    return inTransaction(this.pool, this.logger, async (client) => {
      // Locks the person's registrations first: a purchase turning one into an event right now
      // (it holds it FOR SHARE) finishes before, and the statements below see its event.
      const users = (
        await client.query<{ client_uuid: string }>(
          'SELECT client_uuid FROM registrations WHERE app_id = $1 AND subscriber_id = $2 FOR UPDATE',
          [appId, subscriberId],
        )
      ).rows.map((r) => r.client_uuid);
      if (users.length === 0) return { registrations: 0, events: 0 };
      // Erasure cancels what is still owed: an event not delivered yet becomes `erased`, never sent.
      // A claim holding one of these rows right now (FOR UPDATE SKIP LOCKED) is waited for; an
      // attempt already in flight cannot settle it afterwards (its fenced update wants `pending`).
      const erased = await client.query<{ id: string }>(
        `UPDATE events
         SET body = NULL,
             status = CASE WHEN status = 'delivered' THEN status ELSE 'erased' END,
             next_attempt_at = CASE WHEN status = 'delivered' THEN next_attempt_at END,
             lease_token = CASE WHEN status = 'delivered' THEN lease_token END,
             finished_at = CASE WHEN status = 'delivered' THEN finished_at ELSE $3::bigint END
         WHERE app_id = $1 AND client_uuid = ANY ($2::text[])
         RETURNING id`,
        [appId, users, now],
      );
      await client.query('UPDATE attempts SET response_body = NULL WHERE event_id = ANY ($1::text[])', [
        erased.rows.map((r) => r.id),
      ]);
      await client.query('DELETE FROM registrations WHERE app_id = $1 AND client_uuid = ANY ($2::text[])', [appId, users]);
      return { registrations: users.length, events: erased.rowCount ?? 0 };
    });
  }

  async sweepRetention(o: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }> {
    return inTransaction(this.pool, this.logger, async (client) => {
      const payloads = await client.query<{ n: number }>(
        `WITH expired AS (
           SELECT id, app_id, client_uuid FROM events
           WHERE body IS NOT NULL AND finished_at < $1
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         ),
         dropped AS (UPDATE events e SET body = NULL FROM expired x WHERE e.id = x.id),
         attempt_bodies AS (UPDATE attempts a SET response_body = NULL FROM expired x WHERE a.event_id = x.id),
         anonymised AS (
           UPDATE registrations r SET body = NULL, subscriber_id = NULL
           FROM expired x WHERE r.app_id = x.app_id AND r.client_uuid = x.client_uuid
         )
         SELECT count(*) AS n FROM expired`,
        [o.finishedBefore, o.limit],
      );
      await client.query(
        `UPDATE attempts SET response_body = NULL
         WHERE trigger = 'test' AND started_at < $1 AND response_body IS NOT NULL`,
        [o.finishedBefore],
      );
      // Store users who never bought within the awaiting retention are forgotten. SKIP LOCKED
      // passes over a registration a purchase is turning into an event right now.
      const awaiting = await client.query(
        `DELETE FROM registrations WHERE (app_id, client_uuid) IN (
           SELECT r.app_id, r.client_uuid FROM registrations r
           WHERE r.store_register AND r.created_at < $1
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.app_id = r.app_id AND e.client_uuid = r.client_uuid)
           LIMIT $2
           FOR UPDATE SKIP LOCKED)`,
        [o.awaitingBefore, o.limit],
      );
      return { payloads: payloads.rows[0]!.n, awaiting: awaiting.rowCount ?? 0 };
    });
  }

  async queueStats(now: number): Promise<QueueStats> {
    const { rows } = await this.query<{ due: number; oldest: number | null; pending: number }>(
      'queue_stats',
      `SELECT count(*) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS due,
              min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1 AND lease_token IS NULL) AS oldest,
              count(*) AS pending
       FROM events WHERE status = 'pending'`,
      [now],
    );
    const r = rows[0]!;
    return { due: r.due, scheduled: Math.max(0, r.pending - r.due), oldestDueAt: r.oldest };
  }

  async recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void> {
    await this.query(
      'insert_test_attempt',
      `INSERT INTO attempts (event_id, app_id, number, trigger, started_at, finished, success, status_code,
                             error_kind, duration_ms, response_body)
       VALUES ($1, $2, 1, 'test', $3, true, $4, $5, $6, $7, $8)`,
      [webhookId, appId, startedAt, outcome.success, outcome.statusCode, outcome.errorKind, Math.round(outcome.durationMs), outcome.responseBody],
    );
  }
}

/** A pending event's body: the CHECK events_pending_has_body guarantees one (migration 0002). */
function pendingBody(r: { id: string; body: string | null }): string {
  if (r.body === null) throw new Error(`event ${r.id} is pending without a body, which the schema forbids`);
  return r.body;
}

/** The answer to a report that lost its insert race to an identical one: as a repeat of the winner's. */
function repeatedRegistration(existing: { body: string | null; answer: string }, reg: NormalizedRegistration): RegistrationResult {
  const decision = decideRegistration(
    { projectExists: true, endpointEnabled: false, registration: { body: existing.body, answer: JSON.parse(existing.answer) as RegistrationAnswer }, purchased: false },
    reg,
  );
  if (decision.kind === 'record') throw new Error('a recorded registration is never recorded again');
  return decision;
}

function repeatedPurchase(existing: { client_uuid: string; answer: string }, p: PurchaseReport): PurchaseResult {
  const decision = decidePurchaseReport(
    { projectExists: true, endpointEnabled: false, purchase: { clientUuid: existing.client_uuid, answer: JSON.parse(existing.answer) as PurchaseAnswer }, registration: null, eventExists: false },
    p.clientUuid,
  );
  if (decision.kind === 'record') throw new Error('a recorded purchase is never recorded again');
  return decision;
}

/** Splits a batch, keeping its order, so that no chunk names one event twice. */
function chunksWithDistinctEvents(finished: readonly FinishedAttempt[]): FinishedAttempt[][] {
  const chunks: FinishedAttempt[][] = [];
  let chunk: FinishedAttempt[] = [];
  let events = new Set<string>();
  for (const f of finished) {
    if (events.has(f.eventId)) {
      chunks.push(chunk);
      chunk = [];
      events = new Set();
    }
    chunk.push(f);
    events.add(f.eventId);
  }
  chunks.push(chunk);
  return chunks;
}

/** The parallel arrays RECORD_ATTEMPTS_SQL unnests, in its parameter order. */
function attemptArrays(chunk: readonly FinishedAttempt[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
  for (const f of chunk) {
    const o = f.outcome;
    const values = [
      f.attemptId,
      f.eventId,
      o.success,
      o.statusCode,
      o.errorKind,
      Math.round(o.durationMs),
      o.responseBody,
      f.next?.status ?? null,
      f.next?.status === 'pending' ? f.next.nextAttemptAt : null,
    ];
    values.forEach((value, i) => columns[i]!.push(value));
  }
  return columns;
}
