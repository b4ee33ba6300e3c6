/**
 * Wires one reghook process together from a ResolvedConfig: the store, the secret key, the admin
 * token, the API (serve) and the dispatcher (serve with REGHOOK_DISPATCH=true, or worker).
 */
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { buildApp, type App } from './api/app.js';
import type { StreamSettings } from './api/routes/stream.js';
import { Authenticator } from './auth/authenticator.js';
import { FixedWindowLimiter } from './auth/rate-limit.js';
import { systemClock, type Clock } from './clock.js';
import type { ResolvedConfig } from './config.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { DevStreams, type DevStreamOptions } from './dispatch/dev-streams.js';
import { ManualAttempts } from './dispatch/manual-attempts.js';
import { OperatorNotifier } from './dispatch/operator-notifier.js';
import { createSender } from './dispatch/sender.js';
import { SigningKeys } from './dispatch/signing-keys.js';
import { dashboardRoutes } from './dashboard/dashboard.js';
import { RetentionSweeper } from './maintenance/retention.js';
import { Metrics } from './metrics/metrics.js';
import { createLogger } from './logger.js';
import type { OperationDeps } from './operations/deps.js';
import { AdminTokenHash, ensureAdminToken } from './operations/admin-token.js';
import { checkSecretKey } from './operations/secret-key.js';
import { loadOrCreateSecretKeys } from './secrets/key-file.js';
import { createSecretBox } from './secrets/secret-box.js';
import { loadSubscriberIndex } from './secrets/subscriber-index.js';
import { openStore, startupError } from './store/open-store.js';
import { secretKey as webhookSecretKey } from '@reghook/receiver/signing';
import type { Store } from './store/store.js';

export interface ServiceOptions {
  mode: 'serve' | 'worker';
  clock?: Clock;
  logger?: Logger;
  /** Where one-time lines for the operator go (the generated admin token, the URL). */
  print?: (line: string) => void;
  /**
   * Ends the start (SIGTERM while starting): waiting for the database stops at once, whatever was
   * started is closed, and startService rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** The development stream's heartbeat, slow-listener bounds and reads (tests shorten them). */
  stream?: StreamSettings & DevStreamOptions;
  /** How often the operator notifier looks for due notifications while idle (default 1 s; tests shorten it). */
  operatorPollMs?: number;
}

export interface Service {
  store: Store;
  app: App | null;
  dispatcher: Dispatcher | null;
  /** The development streams this process serves. */
  streams: DevStreams;
  /** The URL the API listens on (serve mode). */
  url: string | null;
  /** Runs the retention sweep now (it also runs periodically where the dispatcher runs). */
  sweepRetention(): Promise<{ payloads: number; awaiting: number; portalLinks: number }>;
  stop(): Promise<void>;
}

/** Failed authentications per minute from one client address before it gets 429 (API and dashboard sign-in). */
const AUTH_FAILURES_PER_MINUTE = 30;

export async function startService(config: ResolvedConfig, options: ServiceOptions): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const { signal } = options;

  const store = await openStore(config.database, {
    logger: logger.child({ component: 'store' }),
    thread: config.sqliteThread,
    ...(signal ? { signal } : {}),
  });
  let app: App | null = null;
  try {
    signal?.throwIfAborted();
    // secret.key goes there: a folder reghook creates is for its own user only.
    if (config.secretKey === undefined) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const { keys: secretKeys } = loadOrCreateSecretKeys(config.secretKey, config.dataDir);
    const box = createSecretBox(secretKeys);
    // The first queries: a database failure here is one line too, like one at open.
    const atStart = <T>(work: Promise<T>) => work.catch((error: unknown) => Promise.reject(startupError(config.database, error)));
    await atStart(checkSecretKey(store, box));
    await atStart(ensureAdminToken(store, config.adminToken, print));
    const subscriberIndex = await atStart(loadSubscriberIndex(store, box));
    const adminToken = new AdminTokenHash(store, clock, config.adminToken);
    signal?.throwIfAborted();

    const sender = createSender({
      timeoutMs: config.deliveryTimeoutMs,
      networkPolicy: config.networkPolicy,
    });
    const keys = new SigningKeys(box);
    const metrics = new Metrics(store, clock);
    const runDispatcher = options.mode === 'worker' || config.dispatch;
    const retry = { intervalsMs: config.retryIntervalsMs, maxAttempts: config.maxAttempts };
    const leaseMs = config.deliveryTimeoutMs * 2 + 5_000;
    // Operator notifications are sent where the dispatcher runs (the process that records attempts stores them).
    const notifier =
      runDispatcher && config.operatorWebhook
        ? new OperatorNotifier({
            store,
            sender,
            clock,
            retry,
            url: config.operatorWebhook.url,
            key: webhookSecretKey(config.operatorWebhook.secret),
            leaseMs,
            logger: logger.child({ component: 'operator-notifier' }),
            ...(options.operatorPollMs !== undefined ? { pollMs: options.operatorPollMs } : {}),
          })
        : null;
    const dispatcher = runDispatcher
      ? new Dispatcher({
          store,
          sender,
          keys,
          clock,
          retry,
          concurrency: config.concurrency,
          endpointConcurrency: config.endpointConcurrency,
          leaseMs,
          logger: logger.child({ component: 'dispatcher' }),
          metrics,
          failingAfter: config.failingAfter,
          operatorEvents: notifier !== null,
          ...(notifier ? { onOperatorEvents: () => notifier.wake() } : {}),
        })
      : null;
    const streams = new DevStreams(store, keys, clock, logger.child({ component: 'stream' }), options.stream);
    const manual = new ManualAttempts(store, sender, keys, clock, logger.child({ component: 'manual' }), metrics, streams);

    let url: string | null = null;
    if (options.mode === 'serve') {
      // One set of use cases (operations/) behind both interfaces; one failed-authentication budget.
      const operations: OperationDeps = {
        store,
        clock,
        secretBox: box,
        subscriberIndex,
        networkPolicy: config.networkPolicy,
        manual,
        streams,
      };
      const authenticator = new Authenticator(store, adminToken, new FixedWindowLimiter(clock, AUTH_FAILURES_PER_MINUTE, 60_000));
      app = await buildApp({
        ...operations,
        logger,
        metrics,
        authenticator,
        keyRateLimitPerMinute: config.keyRateLimitPerMinute,
        trustProxy: config.trustProxy,
        ...(options.stream ? { stream: options.stream } : {}),
        publicUrl: () => config.publicUrl ?? url ?? '',
      });
      await app.register(dashboardRoutes, {
        ...operations,
        authenticator,
        adminToken,
        sessionKey: createHmac('sha256', secretKeys[0]!).update('reghook dashboard sessions').digest(),
        frameAncestors: config.dashboardFrameAncestors,
        publicOrigin: config.publicUrl,
      });
      await app.listen({ host: config.host, port: config.port });
      signal?.throwIfAborted();
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
      print(`reghook: listening on ${url} (dashboard ${url}/, API docs ${url}/docs)`);
    }
    const sweeper = new RetentionSweeper(store, clock, config.retentionMs, config.awaitingRetentionMs, logger.child({ component: 'retention' }), subscriberIndex);
    // The store says when work may be due (its own writes; on PostgreSQL also other processes').
    if (dispatcher) store.onWorkAvailable(() => dispatcher.wake());
    dispatcher?.start();
    notifier?.start();
    if (dispatcher) sweeper.start();
    logger.info({ mode: options.mode, dispatch: dispatcher !== null, store: store.kind }, 'reghook started');

    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        logger.info('draining');
        // Development streams end at once (app.close ends them too, before it waits for connections).
        streams.close();
        await app?.close();
        await dispatcher?.stop();
        await notifier?.stop();
        await sweeper.stop();
        await manual.drain();
        await sender.close();
        await store.close();
        logger.info('stopped');
        logger.flush?.();
      })();
      return stopping;
    };
    return { store, app, dispatcher, streams, url, stop, sweepRetention: () => sweeper.sweep() };
  } catch (error) {
    // Nothing was claimed or sent yet: closing the listener and the store is the whole cleanup.
    await app?.close();
    await store.close();
    throw error;
  }
}
