/**
 * Tenants are isolated on the way out (SPEC section 4): projects never share a connection pool,
 * even when their endpoints share a host; an attempt's deadline runs from the moment its own
 * request starts; whatever one receiver answers affects only the record of that attempt. Run on
 * both stores: the recording of attempts is store code.
 */
import Database from 'better-sqlite3';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type Responder } from './helpers/receiver.js';
import { parsePostgresUrl } from '../src/store/postgres/connection.js';
import { eventually, registration, startTestService, testBackends, type TestService } from './helpers/service.js';

const backends = await testBackends('tenant isolation');

/** Answers by the request's query string, so several projects can share one host (one origin). */
function byQuery(routes: Record<string, Responder>): Responder {
  return (req, i, res) => {
    const route = new URL(req.url, 'http://x').searchParams.get('as') ?? 'ok';
    routes[route]!(req, i, res);
  };
}

/** Runs SQL on the service's own database through a connection of its own. */
async function execSql(svc: TestService, sql: { sqlite: string; postgres: string }): Promise<void> {
  const target = svc.config.database;
  if (target.kind === 'sqlite') {
    const db = new Database(target.path);
    try {
      db.exec(sql.sqlite);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: parsePostgresUrl(target.url).connectionString });
  await client.connect();
  try {
    await client.query(sql.postgres);
  } finally {
    await client.end();
  }
}

const ok: Responder = (_req, _i, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};
const later =
  (ms: number): Responder =>
  (req, i, res) => {
    setTimeout(() => ok(req, i, res), ms);
  };
const hang: Responder = () => {};
const nul: Responder = (_req, _i, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(Buffer.from('ok\0tail'));
};
const invalidUtf8: Responder = (_req, _i, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.end(Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0xf0, 0x9f]));
};
// 1 MiB of zeros, gzipped: inflates to NUL bytes (the first 1 KiB is kept).
const poison: Responder = (_req, _i, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('poison');
};
const zeroBomb = gzipSync(Buffer.alloc(1024 * 1024));
const gzipOfZeros: Responder = (_req, _i, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
  res.end(zeroBomb);
};

describe.each(backends)('tenant isolation (%s)', (backend) => {
  let svc: TestService;
  let receiver: Receiver;
  let nextAppId = 100;

  beforeAll(async () => {
    svc = await startTestService(
      { REGHOOK_ENDPOINT_CONCURRENCY: '2', REGHOOK_DELIVERY_TIMEOUT: '3s', REGHOOK_RETRY_INTERVAL: '30s' },
      undefined,
      backend,
    );
    receiver = await startReceiver(
      byQuery({ ok, slow: later(1_000), hang, nul, invalidUtf8, gzipOfZeros, poison }),
    );
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await svc?.stop();
  });

  /** A project whose endpoint is the shared receiver, answering as `as` says. */
  async function project(as: string): Promise<number> {
    const appId = nextAppId++;
    await svc.createProject(appId);
    await svc.setEndpoint(appId, `${receiver.url}?as=${as}&app=${appId}`);
    return appId;
  }

  async function report(appId: number): Promise<{ eventId: string; at: number }> {
    const res = await svc.call('POST', '/v1/registrations', registration({ appId }));
    expect(res.status).toBe(202);
    return { eventId: res.json.eventId as string, at: Date.now() };
  }

  const event = async (appId: number, eventId: string) => (await svc.call('GET', `/v1/projects/${appId}/events/${eventId}`)).json;

  const receipts = (eventId: string) => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);

  async function deliveredOnce(appId: number, eventId: string, timeoutMs = 8_000) {
    const detail = await eventually(async () => {
      const e = await event(appId, eventId);
      return e.status === 'delivered' ? e : undefined;
    }, timeoutMs);
    expect(receipts(eventId)).toHaveLength(1);
    expect(detail.attempts).toHaveLength(1);
    return detail;
  }

  it('a receiver answering NUL bytes, invalid UTF-8 or inflating zeros affects only the record of its own attempts', async () => {
    const hostile = [await project('nul'), await project('invalidUtf8'), await project('gzipOfZeros')];
    const healthy = [await project('ok'), await project('ok')];
    // Reported together, so their attempts finish together and are recorded in the same batches.
    const reports = await Promise.all(
      [...hostile, ...healthy].flatMap((appId) => [1, 2, 3].map(async () => ({ appId, ...(await report(appId)) }))),
    );
    for (const r of reports) {
      const detail = await deliveredOnce(r.appId, r.eventId);
      const body = detail.attempts[0].responseBody as string | null;
      // Kept as text any database stores: no NUL survives, invalid bytes become U+FFFD.
      if (body !== null) expect(body).not.toContain('\0');
    }
    const nulBody = (await event(hostile[0]!, reports[0]!.eventId)).attempts[0].responseBody;
    expect(nulBody).toBe('ok\uFFFDtail');
  }, 60_000);

  it('an attempt the database refuses to record costs no other attempt of its batch its record', async () => {
    // A real refusal by the database, for the attempts whose response body says "poison".
    await execSql(svc, {
      sqlite: `CREATE TRIGGER poison BEFORE UPDATE OF response_body ON attempts
               WHEN NEW.response_body LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END`,
      postgres: `CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN IF NEW.response_body LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$;
                 CREATE TRIGGER poison BEFORE UPDATE ON attempts FOR EACH ROW EXECUTE FUNCTION poison()`,
    });
    try {
      const poisoned = await project('poison');
      const healthy = [await project('ok'), await project('ok')];
      const reports = await Promise.all(
        [poisoned, ...healthy].flatMap((appId) => [1, 2, 3].map(async () => ({ appId, ...(await report(appId)) }))),
      );
      for (const r of reports) {
        const detail = await deliveredOnce(r.appId, r.eventId);
        // The refused one is recorded without the body the database would not take.
        if (r.appId === poisoned) expect(detail.attempts[0].responseBody).toBeNull();
        else expect(detail.attempts[0].responseBody).toBe('ok');
      }
    } finally {
      await execSql(svc, { sqlite: 'DROP TRIGGER poison', postgres: 'DROP TRIGGER poison ON attempts; DROP FUNCTION poison()' });
    }
  }, 60_000);

  it('Send Test Webhook records whatever the receiver answers (NUL, a bomb of zeros) and answers 200', async () => {
    for (const as of ['nul', 'gzipOfZeros', 'invalidUtf8']) {
      const appId = await project(as);
      const res = await svc.call('POST', `/v1/projects/${appId}/webhook/test`);
      expect(res.status, as).toBe(200);
      expect(res.json.success).toBe(true);
      expect(res.json.responseBody).not.toContain('\0');
    }
  });

  it('projects on one host never share a pool: their attempts do not wait for each other, nothing times out', async () => {
    // 4 projects x 2 in flight each against one origin answering in 1 s: 8 requests at once.
    // A shared pool of 2 connections per origin queued them past the 3 s deadline.
    const apps = [await project('slow'), await project('slow'), await project('slow'), await project('slow')];
    const reports = await Promise.all(apps.flatMap((appId) => [1, 2, 3, 4, 5, 6].map(async () => ({ appId, ...(await report(appId)) }))));
    for (const r of reports) await deliveredOnce(r.appId, r.eventId, 15_000);
  }, 60_000);

  it('a hanging endpoint on the same host as healthy ones: the healthy deliveries each arrive once and promptly', async () => {
    const hanging = await project('hang');
    // Its two attempts in flight hold two connections until the 3 s deadline.
    await report(hanging);
    await report(hanging);
    await report(hanging);
    await eventually(() => (receiver.requests.filter((r) => r.url.includes(`app=${hanging}`)).length >= 2 ? true : undefined));
    const healthy = [await project('ok'), await project('ok'), await project('ok')];
    const reports = await Promise.all(healthy.flatMap((appId) => [1, 2].map(async () => ({ appId, ...(await report(appId)) }))));
    for (const r of reports) {
      await deliveredOnce(r.appId, r.eventId);
      const arrived = receipts(r.eventId)[0]!.receivedAt;
      // Promptly: long before the hanging project's attempts give up (3 s).
      expect(arrived - r.at).toBeLessThan(1_500);
    }
  }, 60_000);
});
