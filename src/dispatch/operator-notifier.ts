/**
 * Operator notifications (SPEC section 5): sends the stored ones (operator_events, written by
 * recordAttempts in the transaction of the attempt that caused them) to REGHOOK_OPERATOR_WEBHOOK_URL,
 * Standard Webhooks signed with REGHOOK_OPERATOR_WEBHOOK_SECRET, on the registrations' retry
 * schedule and attempt limit. Claimed under a lease (a process that dies mid-send leaves the row
 * due again when the lease ends), recorded fenced by it. Its attempts are not the projects': they
 * move no health, no stats, no metrics and no delivery log, so they never cause a notification.
 * Runs wherever the dispatcher runs; polls at `pollMs`, and is woken by this process's own records.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorCode, isDatabaseUnavailable, toError } from '../errors.js';
import { LogThrottle } from '../logger.js';
import { afterScheduledAttempt, type RetryPolicy } from '../domain/retry-policy.js';
import type { ClaimedOperatorEvent, OperatorAttemptResult, Store } from '../store/store.js';
import type { Sender } from './sender.js';

/** The sender keeps connections per project id; the operator's are their own (no project has 0). */
export const OPERATOR_CONNECTIONS = 0;

export interface OperatorNotifierOptions {
  store: Store;
  sender: Sender;
  clock: Clock;
  retry: RetryPolicy;
  url: string;
  /** The HMAC key of REGHOOK_OPERATOR_WEBHOOK_SECRET. */
  key: Buffer;
  /** How long a claim is held; must exceed the delivery timeout. */
  leaseMs: number;
  logger: Logger;
  /** Longest sleep while idle, so notifications stored by other processes (and retries) are seen. */
  pollMs?: number;
  /** Notifications claimed (and sent at once) per round at most. */
  batchSize?: number;
}

export class OperatorNotifier {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly databaseErrors: LogThrottle;

  constructor(private readonly o: OperatorNotifierOptions) {
    this.pollMs = o.pollMs ?? 1_000;
    this.batchSize = o.batchSize ?? 20;
    this.databaseErrors = new LogThrottle(o.clock, 60_000);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** New notifications may be due now (this process recorded some). */
  wake(): void {
    this.wakeRequested = true;
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Stops claiming; sends in flight finish (bounded by the delivery timeout) and are recorded. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.wakeRequested = false;
      let full = false;
      try {
        const claimed = await this.o.store.claimOperatorEvents({
          now: this.o.clock.now(),
          limit: this.batchSize,
          leaseMs: this.o.leaseMs,
          maxAttempts: this.o.retry.maxAttempts,
        });
        const results = await Promise.all(claimed.map((c) => this.send(c)));
        await this.o.store.recordOperatorAttempts(results, this.o.clock.now());
        full = claimed.length === this.batchSize;
      } catch (error) {
        // Whatever was claimed stays leased and is sent again when its lease ends.
        this.logStoreError(error);
      }
      if (full) continue;
      await this.sleep(this.pollMs);
    }
  }

  private async send(c: ClaimedOperatorEvent): Promise<OperatorAttemptResult> {
    const startedAt = this.o.clock.now();
    const outcome = await this.o.sender.send({ appId: OPERATOR_CONNECTIONS, url: this.o.url, webhookId: c.id, body: c.body, keys: [this.o.key], now: startedAt });
    const next = afterScheduledAttempt(this.o.retry, c.attemptCount, outcome.success, this.o.clock.now());
    const fields = { operatorEventId: c.id, attempt: c.attemptCount, statusCode: outcome.statusCode, error: outcome.errorKind };
    if (next.status === 'failed') this.o.logger.error(fields, 'operator notification failed after its last attempt');
    else if (next.status === 'pending') this.o.logger.warn(fields, 'operator notification attempt failed; retrying');
    return { id: c.id, leaseToken: c.leaseToken, startedAt, outcome, next };
  }

  private logStoreError(error: unknown): void {
    const summary = { code: errorCode(error), message: toError(error).message };
    if (isDatabaseUnavailable(error)) {
      this.databaseErrors.report((suppressed) => this.o.logger.error({ error: summary, suppressed }, 'operator notifications: the database is unavailable'));
      return;
    }
    this.o.logger.error({ error: summary }, 'operator notifications: claiming or recording failed; retrying');
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
