/**
 * The loop shape the dispatcher and the operator notifier share: run a round, then sleep for as
 * long as the round says unless woken meanwhile. No timer per item: one loop, one sleep. A wake-up
 * that comes while a round runs is kept, so the sleep after that round is skipped (nothing
 * announced during a round is missed until the next poll).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorCode, isDatabaseUnavailable, toError } from '../errors.js';
import { LogThrottle } from '../logger.js';

/** What a round asks for next: another round at once, one after the event loop's pending work, or a sleep of so many ms. */
export type NextRound = 'now' | 'after_io' | number;

export class WorkLoop {
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;

  constructor(private readonly round: () => Promise<NextRound>) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Whether a wake-up came since the current round began. */
  get woken(): boolean {
    return this.wakeRequested;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop();
  }

  /** Ends the sleep now, or skips the next one if a round is running. */
  wake(): void {
    this.wakeRequested = true;
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Stops after the current round (a sleep ends at once); resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.wakeRequested = false;
      const next = await this.round();
      if (!this.running) break;
      if (next === 'now') continue;
      if (next === 'after_io') await new Promise<void>((resolve) => setImmediate(resolve));
      else await this.sleep(next);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || !this.running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * Logs a store failure by code and message only (a database error's other fields can quote row
 * values, personal data among them); the database being unavailable, which fails every round, is
 * logged at most once a minute with the count of the lines left out.
 */
export class StoreErrorLog {
  private readonly unavailable: LogThrottle;

  constructor(
    private readonly logger: Logger,
    clock: Clock,
  ) {
    this.unavailable = new LogThrottle(clock, 60_000);
  }

  report(error: unknown, message: string, fields: Record<string, unknown> = {}): void {
    const summary = { code: errorCode(error), message: toError(error).message };
    if (isDatabaseUnavailable(error)) {
      this.unavailable.report((suppressed) => this.logger.error({ ...fields, error: summary, suppressed }, `${message} (the database is unavailable)`));
      return;
    }
    this.logger.error({ ...fields, error: summary }, message);
  }
}
