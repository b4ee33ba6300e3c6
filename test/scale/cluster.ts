/**
 * A reghook cluster of real processes on one fresh PostgreSQL schema: `reghook serve` (API only)
 * and any number of `reghook worker`s, a loopback receiver that counts deliveries per webhook-id,
 * and helpers to ingest through the API and to read the database directly.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { ADMIN_TOKEN, registration } from '../helpers/service.js';
import { dropSchema, freshSchemaName, schemaUrl, TEST_DATABASE_URL } from '../store/postgres-database.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/reghook.js');

export interface ReghookProcess {
  kind: 'serve' | 'worker';
  child: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `reghook <kind>` and resolves once it serves (serve) or its dispatcher runs (worker). */
async function spawnReghook(kind: 'serve' | 'worker', env: Record<string, string>, timeoutMs = 20_000): Promise<ReghookProcess & { url: string | null }> {
  const child = spawn(process.execPath, [BIN, kind], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = kind === 'serve' ? /reghook: listening on (http:\/\/\S+)/ : /"msg":"reghook started"/;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = ready.exec(out);
    if (m) return { kind, child, output: () => out, exited, url: m[1] ?? null };
    if (child.exitCode !== null) throw new Error(`reghook ${kind} exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`reghook ${kind} did not start in ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Counts deliveries per webhook-id; answers 200 (after `delayMs`, to keep attempts in flight). */
export interface CountingReceiver {
  url: string;
  counts: Map<string, number>;
  /** When each webhook-id was first received. */
  firstSeen: Map<string, number>;
  total(): number;
  duplicates(): string[];
  close(): Promise<void>;
}

export async function startCountingReceiver(delayMs = 0): Promise<CountingReceiver> {
  const counts = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  let total = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      total++;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (!firstSeen.has(id)) firstSeen.set(id, Date.now());
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    counts,
    firstSeen,
    total: () => total,
    duplicates: () => [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs` with `describe()`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class Cluster {
  readonly schema = freshSchemaName('reghook_scale');
  readonly databaseUrl = schemaUrl(this.schema);
  readonly processes: (ReghookProcess & { url: string | null })[] = [];
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'reghook-scale-'));
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  private apiUrl: string | null = null;
  private readonly env: Record<string, string>;

  constructor(env: Record<string, string> = {}) {
    this.env = {
      REGHOOK_DATABASE_URL: this.databaseUrl,
      REGHOOK_ADMIN_TOKEN: ADMIN_TOKEN,
      REGHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
      REGHOOK_DATA_DIR: this.dir,
      REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      REGHOOK_PORT: '0',
      REGHOOK_DELIVERY_TIMEOUT: '1s', // lease = 2 × 1 s + 5 s
      REGHOOK_RETRY_INTERVAL: '200ms',
      REGHOOK_LOG_LEVEL: 'info',
      ...env,
    };
  }

  /** `reghook serve` as an API-only node, so deliveries are the workers' alone. */
  async startServe(): Promise<ReghookProcess> {
    // warn: no line per request (its readiness line is printed, not logged).
    const serve = await spawnReghook('serve', { ...this.env, REGHOOK_DISPATCH: 'false', REGHOOK_LOG_LEVEL: 'warn' });
    this.processes.push(serve);
    this.apiUrl = serve.url;
    return serve;
  }

  async startWorker(): Promise<ReghookProcess> {
    const worker = await spawnReghook('worker', this.env);
    this.processes.push(worker);
    return worker;
  }

  async api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await request(this.apiUrl + url, {
      method: method as 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : null };
  }

  async createProject(appId: number, endpointUrl: string): Promise<void> {
    const created = await this.api('POST', '/v1/projects', { appId, name: `scale ${appId}` });
    if (created.status !== 201) throw new Error(`create project: ${created.status} ${JSON.stringify(created.json)}`);
    const endpoint = await this.api('PUT', `/v1/projects/${appId}/webhook`, { url: endpointUrl });
    if (endpoint.status !== 200) throw new Error(`set endpoint: ${endpoint.status} ${JSON.stringify(endpoint.json)}`);
  }

  /** Reports `n` self-service registrations through the API (`concurrency` at a time); answers the event ids. */
  async ingest(appId: number, n: number, concurrency = 32): Promise<string[]> {
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          const res = await this.api('POST', '/v1/registrations', registration({ appId }));
          if (res.status !== 202 || res.json.status !== 'pending') throw new Error(`ingest: ${res.status} ${JSON.stringify(res.json)}`);
          ids.push(res.json.eventId as string);
        }
      }),
    );
    return ids;
  }

  /** Runs SQL against this cluster's schema. */
  async sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(`SET search_path = ${pg.escapeIdentifier(this.schema)}`);
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async eventCounts(): Promise<Record<string, number>> {
    const rows = await this.sql<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM events GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Kills whatever still runs, drops the schema and the data folder. */
  async close(): Promise<void> {
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    await this.agent.close();
    await dropSchema(this.schema);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
