/**
 * Peer: "Fastify + pg-boss and our own sender". The ingest of common.ts sends one pg-boss job per
 * registration (`boss.send`: its own INSERT, committed before the 202) into a queue created with
 * `notify: true` on an instance started with `useListenNotify: true`, so workers are woken by
 * NOTIFY rather than by the poll. One worker fetches batches of up to 64 (`work(…, { batchSize: 64 })`)
 * and POSTs them all at once with undici; each job is settled on its own (`perJobResults`): a
 * non-200 fails it, and pg-boss retries it (10 retries, exponential backoff from 1 s).
 *
 * PostgreSQL is the test server (PEER_DATABASE_URL) with its commits synchronous (the server's
 * default), in a fresh schema (PEER_PGBOSS_SCHEMA) the bench drops afterwards.
 */
import { PgBoss } from 'pg-boss';
import { type Delivery, ingestApp, main, peerConfig, serve, webhookSender } from './common.js';

export const PGBOSS_BATCH = 64;
const QUEUE = 'webhooks';

main(async () => {
  const config = peerConfig();
  const boss = new PgBoss({
    connectionString: process.env.PEER_DATABASE_URL,
    schema: process.env.PEER_PGBOSS_SCHEMA,
    useListenNotify: true,
    schedule: false,
  });
  boss.on('error', (error: Error) => process.stderr.write(`pg-boss error: ${error.message}\n`));
  boss.on('warning', (warning: unknown) => process.stderr.write(`pg-boss warning: ${JSON.stringify(warning)}\n`));
  await boss.start();
  await boss.createQueue(QUEUE, { notify: true, retryLimit: 10, retryDelay: 1, retryBackoff: true });
  const sender = webhookSender(config);
  await boss.work<Delivery>(QUEUE, { batchSize: PGBOSS_BATCH, perJobResults: true, burstWhenBatchFull: true }, async (jobs) =>
    Promise.all(
      jobs.map(async (job) => {
        const status = await sender.send(job.data);
        return { id: job.id, status: sender.ok(status) ? ('completed' as const) : ('failed' as const), output: { status } };
      }),
    ),
  );
  const app = ingestApp(config, async (delivery) => {
    await boss.send(QUEUE, delivery);
  });
  await serve(app, async () => {
    await boss.stop({ graceful: true, timeout: 10_000 });
    await sender.close();
  });
});
