/**
 * The bench's loopback receiver, run as a child process of the bench (`fork`, IPC with the
 * advanced serialisation). It answers webhook POSTs on as many 127.0.0.1 servers as asked (one per
 * project, so each project is its own origin, as real endpoints are), and records per `webhook-id`
 * the time its first request arrived (`performance.timeOrigin + performance.now()` when the request
 * line and headers are in), how often it came, when it was first answered 200, and duplicates
 * (requests for an id that had already been answered 200).
 *
 * Behaviours per server: `ok` (200 at once), `flaky` (500 for a share of requests, else 200), `hang`
 * (never answers: the sender's deadline ends it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceiverCommand, ReceiverReply, ServerSpec } from './receiver-protocol.js';

interface Seen {
  first: number;
  count: number;
  okAt: number;
}

const seen = new Map<string, Seen>();
const servers: Server[] = [];
let requests = 0;
let oks = 0;
let duplicates = 0;
let failures = 0;
/** Requests held open by `hang` servers right now, and the most at once. */
let hanging = 0;
let hangingMax = 0;
/** Requests of servers that answer after a delay, open now / at most since the last reset. */
let delayed = 0;
let delayedMax = 0;

const nowMs = () => performance.timeOrigin + performance.now();

function handler(spec: ServerSpec) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const t = nowMs();
    requests++;
    const header = req.headers['webhook-id'];
    const id = typeof header === 'string' ? header : '';
    let entry = seen.get(id);
    if (!entry) {
      entry = { first: t, count: 0, okAt: 0 };
      seen.set(id, entry);
    }
    entry.count++;
    if (entry.okAt > 0) duplicates++;
    const record = entry;
    if (spec.mode === 'hang') {
      req.resume();
      hanging++;
      hangingMax = Math.max(hangingMax, hanging);
      res.on('close', () => hanging--);
      return; // never answered: the sender's whole-request deadline ends it
    }
    const fail = spec.mode === 'flaky' && Math.random() < (spec.failRate ?? 0);
    req.resume();
    const answer = () => {
      if (fail) {
        failures++;
        res.writeHead(500, { 'content-type': 'text/plain', 'content-length': '4' });
        res.end('fail');
        return;
      }
      if (record.okAt === 0) record.okAt = nowMs();
      oks++;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (spec.delayMs) {
      delayed++;
      delayedMax = Math.max(delayedMax, delayed);
      res.on('close', () => delayed--);
    }
    req.on('end', () => (spec.delayMs ? setTimeout(answer, spec.delayMs) : answer()));
  };
}

async function listen(specs: readonly ServerSpec[]): Promise<number[]> {
  const ports: number[] = [];
  for (const spec of specs) {
    const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 0 }, handler(spec));
    server.headersTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    ports.push((server.address() as AddressInfo).port);
  }
  return ports;
}

async function closeAll(): Promise<void> {
  const closing = servers.splice(0).map(
    (server) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  await Promise.all(closing);
}

async function handle(command: ReceiverCommand): Promise<ReceiverReply> {
  switch (command.cmd) {
    case 'listen':
      return { seq: command.seq, ports: await listen(command.specs) };
    case 'stats':
      return { seq: command.seq, stats: { requests, distinct: seen.size, oks, duplicates, failures, hanging, hangingMax, delayed, delayedMax } };
    case 'lookup': {
      const n = command.ids.length;
      const first = new Float64Array(n);
      const okAt = new Float64Array(n);
      const count = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const entry = seen.get(command.ids[i]!);
        if (entry) {
          first[i] = entry.first;
          okAt[i] = entry.okAt;
          count[i] = entry.count;
        }
      }
      return { seq: command.seq, lookup: { first, okAt, count } };
    }
    case 'reset':
      seen.clear();
      requests = oks = duplicates = failures = hangingMax = delayedMax = 0;
      return { seq: command.seq };
    case 'close':
      await closeAll();
      return { seq: command.seq };
    case 'exit':
      await closeAll();
      setImmediate(() => process.exit(0));
      return { seq: command.seq };
  }
}

process.on('message', (message: ReceiverCommand) => {
  handle(message).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ seq: message.seq, error: String(error) }),
  );
});
// The bench going away takes the receiver with it.
process.on('disconnect', () => process.exit(0));
