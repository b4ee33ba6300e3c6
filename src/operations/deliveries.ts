/** What a person asks of deliveries: a test webhook, a redelivery, a recovery (SPEC section 5). */
import { setTimeout as delay } from 'node:timers/promises';
import { ReghookError } from '../errors.js';
import type { AttemptOutcome, ReplayableStatus } from '../store/store.js';
import { recordAudit } from './audit.js';
import type { Actor, OperationDeps } from './deps.js';
import { requireEndpoint } from './endpoint.js';
import { requireProject } from './projects.js';

/** Sends a sample event to the endpoint now and answers the attempt (logged as `test`, never retried). */
export async function sendTestWebhook(deps: OperationDeps, appId: number): Promise<AttemptOutcome> {
  await requireEndpoint(deps, appId);
  const outcome = await deps.manual.sendTest(appId);
  if (!outcome) throw new ReghookError('REGHOOK_ENDPOINT_NOT_FOUND', `project ${appId} has no webhook endpoint yet; set one first`);
  return outcome;
}

export type RedeliveryResult = { status: 'attempting' } | { status: 'finished'; outcome: AttemptOutcome };

/**
 * One immediate manual attempt of a stored event. With `waitMs`, answers its outcome once it has
 * one within that time (else `attempting`); without, at once. Refused with a code of its own for
 * each reason: no such event (or its payload is gone), no endpoint, endpoint disabled, a
 * scheduled attempt of it in flight (two concurrent deliveries of one webhook-id would defeat
 * receivers that deduplicate on it).
 */
export async function redeliver(deps: OperationDeps, appId: number, eventId: string, options: { waitMs?: number } = {}): Promise<RedeliveryResult> {
  await requireProject(deps.store, appId);
  const started = await deps.manual.redeliver(appId, eventId);
  switch (started.kind) {
    case 'not_found':
      throw new ReghookError('REGHOOK_EVENT_NOT_FOUND', `event ${eventId} not found (or its payload was erased)`);
    case 'no_endpoint':
      throw new ReghookError('REGHOOK_ENDPOINT_MISSING', 'the project has no webhook endpoint; set one first');
    case 'endpoint_disabled':
      throw new ReghookError('REGHOOK_ENDPOINT_DISABLED', 'the webhook endpoint is disabled; enable it first');
    case 'in_flight':
      throw new ReghookError('REGHOOK_ATTEMPT_IN_FLIGHT', 'an attempt of this event is in flight right now; try again when it has finished');
    case 'started': {
      if (options.waitMs === undefined) return { status: 'attempting' };
      const deadline = new AbortController();
      const outcome = await Promise.race([started.outcome, delay(options.waitMs, null, { signal: deadline.signal }).catch(() => null)]);
      deadline.abort();
      return outcome === null ? { status: 'attempting' } : { status: 'finished', outcome };
    }
  }
}

/**
 * Replay by filter (SPEC section 5): every event of `statuses` (default failed) created in
 * [since, until] that still has its payload gets a fresh schedule; with `dryRun`, only counted.
 * Needs an endpoint to deliver to (REGHOOK_ENDPOINT_MISSING); a disabled one makes them wait.
 * Audited, with the filter and the count.
 */
export async function replayEvents(
  deps: OperationDeps,
  actor: Actor,
  appId: number,
  input: { statuses?: readonly ReplayableStatus[] | undefined; since: number; until?: number | undefined; dryRun?: boolean | undefined },
): Promise<{ count: number; dryRun: boolean }> {
  await requireProject(deps.store, appId);
  const dryRun = input.dryRun === true;
  const statuses: ReplayableStatus[] = [...new Set(input.statuses ?? (['failed'] as const))];
  if (!dryRun && !(await deps.store.getEndpoint(appId))) {
    throw new ReghookError('REGHOOK_ENDPOINT_MISSING', 'a replay needs an endpoint to deliver to: set one first');
  }
  const now = deps.clock.now();
  const count = await deps.store.replayEvents(appId, { statuses, since: input.since, until: input.until }, now, dryRun);
  if (!dryRun) {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    await recordAudit(deps.store, actor, appId, 'events.replayed', { statuses, since: iso(input.since), until: iso(input.until), count }, now);
  }
  return { count, dryRun };
}

/** Puts every failed event created since `since` back on a fresh schedule; answers how many (audited). */
export async function recoverFailed(deps: OperationDeps, actor: Actor, appId: number, since: number): Promise<number> {
  await requireProject(deps.store, appId);
  const now = deps.clock.now();
  const recovered = await deps.store.recoverFailed(appId, since, now);
  await recordAudit(deps.store, actor, appId, 'events.recovered', { since: new Date(since).toISOString(), recovered }, now);
  return recovered;
}

/**
 * Erases one person: registrations, payloads, response bodies; a webhook still owed to them is
 * cancelled (`erased`). The audit record says that an erasure happened, never whom it concerned.
 */
export async function eraseSubscriber(deps: OperationDeps, actor: Actor, appId: number, subscriberId: string) {
  await requireProject(deps.store, appId);
  const now = deps.clock.now();
  const erased = await deps.store.eraseSubscriber(appId, { id: subscriberId, hash: deps.subscriberIndex.hash(appId, subscriberId) }, now);
  await recordAudit(deps.store, actor, appId, 'subscriber.erased', { registrations: erased.registrations }, now);
  return erased;
}
