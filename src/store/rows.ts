/**
 * Rows as both stores read them, and their one mapping to the Store's types. Times are epoch
 * milliseconds in both. Booleans are 0/1 on SQLite and true/false on PostgreSQL: a `Flag` is
 * either, and `isSet` reads both alike.
 */
import type { AttemptErrorKind } from '../domain/attempt-error.js';
import type { HealthState } from '../domain/endpoint-health.js';
import type { EventStatus } from '../domain/retry-policy.js';
import type { ApiKeyRecord, AttemptRecord, AuditEntry, Endpoint, EventLogItem, EventSummary, OperatorEvent, PortalLink, Project } from './store.js';

/** A boolean column: INTEGER 0/1 on SQLite (STRICT tables), BOOLEAN on PostgreSQL. */
export type Flag = boolean | number;

const isSet = (flag: Flag | null): boolean => flag === true || flag === 1;

/** An `events` row as both stores read it. */
export interface EventRow {
  id: string;
  app_id: number;
  client_uuid: string;
  body: string | null;
  status: EventStatus;
  attempt_count: number;
  scheduled_attempts: number;
  next_attempt_at: number | null;
  lease_token: number | null;
  created_at: number;
  delivered_at: number | null;
}

export const toEventSummary = (r: EventRow): EventSummary => ({
  eventId: r.id,
  appId: r.app_id,
  clientUuid: r.client_uuid,
  status: r.status,
  attemptCount: r.attempt_count,
  createdAt: r.created_at,
  // While leased, next_attempt_at is the lease end, not a scheduled time.
  nextAttemptAt: r.status === 'pending' && r.lease_token === null ? r.next_attempt_at : null,
  deliveredAt: r.delivered_at,
});

/** The newest attempt's columns as the log query selects them (`la_*`, all null before the first attempt). */
export interface LastAttemptColumns {
  la_number: number | null;
  la_trigger: AttemptRecord['trigger'] | null;
  la_started_at: number | null;
  la_finished: Flag | null;
  la_success: Flag | null;
  la_status_code: number | null;
  la_error_kind: AttemptErrorKind | null;
  la_duration_ms: number | null;
}

/** A delivery-log row: the summary, the subscriber fields its page shows (masked there), and its newest attempt. */
export const toEventLogItem = (r: EventRow & LastAttemptColumns): EventLogItem => ({
  ...toEventSummary(r),
  subscriber: subscriberOf(r.body),
  lastAttempt:
    r.la_number === null
      ? null
      : toAttempt({
          number: r.la_number,
          trigger: r.la_trigger!,
          started_at: r.la_started_at!,
          finished: r.la_finished ?? 0,
          success: r.la_success,
          status_code: r.la_status_code,
          error_kind: r.la_error_kind,
          duration_ms: r.la_duration_ms,
          response_body: null,
        }),
});

/** The `la_*` columns of the newest attempt of event `e`, for the log's query (both dialects). */
export const LAST_ATTEMPT_COLUMNS = `la.number AS la_number, la.trigger AS la_trigger, la.started_at AS la_started_at,
  la.finished AS la_finished, la.success AS la_success, la.status_code AS la_status_code,
  la.error_kind AS la_error_kind, la.duration_ms AS la_duration_ms`;

function subscriberOf(body: string | null): EventLogItem['subscriber'] {
  if (body === null) return null;
  try {
    const p = JSON.parse(body) as { subscriberId?: unknown; subscriberName?: unknown };
    return { id: typeof p.subscriberId === 'string' ? p.subscriberId : null, name: typeof p.subscriberName === 'string' ? p.subscriberName : null };
  } catch {
    return null;
  }
}

export interface EndpointRow {
  app_id: number;
  url: string;
  enabled: Flag;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null;
  headers_sealed: string | null;
  rate_limit_per_second: number | null;
  created_at: number;
  updated_at: number;
}

export const toEndpoint = (r: EndpointRow): Endpoint => ({
  appId: r.app_id,
  url: r.url,
  enabled: isSet(r.enabled),
  secretSealed: r.secret_sealed,
  previousSecretSealed: r.previous_secret_sealed,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  headersSealed: r.headers_sealed,
  rateLimitPerSecond: r.rate_limit_per_second,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AttemptRow {
  number: number;
  trigger: AttemptRecord['trigger'];
  started_at: number;
  finished: Flag;
  success: Flag | null;
  status_code: number | null;
  // Written by recordAttempts only: one of the attempt error kinds.
  error_kind: AttemptErrorKind | null;
  duration_ms: number | null;
  response_body: string | null;
}

export const toAttempt = (r: AttemptRow): AttemptRecord => ({
  number: r.number,
  trigger: r.trigger,
  startedAt: r.started_at,
  outcome: isSet(r.finished)
    ? {
        success: isSet(r.success),
        statusCode: r.status_code,
        errorKind: r.error_kind,
        durationMs: r.duration_ms ?? 0,
        responseBody: r.response_body,
      }
    : null,
});

export interface ProjectRow {
  app_id: number;
  name: string;
  created_at: number;
}

export const toProject = (r: ProjectRow): Project => ({ appId: r.app_id, name: r.name, createdAt: r.created_at });

export interface ApiKeyRow {
  id: string;
  app_id: number;
  hash: string;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export const toApiKey = (r: Omit<ApiKeyRow, 'hash'>): ApiKeyRecord => ({
  id: r.id,
  appId: r.app_id,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export const toApiKeyWithHash = (r: ApiKeyRow): ApiKeyRecord & { hash: string } => ({ ...toApiKey(r), hash: r.hash });

/** An `audit_log` row; `details` as parsed (SQLite stores the JSON as text, PostgreSQL's json column reads parsed). */
export interface AuditRow {
  id: number;
  app_id: number;
  at: number;
  actor: string;
  action: string;
  details: Record<string, unknown>;
  source_ip: string | null;
}

export const toAuditEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  appId: r.app_id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  details: r.details,
  sourceIp: r.source_ip,
});

/** A `portal_links` row as both stores read it (never its hash: nothing reads it back). */
export interface PortalLinkRow {
  id: string;
  app_id: number;
  read_only: Flag;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export const toPortalLink = (r: PortalLinkRow): PortalLink => ({
  id: r.id,
  appId: r.app_id,
  readOnly: isSet(r.read_only),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
});

/** An `endpoint_health` row (migration 0005). */
export interface HealthRow {
  consecutive_failures: number;
  streak_started_at: number | null;
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
}

export const toHealthState = (r: HealthRow): HealthState => ({
  consecutiveFailures: r.consecutive_failures,
  streakStartedAt: r.streak_started_at,
  failingSince: r.failing_since,
  lastSuccessAt: r.last_success_at,
  lastFailureAt: r.last_failure_at,
});

/** An `operator_events` row as both stores read it. */
export interface OperatorEventRow {
  id: string;
  type: OperatorEvent['type'];
  body: string;
  status: OperatorEvent['status'];
  attempt_count: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export const operatorEventOf = (r: OperatorEventRow): OperatorEvent => ({
  id: r.id,
  type: r.type,
  body: r.body,
  status: r.status,
  attemptCount: r.attempt_count,
  createdAt: r.created_at,
  nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
  deliveredAt: r.delivered_at,
  lastAttempt: r.last_attempt_at === null ? null : { at: r.last_attempt_at, statusCode: r.last_status_code, error: r.last_error },
});
