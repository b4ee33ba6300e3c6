/**
 * The dispatcher: claim -> send -> classify -> record, in a loop. It claims due deliveries in
 * batches under a lease, runs up to `concurrency` attempts at once (at most each endpoint's
 * adaptive window, 1 to `endpointConcurrency`, so a slow endpoint cannot hold up the others), and records finished attempts in
 * batches. No timer per delivery: one loop sleeps until woken by new work, a freed slot, or the
 * next due time.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorCode, isDatabaseUnavailable, toError } from '../errors.js';
import { initialWindow, nextWindow, signalOf, type WindowPolicy, type WindowState } from '../domain/concurrency-window.js';
import { afterScheduledAttempt, type RetryPolicy } from '../domain/retry-policy.js';
import { DEFAULT_FAILING_AFTER } from '../domain/endpoint-health.js';
import type { ClaimedDelivery, EndpointTransition, FinishedAttempt, RecordedAttempts, Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import { paceInterval, windowCapFor } from '../domain/pacing.js';
import type { Sender } from './sender.js';
import type { SigningKeys } from './signing-keys.js';
import { StoreErrorLog, WorkLoop, type NextRound } from './work-loop.js';

export interface DispatcherOptions {
  store: Store;
  sender: Sender;
  keys: SigningKeys;
  clock: Clock;
  retry: RetryPolicy;
  concurrency: number;
  /** The most attempts one endpoint may have in flight; each endpoint's adaptive window is at most this. */
  endpointConcurrency: number;
  /** How long a claim is held; must exceed the delivery timeout. */
  leaseMs: number;
  /** Rows claimed per query at most. */
  batchSize?: number;
  /** Longest sleep while idle, so work inserted by other processes is seen. */
  idlePollMs?: number;
  logger: Logger;
  metrics?: Metrics;
  /** Consecutive failed scheduled attempts that make an endpoint failing (REGHOOK_FAILING_AFTER). */
  failingAfter?: number;
  /**
   * Called with the health transitions each recorded batch made (became failing, recovered), after
   * their commit: each transition reaches exactly one recording process, once per streak. The hook
   * for operator notifications (endpoint.failing / endpoint.recovered).
   */
  onHealthTransitions?: (transitions: readonly EndpointTransition[]) => void;
  /**
   * Operator notifications are configured: recordAttempts stores the ones each batch owes, in its
   * transaction (operator-notifier.ts sends them).
   */
  operatorEvents?: boolean;
  /** Called after a committed batch stored operator notifications (wakes the notifier). */
  onOperatorEvents?: () => void;
}

/** Endpoints whose adaptive window a dispatcher remembers (a bounded map, oldest use forgotten first). */
const MAX_WINDOWS = 10_000;

export class Dispatcher {
  private readonly o: Required<Omit<DispatcherOptions, 'metrics' | 'onHealthTransitions' | 'onOperatorEvents'>> &
    Pick<DispatcherOptions, 'metrics' | 'onHealthTransitions' | 'onOperatorEvents'>;
  /**
   * Attempts this process holds: claimed and not yet recorded, at most REGHOOK_CONCURRENCY. An
   * attempt keeps this slot until its outcome is committed, not only until the receiver answered:
   * a store that records slowly slows claiming down instead of piling up attempts made but not
   * written (which a crash would repeat, and which could outlive their lease). Its endpoint's
   * window counts only the requests open at the endpoint (inFlightByApp).
   */
  private inFlight = 0;
  private readonly inFlightByApp = new Map<number, number>();
  /**
   * Each endpoint's adaptive window (domain/concurrency-window.ts), most recently used last. At
   * most MAX_WINDOWS are remembered; a forgotten endpoint starts again from the initial window.
   */
  private readonly windows = new Map<number, WindowState>();
  private readonly windowPolicy: WindowPolicy;
  /** Each capped endpoint's rateLimitPerSecond, as its latest claimed delivery said (a bounded map). */
  private readonly rates = new Map<number, number>();
  /**
   * Per capped endpoint, when its latest delivery was (or, while it waits for its slot, will have
   * been) sent: a bounded map, most recently used last.
   */
  private readonly sendTurns = new Map<number, Promise<number>>();
  /** Finished attempts waiting to be recorded (each still holds its inFlight slot). */
  private readonly finished: FinishedAttempt[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private readonly loop = new WorkLoop(() => this.round());
  private wakeScheduled = false;
  private readonly idle = new Set<() => void>();
  /** A database that cannot be reached or written fails every claim: one line a minute, not one a second. */
  private readonly storeErrors: StoreErrorLog;

  constructor(options: DispatcherOptions) {
    this.o = { batchSize: 100, idlePollMs: 1_000, failingAfter: DEFAULT_FAILING_AFTER, operatorEvents: false, ...options };
    // Prompt: well inside the deadline (a tenth of the lease is a fifth of the timeout), at most 1 s.
    this.windowPolicy = { max: options.endpointConcurrency, promptMs: Math.min(1_000, Math.max(50, Math.floor(options.leaseMs / 10))) };
    this.storeErrors = new StoreErrorLog(options.logger, options.clock);
  }

  start(): void {
    this.loop.start();
  }

  /** Tells the loop that new work may be due now (an event was created, an endpoint enabled). */
  wake(): void {
    // Coalesced: every wake-up of one event-loop turn (a burst of finished attempts, a burst of
    // ingested events) leads to one claim, not one claim each.
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.loop.wake();
    });
  }

  /** Stops claiming, lets attempts in flight finish (each is bounded by the delivery timeout), records them. */
  async stop(): Promise<void> {
    if (!this.loop.isRunning) return;
    await this.loop.stop();
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    await this.flush();
  }

  get attemptsInFlight(): number {
    return this.inFlight;
  }

  /** One claim of as many due deliveries as there are free slots; then again at once, or a sleep until the next is due. */
  private async round(): Promise<NextRound> {
    const free = this.o.concurrency - this.inFlight;
    if (free <= 0) return this.msUntilNextDue();
    const limit = Math.min(free, this.o.batchSize);
    let claimed: ClaimedDelivery[];
    try {
      claimed = await this.o.store.claimDue({
        now: this.o.clock.now(),
        limit,
        leaseMs: this.o.leaseMs,
        maxAttempts: this.o.retry.maxAttempts,
        // A project this process knows nothing of yet starts at the initial window.
        perEndpointLimit: initialWindow(this.windowPolicy).window,
        windows: this.currentWindows(),
        inFlight: Object.fromEntries(this.inFlightByApp),
        excludeAppIds: this.saturatedApps(),
      });
    } catch (error) {
      this.storeErrors.report(error, 'claiming due deliveries failed; retrying');
      return this.o.idlePollMs;
    }
    for (const delivery of claimed) this.launch(delivery);
    // A full batch means more may be due right now: claim again once pending I/O has run.
    if (claimed.length === limit) return 'after_io';
    // New work or a freed slot since the claim: claim again without asking when the next is due
    // (under load that read would be one more store call, a round trip on PostgreSQL, per claim).
    if (this.loop.woken) return 'now';
    return this.msUntilNextDue();
  }

  private saturatedApps(): number[] {
    const apps: number[] = [];
    for (const [appId, count] of this.inFlightByApp) if (count >= this.limitOf(appId)) apps.push(appId);
    return apps;
  }

  private windowOf(appId: number): WindowState {
    return this.windows.get(appId) ?? initialWindow(this.windowPolicy);
  }

  /** The attempts `appId` may have in flight now: its adaptive window, capped by its rate limit. */
  private limitOf(appId: number): number {
    return Math.min(this.windowOf(appId).window, windowCapFor(this.rates.get(appId) ?? null));
  }

  private currentWindows(): Record<number, number> {
    const apps = new Set([...this.windows.keys(), ...this.rates.keys()]);
    return Object.fromEntries([...apps].map((appId) => [appId, this.limitOf(appId)]));
  }

  private learnRate(appId: number, perSecond: number | null): void {
    this.rates.delete(appId);
    if (perSecond === null) return;
    this.rates.set(appId, perSecond);
    if (this.rates.size > MAX_WINDOWS) this.rates.delete(this.rates.keys().next().value!);
  }

  /** What a finished scheduled attempt says about its endpoint's capacity. */
  private adapt(appId: number, outcome: FinishedAttempt['outcome']): void {
    const next = nextWindow(this.windowOf(appId), signalOf(outcome, this.windowPolicy), this.windowPolicy);
    this.windows.delete(appId);
    this.windows.set(appId, next);
    if (this.windows.size > MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
  }

  private async msUntilNextDue(): Promise<number> {
    if (this.inFlight >= this.o.concurrency) return this.o.idlePollMs;
    try {
      const next = await this.o.store.nextDueAt();
      if (next === null) return this.o.idlePollMs;
      const wait = next - this.o.clock.now();
      // Due now, yet the claim just before left it: it belongs to an endpoint at its in-flight
      // limit. Sleep until an attempt finishes (that wakes the loop) instead of spinning.
      if (wait <= 0) return this.o.idlePollMs;
      return Math.min(this.o.idlePollMs, wait);
    } catch {
      return this.o.idlePollMs;
    }
  }

  private launch(delivery: ClaimedDelivery): void {
    this.inFlight++;
    if (delivery.reclaimed) this.o.metrics?.leaseExpirations.inc();
    this.learnRate(delivery.appId, delivery.rateLimitPerSecond);
    this.o.metrics?.endpointWindow.observe(this.limitOf(delivery.appId));
    this.inFlightByApp.set(delivery.appId, (this.inFlightByApp.get(delivery.appId) ?? 0) + 1);
    void this.attempt(delivery)
      .then(
        (finished) => {
          this.finished.push(finished);
          this.scheduleFlush();
        },
        () => this.release(1),
      )
      .finally(() => {
        const left = (this.inFlightByApp.get(delivery.appId) ?? 1) - 1;
        if (left === 0) this.inFlightByApp.delete(delivery.appId);
        else this.inFlightByApp.set(delivery.appId, left);
        this.wake();
      });
  }

  /** Frees the slots of attempts that are recorded (or that recording gave up on: their leases run out). */
  private release(count: number): void {
    this.inFlight -= count;
    if (this.inFlight === 0) {
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
    this.wake();
  }

  private async attempt(delivery: ClaimedDelivery): Promise<FinishedAttempt> {
    if (delivery.sendAt !== null) await this.sendTurn(delivery, delivery.sendAt);
    const now = this.o.clock.now();
    let finished: FinishedAttempt;
    try {
      const outcome = await this.o.sender.send({
        appId: delivery.appId,
        url: delivery.url,
        webhookId: delivery.eventId,
        body: delivery.body,
        keys: this.o.keys.keysFor(delivery, now),
        headers: this.o.keys.headersFor(delivery.headersSealed),
        now,
      });
      finished = {
        attemptId: delivery.attemptId,
        eventId: delivery.eventId,
        outcome,
        next: afterScheduledAttempt(this.o.retry, delivery.scheduledAttempts, outcome.success, this.o.clock.now()),
      };
    } catch (error) {
      // Sending never throws; opening a secret can (wrong key). Record it as a failed attempt.
      this.o.logger.error({ err: toError(error), eventId: delivery.eventId }, 'attempt could not be made');
      finished = {
        attemptId: delivery.attemptId,
        eventId: delivery.eventId,
        outcome: { success: false, statusCode: null, errorKind: 'internal_error', durationMs: 0, responseBody: null },
        next: afterScheduledAttempt(this.o.retry, delivery.scheduledAttempts, false, this.o.clock.now()),
      };
    }
    this.adapt(delivery.appId, finished.outcome);
    const m = this.o.metrics;
    if (m) {
      const { outcome } = finished;
      m.attempt('scheduled', outcome.success, outcome.statusCode, outcome.errorKind);
      if (outcome.success) m.deliveryLatency.observe(Math.max(0, this.o.clock.now() - delivery.createdAt) / 1000);
    }
    return finished;
  }

  /**
   * A capped endpoint's delivery waits for the send slot its claim reserved (one pace shared by
   * every process, domain/pacing.ts), and in this process also for one interval after the
   * endpoint's previous send actually went: a delivery whose slot passed while it waited (a busy
   * event loop, a late timer) goes one interval after the one before it, not in a burst with it.
   * Deliveries queue in claim order, which is their slots' order.
   */
  private async sendTurn(delivery: ClaimedDelivery, sendAt: number): Promise<void> {
    if (delivery.rateLimitPerSecond === null) return;
    const interval = paceInterval(delivery.rateLimitPerSecond);
    const previous = this.sendTurns.get(delivery.appId);
    let sent!: (at: number) => void;
    this.sendTurns.delete(delivery.appId);
    this.sendTurns.set(delivery.appId, new Promise<number>((resolve) => (sent = resolve)));
    if (this.sendTurns.size > MAX_WINDOWS) this.sendTurns.delete(this.sendTurns.keys().next().value!);
    const previousAt = previous === undefined ? Number.NEGATIVE_INFINITY : await previous;
    const wait = Math.ceil(Math.max(sendAt, previousAt + interval) - this.o.clock.now());
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent(this.o.clock.now());
  }

  /** Attempts that finish in the same turn of the event loop are recorded in one transaction. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.finished.length > 0) {
        const batch = this.finished.splice(0, 500);
        try {
          this.recorded(await this.o.store.recordAttempts(batch, this.o.clock.now(), this.o.failingAfter, this.o.operatorEvents));
        } catch (error) {
          if (isDatabaseUnavailable(error)) {
            // Not this batch's fault: its attempts stay leased and are attempted again when the lease ends.
            this.storeErrors.report(error, 'recording attempts failed', { count: batch.length });
          } else {
            this.o.logger.warn({ error: { code: errorCode(error), message: toError(error).message }, count: batch.length }, 'recording a batch of attempts failed; recording each alone');
            await this.recordEachAlone(batch);
          }
        }
        // Their slots are free; a recorded retry may be due sooner than the loop planned to sleep.
        this.release(batch.length);
      }
    });
    return this.flushing;
  }

  /** What a committed batch changed: events that used their last attempt, endpoints that became failing or recovered. */
  private recorded(result: RecordedAttempts): void {
    if (result.eventsFailed > 0) this.o.metrics?.eventsFailed.inc(result.eventsFailed);
    if (result.operatorEvents > 0) this.o.onOperatorEvents?.();
    if (result.transitions.length === 0) return;
    for (const t of result.transitions) {
      const fields = { appId: t.appId, consecutiveFailures: t.health.consecutiveFailures, failingSince: t.health.failingSince };
      if (t.transition === 'failing') this.o.logger.warn(fields, 'endpoint is failing');
      else this.o.logger.info({ appId: t.appId, recoveredAt: t.health.lastSuccessAt }, 'endpoint recovered');
    }
    try {
      this.o.onHealthTransitions?.(result.transitions);
    } catch (error) {
      this.o.logger.error({ error: { message: toError(error).message } }, 'a health transition listener threw');
    }
  }

  /**
   * One attempt's record must never cost the others theirs (whatever one receiver answered): after
   * a batch fails, each attempt is recorded on its own, and one that still fails is recorded once
   * more without its response body. What cannot be recorded at all stays leased: its lease runs
   * out and it is attempted again.
   */
  private async recordEachAlone(batch: readonly FinishedAttempt[]): Promise<void> {
    for (const finished of batch) {
      try {
        this.recorded(await this.o.store.recordAttempts([finished], this.o.clock.now(), this.o.failingAfter, this.o.operatorEvents));
      } catch {
        try {
          this.recorded(await this.o.store.recordAttempts([{ ...finished, outcome: { ...finished.outcome, responseBody: null } }], this.o.clock.now(), this.o.failingAfter, this.o.operatorEvents));
        } catch (error) {
          this.storeErrors.report(error, 'recording an attempt failed', { eventId: finished.eventId });
        }
      }
    }
  }
}
