/**
 * The retention sweep of SPEC section 7: payloads and attempt bodies of events finished longer ago
 * than REGHOOK_RETENTION are dropped, and store registrations still awaiting a purchase after
 * REGHOOK_AWAITING_RETENTION are forgotten; portal session links are deleted once expired (they
 * open nothing then; the audit log keeps their story). Runs at start and then periodically, in
 * small batches.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import type { Store } from '../store/store.js';

const BATCH = 1_000;

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly awaitingRetentionMs: number,
    private readonly logger: Logger,
  ) {}

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
    if (total.payloads + total.awaiting + total.portalLinks > 0) this.logger.info(total, 'retention sweep');
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
