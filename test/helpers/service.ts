/** A real reghook service on a fresh SQLite file, with short retry settings, for one test file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type ResolvedConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service, type ServiceOptions } from '../../src/service.js';
import { dropSchema, freshSchemaName, holdServerLock, postgresForTests, schemaUrl } from '../store/postgres-database.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** One sealing key for every test process of a PostgreSQL deployment (SPEC section 8). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 42).toString('base64');

export type Backend = 'sqlite' | 'postgres';

/**
 * The backends a service-level test file runs on: SQLite always; PostgreSQL when a server answers
 * (outside CI a missing server skips it with a notice; under CI=true it is a failure).
 */
export async function testBackends(suite: string): Promise<Backend[]> {
  const pg = await postgresForTests(suite);
  if (pg.failure !== null) throw new Error(pg.failure);
  return pg.run ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Every log line of every test service, so a test can assert what never reaches the logs. */
export const capturedLogs: string[] = [];

/**
 * What must never reach a log (SPEC section 7): the personal data the test reports use, signing
 * secrets, API keys and tokens. Every test service checks every line it logs; stop() fails the
 * test file when one leaked.
 */
export const NEVER_LOGGED = [/905555555555/, /John Doe/, /203\.0\.113\.7/, /whsec_/, /rhk_/, /rhadm_/, /test-admin-token/];

export function leaksIn(text: string): string[] {
  return NEVER_LOGGED.filter((pattern) => pattern.test(text)).map(String);
}

export interface TestService extends Service {
  config: ResolvedConfig;
  dir: string;
  /** Calls the API in-process with the admin token (or `token`). */
  call(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
  /** Creates a project; answers its API key. */
  createProject(appId: number, name?: string): Promise<string>;
  /** Sets the project's endpoint; answers the signing secret. */
  setEndpoint(appId: number, url: string, enabled?: boolean): Promise<string>;
}

/**
 * Starts a service on a fresh database: a new SQLite file, or (backend `postgres`) a new schema on
 * the test server, dropped again by stop().
 */
export async function startTestService(
  env: Record<string, string> = {},
  clock?: Clock,
  backend: Backend = 'sqlite',
  options: Pick<ServiceOptions, 'stream' | 'operatorPollMs'> = {},
): Promise<TestService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'reghook-test-'));
  const schema = backend === 'postgres' ? freshSchemaName() : null;
  const releaseServer = schema === null ? null : await holdServerLock('shared');
  const config = loadConfig({
    REGHOOK_DATABASE_URL: schema === null ? `sqlite:${path.join(dir, 'reghook.db')}` : schemaUrl(schema),
    REGHOOK_DATA_DIR: dir,
    REGHOOK_SECRET_KEY: TEST_SECRET_KEY,
    REGHOOK_PORT: '0',
    REGHOOK_ADMIN_TOKEN: ADMIN_TOKEN,
    REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    REGHOOK_RETRY_INTERVAL: '100ms',
    REGHOOK_DELIVERY_TIMEOUT: '2s',
    REGHOOK_LOG_LEVEL: 'info',
    // In-process tests run the TypeScript sources, which a worker thread cannot load; the process
    // tests (dist/) run the store thread, and test/store/sqlite-threaded.contract.test.ts the contract.
    REGHOOK_SQLITE_THREAD: 'false',
    ...env,
  });
  const leaks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString('utf8');
      capturedLogs.push(line);
      if (leaksIn(line).length > 0) leaks.push(line);
      done();
    },
  });
  const logger = createLogger('info', sink);
  const service = await startService(config, { mode: 'serve', logger, print: () => {}, ...options, ...(clock ? { clock } : {}) });

  const call: TestService['call'] = async (method, url, body, token = ADMIN_TOKEN) => {
    const res = await service.app!.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    let json: unknown = null;
    try {
      json = res.body ? JSON.parse(res.body) : null;
    } catch {
      json = res.body;
    }
    return { status: res.statusCode, json, headers: res.headers };
  };

  return {
    ...service,
    async stop() {
      await service.stop();
      if (schema !== null) await dropSchema(schema);
      await releaseServer?.();
      if (leaks.length > 0) throw new Error(`personal data or secrets reached the logs:\n${leaks.join('')}`);
    },
    config,
    dir,
    call,
    async createProject(appId, name = `project ${appId}`) {
      const res = await call('POST', '/v1/projects', { appId, name });
      if (res.status !== 201) throw new Error(`createProject: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json.apiKey as string;
    },
    async setEndpoint(appId, url, enabled = true) {
      const res = await call('PUT', `/v1/projects/${appId}/webhook`, { url, enabled });
      if (res.status !== 200) throw new Error(`setEndpoint: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json.signingSecret as string;
    },
  };
}

let uuidCounter = 0;
/** A distinct valid v4 UUID per call. */
export function uuid(): string {
  uuidCounter++;
  return `8a6e0804-2bd0-4672-b79d-${uuidCounter.toString(16).padStart(12, '0')}`;
}

/** A valid registration report (SPEC section 3), with overrides. */
export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clientUuid: uuid(),
    clientIp: '203.0.113.7',
    country: 'TR',
    language: 'en',
    storeRegister: false,
    subscriberId: '905555555555',
    subscriberName: 'John Doe',
    appId: 1,
    flowId: 1,
    siteId: 1,
    registerDate: '2020-03-20 12:35:41',
    registerOtpStatus: false,
    ...overrides,
  };
}

/** Polls until `check` returns a value that is not undefined (real loopback I/O takes real milliseconds). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
