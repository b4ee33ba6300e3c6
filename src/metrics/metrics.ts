/**
 * Prometheus metrics (prom-client), one registry per service. Labels are bounded sets only: no
 * appId, no personal data, no URLs.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../clock.js';
import { ATTEMPT_ERROR_KINDS, type AttemptErrorKind } from '../domain/attempt-error.js';
import type { Store } from '../store/store.js';

/** The outcomes counted: a success, an answer other than 200, or an attempt error kind. */
const ATTEMPT_OUTCOMES = new Set<string>(['success', 'http_error', ...ATTEMPT_ERROR_KINDS]);

export class Metrics {
  readonly registry = new Registry();
  readonly ingest: Counter<'route' | 'outcome'>;
  readonly attempts: Counter<'trigger' | 'outcome'>;
  readonly deliveryLatency: Histogram;
  readonly leaseExpirations: Counter;
  readonly endpointWindow: Histogram;
  readonly eventsFailed: Counter;

  constructor(store: Store, clock: Clock) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'reghook_', eventLoopMonitoringPrecision: 20 });
    this.ingest = new Counter({
      name: 'reghook_ingest_total',
      help: 'Reported registrations and purchases, by route and outcome',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    });
    this.attempts = new Counter({
      name: 'reghook_attempts_total',
      help: 'Delivery attempts, by trigger and outcome (success, http_error or the error kind)',
      labelNames: ['trigger', 'outcome'],
      registers: [registry],
    });
    this.deliveryLatency = new Histogram({
      name: 'reghook_delivery_latency_seconds',
      help: 'From event creation to its successful delivery',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600, 36000],
      registers: [registry],
    });
    // One histogram, not a gauge per endpoint: no label set that grows with the projects.
    this.endpointWindow = new Histogram({
      name: 'reghook_endpoint_window',
      help: "The adaptive per-endpoint concurrency window each scheduled attempt was started under (1 to REGHOOK_ENDPOINT_CONCURRENCY): low values are endpoints that time out, refuse or answer 429/5xx",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    });
    this.leaseExpirations = new Counter({
      name: 'reghook_lease_expirations_total',
      help: 'Deliveries claimed again after a lease ran out (the process holding it died or stalled)',
      registers: [registry],
    });
    this.eventsFailed = new Counter({
      name: 'reghook_events_failed_total',
      help: 'Events that used their last attempt and failed (counted by the process that recorded it)',
      registers: [registry],
    });
    // Queue depth is read from the store at scrape time, so every process reports the shared queue.
    let stats: Promise<Awaited<ReturnType<Store['queueStats']>>> | null = null;
    const current = () => (stats ??= store.queueStats(clock.now()).finally(() => setImmediate(() => (stats = null))));
    new Gauge({
      name: 'reghook_queue_due',
      help: 'Pending deliveries due now (of enabled endpoints, not in flight)',
      registers: [registry],
      async collect() {
        this.set((await current()).due);
      },
    });
    new Gauge({
      name: 'reghook_queue_scheduled',
      help: 'Pending deliveries not due yet, or in flight',
      registers: [registry],
      async collect() {
        this.set((await current()).scheduled);
      },
    });
    new Gauge({
      name: 'reghook_queue_oldest_due_age_seconds',
      help: 'How long the oldest due delivery has been waiting',
      registers: [registry],
      async collect() {
        const oldest = (await current()).oldestDueAt;
        this.set(oldest === null ? 0 : Math.max(0, (clock.now() - oldest) / 1000));
      },
    });
    new Gauge({
      name: 'reghook_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest pending event since its creation, retries not due yet included (0 when none)',
      registers: [registry],
      async collect() {
        const oldest = (await current()).oldestPendingCreatedAt;
        this.set(oldest === null ? 0 : Math.max(0, (clock.now() - oldest) / 1000));
      },
    });
    new Gauge({
      name: 'reghook_endpoints_failing',
      help: 'Enabled endpoints whose health is failing (REGHOOK_FAILING_AFTER consecutive failed scheduled attempts)',
      registers: [registry],
      async collect() {
        this.set((await current()).failingEndpoints);
      },
    });
  }

  /** Counts one finished attempt. */
  attempt(trigger: string, success: boolean, statusCode: number | null, errorKind: AttemptErrorKind | null): void {
    const outcome = success ? 'success' : statusCode !== null && errorKind === null ? 'http_error' : (errorKind ?? 'other');
    this.attempts.inc({ trigger, outcome: ATTEMPT_OUTCOMES.has(outcome) ? outcome : 'other' });
  }
}
