/**
 * Peer: the relay ceiling, the least a durable webhook relay must do, as a floor for any of them.
 * `node:http` in (no framework), JSON.parse and a minimal check of the fields (types, a known
 * appId: no schema, no formats), one row INSERT per report into SQLite (WAL, synchronous=FULL, as
 * reghook's store), group-committed: every report and every delivery result of one event-loop turn
 * goes into ONE transaction, and the 202 is written after its commit. Each committed row is handed
 * straight to the sender (no claim query, no lease, no attempt rows), POSTed signed with undici (at
 * most 64 at once), and marked delivered in a later group commit. A non-200 leaves the row pending;
 * nothing retries it (on a restart the pending rows are sent again). No API, no tenancy, no
 * limits: whatever reghook spends beyond this is the price of its features, not of durability.
 *
 * PEER_SQLITE_FILE is the database file (created).
 */
import Database from 'better-sqlite3';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newEventId } from '../../src/domain/ids.js';
import { type Delivery, main, onSigterm, peerConfig, webhookSender } from './common.js';

export const RELAY_CONCURRENCY = 64;

interface Report {
  clientUuid: string;
  clientIp: string;
  country?: string | null;
  language: string;
  storeRegister: boolean;
  subscriberId: string;
  subscriberName?: string | null;
  appId: number;
  flowId: number;
  siteId: number;
  registerDate: string;
  registerOtpStatus: boolean;
}

/** Types only (and a known project): the least a relay can check before it stores. */
function check(value: unknown, known: Map<number, string>): Report | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const str = (k: string) => typeof r[k] === 'string';
  const int = (k: string) => Number.isInteger(r[k]);
  const ok =
    str('clientUuid') && str('clientIp') && str('language') && str('subscriberId') && str('registerDate') &&
    typeof r.storeRegister === 'boolean' && typeof r.registerOtpStatus === 'boolean' &&
    int('appId') && int('flowId') && int('siteId') && known.has(r.appId as number);
  return ok ? (r as unknown as Report) : null;
}

main(async () => {
  const config = peerConfig();
  const file = process.env.PEER_SQLITE_FILE;
  if (!file) throw new Error('PEER_SQLITE_FILE is required');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL, delivered_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at) WHERE delivered_at IS NULL;`);
  const insert = db.prepare('INSERT INTO outbox (id, app_id, body, created_at) VALUES (?, ?, ?, ?)');
  const markDelivered = db.prepare('UPDATE outbox SET delivered_at = ? WHERE id = ?');
  const sender = webhookSender(config);

  // Group commit: what one event-loop turn produced, in one transaction.
  let inserts: { d: Delivery; done: (error?: unknown) => void }[] = [];
  let delivered: string[] = [];
  let scheduled = false;
  const commit = db.transaction((rows: typeof inserts, ids: string[], now: number) => {
    for (const { d } of rows) insert.run(d.id, d.appId, d.body, now);
    for (const id of ids) markDelivered.run(now, id);
  });
  const flush = () => {
    scheduled = false;
    const rows = inserts;
    const ids = delivered;
    inserts = [];
    delivered = [];
    try {
      commit(rows, ids, Date.now());
    } catch (error) {
      for (const r of rows) r.done(error);
      return;
    }
    for (const r of rows) {
      r.done();
      ready.push(r.d);
    }
    pump();
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  // The sender: committed rows, straight from the commit (and the pending ones at start).
  const ready: Delivery[] = (db.prepare('SELECT id, app_id AS appId, body FROM outbox WHERE delivered_at IS NULL ORDER BY created_at').all() as Delivery[]);
  let inFlight = 0;
  const pump = () => {
    while (inFlight < RELAY_CONCURRENCY && ready.length > 0) {
      const d = ready.shift()!;
      inFlight++;
      void sender.send(d).then((status) => {
        inFlight--;
        if (sender.ok(status)) {
          delivered.push(d.id);
          schedule();
        }
        pump();
      });
    }
  };
  pump();

  const expected = `Bearer ${config.adminToken}`;
  const answer = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    if (req.method !== 'POST' || req.url !== '/v1/registrations') return answer(res, 404, '{}');
    if (req.headers.authorization !== expected) return answer(res, 401, '{}');
    let report: Report | null = null;
    try {
      report = check(JSON.parse(text), config.endpoints);
    } catch {
      // not JSON
    }
    if (!report) return answer(res, 400, '{}');
    const body = JSON.stringify({
      clientUuid: report.clientUuid.toLowerCase(),
      clientIp: report.clientIp,
      country: report.country ?? null,
      language: report.language,
      storeRegister: report.storeRegister,
      subscriberId: report.subscriberId,
      subscriberName: report.subscriberName ?? null,
      appId: report.appId,
      flowId: report.flowId,
      siteId: report.siteId,
      registerDate: report.registerDate,
      registerOtpStatus: report.registerOtpStatus,
    });
    const d: Delivery = { id: newEventId(Date.now()), appId: report.appId, body };
    inserts.push({ d, done: (error) => (error ? answer(res, 503, '{}') : answer(res, 202, `{"eventId":"${d.id}","status":"pending"}`)) });
    schedule();
  };
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => (size > 64 * 1024 ? answer(res, 413, '{}') : handle(req, res, Buffer.concat(chunks).toString('utf8'))));
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.PEER_PORT ?? 0), '127.0.0.1', resolve));
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  onSigterm(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    // Let the deliveries in flight finish and their marks commit.
    const deadline = Date.now() + 10_000;
    while ((inFlight > 0 || scheduled) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sender.close();
    db.close();
  });
});
