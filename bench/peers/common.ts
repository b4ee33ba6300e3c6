/**
 * What the bench's peers share, so that they differ from reghook only in how they store and send:
 * the same ingest (Fastify, the same TypeBox RegistrationBody and validator compiler, the same
 * canonical webhook body, a 202 `{ eventId, status: 'pending' }` once the job is stored), and the
 * same delivery (undici, one Agent per project, the Standard Webhooks headers signed with
 * `signatureHeader`, success = 200 as reghook's retry policy has it).
 *
 * A peer runs as a child process of the bench (bench/peers/peer-process.ts starts it) and reads
 * its configuration from the environment: PEER_ENDPOINTS (JSON `{ appId: url }`), PEER_SECRET
 * (base64 HMAC key), PEER_ADMIN_TOKEN, plus what its queue needs. It prints `listening on <url>`
 * and stops on SIGTERM.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { RegistrationAnswer, RegistrationBody } from '../../src/api/schemas.js';
import { compileValidator } from '../../src/api/validation.js';
import { newEventId } from '../../src/domain/ids.js';
import { normalizeRegistration } from '../../src/domain/registration.js';
import { isSuccess } from '../../src/domain/retry-policy.js';
import { signatureHeader } from '@reghook/receiver/signing';

/** One webhook to deliver: its id is the webhook-id of every attempt, and the eventId of the 202. */
export interface Delivery {
  id: string;
  appId: number;
  body: string;
}

export interface PeerConfig {
  endpoints: Map<number, string>;
  keys: Buffer[];
  adminToken: string;
}

export function peerConfig(): PeerConfig {
  const endpoints = new Map<number, string>();
  for (const [appId, url] of Object.entries(JSON.parse(process.env.PEER_ENDPOINTS ?? '{}') as Record<string, string>)) endpoints.set(Number(appId), url);
  const secret = process.env.PEER_SECRET;
  const adminToken = process.env.PEER_ADMIN_TOKEN;
  if (!secret || !adminToken || endpoints.size === 0) throw new Error('PEER_ENDPOINTS, PEER_SECRET and PEER_ADMIN_TOKEN are required');
  return { endpoints, keys: [Buffer.from(secret, 'base64')], adminToken };
}

/**
 * POST /v1/registrations as reghook validates it (the same schema and Ajv setup), answering 202
 * once `enqueue` has resolved (the peer's queue holds the job). Unknown projects get 404.
 */
export function ingestApp(config: PeerConfig, enqueue: (delivery: Delivery) => Promise<void>): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(compileValidator);
  const expected = `Bearer ${config.adminToken}`;
  app.post(
    '/v1/registrations',
    { schema: { body: RegistrationBody, response: { 202: RegistrationAnswer, 401: RegistrationAnswer, 404: RegistrationAnswer } } },
    async (request, reply) => {
      if (request.headers.authorization !== expected) return reply.code(401).send({ eventId: null, status: 'skipped' });
      const registration = normalizeRegistration(request.body);
      if (!config.endpoints.has(registration.appId)) return reply.code(404).send({ eventId: null, status: 'skipped' });
      const id = newEventId(Date.now());
      await enqueue({ id, appId: registration.appId, body: registration.body });
      return reply.code(202).send({ eventId: id, status: 'pending' });
    },
  );
  return app as unknown as FastifyInstance;
}

export interface WebhookSender {
  /** One signed POST; answers the status code, or null when no answer came (connection error, deadline). */
  send(delivery: Delivery): Promise<number | null>;
  /** Whether a status counts as delivered (reghook's rule: 200). */
  ok(status: number | null): boolean;
  close(): Promise<void>;
}

/** Signed webhook POSTs as reghook's sender makes them: an Agent per project, fresh timestamp and HMAC per attempt. */
export function webhookSender(config: PeerConfig, timeoutMs = 30_000): WebhookSender {
  const agents = new Map<number, Agent>();
  const agentFor = (appId: number) => {
    let agent = agents.get(appId);
    if (!agent) {
      agent = new Agent({ keepAliveTimeout: 4_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      agents.set(appId, agent);
    }
    return agent;
  };
  return {
    async send(d) {
      const url = config.endpoints.get(d.appId);
      if (url === undefined) return null;
      const timestamp = Math.floor(Date.now() / 1000);
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: agentFor(d.appId),
          signal: AbortSignal.timeout(timeoutMs),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'reghook-bench-peer',
            'webhook-id': d.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signatureHeader(config.keys, d.id, timestamp, d.body),
          },
          body: d.body,
        });
        await res.body.text();
        return res.statusCode;
      } catch {
        return null;
      }
    },
    ok: (status) => isSuccess(status),
    async close() {
      await Promise.all([...agents.values()].map((a) => a.close()));
    },
  };
}

/** Listens on 127.0.0.1 (PEER_PORT, default any), prints the URL, and on SIGTERM closes the app, then `stop`. */
export async function serve(app: FastifyInstance, stop: () => Promise<void>): Promise<void> {
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PEER_PORT ?? 0) });
  const { port } = app.server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  onSigterm(async () => {
    await app.close();
    await stop();
  });
}

export function onSigterm(stop: () => Promise<void>): void {
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}

/** Runs a peer's main, reporting a failure on stderr with exit code 1. */
export function main(run: () => Promise<void>): void {
  run().catch((error: unknown) => {
    process.stderr.write(`peer failed: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
}
