/**
 * Attempts a person asks for: "Send Test Webhook" (a sample event, answered synchronously, never
 * retried) and "Redeliver" (one immediate attempt of a stored event, recorded as `manual`).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { newEventId, sampleEvent } from '../domain/index.js';
import type { AttemptOutcome, Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Sender } from './sender.js';
import type { SigningKeys } from './signing-keys.js';

export type RedeliverResult = 'started' | 'not_found' | 'no_endpoint' | 'endpoint_disabled' | 'in_flight';

export class ManualAttempts {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly sender: Sender,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** Sends a sample event to the project's endpoint now; null when no endpoint is set. */
  async sendTest(appId: number): Promise<AttemptOutcome | null> {
    const endpoint = await this.store.getEndpoint(appId);
    if (!endpoint) return null;
    const now = this.clock.now();
    const webhookId = newEventId(now);
    const outcome = await this.sender.send({
      appId,
      url: endpoint.url,
      webhookId,
      body: JSON.stringify(sampleEvent(appId, now)),
      keys: this.keys.keysFor(endpoint, now),
      now,
    });
    await this.store.recordTestAttempt(appId, webhookId, now, outcome);
    this.metrics?.attempt('test', outcome.success, outcome.statusCode, outcome.errorKind);
    return outcome;
  }

  /** Opens a manual attempt and makes it in the background (the API answers 202 at once). */
  async redeliver(appId: number, eventId: string): Promise<RedeliverResult> {
    const endpoint = await this.store.getEndpoint(appId);
    if (!endpoint) return (await this.store.getEvent(appId, eventId)) ? 'no_endpoint' : 'not_found';
    if (!endpoint.enabled) return (await this.store.getEvent(appId, eventId)) ? 'endpoint_disabled' : 'not_found';
    const now = this.clock.now();
    const attempt = await this.store.openManualAttempt(appId, eventId, now);
    if (!attempt) return 'not_found';
    if (attempt === 'in_flight') return 'in_flight';
    const run = (async () => {
      try {
        const outcome = await this.sender.send({
          appId,
          url: attempt.url,
          webhookId: eventId,
          body: attempt.body,
          keys: this.keys.keysFor(attempt, now),
          now,
        });
        await this.store.recordAttempts([{ attemptId: attempt.attemptId, eventId, outcome, next: null }], this.clock.now());
        this.metrics?.attempt('manual', outcome.success, outcome.statusCode, outcome.errorKind);
      } catch (error) {
        this.logger.error({ err: toError(error), eventId }, 'manual attempt failed to run');
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return 'started';
  }

  /** Waits for manual attempts still in flight (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
