/**
 * The Store: everything reghook keeps, behind one interface. The API and the dispatcher depend on
 * this file only; `sqlite/` and `postgres/` implement it. Times are epoch milliseconds.
 */
import type { AttemptErrorKind } from '../domain/attempt-error.js';
import type { HealthState, HealthTransition } from '../domain/endpoint-health.js';
import type { OperatorEventStatus, OperatorEventType } from '../domain/operator-events.js';
import type { EventStatus } from '../domain/retry-policy.js';
import type { NormalizedRegistration } from '../domain/registration.js';
import type { PurchaseAnswer, RegistrationAnswer } from '../domain/triggers.js';

export interface Project {
  appId: number;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  appId: number;
  /** First characters of the key, so owners can tell keys apart. */
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * A portal session link (SPEC section 5): signs a browser into one project's dashboard once,
 * before `expiresAt`. The store keeps only the SHA-256 of its token.
 */
export interface PortalLink {
  /** Public id (`ps_…`): the audit log names it, never the token. */
  id: string;
  appId: number;
  /** A read-only session sees everything and changes nothing. */
  readOnly: boolean;
  createdAt: number;
  expiresAt: number;
  /** When the link was used; null while it is unused. */
  usedAt: number | null;
}

export interface Endpoint {
  appId: number;
  url: string;
  enabled: boolean;
  /** Sealed (encrypted) current signing secret. */
  secretSealed: string;
  /** Sealed previous secret, co-signing until previousSecretExpiresAt. */
  previousSecretSealed: string | null;
  previousSecretExpiresAt: number | null;
  /** Sealed JSON object of the custom request headers, or null when there are none. */
  headersSealed: string | null;
  /** At most this many deliveries per second to it, or null for no cap. */
  rateLimitPerSecond: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a change of the endpoint may also set: each left undefined keeps what is stored; null clears it. */
export interface EndpointChanges {
  headersSealed?: string | null;
  rateLimitPerSecond?: number | null;
}

export type AttemptTrigger = 'scheduled' | 'manual' | 'test';

/** How an attempt ended; `null` statusCode with an errorKind for failures without a response. */
export interface AttemptOutcome {
  statusCode: number | null;
  errorKind: AttemptErrorKind | null;
  durationMs: number;
  /** The first 1 KiB of the response body. */
  responseBody: string | null;
  success: boolean;
}

export interface AttemptRecord {
  number: number;
  trigger: AttemptTrigger;
  startedAt: number;
  /** null while in flight, or when the process died during the attempt. */
  outcome: AttemptOutcome | null;
}

/** The finished statuses a replay may take back (never `erased`, whose payload is gone). */
export type ReplayableStatus = 'failed' | 'skipped' | 'delivered';

export interface ReplayFilter {
  statuses: readonly ReplayableStatus[];
  since: number;
  until?: number | undefined;
}

/** Events a replay reschedules per transaction. */
export const REPLAY_BATCH = 1_000;

export interface EventSummary {
  eventId: string;
  appId: number;
  clientUuid: string;
  status: EventStatus;
  attemptCount: number;
  createdAt: number;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
}

/** One row of the delivery log: what the log shows, in one query (no per-row reads). */
export interface EventLogItem extends EventSummary {
  /** The subscriber fields of the payload; null once the payload is erased or past retention. */
  subscriber: { id: string | null; name: string | null } | null;
  /** Its newest attempt (any trigger), without the response body; null before the first. */
  lastAttempt: AttemptRecord | null;
}

/**
 * What the delivery log may be narrowed to, all optional and combined with AND. Times are the
 * events' creation times, `until` inclusive; an event's id carries its creation time (newEventId).
 */
export interface EventFilter {
  status?: EventStatus | undefined;
  eventId?: string | undefined;
  clientUuid?: string | undefined;
  /** The events of one subscriberId: its keyed hash (src/secrets/subscriber-index.ts), never the id itself. */
  subscriberHash?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

/**
 * A registration as recorded: with the keyed hash of its subscriberId, which its event (now, or at
 * a store user's first purchase) is found by. The store never computes it (it never sees the key).
 */
export type IndexedRegistration = NormalizedRegistration & { subscriberHash?: string | null | undefined };

/**
 * One person, as erasure looks them up: by the keyed hash of their subscriberId, and by the id
 * itself only among registrations not backfilled with a hash yet (migration 0009).
 */
export interface SubscriberRef {
  id: string;
  hash: string;
}

/** A registration still holding its subscriberId but no hash (written before migration 0007). */
export interface UnhashedRegistration {
  appId: number;
  clientUuid: string;
  subscriberId: string;
}

/** An event still holding its payload but no subscriber hash (created before migration 0007). */
export interface UnhashedEvent {
  eventId: string;
  appId: number;
  body: string;
}

/** An event as the development stream sends it: its id and the exact body every attempt sends. */
export interface StreamedEvent {
  eventId: string;
  body: string;
}

export interface EventDetail extends EventSummary {
  /** The exact body every attempt sends; null once erased or past retention. */
  body: string | null;
  attempts: AttemptRecord[];
}

/** One append-only audit record: who changed what, when, from where (never a secret). */
export interface AuditEntry {
  id: number;
  appId: number;
  at: number;
  /** `admin`, or `key:<keyId>` for a project key. */
  actor: string;
  /** e.g. `endpoint.updated`, `secret.rotated`, `api_key.revoked`. */
  action: string;
  details: Record<string, unknown>;
  /** The caller's address. */
  sourceIp: string | null;
}

export interface QueueStats {
  /** Pending deliveries due now (endpoint enabled). */
  due: number;
  /** Pending deliveries due later. */
  scheduled: number;
  oldestDueAt: number | null;
  /** Creation time of the oldest pending event, retries and disabled endpoints' waiting deliveries included. */
  oldestPendingCreatedAt: number | null;
  /** Enabled endpoints whose health is `failing`. */
  failingEndpoints: number;
}

/** A project with its endpoint's switch and health: one item of the project list. */
export interface ProjectOverview extends Project {
  webhook: { enabled: boolean; health: HealthState } | null;
}

/** Where the list of failing projects goes on: the last item's failingSince and appId. */
export interface FailingCursor {
  failingSince: number;
  appId: number;
}

/** A scheduled attempt that made its endpoint failing, or the first success after that. */
export interface EndpointTransition {
  appId: number;
  transition: HealthTransition;
  /** The health after it (failingSince of the streak, consecutiveFailures, lastSuccessAt …). */
  health: HealthState;
}

/** What recording a batch changed beyond the attempts themselves. */
export interface RecordedAttempts {
  /**
   * Health transitions, in the order recorded: each is reported exactly once, by the call whose
   * transaction made it (the health row is locked while it is decided), so a notification hooked
   * here fires once per streak however many processes record.
   */
  transitions: EndpointTransition[];
  /** Events that used their last scheduled attempt in this call (fenced: only the lease holder's). */
  eventsFailed: number;
  /** Operator notifications this call stored (only when asked to: `operatorEvents`), due now. */
  operatorEvents: number;
}

/** An operator notification as stored (SPEC section 5, "Operator notifications"). */
export interface OperatorEvent {
  /** `oev_…`, time-sortable: the webhook-id of every attempt. */
  id: string;
  type: OperatorEventType;
  /** The exact body every attempt sends: `{ type, timestamp, data }`. */
  body: string;
  status: OperatorEventStatus;
  attemptCount: number;
  createdAt: number;
  /** While pending: when it is due (the lease's end while an attempt is in flight). */
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  /** The last attempt's start and how it ended; null before the first (or while it is in flight). */
  lastAttempt: { at: number; statusCode: number | null; error: string | null } | null;
}

/** An operator notification leased to a notifier. */
export interface ClaimedOperatorEvent {
  id: string;
  body: string;
  /** Attempts used, this one included. */
  attemptCount: number;
  /** Fencing token of this claim. */
  leaseToken: string;
}

/** The outcome of one operator notification attempt; `next` from the retry policy. */
export interface OperatorAttemptResult {
  id: string;
  leaseToken: string;
  startedAt: number;
  outcome: AttemptOutcome;
  next: { status: 'delivered' } | { status: 'failed' } | { status: 'pending'; nextAttemptAt: number };
}

/**
 * One window of the stats: events created in it by current status, attempts started in it that
 * finished, and the latency histogram (bucket -> count, src/domain/latency-histogram.ts) of the
 * successful ones.
 */
export interface WindowCounts {
  events: { pending: number; delivered: number; failed: number; skipped: number };
  attempts: { succeeded: number; failed: number };
  latency: Map<number, number>;
}

/** One bucket of the dashboard's chart (whole hours of the rollups). */
export interface ChartBucket {
  /** Start of the bucket, epoch ms. */
  start: number;
  /** The events created in the bucket, by their status now. */
  events: { pending: number; delivered: number; failed: number; skipped: number };
  /** p50 and p95 of the successful attempts started in the bucket; null when there were none. */
  latencyMs: { p50: number; p95: number } | null;
}

/** Finished attempts of one time bucket, by outcome (the dashboard's chart). */
export interface AttemptBucket {
  /** Start of the bucket, epoch ms. */
  start: number;
  succeeded: number;
  failed: number;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export type RegistrationResult =
  | { kind: 'created'; answer: RegistrationAnswer }
  | { kind: 'repeat'; answer: RegistrationAnswer }
  | { kind: 'conflict' }
  | { kind: 'unknown_app' };

export interface PurchaseReport {
  appId: number;
  clientUuid: string;
  transactionId: string;
  purchaseDate: number | null;
}

export type PurchaseResult =
  | { kind: 'created'; answer: PurchaseAnswer }
  | { kind: 'repeat'; answer: PurchaseAnswer }
  | { kind: 'conflict' }
  | { kind: 'unknown_app' };

/** One delivery leased to a dispatcher: everything needed to send it, and the fencing token. */
export interface ClaimedDelivery {
  eventId: string;
  appId: number;
  /** Fencing token: the id of the attempt row this claim created. */
  attemptId: number;
  attemptNumber: number;
  /** Scheduled attempts used, this one included. */
  scheduledAttempts: number;
  url: string;
  body: string;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: number | null;
  headersSealed: string | null;
  rateLimitPerSecond: number | null;
  /** When the event was created (delivery latency is measured from it). */
  createdAt: number;
  /** Whether this claim took over a lease that had run out (its holder died or stalled). */
  reclaimed: boolean;
  /**
   * For an endpoint capped by rateLimitPerSecond: its send slot, at most about a second after the
   * claim (domain/pacing.ts); send it then, not before. Null: uncapped, send at once.
   */
  sendAt: number | null;
}

/** A finished attempt to record; for scheduled ones, the event's next state (from the retry policy). */
export interface FinishedAttempt {
  attemptId: number;
  eventId: string;
  outcome: AttemptOutcome;
  next: { status: 'delivered' } | { status: 'failed' } | { status: 'pending'; nextAttemptAt: number } | null;
}

export interface ManualAttempt {
  attemptId: number;
  attemptNumber: number;
  url: string;
  body: string;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: number | null;
  headersSealed: string | null;
}

export interface ClaimOptions {
  now: number;
  limit: number;
  leaseMs: number;
  maxAttempts: number;
  /** At most this many attempts of one project in flight, counting `inFlight` (unless `windows` names it). */
  perEndpointLimit: number;
  /** Per project, its own limit instead of perEndpointLimit (the dispatcher's adaptive windows). */
  windows?: Readonly<Record<number, number>>;
  /** Attempts this process already has in flight, per project (absent = none). */
  inFlight: Readonly<Record<number, number>>;
  /** Projects whose endpoints already have all the attempts in flight they may have. */
  excludeAppIds: readonly number[];
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations (idempotent). */
  migrate(): Promise<void>;
  /** Whether the database answers and every migration is applied. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;

  getSetting(key: string): Promise<string | null>;
  /** Writes the setting unless one exists; returns the value that is stored afterwards. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
  /** Writes the setting, replacing any value it had. */
  putSetting(key: string, value: string): Promise<void>;
  /**
   * Re-seals every endpoint's signing secrets (current and previous) and custom headers with `reseal`, in one
   * transaction: `reghook rekey`. Returns how many endpoints it changed.
   */
  resealSecrets(reseal: (sealed: string) => string): Promise<number>;

  createProject(project: Project): Promise<'created' | 'exists'>;
  getProject(appId: number): Promise<Project | null>;
  listProjects(limit: number, cursor: number | null): Promise<Project[]>;
  /** Projects by appId with their endpoint's switch and health, in one query. */
  listProjectOverviews(limit: number, cursor: number | null): Promise<ProjectOverview[]>;
  /** Projects whose endpoint is failing, longest failing first (failingSince, then appId). */
  listFailingProjects(limit: number, cursor: FailingCursor | null): Promise<ProjectOverview[]>;
  /** The endpoint's switch and health; null when the project has no endpoint. */
  getEndpointHealth(appId: number): Promise<{ enabled: boolean; health: HealthState } | null>;

  addApiKey(key: ApiKeyRecord & { hash: string }): Promise<void>;
  listApiKeys(appId: number): Promise<ApiKeyRecord[]>;
  findApiKeyByHash(hash: string): Promise<(ApiKeyRecord & { hash: string }) | null>;
  /** Returns false when no such active key exists for that project. */
  revokeApiKey(appId: number, keyId: string, now: number): Promise<boolean>;

  addPortalLink(link: PortalLink & { hash: string }): Promise<void>;
  /**
   * Uses the link whose token hashes to `hash`: marks it used at `now` and returns it, or null when
   * there is no such link, it expired (`expiresAt <= now`) or it was used already. Of any number of
   * concurrent uses (in any number of processes) exactly one gets the link.
   */
  consumePortalLink(hash: string, now: number): Promise<PortalLink | null>;
  /** Deletes at most `limit` links that expired before `before` (used or not); returns how many. */
  deleteExpiredPortalLinks(before: number, limit: number): Promise<number>;

  getEndpoint(appId: number): Promise<Endpoint | null>;
  /**
   * Creates or changes the endpoint; `secretSealed` is used only when creating. `changes` replaces
   * the custom headers and the rate limit (null: none); what it leaves undefined is kept.
   */
  putEndpoint(
    appId: number,
    url: string,
    enabled: boolean,
    secretSealedIfNew: string,
    now: number,
    changes?: EndpointChanges,
  ): Promise<{ endpoint: Endpoint; created: boolean }>;
  rotateSecret(appId: number, newSecretSealed: string, previousExpiresAt: number, now: number): Promise<Endpoint | null>;

  /** Records a registration and, when the trigger rules say so, its event: one transaction. */
  recordRegistration(registration: IndexedRegistration, newEventId: string, now: number): Promise<RegistrationResult>;
  /** Records a purchase and, when it is a store user's first, the event: one transaction. */
  recordPurchase(purchase: PurchaseReport, newEventId: string, now: number): Promise<PurchaseResult>;

  /** The delivery log, newest first, narrowed by `filter`; cursor-paginated by event id. */
  listEvents(appId: number, options: EventFilter & { limit: number; cursor?: string | undefined }): Promise<Page<EventLogItem>>;
  getEvent(appId: number, eventId: string): Promise<EventDetail | null>;
  /**
   * Replay by filter: every event of `statuses` created in [since, until] that still has its
   * payload. With `dryRun`, counts them; otherwise puts each on a fresh schedule (due now, a full
   * set of attempts), in batches of REPLAY_BATCH so ingest and claims interleave. Returns how many.
   */
  replayEvents(appId: number, filter: ReplayFilter, now: number, dryRun: boolean): Promise<number>;
  /**
   * The project's events whose id sorts after `afterId`, oldest first, at most `limit`; events
   * without a body (erased, past retention) are left out. Ids are time-sortable, so this is "events
   * created since", one range scan of the log's index: the development stream's read.
   */
  listEventsAfter(appId: number, afterId: string, limit: number): Promise<StreamedEvent[]>;
  /** Puts every failed event created since `since` back on a fresh schedule; returns how many. */
  recoverFailed(appId: number, since: number, now: number): Promise<number>;

  /** Leases due deliveries of enabled endpoints, oldest due first, and opens an attempt for each. */
  claimDue(options: ClaimOptions): Promise<ClaimedDelivery[]>;
  /**
   * Records finished attempts; an event's state changes only if the attempt still holds its lease.
   * In the same transaction, each scheduled attempt moves its endpoint's health on (the rule of
   * src/domain/endpoint-health.ts, `failingAfter` failures make it failing), and the stats'
   * rollups count it. An attempt already recorded is not counted again. With `operatorEvents`
   * (operator notifications are configured), the notifications the batch owes (its health
   * transitions, its events that used their last attempt) are stored due now, in that same
   * transaction: a crash after the commit cannot lose one, and a rolled-back batch owes none.
   */
  recordAttempts(finished: readonly FinishedAttempt[], now: number, failingAfter?: number, operatorEvents?: boolean): Promise<RecordedAttempts>;

  /**
   * Leases due operator notifications (pending, next_attempt_at <= now), earliest first: each
   * claimed one uses an attempt and is due again at now + leaseMs unless its outcome is recorded
   * first. Due ones that already used `maxAttempts` (their last holder died) become failed.
   */
  claimOperatorEvents(options: { now: number; limit: number; leaseMs: number; maxAttempts: number }): Promise<ClaimedOperatorEvent[]>;
  /** Records attempts' outcomes; fenced: a result whose lease was taken over changes nothing. */
  recordOperatorAttempts(results: readonly OperatorAttemptResult[], now: number): Promise<void>;
  /** Operator notifications newest first (by id); `cursor` is the last id of the previous page. */
  listOperatorEvents(limit: number, cursor: string | null): Promise<Page<OperatorEvent>>;
  /** When the earliest pending delivery of an enabled endpoint is due, or null when none is. */
  nextDueAt(): Promise<number | null>;

  /**
   * Opens a manual attempt for one event: null when the event, its payload or an endpoint is
   * missing; 'in_flight' while a scheduled attempt of it holds a lease (two concurrent deliveries of
   * one webhook-id would defeat receivers that deduplicate on it).
   */
  openManualAttempt(appId: number, eventId: string, now: number): Promise<ManualAttempt | 'in_flight' | null>;
  /** Finished attempts since `since`, counted per `bucketMs` bucket by outcome (empty buckets omitted). */
  attemptStats(appId: number, since: number, bucketMs: number): Promise<AttemptBucket[]>;
  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  listAudit(appId: number, limit: number, cursor: number | null): Promise<AuditEntry[]>;
  /**
   * Erases one person: their registrations, the payloads of their events, those events' subscriber
   * hashes (they are no longer found by subscriberId) and the response bodies of their attempts. An event not delivered yet becomes `erased`: it is never sent. Delivery
   * metadata (ids, statuses, times, codes) stays. Registrations are found by `subscriber.hash`, and
   * those without a hash yet by `subscriber.id`.
   */
  eraseSubscriber(appId: number, subscriber: SubscriberRef, now: number): Promise<{ registrations: number; events: number }>;
  /**
   * Retention: drops payloads and attempt bodies of events finished before `finishedBefore`, and
   * store registrations still awaiting a purchase reported before `awaitingBefore`; at most `limit`
   * rows of each per call.
   */
  sweepRetention(options: { finishedBefore: number; awaitingBefore: number; limit: number }): Promise<{ payloads: number; awaiting: number }>;
  /** At most `limit` events that hold a payload but no subscriber hash, by id, after `afterId` if given (the backfill's work). */
  listUnhashedEvents(limit: number, afterId?: string): Promise<UnhashedEvent[]>;
  /** Sets the subscriber hash of events that still have a payload and none; answers how many changed. */
  setSubscriberHashes(hashes: readonly { eventId: string; subscriberHash: string }[]): Promise<number>;
  /** At most `limit` registrations that hold a subscriberId but no hash (the backfill's work; each one filled leaves the list). */
  listUnhashedRegistrations(limit: number): Promise<UnhashedRegistration[]>;
  /** Sets the hash of registrations still without one and still holding that subscriberId; answers how many changed. */
  setRegistrationSubscriberHashes(hashes: readonly (UnhashedRegistration & { subscriberHash: string })[]): Promise<number>;
  queueStats(now: number): Promise<QueueStats>;
  /**
   * The stats of one project since `since` (inclusive): whole hours from the rollups, the partial
   * hours at both ends from the rows themselves (stats-window.ts), so the figures are exact to the
   * millisecond and the cost follows the hours in the window, not the events.
   */
  windowCounts(appId: number, since: number, now: number): Promise<WindowCounts>;
  /**
   * `count` consecutive buckets of `bucketMs` (a whole number of hours) from `since` (the start of
   * an hour): every bucket, empty ones included, in one statement over the hourly rollups (the
   * dashboard's chart). The rollups are exact on every write, so a bucket holding now is too.
   */
  chartBuckets(appId: number, since: number, bucketMs: number, count: number): Promise<ChartBucket[]>;
  /** Records a test webhook attempt (not tied to a stored event). */
  recordTestAttempt(appId: number, webhookId: string, startedAt: number, outcome: AttemptOutcome): Promise<void>;
  /**
   * Calls `listener` once a committed write may have made work due now: an event created pending,
   * an endpoint enabled, failed events recovered (and, on PostgreSQL, the same from any other
   * process, by LISTEN/NOTIFY). The store says so itself: callers never wake the dispatcher.
   * Returns an unsubscribe function.
   */
  onWorkAvailable(listener: () => void): () => void;
  /**
   * Calls `listener` once a committed report may have created events, with the projects concerned,
   * whatever their status (a `skipped` event too), or null when any project may have (a lost
   * notification). On PostgreSQL other processes' reports count too (LISTEN/NOTIFY). The
   * development streams' cue; returns an unsubscribe function.
   */
  onEventsCreated(listener: (appIds: readonly number[] | null) => void): () => void;
}
