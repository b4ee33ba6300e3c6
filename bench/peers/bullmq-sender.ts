/**
 * Peer: "Fastify + BullMQ and our own sender". The ingest of common.ts enqueues one BullMQ job per
 * registration (jobId = the event id, removed once completed) and answers 202 once Redis has it; a
 * BullMQ Worker (concurrency 64) POSTs the signed body with undici, and a non-200 throws, so BullMQ
 * retries it (10 attempts, exponential backoff from 1 s).
 *
 * Redis is the bench's own `redis-server` (PEER_REDIS_PORT), started with appendonly yes and
 * appendfsync everysec: an acknowledged job is in the AOF's page cache, fsynced within a second,
 * so up to a second of accepted jobs can be lost at a power loss (SQLite FULL loses none).
 */
import { Queue, Worker } from 'bullmq';
import { type Delivery, ingestApp, main, peerConfig, serve, webhookSender } from './common.js';

export const BULLMQ_CONCURRENCY = 64;

main(async () => {
  const config = peerConfig();
  const connection = { host: '127.0.0.1', port: Number(process.env.PEER_REDIS_PORT), maxRetriesPerRequest: null };
  const queue = new Queue<Delivery>('webhooks', { connection });
  const sender = webhookSender(config);
  const worker = new Worker<Delivery>(
    'webhooks',
    async (job) => {
      const status = await sender.send(job.data);
      if (!sender.ok(status)) throw new Error(status === null ? 'no answer' : `HTTP ${status}`);
    },
    { connection, concurrency: BULLMQ_CONCURRENCY },
  );
  worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
  await worker.waitUntilReady();
  const app = ingestApp(config, async (delivery) => {
    await queue.add('deliver', delivery, {
      jobId: delivery.id,
      removeOnComplete: true,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1_000 },
    });
  });
  await serve(app, async () => {
    await worker.close();
    await queue.close();
    await sender.close();
  });
});
