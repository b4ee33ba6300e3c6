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
import { afterScheduledAttempt, type RetryPolicy } from '../domain/retry-policy.js';
import type { ClaimedOperatorEvent, OperatorAttemptResult, Store } from '../store/store.js';
import type { Sender } from './sender.js';
import { StoreErrorLog, WorkLoop, type NextRound } from './work-loop.js';

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
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly storeErrors: StoreErrorLog;
  private readonly loop = new WorkLoop(() => this.round());

  constructor(private readonly o: OperatorNotifierOptions) {
    this.pollMs = o.pollMs ?? 1_000;
    this.batchSize = o.batchSize ?? 20;
    this.storeErrors = new StoreErrorLog(o.logger, o.clock);
  }

  start(): void {
    this.loop.start();
  }

  /** New notifications may be due now (this process recorded some). */
  wake(): void {
    this.loop.wake();
  }

  /** Stops claiming; sends in flight finish (bounded by the delivery timeout) and are recorded. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One batch: claim, send each at once, record them; again at once while batches come full. */
  private async round(): Promise<NextRound> {
    try {
      const claimed = await this.o.store.claimOperatorEvents({
        now: this.o.clock.now(),
        limit: this.batchSize,
        leaseMs: this.o.leaseMs,
        maxAttempts: this.o.retry.maxAttempts,
      });
      const results = await Promise.all(claimed.map((c) => this.send(c)));
      await this.o.store.recordOperatorAttempts(results, this.o.clock.now());
      return claimed.length === this.batchSize ? 'now' : this.pollMs;
    } catch (error) {
      // Whatever was claimed stays leased and is sent again when its lease ends.
      this.storeErrors.report(error, 'operator notifications: claiming or recording failed; retrying');
      return this.pollMs;
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
}
