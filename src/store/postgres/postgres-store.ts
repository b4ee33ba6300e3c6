/**
 * The PostgreSQL Store (node-postgres pool). Same semantics as the SQLite store, method for method,
 * but built for many processes on many machines sharing one database:
 *
 * - Ingest decisions run in one transaction per report, under a transaction-scoped advisory lock
 *   on the user `(appId, clientUuid)`, so a registration and a first purchase racing in two
 *   processes cannot both miss each other. "Exactly one event per user" itself is the unique
 *   constraint (`INSERT … ON CONFLICT DO NOTHING`), not the lock (ingest.ts).
 * - Deliveries are claimed with one `FOR UPDATE SKIP LOCKED` statement per batch (claim-due.ts) and
 *   settled fenced by the lease token (record-attempts.ts).
 * - Other processes are woken with LISTEN/NOTIFY (work-notifier.ts).
 * - Time is the caller's `now`, as on SQLite (tests drive it); fencing, not clock agreement, keeps
 *   leases correct across machines (see claim-due.ts). `open()` warns when this machine's clock
 *   and the database's disagree by more than 2 s.
 *
 * This class connects, migrates, answers readiness and announces work once its write has
 * committed; each aggregate's statements live in a module of their own.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { createLogger } from '../../logger.js';
import type { HealthState } from '../../domain/endpoint-health.js';
import type { ApiKeyRecord, AttemptBucket, ChartBucket, AttemptOutcome, AuditEntry, ClaimedDelivery, ClaimedOperatorEvent, ClaimOptions, OperatorAttemptResult, OperatorEvent, Endpoint, EndpointChanges, EventDetail, EventFilter, EventLogItem,
  FailingCursor, FinishedAttempt, ManualAttempt, Page, PortalLink, Project, ProjectOverview, PurchaseReport, PurchaseResult, QueueStats, RecordedAttempts,
  RegistrationResult, ReplayFilter, Store, StreamedEvent, SubscriberRef, UnhashedEvent, UnhashedRegistration, WindowCounts, IndexedRegistration } from '../store.js';
import { REPLAY_BATCH } from '../store.js';
import { createdAnEvent, type Recorded } from '../work-signal.js';
import { Attempts } from './attempts.js';
import { OperatorEvents } from './operator-events.js';
import { Claims } from './claim-due.js';
import { createPool, parsePostgresUrl, type PostgresTarget } from './connection.js';
import { Endpoints } from './endpoints.js';
import { Events } from './events.js';
import { Health } from './health.js';
import { Ingest } from './ingest.js';
import { KeysAndAudit } from './keys-and-audit.js';
import { allApplied, applyMigrations, schemaDump } from './migrate.js';
import { PortalLinks } from './portal-links.js';
import { Projects } from './projects.js';
import { Retention } from './retention.js';
import { Stats } from './stats.js';
import { WorkNotifier } from './work-notifier.js';

export interface PostgresStoreOptions {
  /** Where pool and connection errors are reported (they are survived, not thrown). */
  logger?: Logger;
  /** Connections in the pool; default: the URL's `pool_size`, else 10. */
  poolSize?: number;
}

/** Clock skew between this process and the database worth a warning (leases assume agreement). */
const CLOCK_SKEW_WARNING_MS = 2_000;

// The database's clock, read as late as possible (clock_timestamp, not the transaction's now()).
const DATABASE_CLOCK = `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`;

// A real write: an unreachable, read-only or full database fails it.
const READINESS_PROBE = {
  name: 'readiness_probe',
  text: `
INSERT INTO settings (key, value) VALUES ('readiness_probe', $1)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
};

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly target: PostgresTarget;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private readonly notifier: WorkNotifier;
  private closing: Promise<void> | null = null;
  private readonly projects: Projects;
  private readonly keys: KeysAndAudit;
  private readonly portalLinks: PortalLinks;
  private readonly endpoints: Endpoints;
  private readonly ingest: Ingest;
  private readonly events: Events;
  private readonly claims: Claims;
  private readonly attempts: Attempts;
  private readonly retention: Retention;
  private readonly stats: Stats;
  private readonly health: Health;
  private readonly operatorEvents: OperatorEvents;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.target = parsePostgresUrl(url);
    this.logger = options.logger ?? createLogger('warn');
    this.pool = createPool(this.target, this.logger, options.poolSize ?? this.target.poolSize);
    this.notifier = new WorkNotifier(this.target, this.pool, this.logger);
    this.projects = new Projects(this.pool);
    this.keys = new KeysAndAudit(this.pool);
    this.portalLinks = new PortalLinks(this.pool);
    this.endpoints = new Endpoints(this.pool, this.logger);
    this.ingest = new Ingest(this.pool, this.logger);
    this.events = new Events(this.pool);
    this.claims = new Claims(this.pool);
    this.attempts = new Attempts(this.pool, this.logger);
    this.operatorEvents = new OperatorEvents(this.pool);
    this.retention = new Retention(this.pool, this.logger);
    this.stats = new Stats(this.pool, this.logger);
    this.health = new Health(this.pool);
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
    const { rows } = await this.pool.query<{ now: number }>(DATABASE_CLOCK);
    const local = (before + Date.now()) / 2;
    const skew = Math.round(local - rows[0]!.now);
    if (Math.abs(skew) > CLOCK_SKEW_WARNING_MS) {
      this.logger.warn({ skewMs: skew }, 'this machine\'s clock differs from the database\'s; leases assume clocks agree within the lease margin');
    }
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
      if (!(await allApplied(this.pool))) return false;
      await this.pool.query({ ...READINESS_PROBE, values: [String(Date.now())] });
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

  /**
   * Calls `listener` whenever any process reports events it created (LISTEN reghook_events), with
   * their projects, or null after the LISTEN connection was restored (one may have been missed).
   */
  onEventsCreated(listener: (appIds: readonly number[] | null) => void): () => void {
    return this.notifier.subscribeEvents(listener);
  }

  /**
   * A report's result, once committed; tells every process when it may have made work due, and
   * (for the development streams) when it created an event, whatever its status.
   */
  private async announcing<R extends RegistrationResult | PurchaseResult>(appId: number, recording: Promise<Recorded<R>>): Promise<R> {
    const { result, announce } = await recording;
    if (announce) this.notifier.notify();
    if (createdAnEvent(result)) this.notifier.notifyEvents(appId);
    return result;
  }

  // Settings and projects (projects.ts).
  getSetting(key: string): Promise<string | null> {
    return this.projects.getSetting(key);
  }
  putSetting(key: string, value: string): Promise<void> {
    return this.projects.putSetting(key, value);
  }

  resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    return this.endpoints.resealSecrets(reseal);
  }

  putSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.projects.putSettingIfAbsent(key, value);
  }
  createProject(project: Project): Promise<'created' | 'exists'> {
    return this.projects.createProject(project);
  }
  getProject(appId: number): Promise<Project | null> {
    return this.projects.getProject(appId);
  }
  listProjects(limit: number, cursor: number | null): Promise<Project[]> {
    return this.projects.listProjects(limit, cursor);
  }

  // API keys and the audit log (keys-and-audit.ts).
  addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    return this.keys.addApiKey(key);
  }
  listApiKeys(appId: number): Promise<ApiKeyRecord[]> {
    return this.keys.listApiKeys(appId);
  }
  findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
    return this.keys.findApiKeyByHash(hash);
  }
  revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean> {
    return this.keys.revokeApiKey(appId, keyId, now);
  }
  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    return this.keys.appendAudit(entry);
  }
  listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]> {
    return this.keys.listAudit(appId, limit, cursor);
  }

  // Portal session links (portal-links.ts).
  addPortalLink(link: PortalLink & { hash: string }): Promise<void> {
    return this.portalLinks.addPortalLink(link);
  }
  consumePortalLink(hash: string, now: number): Promise<PortalLink | null> {
    return this.portalLinks.consumePortalLink(hash, now);
  }
  deleteExpiredPortalLinks(before: number, limit: number): Promise<number> {
    return this.portalLinks.deleteExpiredPortalLinks(before, limit);
  }

  // The endpoint and its secrets (endpoints.ts).
  getEndpoint(appId: number): Promise<Endpoint | null> {
    return this.endpoints.getEndpoint(appId);
  }
  async putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
    changes?: EndpointChanges,
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const result = await this.endpoints.putEndpoint(appId, url, enabled, secretSealedIfNew, now, changes);
    // Deliveries that waited for this endpoint are due now.
    if (result.endpoint.enabled) this.notifier.notify();
    return result;
  }
  rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null> {
    return this.endpoints.rotateSecret(appId, newSecretSealed, previousExpiresAt, now);
  }

  // Ingest (ingest.ts).
  recordRegistration(reg: IndexedRegistration, newEventId: string, now: number): Promise<RegistrationResult> {
    return this.announcing(reg.appId, this.ingest.recordRegistration(reg, newEventId, now));
  }
  recordPurchase(p: PurchaseReport, newEventId: string, now: number): Promise<PurchaseResult> {
    return this.announcing(p.appId, this.ingest.recordPurchase(p, newEventId, now));
  }

  // The delivery log (events.ts).
  listEvents(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }): Promise<Page<EventLogItem>> {
    return this.events.listEvents(appId, options);
  }
  getEvent(appId: number, eventId: string): Promise<EventDetail | null> {
    return this.events.getEvent(appId, eventId);
  }
  async replayEvents(appId: number, filter: ReplayFilter, now: number, dryRun: boolean): Promise<number> {
    if (dryRun) return this.events.replayBatch(appId, filter, now, true);
    let total = 0;
    for (;;) {
      const batch = await this.events.replayBatch(appId, filter, now, false);
      total += batch;
      if (batch > 0) this.notifier.notify();
      if (batch < REPLAY_BATCH) return total;
    }
  }

  listEventsAfter(appId: number, afterId: string, limit: number): Promise<StreamedEvent[]> {
    return this.events.listEventsAfter(appId, afterId, limit);
  }
  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const recovered = await this.events.recoverFailed(appId, since, now);
    if (recovered > 0) this.notifier.notify();
    return recovered;
  }

  // The dispatcher's claim (claim-due.ts) and attempts (attempts.ts).
  claimDue(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.claims.claimDue(options);
  }
  nextDueAt(): Promise<number | null> {
    return this.claims.nextDueAt();
  }
  recordAttempts(finished: readonly FinishedAttempt[], now: number, failingAfter?: number, operatorEvents?: boolean): Promise<RecordedAttempts> {
    return this.attempts.recordAttempts(finished, now, failingAfter, operatorEvents);
  }

  // Operator notifications (operator-events.ts; attempts.ts stores them).
  claimOperatorEvents(options: { now: number; limit: number; leaseMs: number; maxAttempts: number }): Promise<ClaimedOperatorEvent[]> {
    return this.operatorEvents.claimDue(options);
  }
  recordOperatorAttempts(results: readonly OperatorAttemptResult[], now: number): Promise<void> {
    return this.operatorEvents.recordAttempts(results, now);
  }
  listOperatorEvents(limit: number, cursor: string | null): Promise<Page<OperatorEvent>> {
    return this.operatorEvents.page(limit, cursor);
  }
  openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null> {
    return this.attempts.openManualAttempt(appId, eventId, now);
  }
  recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void> {
    return this.attempts.recordTestAttempt(appId, webhookId, startedAt, outcome);
  }

  // Erasure and retention (retention.ts).
  eraseSubscriber(appId: number, subscriber: SubscriberRef, now: number): Promise<{ registrations: number; events: number }> {
    return this.retention.eraseSubscriber(appId, subscriber, now);
  }
  sweepRetention(options: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }> {
    return this.retention.sweepRetention(options);
  }
  listUnhashedEvents(limit: number, afterId?: string): Promise<UnhashedEvent[]> {
    return this.retention.listUnhashedEvents(limit, afterId);
  }
  setSubscriberHashes(hashes: readonly { eventId: string; subscriberHash: string }[]): Promise<number> {
    return this.retention.setSubscriberHashes(hashes);
  }
  listUnhashedRegistrations(limit: number): Promise<UnhashedRegistration[]> {
    return this.retention.listUnhashedRegistrations(limit);
  }
  setRegistrationSubscriberHashes(hashes: readonly (UnhashedRegistration & { subscriberHash: string })[]): Promise<number> {
    return this.retention.setRegistrationSubscriberHashes(hashes);
  }

  // Figures (stats.ts).
  queueStats(now: number): Promise<QueueStats> {
    return this.stats.queueStats(now);
  }
  attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    return this.stats.attemptStats(appId, since, bucketMs);
  }
  windowCounts(appId: number, since: number, now: number): Promise<WindowCounts> {
    return this.stats.windowCounts(appId, since, now);
  }
  chartBuckets(appId: number, since: number, bucketMs: number, count: number): Promise<ChartBucket[]> {
    return this.stats.chartBuckets(appId, since, bucketMs, count);
  }

  // Endpoint health as the project list reads it (health.ts; attempts.ts keeps it).
  listProjectOverviews(limit: number, cursor: number | null): Promise<ProjectOverview[]> {
    return this.health.listProjectOverviews(limit, cursor);
  }
  listFailingProjects(limit: number, cursor: FailingCursor | null): Promise<ProjectOverview[]> {
    return this.health.listFailingProjects(limit, cursor);
  }
  getEndpointHealth(appId: number): Promise<{ enabled: boolean; health: HealthState } | null> {
    return this.health.getEndpointHealth(appId);
  }
}
