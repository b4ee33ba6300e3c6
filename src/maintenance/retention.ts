/**
 * The retention sweep of SPEC section 7: payloads and attempt bodies of events finished longer ago
 * than REGHOOK_RETENTION are dropped, and store registrations still awaiting a purchase after
 * REGHOOK_AWAITING_RETENTION are forgotten; portal session links are deleted once expired (they
 * open nothing then; the audit log keeps their story). Runs at start and then periodically, in
 * small batches.
 *
 * It also backfills the subscriber index (migration 0007): events created before it have no
 * subscriber hash, so the log search by subscriberId cannot find them; each sweep hashes up to
 * BACKFILL_PER_SWEEP of those that still hold a payload (the subscriberId is read from it). Events
 * whose payload is already gone (erased, or past retention) stay unsearchable. Registrations from
 * before 0007 get theirs too (from their subscriber_id), so that erasure finds them by the hash;
 * until then it finds them by the plain value (migration 0009).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import type { SubscriberIndex } from '../secrets/subscriber-index.js';
import type { Store, UnhashedEvent } from '../store/store.js';

const BATCH = 1_000;
/** Old events given a subscriber hash per sweep, at most. */
export const BACKFILL_PER_SWEEP = 20_000;

/** The subscriberId of a stored payload (the webhook body), or null when it has none. */
function subscriberIdOf(event: UnhashedEvent): string | null {
  try {
    const body = JSON.parse(event.body) as { subscriberId?: unknown };
    return typeof body.subscriberId === 'string' ? body.subscriberId : null;
  } catch {
    return null;
  }
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly awaitingRetentionMs: number,
    private readonly logger: Logger,
    private readonly subscriberIndex: SubscriberIndex,
  ) {}

  /**
   * Gives events from before migration 0007 their subscriber hash, BATCH at a time, at most
   * `max`; answers how many it hashed. An event it cannot read a subscriberId from is left as it
   * is (it is not searchable, and it is not taken again once the batches have passed it).
   */
  async backfillSubscriberHashes(max = BACKFILL_PER_SWEEP): Promise<number> {
    let hashed = 0;
    let seen = 0;
    while (seen < max) {
      const wanted = Math.min(BATCH, max - seen);
      const batch = await this.store.listUnhashedEvents(wanted, this.backfillAfter);
      seen += batch.length;
      // At the end, the next sweep starts over (from the first event still without a hash).
      this.backfillAfter = batch.length < wanted ? undefined : batch.at(-1)!.eventId;
      const hashes = batch.flatMap((event) => {
        const subscriberId = subscriberIdOf(event);
        return subscriberId === null ? [] : [{ eventId: event.eventId, subscriberHash: this.subscriberIndex.hash(event.appId, subscriberId) }];
      });
      if (hashes.length > 0) hashed += await this.store.setSubscriberHashes(hashes);
      if (this.backfillAfter === undefined) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return hashed;
  }

  /**
   * Gives registrations from before migration 0007 their subscriber hash, BATCH at a time, at most
   * `max`; answers how many it hashed. Each one filled leaves the list, so no cursor is kept.
   */
  async backfillRegistrationHashes(max = BACKFILL_PER_SWEEP): Promise<number> {
    let hashed = 0;
    let seen = 0;
    while (seen < max) {
      const wanted = Math.min(BATCH, max - seen);
      const batch = await this.store.listUnhashedRegistrations(wanted);
      seen += batch.length;
      if (batch.length > 0) {
        hashed += await this.store.setRegistrationSubscriberHashes(batch.map((r) => ({ ...r, subscriberHash: this.subscriberIndex.hash(r.appId, r.subscriberId) })));
      }
      if (batch.length < wanted) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return hashed;
  }

  /** Where the backfill goes on: the last event id it read (ones it could not hash stay behind it). */
  private backfillAfter: string | undefined = undefined;

  /** Sweeps everything that is due now; answers how much went. */
  async sweep(): Promise<{ payloads: number; awaiting: number; portalLinks: number }> {
    const total = { payloads: 0, awaiting: 0, portalLinks: 0 };
    for (;;) {
      const now = this.clock.now();
      const swept = await this.store.sweepRetention({
        finishedBefore: now - this.retentionMs,
        awaitingBefore: now - this.awaitingRetentionMs,
        limit: BATCH,
      });
      const links = await this.store.deleteExpiredPortalLinks(now, BATCH);
      total.payloads += swept.payloads;
      total.awaiting += swept.awaiting;
      total.portalLinks += links;
      if (swept.payloads < BATCH && swept.awaiting < BATCH && links < BATCH) break;
      // Yield between batches so a large first sweep does not hold the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const subscriberHashes = (await this.backfillSubscriberHashes()) + (await this.backfillRegistrationHashes());
    if (total.payloads + total.awaiting + total.portalLinks + subscriberHashes > 0) this.logger.info({ ...total, subscriberHashes }, 'retention sweep');
    return total;
  }

  start(everyMs = 10 * 60_000): void {
    const run = () => {
      this.running = this.sweep().catch((error: unknown) => this.logger.error({ err: toError(error) }, 'retention sweep failed'));
    };
    run();
    this.timer = setInterval(run, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
