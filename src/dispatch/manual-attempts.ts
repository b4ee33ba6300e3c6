/**
 * Attempts a person asks for: "Send Test Webhook" (a sample event, answered synchronously, never
 * retried; this process's development streams of the project get it too) and "Redeliver" (one
 * immediate attempt of a stored event, recorded as `manual`).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { toError } from '../errors.js';
import { newEventId, sampleEvent } from '../domain/index.js';
import type { AttemptOutcome, Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DevStreams } from './dev-streams.js';
import type { Sender } from './sender.js';
import type { SigningKeys } from './signing-keys.js';

/** `started`: the attempt runs; `outcome` settles with its result (null if it could not be made). */
export type RedeliverResult =
  | { kind: 'started'; outcome: Promise<AttemptOutcome | null> }
  | { kind: 'not_found' | 'no_endpoint' | 'endpoint_disabled' | 'in_flight' };

export class ManualAttempts {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly sender: Sender,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    /** The development streams of this process, which get every test webhook too. */
    private readonly streams?: Pick<DevStreams, 'publish'>,
  ) {}

  /** Sends a sample event to the project's endpoint now; null when no endpoint is set. */
  async sendTest(appId: number): Promise<AttemptOutcome | null> {
    const endpoint = await this.store.getEndpoint(appId);
    if (!endpoint) return null;
    const now = this.clock.now();
    const webhookId = newEventId(now);
    const body = JSON.stringify(sampleEvent(appId, now));
    // At once, not after the endpoint answers (which can take the whole delivery timeout).
    this.streams?.publish(appId, endpoint, webhookId, body);
    const outcome = await this.sender.send({
      appId,
      url: endpoint.url,
      webhookId,
      body,
      keys: this.keys.keysFor(endpoint, now),
      headers: this.keys.headersFor(endpoint.headersSealed),
      now,
    });
    await this.store.recordTestAttempt(appId, webhookId, now, outcome);
    this.metrics?.attempt('test', outcome.success, outcome.statusCode, outcome.errorKind);
    return outcome;
  }

  /** Opens a manual attempt and makes it in the background (the API answers 202 at once). */
  async redeliver(appId: number, eventId: string): Promise<RedeliverResult> {
    const endpoint = await this.store.getEndpoint(appId);
    if (!endpoint) return { kind: (await this.store.getEvent(appId, eventId)) ? 'no_endpoint' : 'not_found' };
    if (!endpoint.enabled) return { kind: (await this.store.getEvent(appId, eventId)) ? 'endpoint_disabled' : 'not_found' };
    const now = this.clock.now();
    const attempt = await this.store.openManualAttempt(appId, eventId, now);
    if (!attempt) return { kind: 'not_found' };
    if (attempt === 'in_flight') return { kind: 'in_flight' };
    const run = (async (): Promise<AttemptOutcome | null> => {
      try {
        const outcome = await this.sender.send({
          appId,
          url: attempt.url,
          webhookId: eventId,
          body: attempt.body,
          keys: this.keys.keysFor(attempt, now),
          headers: this.keys.headersFor(attempt.headersSealed),
          now,
        });
        await this.store.recordAttempts([{ attemptId: attempt.attemptId, eventId, outcome, next: null }], this.clock.now());
        this.metrics?.attempt('manual', outcome.success, outcome.statusCode, outcome.errorKind);
        return outcome;
      } catch (error) {
        this.logger.error({ error: { message: toError(error).message }, eventId }, 'manual attempt failed to run');
        return null;
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return { kind: 'started', outcome: run };
  }

  /** Waits for manual attempts still in flight (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
