/** Endpoint health and per-window stats (SPEC section 5): the project list's health, `?health=failing`, and GET …/webhook/stats. */
import { healthOf, NO_ATTEMPT_YET, type HealthState } from '../domain/endpoint-health.js';
import { percentilesOf } from '../domain/latency-histogram.js';
import { ReghookError } from '../errors.js';
import type { ProjectOverview, Store } from '../store/store.js';
import type { OperationDeps } from './deps.js';
import { requireProject } from './require-project.js';

export const STATS_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** A page of projects with their endpoint's health: by appId, or (failing) longest failing first. */
export async function listProjects(store: Store, options: { limit: number; cursor?: string | undefined; failing: boolean }) {
  const { limit, cursor, failing } = options;
  const refuse = () => new ReghookError('REGHOOK_VALIDATION', 'invalid request: /cursor', { errors: [{ path: '/cursor', message: 'is not a cursor of this list' }] });
  if (!failing) {
    if (cursor?.includes('.')) throw refuse();
    const rows = await store.listProjectOverviews(limit + 1, cursor === undefined ? null : Number(cursor));
    const page = rows.slice(0, limit);
    return { page, nextCursor: rows.length > limit ? String(page.at(-1)!.appId) : null };
  }
  // The cursor of the failing list is `<failingSince>.<appId>` of the last item.
  let after: { failingSince: number; appId: number } | null = null;
  if (cursor !== undefined) {
    const [since, appId] = cursor.split('.');
    if (appId === undefined) throw refuse();
    after = { failingSince: Number(since), appId: Number(appId) };
  }
  const rows = await store.listFailingProjects(limit + 1, after);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last ? `${last.webhook!.health.failingSince}.${last.appId}` : null };
}

/** The project's endpoint summary as the API shows it. */
export function webhookSummary(webhook: ProjectOverview['webhook']) {
  if (webhook === null) return null;
  return { enabled: webhook.enabled, health: healthOf(webhook.health), consecutiveFailures: webhook.health.consecutiveFailures, failingSince: webhook.health.failingSince };
}

/** One window of a project's figures, and its endpoint's health (a project without an endpoint: unknown). */
export async function webhookStats(deps: OperationDeps, appId: number, window: StatsWindow) {
  await requireProject(deps.store, appId);
  const now = deps.clock.now();
  const [counts, endpoint] = await Promise.all([deps.store.windowCounts(appId, now - STATS_WINDOWS[window], now), deps.store.getEndpointHealth(appId)]);
  const health: HealthState = endpoint?.health ?? NO_ATTEMPT_YET;
  return {
    window,
    events: counts.events,
    attempts: counts.attempts,
    latencyMs: percentilesOf(counts.latency),
    health: healthOf(health),
    consecutiveFailures: health.consecutiveFailures,
    failingSince: health.failingSince,
    lastSuccessAt: health.lastSuccessAt,
    lastFailureAt: health.lastFailureAt,
  };
}
