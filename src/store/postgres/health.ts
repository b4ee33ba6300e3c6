/** Endpoint health as the project list and the API read it (PostgreSQL); recordAttempts (attempts.ts) keeps it. */
import type pg from 'pg';
import { NO_ATTEMPT_YET, type HealthState } from '../../domain/endpoint-health.js';
import { toHealthState, type HealthRow } from '../rows.js';
import type { FailingCursor, ProjectOverview } from '../store.js';

type NullableHealth = { [K in keyof HealthRow]: HealthRow[K] | null };
type OverviewRow = { app_id: number; name: string; created_at: number; enabled: boolean | null } & NullableHealth;

// LEFT JOINs: a project without an endpoint has webhook null; an endpoint always has its health
// row (trigger endpoints_health_on_insert), but a missing one reads as "no attempt yet".
const OVERVIEW_COLUMNS = `
p.app_id, p.name, p.created_at, e.enabled,
h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at`;

// Keyset pagination on the primary key, as listProjects.
const LIST_OVERVIEWS = {
  name: 'list_project_overviews',
  text: `
SELECT ${OVERVIEW_COLUMNS}
FROM projects p LEFT JOIN endpoints e ON e.app_id = p.app_id LEFT JOIN endpoint_health h ON h.app_id = p.app_id
WHERE p.app_id > $1 ORDER BY p.app_id LIMIT $2`,
};

// Longest failing first: endpoint_health_failing (failing_since, app_id) holds only failing
// endpoints, in that order; the cursor is the last item's key (a row comparison, an index range).
const LIST_FAILING = {
  name: 'list_failing_projects',
  text: `
SELECT ${OVERVIEW_COLUMNS}
FROM endpoint_health h JOIN projects p ON p.app_id = h.app_id JOIN endpoints e ON e.app_id = h.app_id
WHERE h.failing_since IS NOT NULL AND (h.failing_since, h.app_id) > ($1::bigint, $2::int)
ORDER BY h.failing_since, h.app_id LIMIT $3`,
};

const GET_ENDPOINT_HEALTH = {
  name: 'get_endpoint_health',
  text: `
SELECT e.enabled, h.consecutive_failures, h.streak_started_at, h.failing_since, h.last_success_at, h.last_failure_at
FROM endpoints e LEFT JOIN endpoint_health h ON h.app_id = e.app_id WHERE e.app_id = $1`,
};

const healthOfRow = (r: NullableHealth): HealthState => (r.consecutive_failures === null ? NO_ATTEMPT_YET : toHealthState(r as HealthRow));

const toOverview = (r: OverviewRow): ProjectOverview => ({
  appId: r.app_id,
  name: r.name,
  createdAt: r.created_at,
  webhook: r.enabled === null ? null : { enabled: r.enabled, health: healthOfRow(r) },
});

export class Health {
  constructor(private readonly pool: pg.Pool) {}

  async listProjectOverviews(limit: number, cursor: number | null): Promise<ProjectOverview[]> {
    const { rows } = await this.pool.query<OverviewRow>({ ...LIST_OVERVIEWS, values: [cursor ?? -1, limit] });
    return rows.map(toOverview);
  }

  async listFailingProjects(limit: number, cursor: FailingCursor | null): Promise<ProjectOverview[]> {
    const { rows } = await this.pool.query<OverviewRow>({
      ...LIST_FAILING,
      values: [cursor?.failingSince ?? Number.MIN_SAFE_INTEGER, cursor?.appId ?? -1, limit],
    });
    return rows.map(toOverview);
  }

  async getEndpointHealth(appId: number): Promise<{ enabled: boolean; health: HealthState } | null> {
    const { rows } = await this.pool.query<Omit<OverviewRow, 'app_id' | 'name' | 'created_at'>>({ ...GET_ENDPOINT_HEALTH, values: [appId] });
    const r = rows[0];
    return r === undefined ? null : { enabled: r.enabled === true, health: healthOfRow(r) };
  }
}
