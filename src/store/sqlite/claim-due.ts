/**
 * The dispatcher's claim, SQLite flavour, in two indexed steps (run in one BEGIN IMMEDIATE
 * transaction, so claimers in several processes on one file take turns):
 *
 * 1. DUE_ENDPOINTS_SQL takes the projects with due work, oldest due first, by a range scan of
 *    `endpoints_due`. `endpoints.next_due_at` is each project's earliest pending due time, kept
 *    exact by triggers (migration 0002) and NULL while its endpoint is disabled (a disabled
 *    endpoint's deliveries wait without using attempts) or nothing is pending. The scan stops after
 *    as many projects as the batch can use, so its cost follows the batch, not the number of
 *    projects with due work (a loose index scan over every such project took ~600 ms at 10,000).
 * 2. DUE_OF_APP_SQL takes, for each of those projects in turn, its oldest due deliveries up to its
 *    room under the per-endpoint limit, until the batch is full.
 *
 * A project at its limit costs one skipped row of step 1 however large its backlog; it is
 * excluded by id, and a process has few such projects (concurrency / per-endpoint limit).
 *
 * A capped endpoint (rateLimitPerSecond) also gives no more deliveries than its pace has slots
 * within the horizon, and each one it gives takes the next slot (domain/pacing.ts): the pace is in
 * the database, so every process on the file shares it.
 */
import type Database from 'better-sqlite3';
import { firstSlot, paceInterval, slotsWithinHorizon } from '../../domain/pacing.js';
import { pendingBody } from '../invariants.js';
import type { EndpointRow, EventRow } from '../rows.js';
import type { ClaimedDelivery, ClaimOptions } from '../store.js';
import type { Attempts } from './attempts.js';

export const DUE_ENDPOINTS_SQL = `
SELECT app_id, rate_limit_per_second
FROM endpoints INDEXED BY endpoints_due
WHERE next_due_at <= @now
ORDER BY next_due_at
LIMIT @limit`;

export const DUE_OF_APP_SQL = `
SELECT id, app_id, next_attempt_at
FROM events
WHERE app_id = @appId AND status = 'pending' AND next_attempt_at <= @now
ORDER BY next_attempt_at
LIMIT @limit`;

/**
 * Leases one claimed row: its due time moves to the end of the lease (a crashed worker's delivery
 * becomes due again by itself), and the new attempt's id becomes the fencing token.
 */
export const LEASE_SQL = `
UPDATE events
SET attempt_count = attempt_count + 1,
    scheduled_attempts = scheduled_attempts + 1,
    next_attempt_at = @leaseUntil,
    lease_token = @attemptId
WHERE id = @id`;

// What sending needs, from the event and its endpoint (a due event's endpoint exists: next_due_at
// comes from it).
const EVENT_FOR_CLAIM = `
SELECT e.*, p.url, p.secret_sealed, p.previous_secret_sealed, p.previous_secret_expires_at, p.headers_sealed, p.rate_limit_per_second
FROM events e JOIN endpoints p ON p.app_id = e.app_id WHERE e.id = ?`;

// Its last attempt was leased by a process that died: the attempts are used up.
const FAIL_EXHAUSTED = `UPDATE events SET status = 'failed', next_attempt_at = NULL, lease_token = NULL, finished_at = ? WHERE id = ?`;

// endpoints.next_due_at is each enabled endpoint's earliest pending due time (migration 0002): the
// earliest of them is one step of the partial index.
const NEXT_DUE = `SELECT next_due_at FROM endpoints INDEXED BY endpoints_due WHERE next_due_at IS NOT NULL ORDER BY next_due_at LIMIT 1`;

// A capped endpoint's next free send slot (migration 0011).
const GET_PACE = `SELECT next_slot_at FROM endpoint_pace WHERE app_id = ?`;
const PUT_PACE = `
INSERT INTO endpoint_pace (app_id, next_slot_at) VALUES (?, ?)
ON CONFLICT (app_id) DO UPDATE SET next_slot_at = excluded.next_slot_at`;

/** The pace of one capped endpoint during a claim: its rate, its first free slot, the slots taken since. */
interface Pace {
  perSecond: number;
  first: number;
  taken: number;
}

/** Slot `i` after `first`, computed rather than summed (no rounding error builds up). */
const slotAfter = (pace: Pace, i: number) => pace.first + i * paceInterval(pace.perSecond);

export class Claims {
  private readonly dueEndpoints;
  private readonly dueOfApp;
  private readonly lease;
  private readonly eventForClaim;
  private readonly failExhausted;
  private readonly nextDue;
  private readonly getPace;
  private readonly putPace;

  constructor(
    private readonly db: Database.Database,
    private readonly attempts: Attempts,
  ) {
    this.dueEndpoints = db.prepare<{ now: number; limit: number }, { app_id: number; rate_limit_per_second: number | null }>(DUE_ENDPOINTS_SQL);
    this.dueOfApp = db.prepare<{ appId: number; now: number; limit: number }, { id: string; app_id: number; next_attempt_at: number }>(DUE_OF_APP_SQL);
    this.lease = db.prepare<{ id: string; leaseUntil: number; attemptId: number }>(LEASE_SQL);
    this.eventForClaim = db.prepare<[string], EventRow & EndpointRow>(EVENT_FOR_CLAIM);
    this.failExhausted = db.prepare<[number, string]>(FAIL_EXHAUSTED);
    this.nextDue = db.prepare<[], { next_due_at: number }>(NEXT_DUE);
    this.getPace = db.prepare<[number], { next_slot_at: number }>(GET_PACE);
    this.putPace = db.prepare<[number, number]>(PUT_PACE);
  }

  claimDue(o: ClaimOptions): ClaimedDelivery[] {
    return this.db
      .transaction(() => {
        const claimed: ClaimedDelivery[] = [];
        const paces = new Map<number, Pace>();
        for (const { id } of this.dueRows(o, paces)) {
          const e = this.eventForClaim.get(id)!;
          if (e.scheduled_attempts >= o.maxAttempts) {
            this.failExhausted.run(o.now, id);
            continue;
          }
          const attemptId = this.attempts.open({ eventId: id, appId: e.app_id, number: e.attempt_count + 1, trigger: 'scheduled', now: o.now });
          this.lease.run({ id, leaseUntil: o.now + o.leaseMs, attemptId });
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
            headersSealed: e.headers_sealed,
            rateLimitPerSecond: e.rate_limit_per_second,
            createdAt: e.created_at,
            reclaimed: e.lease_token !== null,
            sendAt: takeSlot(paces.get(e.app_id)),
          });
        }
        for (const [appId, pace] of paces) if (pace.taken > 0) this.putPace.run(appId, slotAfter(pace, pace.taken));
        return claimed;
      })
      .immediate();
  }

  /**
   * Projects in order of their oldest due work, each up to its room, until the batch is full. A
   * capped project's room is also its slots within the horizon; its pace goes into `paces`.
   */
  private dueRows(o: ClaimOptions, paces: Map<number, Pace>): { id: string }[] {
    const excluded = new Set(o.excludeAppIds);
    const rows: { id: string }[] = [];
    for (const { app_id, rate_limit_per_second: perSecond } of this.dueEndpoints.all({ now: o.now, limit: o.limit + excluded.size })) {
      if (excluded.has(app_id)) continue;
      let room = Math.min((o.windows?.[app_id] ?? o.perEndpointLimit) - (o.inFlight[app_id] ?? 0), o.limit - rows.length);
      if (room <= 0) continue;
      if (perSecond !== null) {
        const nextSlotAt = this.getPace.get(app_id)?.next_slot_at ?? null;
        room = Math.min(room, slotsWithinHorizon(nextSlotAt, perSecond, o.now));
        if (room <= 0) continue;
        paces.set(app_id, { perSecond, first: firstSlot(nextSlotAt, o.now), taken: 0 });
      }
      rows.push(...this.dueOfApp.all({ appId: app_id, now: o.now, limit: room }));
      if (rows.length >= o.limit) break;
    }
    return rows;
  }


  nextDueAt(): number | null {
    return this.nextDue.get()?.next_due_at ?? null;
  }
}

/** The next send slot of a capped endpoint's pace (only a delivery actually leased takes one); null when uncapped. */
function takeSlot(pace: Pace | undefined): number | null {
  if (pace === undefined) return null;
  return slotAfter(pace, pace.taken++);
}
