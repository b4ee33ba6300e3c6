/**
 * The embedded SQLite Store (better-sqlite3, WAL). One process owns the writes; transactions are
 * BEGIN IMMEDIATE so that several processes on one file still serialise their ingest decisions.
 *
 * This class opens the file, sets the pragmas, migrates, batches ingest writes (group commit),
 * answers readiness, and announces work once its write has committed; each aggregate's statements
 * live in a module of their own, prepared once here, at open.
 */
import Database from 'better-sqlite3';
import type { HealthState } from '../../domain/endpoint-health.js';
import type { ApiKeyRecord, AttemptBucket, ChartBucket, AttemptOutcome, AuditEntry, ClaimedDelivery, ClaimedOperatorEvent, OperatorAttemptResult, OperatorEvent, ClaimOptions, Endpoint, EndpointChanges, EventDetail, EventFilter, EventLogItem,
  FailingCursor, FinishedAttempt, ManualAttempt, Page, PortalLink, Project, ProjectOverview, PurchaseReport, PurchaseResult, QueueStats, RecordedAttempts,
  RegistrationResult, ReplayFilter, Store, StreamedEvent, SubscriberRef, UnhashedEvent, UnhashedRegistration, WindowCounts, IndexedRegistration } from '../store.js';
import { REPLAY_BATCH } from '../store.js';
import { createdAnEvent, EventsSignal, WorkSignal, type Recorded } from '../work-signal.js';
import { Attempts } from './attempts.js';
import { Claims } from './claim-due.js';
import { Endpoints } from './endpoints.js';
import { Events } from './events.js';
import { Health } from './health.js';
import { Ingest } from './ingest.js';
import { KeysAndAudit } from './keys-and-audit.js';
import { allApplied, applyMigrations, schemaDump } from './migrate.js';
import { createPrivately } from './private-file.js';
import { PortalLinks } from './portal-links.js';
import { OperatorEvents } from './operator-events.js';
import { Projects } from './projects.js';
import { Retention } from './retention.js';
import { Stats } from './stats.js';

/** Pages the readiness probe must be able to allocate (more than one report ever needs). */
const READINESS_PROBE_PAGES = 8;

// A write that matches no row: it still needs write access (SQLITE_READONLY otherwise).
const WRITE_CHECK = `DELETE FROM settings WHERE key = 'reghook.write_check'`;
const READINESS_PROBE_WRITE = `INSERT OR REPLACE INTO settings (key, value) VALUES ('readiness_probe', ?)`;
const READINESS_PROBE_DELETE = `DELETE FROM settings WHERE key = 'readiness_probe'`;

interface Aggregates {
  projects: Projects;
  keys: KeysAndAudit;
  portalLinks: PortalLinks;
  endpoints: Endpoints;
  ingest: Ingest;
  events: Events;
  attempts: Attempts;
  claims: Claims;
  retention: Retention;
  stats: Stats;
  health: Health;
  operatorEvents: OperatorEvents;
}

/** Every aggregate's statements, prepared once for this connection. */
function prepareAggregates(db: Database.Database): Aggregates {
  const projects = new Projects(db);
  const endpoints = new Endpoints(db);
  const events = new Events(db);
  const operatorEvents = new OperatorEvents(db);
  const attempts = new Attempts(db, events, endpoints, operatorEvents);
  return {
    projects,
    keys: new KeysAndAudit(db),
    portalLinks: new PortalLinks(db),
    endpoints,
    ingest: new Ingest(db, projects, endpoints),
    events,
    attempts,
    claims: new Claims(db, attempts),
    retention: new Retention(db),
    stats: new Stats(db),
    health: new Health(db),
    operatorEvents,
  };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly parts: Aggregates;
  private readonly work = new WorkSignal();
  private readonly eventsCreated = new EventsSignal();
  private readonly pendingWrites: { work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  private readinessProbe: Database.Transaction<() => void> | undefined;

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
      applyMigrations(this.db);
      // A read-only file (or folder) opens and reads fine; fail here, at start, not at the first report.
      this.db.prepare(WRITE_CHECK).run();
      this.parts = prepareAggregates(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  async migrate(): Promise<void> {
    applyMigrations(this.db);
  }

  onWorkAvailable(listener: () => void): () => void {
    return this.work.subscribe(listener);
  }

  onEventsCreated(listener: (appIds: readonly number[] | null) => void): () => void {
    return this.eventsCreated.subscribe(listener);
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
      if (!allApplied(this.db)) return false;
      this.readinessProbe ??= this.db.transaction(() => {
        const pageSize = this.db.pragma('page_size', { simple: true }) as number;
        this.db.prepare(READINESS_PROBE_WRITE).run('x'.repeat(pageSize * READINESS_PROBE_PAGES));
        this.db.prepare(READINESS_PROBE_DELETE).run();
      });
      this.readinessProbe.immediate();
      return true;
    } catch {
      // Any failure means "not ready"; the API's error handler classifies and logs request failures.
      return false;
    }
  }

  /** The schema as SQLite reports it (tables, indexes, triggers), for the committed dump. */
  schemaDump(): string {
    return schemaDump(this.db);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * Group commit: the writes of one event-loop turn (the reports that arrived, the dispatcher's
   * finished attempts and its claim) run one after another, each in its own savepoint, inside ONE
   * write transaction, so a burst pays one commit (one fsync, synchronous=FULL) instead of one
   * each. Decisions stay strictly sequential, so the trigger rules see each other's writes.
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

  /**
   * One report through the group commit; resolved after the group's commit, announcing its new
   * delivery when it is due now, and its new event (whatever its status) to the development streams.
   */
  private async ingest<R extends RegistrationResult | PurchaseResult>(appId: number, record: () => Recorded<R>): Promise<R> {
    const { result, announce } = await this.groupCommit(record);
    if (announce) this.work.announce();
    if (createdAnEvent(result)) this.eventsCreated.announce([appId]);
    return result;
  }

  // Settings and projects (projects.ts).
  async getSetting(key: string): Promise<string | null> {
    return this.parts.projects.getSetting(key);
  }
  async putSetting(key: string, value: string): Promise<void> {
    return this.parts.projects.putSetting(key, value);
  }

  async resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    return this.parts.endpoints.resealSecrets(reseal);
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.parts.projects.putSettingIfAbsent(key, value);
  }
  async createProject(project: Project): Promise<'created' | 'exists'> {
    return this.parts.projects.createProject(project);
  }
  async getProject(appId: number): Promise<Project | null> {
    return this.parts.projects.getProject(appId);
  }
  async listProjects(limit: number, cursor: number | null): Promise<Project[]> {
    return this.parts.projects.listProjects(limit, cursor);
  }

  // API keys and the audit log (keys-and-audit.ts).
  async addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    this.parts.keys.addApiKey(key);
  }
  async listApiKeys(appId: number): Promise<ApiKeyRecord[]> {
    return this.parts.keys.listApiKeys(appId);
  }
  async findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null> {
    return this.parts.keys.findApiKeyByHash(hash);
  }
  async revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean> {
    return this.parts.keys.revokeApiKey(appId, keyId, now);
  }
  async appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    this.parts.keys.appendAudit(entry);
  }
  async listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]> {
    return this.parts.keys.listAudit(appId, limit, cursor);
  }

  // Portal session links (portal-links.ts).
  async addPortalLink(link: PortalLink & { hash: string }): Promise<void> {
    this.parts.portalLinks.addPortalLink(link);
  }
  async consumePortalLink(hash: string, now: number): Promise<PortalLink | null> {
    return this.parts.portalLinks.consumePortalLink(hash, now);
  }
  async deleteExpiredPortalLinks(before: number, limit: number): Promise<number> {
    return this.parts.portalLinks.deleteExpiredPortalLinks(before, limit);
  }

  // The endpoint and its secrets (endpoints.ts).
  async getEndpoint(appId: number): Promise<Endpoint | null> {
    return this.parts.endpoints.getEndpoint(appId);
  }
  async putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
    changes?: EndpointChanges,
  ): Promise<{ endpoint: Endpoint; created: boolean }> {
    const result = this.parts.endpoints.putEndpoint(appId, url, enabled, secretSealedIfNew, now, changes);
    // Deliveries that waited for an enabled endpoint are due now.
    if (result.endpoint.enabled) this.work.announce();
    return result;
  }
  async rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null> {
    return this.parts.endpoints.rotateSecret(appId, newSecretSealed, previousExpiresAt, now);
  }

  // Ingest (ingest.ts), through the group commit.
  recordRegistration(reg: IndexedRegistration, newEventId: string, now: number): Promise<RegistrationResult> {
    return this.ingest(reg.appId, () => this.parts.ingest.recordRegistration(reg, newEventId, now));
  }
  recordPurchase(p: PurchaseReport, newEventId: string, now: number): Promise<PurchaseResult> {
    return this.ingest(p.appId, () => this.parts.ingest.recordPurchase(p, newEventId, now));
  }

  // The delivery log (events.ts).
  async listEvents(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }): Promise<Page<EventLogItem>> {
    return this.parts.events.listEvents(appId, options);
  }
  async getEvent(appId: number, eventId: string): Promise<EventDetail | null> {
    return this.parts.events.getEvent(appId, eventId);
  }
  async replayEvents(appId: number, filter: ReplayFilter, now: number, dryRun: boolean): Promise<number> {
    if (dryRun) return this.parts.events.replayBatch(appId, filter, now, true);
    let total = 0;
    for (;;) {
      const batch = this.parts.events.replayBatch(appId, filter, now, false);
      total += batch;
      if (batch > 0) this.work.announce();
      if (batch < REPLAY_BATCH) return total;
      // Between batches, the event loop serves reports and claims.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async listEventsAfter(appId: number, afterId: string, limit: number): Promise<StreamedEvent[]> {
    return this.parts.events.listEventsAfter(appId, afterId, limit);
  }
  async recoverFailed(appId: number, since: number, now: number): Promise<number> {
    const recovered = this.parts.events.recoverFailed(appId, since, now);
    if (recovered > 0) this.work.announce();
    return recovered;
  }

  // The dispatcher's claim (claim-due.ts) and attempts (attempts.ts), through the group commit: a
  // turn's reports, finished attempts and claim share one transaction, so one fsync.
  claimDue(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.groupCommit(() => this.parts.claims.claimDue(options));
  }
  async nextDueAt(): Promise<number | null> {
    return this.parts.claims.nextDueAt();
  }
  recordAttempts(finished: readonly FinishedAttempt[], now: number, failingAfter?: number, operatorEvents?: boolean): Promise<RecordedAttempts> {
    return this.groupCommit(() => this.parts.attempts.recordAttempts(finished, now, failingAfter, operatorEvents));
  }

  async claimOperatorEvents(options: { now: number; limit: number; leaseMs: number; maxAttempts: number }): Promise<ClaimedOperatorEvent[]> {
    return this.parts.operatorEvents.claimDue(options);
  }

  async recordOperatorAttempts(results: readonly OperatorAttemptResult[], now: number): Promise<void> {
    this.parts.operatorEvents.recordAttempts(results, now);
  }

  async listOperatorEvents(limit: number, cursor: string | null): Promise<Page<OperatorEvent>> {
    return this.parts.operatorEvents.page(limit, cursor);
  }
  async openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null> {
    return this.parts.attempts.openManualAttempt(appId, eventId, now);
  }
  async recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void> {
    this.parts.attempts.recordTestAttempt(appId, webhookId, startedAt, outcome);
  }

  // Erasure and retention (retention.ts).
  async eraseSubscriber(appId: number, subscriber: SubscriberRef, now: number): Promise<{ registrations: number; events: number }> {
    return this.parts.retention.eraseSubscriber(appId, subscriber, now);
  }
  async sweepRetention(options: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }> {
    return this.parts.retention.sweepRetention(options);
  }
  async listUnhashedEvents(limit: number, afterId?: string): Promise<UnhashedEvent[]> {
    return this.parts.retention.listUnhashedEvents(limit, afterId);
  }
  async setSubscriberHashes(hashes: readonly { eventId: string; subscriberHash: string }[]): Promise<number> {
    return this.parts.retention.setSubscriberHashes(hashes);
  }
  async listUnhashedRegistrations(limit: number): Promise<UnhashedRegistration[]> {
    return this.parts.retention.listUnhashedRegistrations(limit);
  }
  async setRegistrationSubscriberHashes(hashes: readonly (UnhashedRegistration & { subscriberHash: string })[]): Promise<number> {
    return this.parts.retention.setRegistrationSubscriberHashes(hashes);
  }

  // Figures (stats.ts).
  async queueStats(now: number): Promise<QueueStats> {
    return this.parts.stats.queueStats(now);
  }
  async attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]> {
    return this.parts.stats.attemptStats(appId, since, bucketMs);
  }
  async windowCounts(appId: number, since: number, now: number): Promise<WindowCounts> {
    return this.parts.stats.windowCounts(appId, since, now);
  }
  async chartBuckets(appId: number, since: number, bucketMs: number, count: number): Promise<ChartBucket[]> {
    return this.parts.stats.chartBuckets(appId, since, bucketMs, count);
  }

  // Endpoint health as the project list reads it (health.ts; attempts.ts keeps it).
  async listProjectOverviews(limit: number, cursor: number | null): Promise<ProjectOverview[]> {
    return this.parts.health.listProjectOverviews(limit, cursor);
  }
  async listFailingProjects(limit: number, cursor: FailingCursor | null): Promise<ProjectOverview[]> {
    return this.parts.health.listFailingProjects(limit, cursor);
  }
  async getEndpointHealth(appId: number): Promise<{ enabled: boolean; health: HealthState } | null> {
    return this.parts.health.getEndpointHealth(appId);
  }
}
