/** Endpoint health as the project list and the API read it (SQLite); recordAttempts (attempts.ts) keeps it. */
import type Database from 'better-sqlite3';
import { NO_ATTEMPT_YET, type HealthState } from '../../domain/endpoint-health.js';
import { toHealthState, type HealthRow } from '../rows.js';
import type { FailingCursor, ProjectOverview } from '../store.js';

type OverviewRow = { app_id: number; name: string; created_at: number; enabled: number | null } & { [K in keyof HealthRow]: HealthRow[K] | null };

// LEFT JOINs: a project without an endpoint has webhook null; an endpoint always has its health
// row (trigger endpoints_health_on_insert), but a missing one reads as "no attempt yet".
const OVERVIEW_COLUMNS = `
p.app_id, p.name, p.created_at, e.enabled,
h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at`;

// Keyset pagination on the primary key, as listProjects.
const LIST_OVERVIEWS = `
SELECT ${OVERVIEW_COLUMNS}
FROM projects p LEFT JOIN endpoints e ON e.app_id = p.app_id LEFT JOIN endpoint_health h ON h.app_id = p.app_id
WHERE p.app_id > @cursor ORDER BY p.app_id LIMIT @limit`;

// Longest failing first: endpoint_health_failing (failing_since, app_id) holds only failing
// endpoints, in that order; the cursor is the last item's key.
const LIST_FAILING = `
SELECT ${OVERVIEW_COLUMNS}
FROM endpoint_health h JOIN projects p ON p.app_id = h.app_id JOIN endpoints e ON e.app_id = h.app_id
WHERE h.failing_since IS NOT NULL AND (h.failing_since, h.app_id) > (@since, @appId)
ORDER BY h.failing_since, h.app_id LIMIT @limit`;

const GET_ENDPOINT_HEALTH = `
SELECT e.enabled, h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at
FROM endpoints e LEFT JOIN endpoint_health h ON h.app_id = e.app_id WHERE e.app_id = ?`;

export function healthOfRow(r: { [K in keyof HealthRow]: HealthRow[K] | null }): HealthState {
  return r.consecutive_failures === null ? NO_ATTEMPT_YET : toHealthState(r as HealthRow);
}

const toOverview = (r: OverviewRow): ProjectOverview => ({
  appId: r.app_id,
  name: r.name,
  createdAt: r.created_at,
  webhook: r.enabled === null ? null : { enabled: r.enabled === 1, health: healthOfRow(r) },
});

export class Health {
  private readonly listOverviews;
  private readonly listFailing;
  private readonly getEndpointHealthStatement;

  constructor(db: Database.Database) {
    this.listOverviews = db.prepare<{ cursor: number; limit: number }, OverviewRow>(LIST_OVERVIEWS);
    this.listFailing = db.prepare<{ since: number; appId: number; limit: number }, OverviewRow>(LIST_FAILING);
    this.getEndpointHealthStatement = db.prepare<[number], Omit<OverviewRow, 'app_id' | 'name' | 'created_at'>>(GET_ENDPOINT_HEALTH);
  }

  listProjectOverviews(limit: number, cursor: number | null): ProjectOverview[] {
    return this.listOverviews.all({ cursor: cursor ?? -1, limit }).map(toOverview);
  }

  listFailingProjects(limit: number, cursor: FailingCursor | null): ProjectOverview[] {
    return this.listFailing.all({ since: cursor?.failingSince ?? Number.MIN_SAFE_INTEGER, appId: cursor?.appId ?? -1, limit }).map(toOverview);
  }

  getEndpointHealth(appId: number): { enabled: boolean; health: HealthState } | null {
    const r = this.getEndpointHealthStatement.get(appId);
    return r === undefined ? null : { enabled: r.enabled === 1, health: healthOfRow(r) };
  }
}
