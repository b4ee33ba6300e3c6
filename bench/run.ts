/**
 * reghook's performance bench (issue 7). `npm run bench -- --quick` (about a minute or two) or
 * `npm run bench` (the full run, under 15 minutes). Options: `--profile` (a V8 CPU profile of every
 * reghook child into bench/profiles/, and the top self-time functions of S1), `--only=S1,S3`
 * (scenario subset: ceiling, S1, S1pg, S2, S3, W1, S4, S6, S7, S7pg, and the peers P1bullmq, P1pgboss, P1relay,
 * P2ceiling, P2reghook, P2reghookpg, P2bullmq, P2pgboss, P2relay, P3pg (PostgreSQL with 1, 2 and 4 dispatching
 * processes); `peers` = S1, S1pg and every P1/P2,
 * `p1` and `p2` one shape each; printed only, RESULTS.md is left alone),
 * `--no-pg`, `--keep` (keep the temp files). `node dist/bench/profile-top.js <file>` summarises a
 * profile.
 *
 * Everything runs on this machine, loopback only: the load generator (this process, undici Pools),
 * a receiver in its own child process, and reghook itself as a child process (`bin/reghook.js
 * serve`, a fresh temp SQLite file per scenario). Results go to stdout and bench/RESULTS.md. The
 * machine is shared and noisy: compare the ratios, measured side by side in one run, not the
 * absolute figures.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Pool } from 'undici';
import { type BulkInsert, canonicalBody, cloneProjects, insertPending, makeDue, statusesOf, type StatusCounts } from './direct-db.js';
import { apiPool, ceiling, closedLoop, Ledger, LoadCounters, nowMs, openLoop, sleep } from './load.js';
import { machine } from './machine.js';
import { summariseProfile, type ProfileSummary } from './profile.js';
import type { Lookup, ServerSpec } from './receiver-protocol.js';
import { ReceiverClient } from './receiver-client.js';
import { lockShare, sampleActivity, sharesText, type ActivityShares } from './pg-activity.js';
import { children, postgresCpuMsBetween, postgresCpuSnapshot, processCpuMs, Reghook, REPO_ROOT } from './reghook-process.js';
import { Peer, type PeerKind, REDIS_SERVER, RedisServer } from './peers/peer-process.js';
import { distribution, type Distribution, fmt, mb, ms, ratio } from './stats.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

// ---------------------------------------------------------------------------------------------
// Options

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const PROFILE = args.includes('--profile');
const KEEP = args.includes('--keep');
const NO_PG = args.includes('--no-pg');
const onlyArg = args.find((a) => a.startsWith('--only='));
const P1_NAMES = ['P1bullmq', 'P1pgboss', 'P1relay'];
const P2_NAMES = ['P2ceiling', 'P2reghook', 'P2reghook1t', 'P2reghookpg', 'P2bullmq', 'P2pgboss', 'P2relay'];
/** Groups for --only: the peers with the reghook scenarios their ratios are taken against. */
const ALIASES: Record<string, string[]> = { peers: ['S1', 'S1pg', ...P1_NAMES, ...P2_NAMES], p1: ['S1', 'S1pg', ...P1_NAMES], p2: P2_NAMES };
const ONLY = onlyArg
  ? new Set(onlyArg.slice(7).split(',').flatMap((s) => ALIASES[s.trim().toLowerCase()] ?? [s.trim()]).map((s) => s.toLowerCase()))
  : null;
for (const a of args) {
  if (!['--quick', '--profile', '--keep', '--no-pg'].includes(a) && !a.startsWith('--only=')) {
    process.stderr.write(`bench: unknown option ${a}\n`);
    process.exit(2);
  }
}
const wanted = (name: string) => ONLY === null || ONLY.has(name.toLowerCase());

const P = QUICK
  ? {
      mode: 'quick',
      concurrency: 64,
      loadProjects: 8,
      warmupMs: 2_000,
      measureMs: 5_000,
      ceilingWarmupMs: 1_000,
      ceilingMeasureMs: 4_000,
      drainTimeoutMs: 30_000,
      s3Projects: 100,
      s3Hanging: 10,
      s3HangRate: 20,
      backlog: 100_000,
      memoryPoints: [100_000],
      cliff: 20_000,
      cliffTimeoutMs: 30_000,
      s6KillAfterMs: 4_000,
      w1Count: 6_000,
      s7Projects: 2_000,
      s7Due: 40_000,
      p2Count: 10_000,
      p2Warmup: 2_000,
      p2Concurrency: 32,
      p2TimeoutMs: 60_000,
      watchdogMs: 10 * 60_000,
    }
  : {
      mode: 'full',
      concurrency: 64,
      loadProjects: 8,
      warmupMs: 5_000,
      measureMs: 20_000,
      ceilingWarmupMs: 2_000,
      ceilingMeasureMs: 10_000,
      drainTimeoutMs: 60_000,
      s3Projects: 100,
      s3Hanging: 10,
      s3HangRate: 20,
      backlog: 1_000_000,
      memoryPoints: [100_000, 1_000_000],
      cliff: 100_000,
      cliffTimeoutMs: 120_000,
      s6KillAfterMs: 8_000,
      w1Count: 20_000,
      s7Projects: 10_000,
      s7Due: 200_000,
      p2Count: 20_000,
      p2Warmup: 2_000,
      p2Concurrency: 32,
      p2TimeoutMs: 180_000,
      watchdogMs: 35 * 60_000,
    };

const PG_BASE_URL = process.env.REGHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PROFILE_DIR = path.join(REPO_ROOT, 'bench/profiles');
const RESULTS_FILE = path.join(REPO_ROOT, 'bench/RESULTS.md');

// ---------------------------------------------------------------------------------------------
// Output and results

const t0 = Date.now();
const log = (line: string) => process.stdout.write(line + '\n');
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;

interface Row {
  scenario: string;
  figure: string;
  value: string;
  target: string;
  ratio: string;
  verdict: 'met' | 'gap' | '';
}
const rows: Row[] = [];
const details: string[] = [];
const notes: string[] = [];

function row(scenario: string, figure: string, value: string, target = '', r = '', verdict: Row['verdict'] = ''): void {
  rows.push({ scenario, figure, value, target, ratio: r, verdict });
}
const verdictOf = (ok: boolean): Row['verdict'] => (ok ? 'met' : 'gap');
function detail(title: string, lines: string[]): void {
  details.push(`### ${title}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`);
  log(`\n  ${title}`);
  for (const l of lines) log(`    ${l}`);
}
const latencyText = (d: Distribution | null) =>
  d ? `p50 ${ms(d.p50)}, p90 ${ms(d.p90)}, p99 ${ms(d.p99)}, max ${ms(d.max)}, min ${ms(d.min)} (n=${fmt(d.n)})` : 'no samples';
const statusText = (s: StatusCounts) =>
  Object.keys(s).length === 0 ? '-' : Object.entries(s).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');

function progress(label: string, sample: () => Promise<string>): () => void {
  const start = Date.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sample()
      .then((text) => log(`${elapsed()}  [${label}] ${((Date.now() - start) / 1000).toFixed(0).padStart(3)}s  ${text}`))
      .catch(() => {})
      .finally(() => (busy = false));
  }, 1_000);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------------------------------------
// Processes

const receiver = ReceiverClient.start();
const tempRoot = mkdtempSync(path.join(os.tmpdir(), 'reghook-bench-'));
const profiles: Record<string, string> = {};

function cleanup(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (receiver.child.exitCode === null) receiver.child.kill('SIGKILL');
}
process.on('exit', cleanup);
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: watchdog: still running after ${P.watchdogMs / 60_000} min, stopping\n`);
  cleanup();
  process.exit(3);
}, P.watchdogMs);
watchdog.unref();

function freshDir(name: string): string {
  const dir = path.join(tempRoot, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function startReghook(name: string, databaseUrl: string, dataDir: string, env: Record<string, string> = {}, command: 'serve' | 'worker' = 'serve'): Promise<Reghook> {
  let profile: { dir: string; name: string } | undefined;
  if (PROFILE) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    profile = { dir: PROFILE_DIR, name: `${name}.cpuprofile` };
    profiles[name] = path.join(PROFILE_DIR, profile.name);
  }
  return Reghook.start({ databaseUrl, dataDir, env, command, ...(profile ? { profile } : {}) });
}

async function stopReghook(r: Reghook): Promise<void> {
  const code = await r.stop();
  if (code !== 0) notes.push(`reghook exited ${code} at a SIGTERM; its last output: ${r.output().slice(-300).replace(/\s+/g, ' ')}`);
  // reghook logs at warn: every line it wrote is worth a look. Summarise by message.
  const byMsg = new Map<string, { n: number; example: string }>();
  for (const line of r.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; code?: string } };
      // A worker logs at info (its start is known from that); only warnings and errors are worth a note.
      if ((entry.level ?? 0) < 40) continue;
      const key = `${entry.level === 50 ? 'error' : entry.level === 40 ? 'warn' : `level ${entry.level}`}: ${entry.msg ?? ''}`;
      const seen = byMsg.get(key) ?? { n: 0, example: [entry.err?.code, entry.err?.message].filter(Boolean).join(' ').slice(0, 200) };
      seen.n++;
      byMsg.set(key, seen);
    } catch {
      // not a log line
    }
  }
  for (const [key, { n, example }] of byMsg) notes.push(`${r.options.profile?.name ?? r.options.databaseUrl.split(':')[0]} (${currentScenario}) logged ${n}× "${key}"${example ? ` (${example})` : ''}`);
}
let currentScenario = '';

const fileSize = (file: string) => ['', '-wal', '-shm'].reduce((sum, s) => sum + (existsSync(file + s) ? statSync(file + s).size : 0), 0);

// ---------------------------------------------------------------------------------------------
// Measuring

type DbTarget = { sqlite: string } | { postgres: string };

interface Cpu {
  reghook: number;
  receiver: number;
  bench: number;
}

/** What closedPhase measures the CPU of: reghook, or a peer (with its Redis). */
type CpuSource = Pick<Reghook, 'cpuMs'>;

/** CPU ms used so far by reghook, the receiver and this process (the load generator). */
function cpuNow(r: CpuSource): Cpu {
  const own = process.cpuUsage();
  return { reghook: r.cpuMs(), receiver: processCpuMs(receiver.child.pid), bench: (own.user + own.system) / 1000 };
}
const cpuDelta = (a: Cpu, b: Cpu): Cpu => ({ reghook: b.reghook - a.reghook, receiver: b.receiver - a.receiver, bench: b.bench - a.bench });

interface Phase {
  windowStart: number;
  windowEnd: number;
  loadEnd: number;
  /** CPU used in the measured window. */
  cpu: Cpu;
}

/** Samples CPU when the warm-up ends; `end()` samples again and answers the window's use. */
function cpuWindow(r: CpuSource, warmupMs: number): { end: () => Cpu } {
  let start: Cpu | null = null;
  const timer = setTimeout(() => (start = cpuNow(r)), warmupMs);
  return {
    end: () => {
      clearTimeout(timer);
      const now = cpuNow(r);
      return cpuDelta(start ?? now, now);
    },
  };
}

function cpuText(cpu: Cpu, windowMs: number, events: number): string {
  const cores = (v: number) => (v / windowMs).toFixed(2);
  return (
    `CPU in the window (cores busy): reghook ${cores(cpu.reghook)}, receiver ${cores(cpu.receiver)}, load generator ${cores(cpu.bench)}; ` +
    `reghook ${(cpu.reghook / Math.max(1, events)).toFixed(3)} ms CPU per event`
  );
}

/** Closed-loop registrations at `concurrency` for warm-up + measure, with progress. */
async function closedPhase(label: string, r: CpuSource, pool: Pool, appIds: number[], ledger: Ledger, counters: LoadCounters, extra?: Promise<void>[]): Promise<Phase> {
  const base = await receiver.stats();
  let lastAccepted = counters.accepted;
  let lastDistinct = base.distinct;
  const stop = progress(label, async () => {
    const s = await receiver.stats();
    const text =
      `accepted ${fmt(counters.accepted - lastAccepted).padStart(6)}/s  delivered ${fmt(s.distinct - lastDistinct).padStart(6)}/s  ` +
      `backlog ~${fmt(Math.max(0, counters.accepted - (s.distinct - base.distinct)))}  errors ${counters.errors}` +
      (s.hangingMax > 0 ? `  held by hanging endpoints ${s.hanging}` : '');
    lastAccepted = counters.accepted;
    lastDistinct = s.distinct;
    return text;
  });
  const start = nowMs();
  const cpu = cpuWindow(r, P.warmupMs);
  await Promise.all([
    closedLoop({ pool, concurrency: P.concurrency, durationMs: P.warmupMs + P.measureMs, maxRequests: 5_000_000, appIds, ledger, counters }),
    ...(extra ?? []),
  ]);
  const loadEnd = nowMs();
  const used = cpu.end();
  stop();
  return { windowStart: start + P.warmupMs, windowEnd: Math.min(loadEnd, start + P.warmupMs + P.measureMs), loadEnd, cpu: used };
}

interface Settled {
  lookup: Lookup;
  accepted: number;
  reached: number;
  missing: string[];
  /** DB statuses of the ids the receiver never saw. */
  missingStatuses: StatusCounts;
  /** From the end of the load to the last first arrival. */
  drainMs: number;
  duplicates: number;
  requests: number;
}

/**
 * Waits (bounded) until every accepted event reached the receiver at least once, then answers the
 * ledger: arrivals per event, what is missing and what the database says about it.
 */
async function settle(label: string, ledger: Ledger, loadEnd: number, timeoutMs: number, db: DbTarget | null, filter?: (i: number) => boolean): Promise<Settled> {
  const indexes: number[] = [];
  for (let i = 0; i < ledger.size; i++) if (!filter || filter(i)) indexes.push(i);
  const deadline = Date.now() + timeoutMs;
  let lookup = await receiver.lookup(ledger.ids);
  let missingIdx = indexes.filter((i) => lookup.first[i] === 0);
  const stop = progress(`${label} drain`, async () => `waiting for ${fmt(missingIdx.length)} of ${fmt(indexes.length)} accepted events`);
  try {
    while (missingIdx.length > 0 && Date.now() < deadline) {
      await sleep(250);
      const again = await receiver.lookup(missingIdx.map((i) => ledger.ids[i]!));
      const still: number[] = [];
      missingIdx.forEach((i, k) => {
        if (again.first[k] === 0) still.push(i);
        else {
          lookup.first[i] = again.first[k]!;
          lookup.okAt[i] = again.okAt[k]!;
          lookup.count[i] = again.count[k]!;
        }
      });
      missingIdx = still;
    }
  } finally {
    stop();
  }
  lookup = await receiver.lookup(ledger.ids); // final counts (retries, duplicates)
  let missing = indexes.filter((i) => lookup.first[i] === 0).map((i) => ledger.ids[i]!);
  const readStatuses = async (ids: string[]): Promise<StatusCounts> =>
    db && ids.length > 0 ? statusesOf(db, ids).catch((e: unknown) => ({ [`unreadable: ${String(e)}`]: ids.length })) : {};
  let missingStatuses = await readStatuses(missing);
  if ((missingStatuses.delivered ?? 0) > 0) {
    // Delivered while we read (the drain goes on): look again before calling anything lost.
    await sleep(1_000);
    const again = await receiver.lookup(missing);
    missing = missing.filter((_, k) => again.first[k] === 0);
    lookup = await receiver.lookup(ledger.ids);
    missingStatuses = await readStatuses(missing);
  }
  let last = 0;
  for (const i of indexes) last = Math.max(last, lookup.first[i]!);
  const s = await receiver.stats();
  return {
    lookup,
    accepted: indexes.length,
    reached: indexes.length - missing.length,
    missing,
    missingStatuses,
    drainMs: Math.max(0, last - loadEnd),
    duplicates: s.duplicates,
    requests: s.requests,
  };
}

interface WindowStats {
  ingestPerSec: number;
  deliveriesPerSec: number;
  goodputPerSec: number;
  latency: Distribution | null;
  /** 202 -> first 200 answer (differs from latency when the first attempt failed). */
  latencyToOk: Distribution | null;
  apiLatency: Distribution | null;
}

function windowStats(ledger: Ledger, lk: Lookup, phase: Phase, filter?: (i: number) => boolean): WindowStats {
  const { windowStart: ws, windowEnd: we } = phase;
  let delivered = 0;
  let ok = 0;
  let ingested = 0;
  const lat: number[] = [];
  const latOk: number[] = [];
  const api: number[] = [];
  for (let i = 0; i < ledger.size; i++) {
    if (filter && !filter(i)) continue;
    const first = lk.first[i]!;
    const okAt = lk.okAt[i]!;
    if (first >= ws && first < we) delivered++;
    if (okAt >= ws && okAt < we) ok++;
    const t = ledger.t202[i]!;
    if (t >= ws && t < we) {
      ingested++;
      api.push(t - ledger.sentAt[i]!);
      if (first > 0) lat.push(first - t);
      if (okAt > 0) latOk.push(okAt - t);
    }
  }
  const secs = (we - ws) / 1000;
  return {
    ingestPerSec: ingested / secs,
    deliveriesPerSec: delivered / secs,
    goodputPerSec: ok / secs,
    latency: distribution(lat),
    latencyToOk: distribution(latOk),
    apiLatency: distribution(api),
  };
}

/** Accepted events the receiver never saw that the database does not hold as still owed (pending) or given up (failed). */
const lostOf = (s: Settled) => s.missing.length - (s.missingStatuses.pending ?? 0) - (s.missingStatuses.failed ?? 0);

function ledgerLine(s: Settled): string {
  const lost = lostOf(s);
  return (
    `ledger: ${fmt(s.reached)}/${fmt(s.accepted)} accepted events reached the receiver` +
    (s.missing.length > 0 ? `; not reached: ${fmt(s.missing.length)} (database: ${statusText(s.missingStatuses)}; lost: ${fmt(lost)})` : '') +
    `; duplicates ${fmt(s.duplicates)} (requests for an id already answered 200); requests ${fmt(s.requests)}`
  );
}

async function listen(specs: ServerSpec[]): Promise<string[]> {
  return (await receiver.listen(specs)).map((base) => `${base}/webhooks`);
}

async function projects(r: Reghook, appIds: number[], urls: string[], enabled = true): Promise<void> {
  for (let i = 0; i < appIds.length; i++) await r.project(appIds[i]!, urls[i]!, enabled);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

// ---------------------------------------------------------------------------------------------
// Scenarios

interface S1Result {
  /** reghook CPU ms per accepted-and-delivered event in the window (noise-robust, unlike rates). */
  cpuPerEvent: number;
  deliveriesPerSec: number;
  ingestPerSec: number;
  latency: Distribution | null;
  rssAfterBytes: number;
}
const results: {
  ceiling?: number;
  /** The raw sender's CPU ms per request (undici + HMAC), for comparison with reghook's per event. */
  ceilingCpu?: number;
  s1?: S1Result;
  s1pg?: S1Result;
  s2?: { p50: number; p99: number; max: number; rate: number };
  s3?: { goodput: number; p99: number };
  s3base?: { goodput: number; p99: number };
  s4?: { deliveriesPerSec: number; p99: number; rss1m: number | null; rssLast: number };
  s6?: { lost: number };
} = {};
let profileSummary: ProfileSummary | null = null;

async function scenarioCeiling(): Promise<void> {
  log(`\n${elapsed()}  == ceiling: raw undici Pool -> receiver, concurrency ${P.concurrency}`);
  await receiver.reset();
  const [base] = await receiver.listen([{ mode: 'ok' }]);
  const body = canonicalBody(1);
  let done = 0;
  let last = 0;
  const cpu0 = { receiver: processCpuMs(receiver.child.pid), bench: (process.cpuUsage().user + process.cpuUsage().system) / 1000 };
  const stop = progress('ceiling', async () => {
    const text = `${fmt(done - last)} req/s`;
    last = done;
    return text;
  });
  const result = await ceiling({
    url: base!,
    body,
    key: randomBytes(24),
    concurrency: P.concurrency,
    warmupMs: P.ceilingWarmupMs,
    measureMs: P.ceilingMeasureMs,
    onTick: (n) => (done = n),
  });
  stop();
  const own = process.cpuUsage();
  const cpuPerReq = {
    receiver: (processCpuMs(receiver.child.pid) - cpu0.receiver) / Math.max(1, result.total),
    bench: ((own.user + own.system) / 1000 - cpu0.bench) / Math.max(1, result.total),
  };
  await receiver.closeServers();
  await receiver.reset();
  results.ceiling = result.reqPerSec;
  results.ceilingCpu = cpuPerReq.bench;
  row('ceiling', `raw POSTs, ${P.concurrency} connections, one endpoint (S1's concurrency)`, `${fmt(result.reqPerSec)} req/s`, 'reference for S1');
  row('ceiling', 'CPU per request: sender / receiver', `${cpuPerReq.bench.toFixed(3)} ms / ${cpuPerReq.receiver.toFixed(3)} ms`);
  detail(`ceiling (physical reference for S1: raw undici POSTs to one endpoint, ${P.concurrency} connections)`, [
    `${fmt(result.reqPerSec)} req/s over ${P.ceilingMeasureMs / 1000} s after ${P.ceilingWarmupMs / 1000} s warm-up; ${fmt(result.total)} requests, ${result.errors} errors`,
    `signed body of ${Buffer.byteLength(body)} bytes + Standard Webhooks headers, a fresh HMAC per request, undici Pool of ${P.concurrency} connections`,
    `CPU per request: sender (undici + HMAC) ${cpuPerReq.bench.toFixed(3)} ms, receiver ${cpuPerReq.receiver.toFixed(3)} ms`,
  ]);
}

/** S1: closed-loop registrations at `concurrency` over `loadProjects` projects; deliveries/s sustained. */
async function scenarioS1(kind: 'sqlite' | 'postgres', databaseUrl: string, dir: string, db: DbTarget): Promise<S1Result> {
  const label = kind === 'sqlite' ? 'S1' : 'S1 pg';
  log(`\n${elapsed()}  == ${label}: throughput (${kind}), registrations at concurrency ${P.concurrency} over ${P.loadProjects} projects`);
  await receiver.reset();
  const urls = await listen(range(0, P.loadProjects).map(() => ({ mode: 'ok' as const })));
  const r = await startReghook(kind === 'sqlite' ? 'S1-sqlite' : 'S1-postgres', databaseUrl, dir);
  try {
    const appIds = range(1, P.loadProjects);
    await projects(r, appIds, urls);
    const pool = apiPool(r.url, P.concurrency);
    const ledger = new Ledger();
    const counters = new LoadCounters();
    const phase = await closedPhase(label, r, pool, appIds, ledger, counters);
    await pool.close();
    const settled = await settle(label, ledger, phase.loadEnd, P.drainTimeoutMs, db);
    const w = windowStats(ledger, settled.lookup, phase);
    const mem = await r.memory();
    const windowMs = phase.windowEnd - phase.windowStart;
    const events = (w.deliveriesPerSec * windowMs) / 1000;
    const res = { deliveriesPerSec: w.deliveriesPerSec, ingestPerSec: w.ingestPerSec, latency: w.latency, rssAfterBytes: mem.rssBytes, cpuPerEvent: phase.cpu.reghook / Math.max(1, events) };
    detail(`${label} throughput (${kind})`, [
      `deliveries ${fmt(w.deliveriesPerSec)}/s, accepted ${fmt(w.ingestPerSec)}/s over ${((phase.windowEnd - phase.windowStart) / 1000).toFixed(1)} s after ${P.warmupMs / 1000} s warm-up`,
      `202 -> receiver first byte: ${latencyText(w.latency)}`,
      `API (send -> 202): ${latencyText(w.apiLatency)}`,
      cpuText(phase.cpu, windowMs, events),
      `drain after the load stopped: ${ms(settled.drainMs)}; API answers other than 202: ${counters.rejected.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(counters.rejected))}; connection errors ${counters.errors}`,
      ledgerLine(settled),
      `reghook after the load: RSS ${mb(mem.rssBytes)}, heap used ${mb(mem.heapUsedBytes)}`,
    ]);
    if (settled.missing.length > 0) notes.push(`${label}: ${settled.missing.length} accepted events had not reached the receiver ${P.drainTimeoutMs / 1000} s after the load`);
    return res;
  } finally {
    await stopReghook(r);
    await receiver.closeServers();
  }
}

async function runS1Sqlite(): Promise<void> {
  const dir = freshDir('s1');
  const file = path.join(dir, 'reghook.db');
  results.s1 = await scenarioS1('sqlite', `sqlite:${file}`, dir, { sqlite: file });
  const s1 = results.s1;
  const target = 0.5 * (results.ceiling ?? Number.NaN);
  row('S1 sqlite', 'deliveries/s', `${fmt(s1.deliveriesPerSec)}/s`, '≥ 0.5 × ceiling', ratio(s1.deliveriesPerSec / (results.ceiling ?? Number.NaN)), results.ceiling ? verdictOf(s1.deliveriesPerSec >= target) : '');
  row('S1 sqlite', 'accepted/s (ingest)', `${fmt(s1.ingestPerSec)}/s`, '', s1.ingestPerSec > s1.deliveriesPerSec * 1.03 ? 'delivery falls behind' : '');
  row('S1 sqlite', 'latency under saturation', s1.latency ? `p50 ${ms(s1.latency.p50)} / p99 ${ms(s1.latency.p99)}` : 'n/a');
  row('S1 sqlite', 'reghook CPU per event', `${s1.cpuPerEvent.toFixed(3)} ms`, 'reference', results.ceilingCpu ? `${ratio(s1.cpuPerEvent / results.ceilingCpu)} raw sender` : '');
}

/**
 * Runs `body` on a fresh schema of the bench's PostgreSQL server, holding the tests' shared server
 * lock (so no test restarts the server meanwhile), and drops the schema afterwards. Skipped, with a
 * note, under --no-pg or when no server answers.
 */
async function withPostgresSchema(label: string, body: (urls: { reghook: string; client: string; schema: string }) => Promise<void>): Promise<void> {
  if (NO_PG) {
    notes.push(`${label}: skipped (--no-pg)`);
    return;
  }
  const probe = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 3_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.query('SELECT 1');
  } catch (error) {
    const msg = `${label}: skipped, no server answers at ${PG_BASE_URL} (${(error as Error).message}); set REGHOOK_BENCH_DATABASE_URL`;
    log(`\n${elapsed()}  ${msg}`);
    notes.push(msg);
    await probe.end().catch(() => {});
    return;
  }
  // The PostgreSQL test files share this session lock; the one that restarts the server takes it
  // exclusively (test/store/postgres-database.ts). Holding it shared keeps a restart out of the run.
  try {
    await probe.query('SET lock_timeout = 60000');
    await probe.query('SELECT pg_advisory_lock_shared($1)', [0x7265_6768]);
  } catch (error) {
    const msg = `${label}: skipped, the server lock was not granted within 60 s (${(error as Error).message})`;
    log(`\n${elapsed()}  ${msg}`);
    notes.push(msg);
    await probe.end().catch(() => {});
    return;
  }
  const schema = `reghook_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const url = new URL(PG_BASE_URL);
  url.searchParams.set('schema', schema);
  const clientUrl = new URL(PG_BASE_URL);
  clientUrl.searchParams.set('options', `-c search_path=${schema}`);
  try {
    await body({ reghook: url.toString(), client: clientUrl.toString(), schema });
  } catch (error) {
    const msg = `${label}: failed, skipped (${String((error as Error).message ?? error).split('\n').slice(0, 3).join(' ')})`;
    log(`\n${elapsed()}  ${msg}`);
    notes.push(msg);
  } finally {
    const drop = `DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`;
    await probe.query(drop).catch(async () => {
      // The probe's connection may have been cut (a server restart): drop on a fresh one.
      const again = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 5_000 });
      again.on('error', () => {});
      await again.connect().then(() => again.query(drop)).catch((e: unknown) => notes.push(`${label}: could not drop schema ${schema}: ${String(e)}`));
      await again.end().catch(() => {});
    });
    await probe.end().catch(() => {});
  }
}

async function runS1Postgres(): Promise<void> {
  await withPostgresSchema('S1 PostgreSQL', async (urls) => {
    results.s1pg = await scenarioS1('postgres', urls.reghook, freshDir('s1pg'), { postgres: urls.client });
    const s = results.s1pg;
    row('S1 postgres', 'deliveries/s', `${fmt(s.deliveriesPerSec)}/s`, '≥ 0.5 × ceiling', ratio(s.deliveriesPerSec / (results.ceiling ?? Number.NaN)), results.ceiling ? verdictOf(s.deliveriesPerSec >= 0.5 * results.ceiling) : '');
    row('S1 postgres', 'accepted/s (ingest)', `${fmt(s.ingestPerSec)}/s`, '', s.ingestPerSec > s.deliveriesPerSec * 1.03 ? 'delivery falls behind' : '');
    row('S1 postgres', 'latency under saturation', s.latency ? `p50 ${ms(s.latency.p50)} / p99 ${ms(s.latency.p99)}` : 'n/a');
    row('S1 postgres', 'reghook CPU per event', `${s.cpuPerEvent.toFixed(3)} ms`, 'vs S1 sqlite', results.s1 ? ratio(s.cpuPerEvent / results.s1.cpuPerEvent) : '');
  });
}

/** S2: open loop at half the S1 rate; 202 -> first byte at the receiver. */
async function runS2(): Promise<void> {
  const rate = Math.max(20, Math.round((results.s1?.deliveriesPerSec ?? 400) / 2));
  log(`\n${elapsed()}  == S2: latency, open loop at ${rate} registrations/s (half of S1)`);
  await receiver.reset();
  const urls = await listen(range(0, P.loadProjects).map(() => ({ mode: 'ok' as const })));
  const dir = freshDir('s2');
  const file = path.join(dir, 'reghook.db');
  const r = await startReghook('S2-sqlite', `sqlite:${file}`, dir);
  try {
    const appIds = range(1, P.loadProjects);
    await projects(r, appIds, urls);
    const pool = apiPool(r.url, P.concurrency);
    const ledger = new Ledger();
    const counters = new LoadCounters();
    let lastAccepted = 0;
    let lastDistinct = 0;
    const stop = progress('S2', async () => {
      const s = await receiver.stats();
      const text = `accepted ${fmt(counters.accepted - lastAccepted).padStart(6)}/s  delivered ${fmt(s.distinct - lastDistinct).padStart(6)}/s  outstanding ${counters.outstanding}`;
      lastAccepted = counters.accepted;
      lastDistinct = s.distinct;
      return text;
    });
    const start = nowMs();
    const cpu = cpuWindow(r, P.warmupMs);
    await openLoop({ pool, ratePerSec: rate, durationMs: P.warmupMs + P.measureMs, maxOutstanding: 4_096, appIds, ledger, counters });
    const loadEnd = nowMs();
    const used = cpu.end();
    stop();
    await pool.close();
    const phase = { windowStart: start + P.warmupMs, windowEnd: Math.min(loadEnd, start + P.warmupMs + P.measureMs), loadEnd, cpu: used };
    const settled = await settle('S2', ledger, loadEnd, P.drainTimeoutMs, { sqlite: file });
    const w = windowStats(ledger, settled.lookup, phase);
    const d = w.latency;
    results.s2 = { p50: d?.p50 ?? Number.NaN, p99: d?.p99 ?? Number.NaN, max: d?.max ?? Number.NaN, rate };
    detail('S2 latency (sqlite, open loop)', [
      `offered ${rate}/s; accepted ${fmt(w.ingestPerSec)}/s, delivered ${fmt(w.deliveriesPerSec)}/s in the window; skipped sends (too many outstanding) ${counters.skipped}`,
      `202 -> receiver first byte: ${latencyText(d)}`,
      `API (send -> 202): ${latencyText(w.apiLatency)}`,
      cpuText(phase.cpu, phase.windowEnd - phase.windowStart, (w.deliveriesPerSec * (phase.windowEnd - phase.windowStart)) / 1000),
      ledgerLine(settled),
    ]);
    row('S2 latency', 'p50 (202 -> first byte)', ms(results.s2.p50), '≤ 10 ms', ratio(results.s2.p50 / 10), verdictOf(results.s2.p50 <= 10));
    row('S2 latency', 'p99', ms(results.s2.p99), '≤ 100 ms', ratio(results.s2.p99 / 100), verdictOf(results.s2.p99 <= 100));
    row('S2 latency', 'max', ms(results.s2.max));
  } finally {
    await stopReghook(r);
    await receiver.closeServers();
  }
}

/**
 * S3: 100 projects, 10 of them hang until the 2 s deadline, 5 % of healthy answers are 500; the
 * healthy ones get the S1 closed loop, the hanging ones 20 reports/s on top. `hostile = false` is the
 * matched baseline: the same 90 healthy projects and settings, every answer 200, nothing hangs.
 */
async function runS3(hostile: boolean): Promise<void> {
  const healthyN = P.s3Projects - P.s3Hanging;
  const label = hostile ? 'S3' : 'S3 baseline';
  log(
    hostile
      ? `\n${elapsed()}  == S3: isolation, ${P.s3Projects} projects (${P.s3Hanging} hang until the 2 s deadline, 5 % of healthy answers are 500); ` +
          `healthy load at concurrency ${P.concurrency} + ${P.s3HangRate}/s to the hanging ones`
      : `\n${elapsed()}  == S3 baseline: the same ${healthyN} healthy projects, every answer 200, nothing hangs`,
  );
  await receiver.reset();
  const specs: ServerSpec[] = hostile
    ? [...range(0, healthyN).map(() => ({ mode: 'flaky' as const, failRate: 0.05 })), ...range(0, P.s3Hanging).map(() => ({ mode: 'hang' as const }))]
    : range(0, healthyN).map(() => ({ mode: 'ok' as const }));
  const urls = await listen(specs);
  const dir = freshDir(hostile ? 's3' : 's3-baseline');
  const file = path.join(dir, 'reghook.db');
  const r = await startReghook(hostile ? 'S3-sqlite' : 'S3-baseline-sqlite', `sqlite:${file}`, dir, { REGHOOK_DELIVERY_TIMEOUT: '2s', REGHOOK_RETRY_INTERVAL: '1s' });
  try {
    const healthy = range(1, healthyN);
    const hanging = hostile ? range(healthyN + 1, P.s3Hanging) : [];
    await projects(r, [...healthy, ...hanging], urls);
    const pool = apiPool(r.url, P.concurrency);
    const hangPool = apiPool(r.url, 8);
    const ledger = new Ledger();
    const counters = new LoadCounters();
    const hangLedger = new Ledger();
    const hangCounters = new LoadCounters();
    const phase = await closedPhase(
      label,
      r,
      pool,
      healthy,
      ledger,
      counters,
      hostile
        ? [openLoop({ pool: hangPool, ratePerSec: P.s3HangRate, durationMs: P.warmupMs + P.measureMs, maxOutstanding: 256, appIds: hanging, ledger: hangLedger, counters: hangCounters })]
        : [],
    );
    await pool.close();
    await hangPool.close();
    const settled = await settle(label, ledger, phase.loadEnd, P.drainTimeoutMs, { sqlite: file });
    const w = windowStats(ledger, settled.lookup, phase);
    // Healthy events whose first attempt got a 500 are retried after 1 s; wait (bounded) for their 200s too.
    const okDeadline = Date.now() + 15_000;
    let lk = settled.lookup;
    while (Date.now() < okDeadline && lk.okAt.some((v) => v === 0)) {
      await sleep(500);
      lk = await receiver.lookup(ledger.ids);
    }
    const notOk = lk.okAt.filter((v) => v === 0).length;
    const held = await receiver.stats();
    const hangLookup = await receiver.lookup(hangLedger.ids);
    const hangReached = hangLookup.first.filter((v) => v > 0).length;
    const hangStatuses = await statusesOf({ sqlite: file }, hangLedger.ids.filter((_, i) => hangLookup.first[i] === 0));
    const goodput = w.goodputPerSec;
    const p99 = w.latency?.p99 ?? Number.NaN;
    const windowMs = phase.windowEnd - phase.windowStart;
    const events = (w.deliveriesPerSec * windowMs) / 1000;
    const lines = [
      `healthy goodput (first 200 per event) ${fmt(goodput)}/s, first arrivals ${fmt(w.deliveriesPerSec)}/s, accepted ${fmt(w.ingestPerSec)}/s`,
      `healthy 202 -> first byte: ${latencyText(w.latency)}`,
      `healthy 202 -> first 200: ${latencyText(w.latencyToOk)}`,
      cpuText(phase.cpu, windowMs, events),
      ledgerLine(settled) + ` (healthy projects); healthy events without a 200 yet ${fmt(notOk)}`,
    ];
    if (hostile) {
      lines.push(
        `most attempts held open by the ${P.s3Hanging} hanging endpoints at once: ${held.hangingMax} (REGHOOK_CONCURRENCY 256; adaptive windows start at 4 and halve on each timeout -> ${4 * P.s3Hanging} expected at most)`,
        `hanging projects: ${fmt(hangLedger.size)} accepted, ${fmt(hangReached)} reached the receiver (and hung); the others in the database: ${statusText(hangStatuses)}`,
      );
    }
    detail(`${label} (sqlite, ${healthyN} healthy projects, REGHOOK_DELIVERY_TIMEOUT=2s, REGHOOK_RETRY_INTERVAL=1s)`, lines);
    if (!hostile) {
      results.s3base = { goodput, p99 };
      row('S3 baseline', `goodput, ${healthyN} healthy projects`, `${fmt(goodput)}/s`, 'matched reference', results.s1 ? `${ratio(goodput / results.s1.deliveriesPerSec)} S1` : '');
      row('S3 baseline', 'p99', ms(p99), '', results.s1?.latency ? `${ratio(p99 / results.s1.latency.p99)} S1` : '');
      return;
    }
    results.s3 = { goodput, p99 };
    const s1 = results.s1;
    const base = results.s3base;
    const vsBase = (v: number, b: number | undefined) => (b ? `; ${ratio(v / b)} baseline` : '');
    row('S3 isolation', 'healthy goodput', `${fmt(goodput)}/s`, '≥ 0.9 × S1', (s1 ? `${ratio(goodput / s1.deliveriesPerSec)} S1` : '') + vsBase(goodput, base?.goodput), s1 ? verdictOf(goodput >= 0.9 * s1.deliveriesPerSec) : '');
    const s1p99 = s1?.latency?.p99 ?? Number.NaN;
    row('S3 isolation', 'healthy p99', ms(p99), '≤ 2 × S1 p99', (s1 ? `${ratio(p99 / s1p99)} S1` : '') + vsBase(p99, base?.p99), s1 ? verdictOf(p99 <= 2 * s1p99) : '');
  } finally {
    await stopReghook(r);
    await receiver.closeServers();
  }
}


// ---------------------------------------------------------------------------------------------
// W1: the adaptive per-endpoint window (SPEC §4), against the issue's two references

/** The answer time of W1's slow endpoint, and the most attempts one endpoint may have in flight (the default). */
const W1_ANSWER_MS = 50;
const W1_MAX_WINDOW = 64;

/**
 * W1: a backlog made due at one instant for one endpoint that answers every request in 50 ms, and
 * 200 for one that never answers (deadline 1 s). The slow one's throughput is held against a fixed
 * window at the max, measured first on the same receiver: 64 signed POSTs always open from a plain
 * undici Pool (the bench's ceiling loop: no store, no claim, so an upper bound for any fixed window
 * reghook could keep). The hanging one's open requests are sampled at the receiver every 50 ms.
 */
async function runW1(): Promise<void> {
  log(`\n${elapsed()}  == W1: ${fmt(P.w1Count)} due at once for an endpoint answering in ${W1_ANSWER_MS} ms, and 200 for one that hangs (deadline 1 s)`);
  await receiver.reset();
  const [fixedBase] = await receiver.listen([{ mode: 'ok', delayMs: W1_ANSWER_MS }]);
  const fixed = await ceiling({
    url: fixedBase!,
    body: canonicalBody(1),
    key: randomBytes(24),
    concurrency: W1_MAX_WINDOW,
    warmupMs: P.ceilingWarmupMs,
    measureMs: P.ceilingMeasureMs,
  });
  await receiver.reset();
  const urls = await listen([{ mode: 'ok', delayMs: W1_ANSWER_MS }, { mode: 'hang' }]);
  const dir = freshDir('w1-sqlite');
  const file = path.join(dir, 'reghook.db');
  const r = await startReghook('W1-sqlite', `sqlite:${file}`, dir, { REGHOOK_DELIVERY_TIMEOUT: '1s', REGHOOK_RETRY_INTERVAL: '1s' });
  try {
    await projects(r, [1, 2], urls);
    const later = () => Date.now() + 3_600_000;
    const slowIds = insertPending(file, { appIds: [1], count: P.w1Count, batch: 5_000, dueAt: later });
    insertPending(file, { appIds: [2], count: 200, batch: 200, dueAt: later });
    const samples: { at: number; hanging: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: nowMs(), hanging: (await receiver.stats()).hanging });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const dueAt = Date.now();
    makeDue(file, [1, 2], dueAt);
    const ledger = new Ledger();
    for (const id of slowIds) ledger.add(id, dueAt, dueAt, 0);
    const settled = await settle('W1', ledger, dueAt, P.drainTimeoutMs, { sqlite: file });
    sampling = false;
    await sampler;
    const openAtOnce = (await receiver.stats()).delayedMax;
    const firsts = Array.from(settled.lookup.first).filter((v) => v > 0);
    const first = Math.min(...firsts);
    const last = Math.max(...firsts);
    const rate = firsts.length / Math.max(0.001, (last - first) / 1000);
    const bound = (W1_MAX_WINDOW * 1000) / W1_ANSWER_MS;
    const reference = fixed.reqPerSec;
    const hangStart = samples.find((x) => x.hanging > 0)?.at ?? Number.NaN;
    const maxOpen = (from: number) => Math.max(0, ...samples.filter((x) => x.at >= from).map((x) => x.hanging));
    // After three deadlines (1 s each) from its first request: the window started at 4 and halves on each timeout.
    const afterThree = maxOpen(hangStart + 3_000);
    detail(`W1 adaptive window (sqlite, defaults but REGHOOK_DELIVERY_TIMEOUT=1s, REGHOOK_RETRY_INTERVAL=1s)`, [
      `slow endpoint (every answer after ${W1_ANSWER_MS} ms): ${fmt(firsts.length)} of ${fmt(slowIds.length)} delivered, first arrival ${ms(first - dueAt)} after they came due, ` +
        `then ${fmt(rate)}/s until the last (the window's growth from 4 included); at most ${openAtOnce} of its requests open at once`,
      `reference, a fixed window at the max: ${W1_MAX_WINDOW} POSTs always open from a plain undici Pool to the same kind of endpoint, ${fmt(reference)}/s over ${P.ceilingMeasureMs / 1000} s ` +
        `(${fixed.errors} errors; ${W1_MAX_WINDOW} attempts of exactly ${W1_ANSWER_MS} ms would be ${fmt(bound)}/s)`,
      `hanging endpoint: open requests at the receiver, sampled every 50 ms: at most ${maxOpen(0)} in all, at most ${afterThree} from 3 s (three deadlines) after its first request`,
      ledgerLine(settled),
    ]);
    row('W1 adaptive window', `one endpoint answering in ${W1_ANSWER_MS} ms: deliveries/s`, `${fmt(rate)}/s`, `≥ 0.8 × a fixed window of ${W1_MAX_WINDOW} (${fmt(reference)}/s)`, ratio(rate / reference), verdictOf(rate >= 0.8 * reference));
    row('W1 adaptive window', 'a hanging endpoint: most in flight after its first 3 deadlines', `${afterThree} (at first ${maxOpen(0)})`, '≤ 2', '', verdictOf(afterThree <= 2));
  } finally {
    await stopReghook(r);
    await receiver.closeServers();
  }
}

/** S4 (+ S5): a big scheduled backlog in the file, S1 load on top, then a cliff; memory at each size. */
async function runS4(): Promise<void> {
  log(`\n${elapsed()}  == S4/S5: backlog of ${fmt(P.backlog)} scheduled over the next hour, S1 load on top, a cliff of ${fmt(P.cliff)}; memory`);
  await receiver.reset();
  const loadApps = range(1, P.loadProjects);
  const backlogApps = range(101, 10);
  const cliffApps = range(201, P.loadProjects);
  const urls = await listen(range(0, loadApps.length + backlogApps.length + cliffApps.length).map(() => ({ mode: 'ok' as const })));
  const dir = freshDir('s4');
  const file = path.join(dir, 'reghook.db');
  const dbUrl = `sqlite:${file}`;
  const memory: { label: string; rss: number; heap: number }[] = [];
  const measureMemory = async (r: Reghook, label: string) => {
    await sleep(2_000);
    const m = await r.memory();
    memory.push({ label, rss: m.rssBytes, heap: m.heapUsedBytes });
    log(`${elapsed()}  [S5] ${label}: RSS ${mb(m.rssBytes)}, heap used ${mb(m.heapUsedBytes)}`);
  };

  let r = await startReghook('S4-0', dbUrl, dir);
  await projects(r, [...loadApps, ...backlogApps, ...cliffApps], urls);
  await measureMemory(r, '0 pending');
  await stopReghook(r);

  // The backlog: pending deliveries due over the next hour, inserted straight into the file.
  let inserted = 0;
  const hour = 3_600_000;
  const insertFrom = Date.now();
  let rm: Reghook | null = null;
  for (const point of P.memoryPoints) {
    const n = point - inserted;
    const t = Date.now();
    const stop = progress('S4 insert', async () => `${fmt(inserted)} rows`);
    const base = inserted;
    const options: BulkInsert = {
      appIds: backlogApps,
      count: n,
      batch: 50_000,
      dueAt: (i) => insertFrom + 10_000 + Math.floor(((base + i) / P.backlog) * (hour - 10_000)),
      onProgress: (done) => (inserted = base + done),
    };
    insertPending(file, options);
    stop();
    log(`${elapsed()}  [S4] inserted ${fmt(n)} scheduled deliveries in ${((Date.now() - t) / 1000).toFixed(1)} s (${fmt(n / ((Date.now() - t) / 1000))} rows/s)`);
    rm = await startReghook(`S4-${point}`, dbUrl, dir);
    await measureMemory(rm, `${fmt(point)} pending`);
    if (point !== P.memoryPoints.at(-1)) await stopReghook(rm);
  }
  r = rm!;
  try {
    // S1 on top of the backlog.
    const pool = apiPool(r.url, P.concurrency);
    const ledger = new Ledger();
    const counters = new LoadCounters();
    const phase = await closedPhase('S4 load', r, pool, loadApps, ledger, counters);
    await pool.close();
    const settled = await settle('S4 load', ledger, phase.loadEnd, P.drainTimeoutMs, { sqlite: file });
    const w = windowStats(ledger, settled.lookup, phase);
    const s4WindowMs = phase.windowEnd - phase.windowStart;
    const s4Events = (w.deliveriesPerSec * s4WindowMs) / 1000;
    const s4CpuPerEvent = phase.cpu.reghook / Math.max(1, s4Events);
    await measureMemory(r, `${fmt(P.backlog)} pending, after the S1 load`);

    // The cliff: rows of 8 projects inserted (not due), then made due in the same instant.
    const cliffIds = insertPending(file, { appIds: cliffApps, count: P.cliff, batch: 5_000, dueAt: () => Date.now() + 3 * hour });
    const dueAt = Date.now();
    const cliffCpuStart = cpuNow(r);
    const changed = makeDue(file, cliffApps, dueAt);
    const cliffLedger = new Ledger();
    for (const id of cliffIds) cliffLedger.add(id, dueAt, dueAt, 0);
    const cliffSettled = await settle('S4 cliff', cliffLedger, dueAt, P.cliffTimeoutMs, { sqlite: file });
    const cliffCpu = cpuDelta(cliffCpuStart, cpuNow(r));
    const firsts = Array.from(cliffSettled.lookup.first).filter((v) => v > 0);
    const lastCliff = firsts.reduce((a, b) => Math.max(a, b), 0);
    const firstCliff = firsts.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    const cliffRate = firsts.length / ((lastCliff - dueAt) / 1000);
    const afterCliff = await r.memory();
    memory.push({ label: 'after the cliff', rss: afterCliff.rssBytes, heap: afterCliff.heapUsedBytes });

    // The backlog's own ledger: whatever came due during the run should have gone out.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file, { readonly: true });
    const now = Date.now();
    const backlogDue = db
      .prepare(`SELECT status, COUNT(*) AS n FROM events WHERE app_id IN (${backlogApps.join(',')}) AND created_at < ? AND (status <> 'pending' OR next_attempt_at <= ?) GROUP BY status`)
      .all(now, now) as { status: string; n: number }[];
    db.close();
    await stopReghook(r);
    const size = fileSize(file);

    const s1 = results.s1;
    const rss1m = memory.find((m) => m.label === `${fmt(1_000_000)} pending`)?.rss ?? null;
    results.s4 = { deliveriesPerSec: w.deliveriesPerSec, p99: w.latency?.p99 ?? Number.NaN, rss1m, rssLast: afterCliff.rssBytes };
    detail(`S4 backlog (sqlite, ${fmt(P.backlog)} scheduled over the next hour)`, [
      `S1 load on top: deliveries ${fmt(w.deliveriesPerSec)}/s, accepted ${fmt(w.ingestPerSec)}/s; 202 -> first byte ${latencyText(w.latency)}`,
      `S1 load on top: ${cpuText(phase.cpu, s4WindowMs, s4Events)}`,
      ledgerLine(settled),
      `cliff: ${fmt(changed)} deliveries of ${cliffApps.length} projects made due at one instant: first arrival after ${ms(firstCliff - dueAt)}, ` +
        `${firsts.length === changed ? 'all' : 'only'} ${fmt(firsts.length)} in ${ms(lastCliff - dueAt)} = ${fmt(cliffRate)}/s` +
        (firsts.length === changed ? '' : ` (stopped waiting after ${P.cliffTimeoutMs / 1000} s)`),
      `cliff: ${cpuText(cliffCpu, Math.max(1, lastCliff - dueAt), firsts.length)}`,
      `cliff ${ledgerLine(cliffSettled)}`,
      `backlog rows that came due during the run: ${backlogDue.map((b) => `${b.status} ${fmt(b.n)}`).join(', ') || 'none'}`,
      `database file (+ WAL): ${mb(size)}`,
    ]);
    detail('S5 memory of the reghook process (from its /metrics)', memory.map((m) => `${m.label}: RSS ${mb(m.rss)}, heap used ${mb(m.heap)}`));
    row('S4 backlog', 'S1 deliveries/s on top', `${fmt(w.deliveriesPerSec)}/s`, '≥ 0.8 × S1', s1 ? ratio(w.deliveriesPerSec / s1.deliveriesPerSec) : '', s1 ? verdictOf(w.deliveriesPerSec >= 0.8 * s1.deliveriesPerSec) : '');
    row('S4 backlog', 'reghook CPU per event on top', `${s4CpuPerEvent.toFixed(3)} ms`, 'vs S1', s1 ? ratio(s4CpuPerEvent / s1.cpuPerEvent) : '');
    row('S4 backlog', 'p99 on top', ms(w.latency?.p99 ?? Number.NaN), 'vs S1 p99', s1?.latency ? ratio((w.latency?.p99 ?? Number.NaN) / s1.latency.p99) : '');
    row(
      'S4 backlog',
      `cliff of ${fmt(P.cliff)} drained`,
      `${fmt(cliffRate)}/s, ${firsts.length === changed ? 'all' : `${fmt(firsts.length)} of ${fmt(changed)}`} in ${ms(lastCliff - dueAt)}`,
      'vs S1',
      s1 ? ratio(cliffRate / s1.deliveriesPerSec) : '',
    );
    const cliffCpuPerDelivery = cliffCpu.reghook / Math.max(1, firsts.length);
    row('S4 backlog', 'cliff: reghook CPU per delivery', `${cliffCpuPerDelivery.toFixed(3)} ms`, 'vs S1 per event', s1 ? ratio(cliffCpuPerDelivery / s1.cpuPerEvent) : '');
    row('S4 backlog', 'database file', mb(size));
    for (const m of memory) {
      const at1m = m.label === `${fmt(1_000_000)} pending`;
      row('S5 memory', m.label, `RSS ${mb(m.rss)}, heap ${mb(m.heap)}`, at1m ? 'RSS < 300 MB' : '', at1m ? ratio(m.rss / (300 * 1024 * 1024)) : '', at1m ? verdictOf(m.rss < 300 * 1024 * 1024) : '');
    }
    if (rss1m === null) notes.push('S5: the 1M-pending point runs in the full mode only');
  } finally {
    if (r.child.exitCode === null) await stopReghook(r);
    await receiver.closeServers();
  }
}

/** S6: kill -9 under S1 load, restart on the same file, time until the backlog is drained; lost = 0. */
async function runS6(): Promise<void> {
  log(`\n${elapsed()}  == S6: kill -9 under S1 load after ${P.s6KillAfterMs / 1000} s, restart, drain`);
  await receiver.reset();
  const appIds = range(1, P.loadProjects);
  const urls = await listen(appIds.map(() => ({ mode: 'ok' as const })));
  const dir = freshDir('s6');
  const file = path.join(dir, 'reghook.db');
  const dbUrl = `sqlite:${file}`;
  const first = await startReghook('S6-first', dbUrl, dir);
  await projects(first, appIds, urls);
  const pool = apiPool(first.url, P.concurrency);
  const ledger = new Ledger();
  const counters = new LoadCounters();
  let killed = false;
  let lastAccepted = 0;
  const stop = progress('S6 load', async () => {
    const s = await receiver.stats();
    const text = `accepted ${fmt(counters.accepted - lastAccepted)}/s  delivered total ${fmt(s.distinct)}  accepted total ${fmt(counters.accepted)}`;
    lastAccepted = counters.accepted;
    return text;
  });
  const loop = closedLoop({ pool, concurrency: P.concurrency, durationMs: P.s6KillAfterMs + 10_000, maxRequests: 5_000_000, appIds, ledger, counters, stop: () => killed });
  await sleep(P.s6KillAfterMs);
  killed = true;
  await first.kill9();
  const killAt = nowMs();
  const atKill = await receiver.stats();
  await loop;
  stop();
  await pool.close().catch(() => {});
  const restartT = nowMs();
  const second = await startReghook('S6-second', dbUrl, dir);
  const listening = nowMs();
  try {
    // A delivery leased at the kill is due again when its lease ends: 2 x delivery timeout + 5 s.
    const settled = await settle('S6', ledger, listening, P.drainTimeoutMs + 30_000, { sqlite: file });
    const times = Array.from(settled.lookup.first).filter((v) => v > 0).sort((a, b) => a - b);
    const afterRestart = times.filter((v) => v >= listening);
    // The drain is the deliveries made after the restart: 99 % of those (not of every accepted
    // event, most of which arrived before the kill) had arrived this long after listening.
    const p99After = (afterRestart[Math.ceil(0.99 * afterRestart.length) - 1] ?? Number.NaN) - listening;
    const lost = lostOf(settled);
    results.s6 = { lost };
    detail('S6 recovery (sqlite, kill -9 under load)', [
      `accepted before the kill ${fmt(ledger.size)}, delivered before the kill ${fmt(atKill.distinct)}; unanswered reports at the kill ${fmt(counters.errors)} (not accepted, not counted)`,
      `restart to listening: ${ms(listening - restartT)} (kill at +0, restart began ${ms(restartT - killAt)} later)`,
      `after the restart ${fmt(afterRestart.length)} deliveries; 99 % of them had arrived ${ms(p99After)} after listening, the last one ${ms((times.at(-1) ?? Number.NaN) - listening)} after (the deliveries leased at the kill wait for their lease: 2 × REGHOOK_DELIVERY_TIMEOUT + 5 s = 25 s by default)`,
      ledgerLine(settled) + `; lost (not in the database as pending/failed either): ${fmt(lost)}`,
    ]);
    row(
      'S6 recovery',
      'lost after kill -9',
      fmt(lost) + (settled.missing.length > lost ? ` (+${fmt(settled.missing.length - lost)} still owed after ${(P.drainTimeoutMs + 30_000) / 1000} s)` : ''),
      '0',
      '',
      verdictOf(lost === 0),
    );
    row(
      'S6 recovery',
      'drain after restart: last / 99 % of post-restart deliveries',
      afterRestart.length === 0
        ? 'nothing owed: every accepted event had arrived before the kill'
        : `${ms((times.at(-1) ?? Number.NaN) - listening)} / ${ms(p99After)} after listening (${fmt(afterRestart.length)} deliveries)`,
    );
    row('S6 recovery', 'duplicates', fmt(settled.duplicates));
  } finally {
    await stopReghook(second);
    await receiver.closeServers();
  }
}

// ---------------------------------------------------------------------------------------------
// Main

/**
 * S7: thousands of tenants with due work at once. A claim must cost in proportion to the batch it
 * takes, not to the number of projects that have something due, and the API must stay fast while
 * the dispatcher works through them. Claim time is measured in this process through the Store
 * itself (no HTTP), on data no dispatcher touches; API latency and deliveries on a running reghook.
 */
interface S7Backend {
  kind: 'sqlite' | 'postgres';
  databaseUrl: string;
  dir: string;
  /** Copies project 1 (endpoint and sealed secret included) to 2..n, and inserts the due rows. */
  populate(n: number, urlOf: (appId: number) => string, due: number, dueFrom: number): Promise<void>;
  /** A Store on data as populated, for claims that lease rows; `done` undoes what they changed. */
  claimStore(): Promise<{ store: Store; done(): Promise<void> }>;
  /** Attempts by outcome, after the run. */
  outcomes(): Promise<{ outcome: string; n: number }[]>;
}

const OUTCOMES_SQL = {
  sqlite: `SELECT CASE WHEN finished = 0 THEN 'in flight' WHEN success = 1 THEN 'ok' ELSE COALESCE(error_kind, 'http ' || status_code) END AS outcome,
           COUNT(*) AS n FROM attempts GROUP BY 1 ORDER BY 2 DESC`,
  postgres: `SELECT CASE WHEN NOT finished THEN 'in flight' WHEN success THEN 'ok' ELSE COALESCE(error_kind, 'http ' || status_code) END AS outcome,
             COUNT(*)::int AS n FROM attempts GROUP BY 1 ORDER BY 2 DESC`,
};

async function scenarioS7(b: S7Backend): Promise<void> {
  const n = P.s7Projects;
  const label = b.kind === 'sqlite' ? 'S7 tenants' : 'S7 pg tenants';
  log(`\n${elapsed()}  == ${label}: ${fmt(n)} projects with ${fmt(P.s7Due)} deliveries due at once (${b.kind}): claim time, API latency, deliveries`);
  await receiver.reset();
  const urls = await listen(range(0, 4).map(() => ({ mode: 'ok' as const })));
  const setup = await startReghook(`S7-setup-${b.kind}`, b.databaseUrl, b.dir, { REGHOOK_DISPATCH: 'false' });
  await setup.project(1, urls[0]!);
  await stopReghook(setup);
  await b.populate(n, (appId) => urls[appId % urls.length]!, P.s7Due, Date.now() - 60_000);

  // Claims as the dispatcher makes them: batches of 100, 16 per endpoint.
  const { store, done } = await b.claimStore();
  const claimMs: number[] = [];
  let claimedRows = 0;
  try {
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const claimed = await store.claimDue({ now: Date.now(), limit: 100, leaseMs: 25_000, maxAttempts: 10, perEndpointLimit: 16, inFlight: {}, excludeAppIds: [] });
      claimMs.push(performance.now() - t);
      claimedRows += claimed.length;
    }
  } finally {
    await done();
  }
  const claims = distribution(claimMs)!;

  // The API while a running reghook works through the backlog.
  const r = await startReghook(`S7-${b.kind}`, b.databaseUrl, b.dir);
  try {
    const healthz: number[] = [];
    const list: number[] = [];
    const before = await receiver.stats();
    const start = Date.now();
    const until = start + P.warmupMs + P.measureMs;
    let window0 = before;
    let windowStart = 0;
    while (Date.now() < until) {
      const inWindow = Date.now() >= start + P.warmupMs;
      if (inWindow && windowStart === 0) {
        windowStart = Date.now();
        window0 = await receiver.stats();
      }
      let t = nowMs();
      await r.api('GET', '/healthz');
      if (inWindow) healthz.push(nowMs() - t);
      t = nowMs();
      await r.api('GET', `/v1/projects/${1 + Math.floor(Math.random() * n)}/events?limit=20`);
      if (inWindow) list.push(nowMs() - t);
      await sleep(20);
    }
    const after = await receiver.stats();
    const rate = (after.distinct - window0.distinct) / ((Date.now() - windowStart) / 1000);
    const h = distribution(healthz);
    const l = distribution(list);
    await stopReghook(r);
    const outcomes = await b.outcomes();
    detail(`${label} (${b.kind}, ${fmt(n)} projects on 4 receiver ports, ${fmt(P.s7Due)} due)`, [
      `claim of at most 100 (16 per endpoint), 30 in a row: ${latencyText(claims)}; ${fmt(claimedRows)} rows claimed`,
      `GET /healthz while delivering: ${latencyText(h)}`,
      `GET /v1/projects/{random}/events?limit=20 while delivering: ${latencyText(l)}`,
      `deliveries (first arrivals) ${fmt(rate)}/s over the ${P.measureMs / 1000} s window; ${fmt(after.distinct - before.distinct)} in all`,
      `attempts by outcome: ${outcomes.map((o) => `${o.outcome} ${fmt(o.n)}`).join(', ')}`,
    ]);
    const s1 = b.kind === 'sqlite' ? results.s1 : results.s1pg;
    row(label, `claim ≤ 100 with ${fmt(n)} projects due`, `p50 ${ms(claims.p50)} / max ${ms(claims.max)}`, 'milliseconds');
    row(label, 'API p99 while delivering', `healthz ${ms(h?.p99 ?? Number.NaN)} / events ${ms(l?.p99 ?? Number.NaN)}`, '', results.s2 ? `${ratio((l?.p99 ?? Number.NaN) / results.s2.p99)} S2 p99` : '');
    row(label, 'deliveries/s', `${fmt(rate)}/s`, `vs S1 ${b.kind}`, s1 ? ratio(rate / s1.deliveriesPerSec) : '');
  } finally {
    if (r.child.exitCode === null) await stopReghook(r);
    await receiver.closeServers();
  }
}

async function runS7(): Promise<void> {
  const dir = freshDir('s7');
  const file = path.join(dir, 'reghook.db');
  await scenarioS7({
    kind: 'sqlite',
    databaseUrl: `sqlite:${file}`,
    dir,
    async populate(n, urlOf, due, dueFrom) {
      cloneProjects(file, 1, range(2, n - 1), urlOf);
      insertPending(file, { appIds: range(1, n), count: due, batch: 50_000, dueAt: (i) => dueFrom + (i % 10_000) });
    },
    async claimStore() {
      // On a copy: the claims lease rows.
      const copy = path.join(freshDir('s7-claims'), 'reghook.db');
      copyFileSync(file, copy);
      const store = new SqliteStore(copy);
      return { store, done: () => store.close() };
    },
    async outcomes() {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare(OUTCOMES_SQL.sqlite).all() as { outcome: string; n: number }[];
      } finally {
        db.close();
      }
    },
  });
}

async function runS7Postgres(): Promise<void> {
  await withPostgresSchema('S7 PostgreSQL', async (urls) => {
    const sql = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> => {
      const client = new pg.Client({ connectionString: urls.client });
      await client.connect();
      try {
        return (await client.query<R>(text, values)).rows;
      } finally {
        await client.end();
      }
    };
    await scenarioS7({
      kind: 'postgres',
      databaseUrl: urls.reghook,
      dir: freshDir('s7pg'),
      async populate(n, urlOf, due, dueFrom) {
        const appIds = range(2, n - 1);
        await sql(
          `INSERT INTO projects (app_id, name, created_at) SELECT a, 'bench ' || a, p.created_at FROM projects p, unnest($1::int[]) a WHERE p.app_id = 1`,
          [appIds],
        );
        await sql(
          `INSERT INTO endpoints (app_id, url, enabled, secret_sealed, created_at, updated_at)
           SELECT a.app_id, a.url, e.enabled, e.secret_sealed, e.created_at, e.updated_at
           FROM endpoints e, unnest($1::int[], $2::text[]) AS a (app_id, url) WHERE e.app_id = 1`,
          [appIds, appIds.map(urlOf)],
        );
        // One canonical body per project (the receiver counts webhook ids; it does not parse bodies).
        const all = range(1, n);
        await sql(
          `INSERT INTO events (id, app_id, client_uuid, body, status, next_attempt_at, created_at)
           SELECT 'evt_' || upper(lpad(to_hex(i), 26, '0')), b.app_id, gen_random_uuid()::text, b.body, 'pending',
                  $3::bigint + (i % 10000), $3::bigint
           FROM generate_series(0, $4::int - 1) AS i
           JOIN unnest($1::int[], $2::text[]) AS b (app_id, body) ON b.app_id = 1 + (i % $5::int)`,
          [all, all.map((appId) => canonicalBody(appId)), dueFrom, due, n],
        );
        await sql('ANALYZE events');
      },
      async claimStore() {
        const store = await PostgresStore.open(urls.reghook, { poolSize: 2 });
        return {
          store,
          async done() {
            await store.close();
            // Undo the claims' leases and attempts: every row due again, as populated.
            await sql(`UPDATE events SET next_attempt_at = created_at, lease_token = NULL, attempt_count = 0, scheduled_attempts = 0 WHERE lease_token IS NOT NULL`);
            await sql('DELETE FROM attempts');
          },
        };
      },
      outcomes: () => sql<{ outcome: string; n: number }>(OUTCOMES_SQL.postgres),
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Peers: the same load through Fastify + BullMQ, Fastify + pg-boss, and the relay ceiling

type SystemKind = 'reghook-sqlite' | 'reghook-sqlite-1t' | 'reghook-pg' | PeerKind;
const SYSTEM_NAMES: Record<SystemKind, string> = {
  'reghook-sqlite': 'reghook sqlite',
  'reghook-sqlite-1t': 'reghook sqlite, one thread',
  'reghook-pg': 'reghook postgres',
  bullmq: 'BullMQ',
  pgboss: 'pg-boss',
  relay: 'relay ceiling',
};
/** Whose CPU a system's "CPU per event" counts. */
const CPU_COUNTS: Record<SystemKind, string> = {
  'reghook-sqlite': 'reghook',
  'reghook-sqlite-1t': 'reghook',
  'reghook-pg': 'reghook; PostgreSQL server not counted',
  bullmq: 'sender + redis-server',
  pgboss: 'sender; PostgreSQL server not counted',
  relay: 'relay',
};

interface PeerResult {
  deliveriesPerSec: number;
  ingestPerSec: number;
  latency: Distribution | null;
  cpuPerEvent: number;
  /** The PostgreSQL server's CPU per delivered event, where it was measured (P2 on PostgreSQL). */
  databaseCpuPerEvent?: number;
}
/** By `P1:<kind>` / `P2:<kind>`; P1 reghook is S1 / S1pg (results.s1, results.s1pg). */
const peerResults = new Map<string, PeerResult>();
let p2Ceiling: number | undefined;

interface RunningSystem {
  url: string;
  cpu: CpuSource;
  db: DbTarget | null;
}

/** A peer's exit and what it wrote, as notes (they print nothing when all is well). */
async function stopChild(name: string, c: { stop(): Promise<number | null>; output(): string }, quiet = false): Promise<void> {
  const code = await c.stop();
  if (quiet && code === 0) return;
  const out = c
    .output()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('listening on '))
    .join('\n');
  if (code !== 0 || out !== '') notes.push(`${name} (${currentScenario}) exited ${code}${out ? `; its output: ${out.slice(-400).replace(/\s+/g, ' ')}` : ''}`);
}

/**
 * Starts `kind` with project i + 1's endpoint at urls[i], runs `body`, stops it. A peer whose store
 * is missing (no redis-server, no PostgreSQL) is skipped with a line saying so.
 */
async function withSystem(label: string, kind: SystemKind, urls: string[], body: (s: RunningSystem) => Promise<void>): Promise<void> {
  const appIds = range(1, urls.length);
  const dirName = label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const secret = randomBytes(24);
  switch (kind) {
    case 'reghook-sqlite':
    case 'reghook-sqlite-1t': {
      const dir = freshDir(dirName);
      const file = path.join(dir, 'reghook.db');
      // -1t: the store on the main thread, as on a one-core machine (the step the store thread is measured against).
      const r = await startReghook(`${dirName}`, `sqlite:${file}`, dir, kind === 'reghook-sqlite-1t' ? { REGHOOK_SQLITE_THREAD: 'false' } : {});
      try {
        await projects(r, appIds, urls);
        await body({ url: r.url, cpu: r, db: { sqlite: file } });
      } finally {
        await stopReghook(r);
      }
      return;
    }
    case 'reghook-pg':
      await withPostgresSchema(label, async (u) => {
        const r = await startReghook(`${dirName}`, u.reghook, freshDir(dirName));
        try {
          await projects(r, appIds, urls);
          await body({ url: r.url, cpu: r, db: { postgres: u.client } });
        } finally {
          await stopReghook(r);
        }
      });
      return;
    case 'bullmq': {
      if (!RedisServer.available()) {
        const msg = `${label}: skipped, no redis-server at ${REDIS_SERVER} (set REGHOOK_BENCH_REDIS_SERVER)`;
        log(`\n${elapsed()}  ${msg}`);
        notes.push(msg);
        return;
      }
      const redis = await RedisServer.start(freshDir(dirName));
      try {
        const peer = await Peer.start('bullmq', urls, secret, { PEER_REDIS_PORT: String(redis.port) });
        try {
          await body({ url: peer.url, cpu: { cpuMs: () => peer.cpuMs() + redis.cpuMs() }, db: null });
        } finally {
          await stopChild('the BullMQ sender', peer);
        }
      } finally {
        // redis-server logs its start and stop (and a memory-overcommit advice) at warning level.
        await stopChild('redis-server', redis, true);
      }
      return;
    }
    case 'pgboss':
      await withPostgresSchema(label, async (u) => {
        const peer = await Peer.start('pgboss', urls, secret, { PEER_DATABASE_URL: PG_BASE_URL, PEER_PGBOSS_SCHEMA: u.schema });
        try {
          await body({ url: peer.url, cpu: peer, db: null });
        } finally {
          await stopChild('the pg-boss sender', peer);
        }
      });
      return;
    case 'relay': {
      const file = path.join(freshDir(dirName), 'relay.db');
      const peer = await Peer.start('relay', urls, secret, { PEER_SQLITE_FILE: file });
      try {
        await body({ url: peer.url, cpu: peer, db: null });
      } finally {
        await stopChild('the relay ceiling', peer);
      }
      return;
    }
  }
}

/** P1: a peer under S1's load (closed loop, P.concurrency reports over P.loadProjects projects, each its own port). */
async function runP1(kind: PeerKind): Promise<void> {
  const label = `P1 ${SYSTEM_NAMES[kind]}`;
  log(`\n${elapsed()}  == ${label}: S1's load (registrations at concurrency ${P.concurrency} over ${P.loadProjects} projects) through ${SYSTEM_NAMES[kind]}`);
  await receiver.reset();
  const urls = await listen(range(0, P.loadProjects).map(() => ({ mode: 'ok' as const })));
  try {
    await withSystem(label, kind, urls, async (s) => {
      const pool = apiPool(s.url, P.concurrency);
      const ledger = new Ledger();
      const counters = new LoadCounters();
      const phase = await closedPhase(label, s.cpu, pool, range(1, P.loadProjects), ledger, counters);
      await pool.close();
      const settled = await settle(label, ledger, phase.loadEnd, P.drainTimeoutMs, s.db);
      const w = windowStats(ledger, settled.lookup, phase);
      const windowMs = phase.windowEnd - phase.windowStart;
      const events = (w.deliveriesPerSec * windowMs) / 1000;
      const cpuPerEvent = phase.cpu.reghook / Math.max(1, events);
      peerResults.set(`P1:${kind}`, { deliveriesPerSec: w.deliveriesPerSec, ingestPerSec: w.ingestPerSec, latency: w.latency, cpuPerEvent });
      const cores = (v: number) => (v / windowMs).toFixed(2);
      detail(`${label} (S1's load)`, [
        `deliveries ${fmt(w.deliveriesPerSec)}/s, accepted ${fmt(w.ingestPerSec)}/s over ${(windowMs / 1000).toFixed(1)} s after ${P.warmupMs / 1000} s warm-up`,
        `202 -> receiver first byte: ${latencyText(w.latency)}`,
        `API (send -> 202): ${latencyText(w.apiLatency)}`,
        `CPU in the window (cores busy): ${CPU_COUNTS[kind]} ${cores(phase.cpu.reghook)}, receiver ${cores(phase.cpu.receiver)}, load generator ${cores(phase.cpu.bench)}; ${cpuPerEvent.toFixed(3)} ms per event`,
        `drain after the load stopped: ${ms(settled.drainMs)}; API answers other than 202: ${counters.rejected.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(counters.rejected))}; connection errors ${counters.errors}`,
        ledgerLine(settled),
      ]);
      if (settled.missing.length > 0) notes.push(`${label}: ${settled.missing.length} accepted events had not reached the receiver ${P.drainTimeoutMs / 1000} s after the load`);
    });
  } finally {
    await receiver.closeServers();
  }
}

/** Begins a CPU measurement; the function it answers gives the CPU ms used since. */
type CpuProbe = () => () => number;
const processProbe =
  (r: CpuSource): CpuProbe =>
  () => {
    const a = r.cpuMs();
    return () => r.cpuMs() - a;
  };
/** The PostgreSQL server's CPU (every process whose comm is `postgres`), from /proc. */
const postgresProbe: CpuProbe = () => {
  const a = postgresCpuSnapshot();
  return () => postgresCpuMsBetween(a, postgresCpuSnapshot());
};

interface P2Run {
  ledger: Ledger;
  counters: LoadCounters;
  settled: Settled;
  /** CPU over the run (from the first measured report until every accepted event had arrived). */
  cpu: Cpu;
  /** The same span, for each probe passed in. */
  probes: Record<string, number>;
  /** What the database sessions were doing over the same span, when sampled (PostgreSQL). */
  activity: ActivityShares | null;
  w: WindowStats;
  start: number;
  loadEnd: number;
  /** From the first measured report to the last arrival (the window of w). */
  spanMs: number;
  acceptedPerSec: number;
  cpuPerEvent: number;
}

/**
 * P2's load on a running system: P.p2Warmup registrations not counted, then P.p2Count at
 * concurrency P.p2Concurrency to project 1 (one endpoint), every one waited for at the receiver.
 */
async function p2Load(label: string, s: RunningSystem, probes: Record<string, CpuProbe> = {}, sampleDatabase = false): Promise<P2Run> {
  const pool = apiPool(s.url, P.p2Concurrency);
  // Warm-up (not counted): connections open, code compiled, the queue's first pages in memory.
  const warm = new Ledger();
  await closedLoop({ pool, concurrency: P.p2Concurrency, durationMs: P.p2TimeoutMs, maxRequests: P.p2Warmup, appIds: [1], ledger: warm, counters: new LoadCounters() });
  await settle(`${label} warm-up`, warm, nowMs(), P.drainTimeoutMs, null);
  const ledger = new Ledger();
  const counters = new LoadCounters();
  let lastAccepted = 0;
  let lastDistinct = 0;
  const stop = progress(label, async () => {
    const st = await receiver.stats();
    const text = `accepted ${fmt(counters.accepted - lastAccepted).padStart(6)}/s  delivered ${fmt(st.distinct - lastDistinct).padStart(6)}/s  total accepted ${fmt(counters.accepted)}`;
    lastAccepted = counters.accepted;
    lastDistinct = st.distinct;
    return text;
  });
  const cpu0 = cpuNow(s.cpu);
  const running = Object.entries(probes).map(([name, probe]) => [name, probe()] as const);
  const activity = sampleDatabase ? await sampleActivity(PG_BASE_URL) : null;
  const start = nowMs();
  await closedLoop({ pool, concurrency: P.p2Concurrency, durationMs: P.p2TimeoutMs, maxRequests: P.p2Count, appIds: [1], ledger, counters });
  const loadEnd = nowMs();
  stop();
  await pool.close();
  const settled = await settle(label, ledger, loadEnd, P.drainTimeoutMs, s.db);
  const cpu = cpuDelta(cpu0, cpuNow(s.cpu));
  const used = Object.fromEntries(running.map(([name, end]) => [name, end()]));
  const shares = activity ? await activity() : null;
  let last = 0;
  for (const t of settled.lookup.first) last = Math.max(last, t);
  // The whole run is the window: from the first report to the last arrival.
  const phase: Phase = { windowStart: start, windowEnd: Math.max(last, loadEnd) + 0.001, loadEnd, cpu };
  const w = windowStats(ledger, settled.lookup, phase);
  return {
    ledger,
    counters,
    settled,
    cpu,
    probes: used,
    activity: shares,
    w,
    start,
    loadEnd,
    spanMs: phase.windowEnd - start,
    acceptedPerSec: (ledger.size * 1000) / (loadEnd - start),
    cpuPerEvent: cpu.reghook / Math.max(1, settled.reached),
  };
}

const rejectedText = (c: LoadCounters) => (c.rejected.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(c.rejected)));

/** P2, the issue's shape: P.p2Count registrations at concurrency P.p2Concurrency, one project, one endpoint. */
async function runP2(kind: SystemKind): Promise<void> {
  const label = `P2 ${SYSTEM_NAMES[kind]}`;
  log(`\n${elapsed()}  == ${label}: ${fmt(P.p2Count)} registrations at concurrency ${P.p2Concurrency} to one endpoint (after ${fmt(P.p2Warmup)} not counted)`);
  await receiver.reset();
  const urls = await listen([{ mode: 'ok' }]);
  try {
    await withSystem(label, kind, urls, async (s) => {
      const onPostgres = kind === 'reghook-pg' || kind === 'pgboss';
      const { w, cpu, settled, counters, spanMs, loadEnd, start, acceptedPerSec, cpuPerEvent, activity, probes } = await p2Load(
        label,
        s,
        onPostgres ? { postgres: postgresProbe } : {},
        kind === 'reghook-pg',
      );
      peerResults.set(`P2:${kind}`, {
        deliveriesPerSec: w.deliveriesPerSec,
        ingestPerSec: acceptedPerSec,
        latency: w.latency,
        cpuPerEvent,
        ...(probes.postgres !== undefined ? { databaseCpuPerEvent: probes.postgres / Math.max(1, settled.reached) } : {}),
      });
      const cores = (v: number) => (v / spanMs).toFixed(2);
      detail(`${label} (${fmt(P.p2Count)} registrations, concurrency ${P.p2Concurrency}, one endpoint)`, [
        `${fmt(settled.reached)} delivered in ${ms(spanMs)} from the first report to the last arrival = ${fmt(w.deliveriesPerSec)}/s; accepted ${fmt(acceptedPerSec)}/s over ${ms(loadEnd - start)}`,
        `202 -> receiver first byte: ${latencyText(w.latency)}`,
        `API (send -> 202): ${latencyText(w.apiLatency)}`,
        `CPU over the run (cores busy): ${CPU_COUNTS[kind]} ${cores(cpu.reghook)}, receiver ${cores(cpu.receiver)}, load generator ${cores(cpu.bench)}; ${cpuPerEvent.toFixed(3)} ms per event`,
        ...(probes.postgres !== undefined
          ? [`PostgreSQL server (every process whose comm is \`postgres\`): ${cores(probes.postgres)} cores, ${(probes.postgres / Math.max(1, settled.reached)).toFixed(3)} ms per delivered event`]
          : []),
        ...(activity ? [activityLine(activity)] : []),
        `API answers other than 202: ${rejectedText(counters)}; connection errors ${counters.errors}`,
        ledgerLine(settled),
      ]);
      if (settled.missing.length > 0) notes.push(`${label}: ${settled.missing.length} accepted events had not reached the receiver ${P.drainTimeoutMs / 1000} s after the load`);
    });
  } finally {
    await receiver.closeServers();
  }
}

// ---------------------------------------------------------------------------------------------
// P3: reghook on PostgreSQL with more dispatching processes on one database

const P3_PROCESSES = [1, 2, 4];
interface P3Result {
  n: number;
  deliveriesPerSec: number;
  acceptedPerSec: number;
  latency: Distribution | null;
  spanMs: number;
  /** CPU ms of each reghook process over the run: serve first, then the workers. */
  processCpu: number[];
  postgresCpu: number;
  receiverCpu: number;
  benchCpu: number;
  delivered: number;
  activity: ActivityShares | null;
}
const p3Results: P3Result[] = [];

/**
 * P3 for one N: one `reghook serve` takes all of P2's load and dispatches too, N - 1 `reghook
 * worker` processes dispatch from the same database (same REGHOOK_SECRET_KEY), on a fresh schema.
 */
async function runP3Once(n: number): Promise<void> {
  const label = `P3 pg N=${n}`;
  log(
    `\n${elapsed()}  == ${label}: P2's load (${fmt(P.p2Count)} registrations at concurrency ${P.p2Concurrency} to one endpoint) on PostgreSQL, ` +
      `one serve + ${n - 1} worker${n === 2 ? '' : 's'}`,
  );
  await receiver.reset();
  const urls = await listen([{ mode: 'ok' }]);
  try {
    await withPostgresSchema(label, async (u) => {
      const env = { REGHOOK_SECRET_KEY: randomBytes(32).toString('base64') };
      const procs: Reghook[] = [];
      try {
        const serve = await startReghook(`P3pg-${n}-serve`, u.reghook, freshDir(`p3pg-${n}-serve`), env);
        procs.push(serve);
        await projects(serve, [1], urls);
        for (let i = 1; i < n; i++) procs.push(await startReghook(`P3pg-${n}-worker${i}`, u.reghook, freshDir(`p3pg-${n}-worker${i}`), env, 'worker'));
        const names = procs.map((_, i) => (i === 0 ? 'serve' : `worker ${i}`));
        const probes: Record<string, CpuProbe> = { postgres: postgresProbe };
        procs.forEach((r, i) => (probes[names[i]!] = processProbe(r)));
        const system: RunningSystem = { url: serve.url, cpu: { cpuMs: () => procs.reduce((sum, r) => sum + r.cpuMs(), 0) }, db: { postgres: u.client } };
        const run = await p2Load(label, system, probes, true);
        const { w, cpu, settled, counters, spanMs } = run;
        const res: P3Result = {
          n,
          deliveriesPerSec: w.deliveriesPerSec,
          acceptedPerSec: run.acceptedPerSec,
          latency: w.latency,
          spanMs,
          processCpu: names.map((name) => run.probes[name]!),
          postgresCpu: run.probes.postgres!,
          receiverCpu: cpu.receiver,
          benchCpu: cpu.bench,
          delivered: settled.reached,
          activity: run.activity,
        };
        p3Results.push(res);
        const cores = (v: number) => (v / spanMs).toFixed(2);
        const perEvent = (v: number) => `${(v / Math.max(1, settled.reached)).toFixed(3)} ms`;
        const total = cpu.reghook + res.postgresCpu + cpu.receiver + cpu.bench;
        detail(`${label} (one serve taking the load and dispatching + ${n - 1} worker${n === 2 ? '' : 's'}, one PostgreSQL database)`, [
          `${fmt(settled.reached)} delivered in ${ms(spanMs)} from the first report to the last arrival = ${fmt(w.deliveriesPerSec)}/s; accepted ${fmt(run.acceptedPerSec)}/s over ${ms(run.loadEnd - run.start)}`,
          `202 -> receiver first byte: ${latencyText(w.latency)}`,
          `API (send -> 202): ${latencyText(w.apiLatency)}`,
          `CPU over the run (cores busy): ${names.map((name, i) => `${name} ${cores(res.processCpu[i]!)}`).join(', ')} (reghook ${cores(cpu.reghook)}); ` +
            `PostgreSQL server ${cores(res.postgresCpu)}; receiver ${cores(cpu.receiver)}, load generator ${cores(cpu.bench)}; all together ${cores(total)} of ${os.availableParallelism()}` +
            (total / spanMs < 0.8 * os.availableParallelism() ? ' (these processes left cores idle: what bounded the run was waiting — commit flushes, round trips — or other work on the machine, not their CPU)' : ''),
          `CPU per delivered event: reghook ${perEvent(cpu.reghook)}, PostgreSQL server ${perEvent(res.postgresCpu)}`,
          ...(res.activity ? [activityLine(res.activity)] : []),
          `API answers other than 202: ${rejectedText(counters)}; connection errors ${counters.errors}`,
          ledgerLine(settled),
        ]);
        if (settled.missing.length > 0) notes.push(`${label}: ${settled.missing.length} accepted events had not reached the receiver ${P.drainTimeoutMs / 1000} s after the load`);
      } finally {
        await Promise.all(procs.map((r) => stopReghook(r)));
      }
    });
  } finally {
    await receiver.closeServers();
  }
}

async function runP3(): Promise<void> {
  for (const n of P3_PROCESSES) await runP3Once(n);
  if (p3Results.length === 0) return;
  const cpus = os.availableParallelism();
  const lines = [
    `layout: for N = ${P3_PROCESSES.join(', ')}, one \`reghook serve\` takes every report (the load generator talks to it alone) and dispatches too, plus N - 1 \`reghook worker\` processes (dispatcher only) on the same database with the same REGHOOK_SECRET_KEY; a fresh schema for each N. ` +
      'So N is the number of processes delivering; ingest stays on one process. REGHOOK_ENDPOINT_CONCURRENCY (64) is per process: N processes may hold up to N × 64 attempts to the one endpoint.',
    `load: P2's, ${fmt(P.p2Count)} registrations at concurrency ${P.p2Concurrency} to one endpoint after ${fmt(P.p2Warmup)} not counted; deliveries/s = delivered / (first report -> last arrival); CPU over the same span, per process from /proc/<pid>/stat; the PostgreSQL server's is the sum over every process whose comm is \`postgres\` (postmaster, backends, background workers; backends that exited counted through the postmaster's reaped-children time), so another database's sessions on the same server would count too.`,
    'latency is the 202\'s arrival at the load generator -> the first byte at the receiver: with workers, one may deliver (woken by NOTIFY after the commit) before the serve\'s 202 has reached the load generator, hence a negative minimum now and then.',
    `**Everything shares this machine's ${cpus} cores**: the N reghook processes, PostgreSQL, the load generator and the receiver. More processes cannot give more than the cores left over, so the scaling shown is bounded by that, and at a higher N the processes take cores from PostgreSQL and from each other; it is not what N processes on N machines would do.`,
  ];
  const ingestBound = p3Results.filter((r) => r.deliveriesPerSec >= 0.97 * r.acceptedPerSec);
  if (ingestBound.length > 0) {
    lines.push(
      `at ${ingestBound.length === p3Results.length ? 'every N' : ingestBound.map((r) => `N=${r.n}`).join(', ')} deliveries/s came within 3 % of accepted/s ` +
        `(${ingestBound.map((r) => `N=${r.n}: ${fmt(r.deliveriesPerSec)} of ${fmt(r.acceptedPerSec)}`).join('; ')}): the dispatchers kept up with what the one serve accepted, ` +
        'so in this shape deliveries/s is the serve\'s ingest rate (a committed transaction per report before its 202), and more workers can lower the latency but not raise deliveries/s beyond it; ' +
        'a backlog drained by N processes (S4\'s cliff shape) would isolate the dispatch side.',
    );
  }
  const last = p3Results.at(-1)!;
  const pgCores = last.postgresCpu / last.spanMs;
  const pgPerEvent = last.postgresCpu / Math.max(1, last.delivered);
  const reghookPerEvent = last.processCpu.reduce((a, b) => a + b, 0) / Math.max(1, last.delivered);
  const servePerEvent = last.processCpu[0]! / Math.max(1, last.delivered);
  if (Number.isFinite(pgCores) && pgPerEvent > 0) {
    const cap = (c: number) => fmt((c * 1000) / pgPerEvent);
    lines.push(
      `on separate machines: at N=${last.n} PostgreSQL kept ${pgCores.toFixed(2)} cores busy for ${fmt(last.deliveriesPerSec)} deliveries/s, ${pgPerEvent.toFixed(3)} ms of database CPU per delivered event (ingest included). ` +
        `A database server with c cores to itself would therefore cap the deployment at roughly c × ${cap(1)} events/s on CPU alone (2 cores ≈ ${cap(2)}/s, 4 cores ≈ ${cap(4)}/s), ` +
        `before its disk (a flush per commit) or lock contention, which this run does not isolate. The reghook processes spent ${reghookPerEvent.toFixed(3)} ms per event in all, ` +
        `so each core given to reghook processes on machines of their own adds about ${fmt(1000 / reghookPerEvent)} events/s up to that cap; ` +
        `the one serve taking every report spent ${servePerEvent.toFixed(3)} ms per event (its ingest and its share of the deliveries), so past one core's worth ingest needs more serve processes behind a balancer too. ` +
        'CPU per event measured on a saturated shared machine includes contention (context switches, lock waits spun on), so these are rough upper bounds on the cost per event.',
    );
  } else {
    lines.push('the PostgreSQL server\'s CPU could not be read from /proc on this machine: no projection for separate machines');
  }
  detail('P3 pg workers: reading the scaling', lines);
}

/** One detail line: what reghook's PostgreSQL sessions did over the run (bench/pg-activity.ts). */
function activityLine(a: ActivityShares): string {
  return (
    `PostgreSQL sessions, sampled every 10 ms (${fmt(a.samples)} active-session samples in ${fmt(a.passes)} passes): ${sharesText(a)}; ` +
    '"running" is on CPU or waiting for one (pg_stat_activity cannot tell them apart), Lock:* a session queued behind another transaction\'s lock, IO:WALSync a commit waiting for its flush'
  );
}

/** The summary rows of P3, after P2's (each N against N=1 of this run). */
function p3Rows(): void {
  const base = p3Results.find((r) => r.n === 1);
  for (const r of p3Results) {
    const cores = (v: number) => (v / r.spanMs).toFixed(2);
    const reghook = r.processCpu.reduce((a, b) => a + b, 0);
    row('P3 pg workers', `deliveries/s, N=${r.n}`, `${fmt(r.deliveriesPerSec)}/s (accepted ${fmt(r.acceptedPerSec)}/s)`, r.n === 1 ? 'reference' : 'vs N=1', base ? ratio(r.deliveriesPerSec / base.deliveriesPerSec) : '');
    row('P3 pg workers', `latency (202 -> first byte), N=${r.n}`, r.latency ? `p50 ${ms(r.latency.p50)} / p99 ${ms(r.latency.p99)}` : 'n/a', r.n === 1 ? '' : 'vs N=1, p99', base?.latency && r.latency && r.n !== 1 ? ratio(r.latency.p99 / base.latency.p99) : '');
    row(
      'P3 pg workers',
      `CPU cores busy, N=${r.n}`,
      `reghook ${cores(reghook)} (${r.processCpu.map((c) => cores(c)).join(' + ')}), PostgreSQL ${cores(r.postgresCpu)}`,
      `of ${os.availableParallelism()} shared`,
    );
    if (r.activity) {
      row('P3 pg workers', `PostgreSQL sessions, N=${r.n}`, `lock waits ${Math.round(lockShare(r.activity) * 100)} % of active samples`, 'sampled', '');
    }
  }
}

/** P2's physical reference: raw signed undici POSTs at P2's concurrency to one receiver port. */
async function runP2Ceiling(): Promise<void> {
  log(`\n${elapsed()}  == P2 ceiling: raw undici Pool -> one receiver port, concurrency ${P.p2Concurrency}`);
  await receiver.reset();
  const [base] = await receiver.listen([{ mode: 'ok' }]);
  try {
    const result = await ceiling({
      url: base!,
      body: canonicalBody(1),
      key: randomBytes(24),
      concurrency: P.p2Concurrency,
      warmupMs: P.ceilingWarmupMs,
      measureMs: P.ceilingMeasureMs,
    });
    p2Ceiling = result.reqPerSec;
    detail(`P2 ceiling (physical reference for P2: raw undici POSTs to one endpoint, ${P.p2Concurrency} connections)`, [`${fmt(result.reqPerSec)} req/s at concurrency ${P.p2Concurrency}; ${fmt(result.total)} requests, ${result.errors} errors`]);
  } finally {
    await receiver.closeServers();
    await receiver.reset();
  }
}

/** The summary rows of the peers, every ratio between figures of this run. */
function peerRows(): void {
  const each = (refs: [string, PeerResult | undefined][], f: (ref: PeerResult) => number): string =>
    refs
      .filter((r): r is [string, PeerResult] => r[1] !== undefined)
      .map(([name, ref]) => `${name} ${ratio(f(ref))}`)
      .join(', ');
  const latencyValue = (d: Distribution | null) => (d ? `p50 ${ms(d.p50)} / p99 ${ms(d.p99)}` : 'n/a');
  const shapes: { shape: 'P1' | 'P2'; refs: [string, PeerResult | undefined][] }[] = [
    {
      shape: 'P1',
      refs: [
        ['sqlite', results.s1 && { ...results.s1 }],
        ['pg', results.s1pg && { ...results.s1pg }],
      ],
    },
    { shape: 'P2', refs: [['sqlite', peerResults.get('P2:reghook-sqlite')], ['pg', peerResults.get('P2:reghook-pg')]] },
  ];
  for (const { shape, refs } of shapes) {
    if (shape === 'P2') {
      if (p2Ceiling !== undefined) row('P2 ceiling', `raw POSTs, ${P.p2Concurrency} connections, one endpoint (P2's concurrency)`, `${fmt(p2Ceiling)} req/s`, 'reference for P2');
      for (const kind of ['reghook-sqlite', 'reghook-sqlite-1t', 'reghook-pg'] as const) {
        const r = peerResults.get(`P2:${kind}`);
        if (!r) continue;
        const name = `P2 ${SYSTEM_NAMES[kind]}`;
        row(name, 'deliveries/s', `${fmt(r.deliveriesPerSec)}/s`, 'vs P2 ceiling', p2Ceiling ? ratio(r.deliveriesPerSec / p2Ceiling) : '');
        row(name, 'latency (202 -> first byte)', latencyValue(r.latency));
        row(name, 'CPU per event', `${r.cpuPerEvent.toFixed(3)} ms`, CPU_COUNTS[kind]);
        if (r.databaseCpuPerEvent !== undefined) row(name, 'PostgreSQL server CPU per event', `${r.databaseCpuPerEvent.toFixed(3)} ms`, 'the server alone');
      }
    }
    for (const kind of ['bullmq', 'pgboss', 'relay'] as const) {
      const r = peerResults.get(`${shape}:${kind}`);
      if (!r) continue;
      const name = `${shape} ${SYSTEM_NAMES[kind]}`;
      const who = SYSTEM_NAMES[kind];
      row(name, 'deliveries/s', `${fmt(r.deliveriesPerSec)}/s`, `reghook / ${who}`, each(refs, (ref) => ref.deliveriesPerSec / r.deliveriesPerSec));
      row(name, 'accepted/s (ingest)', `${fmt(r.ingestPerSec)}/s`, '', r.ingestPerSec > r.deliveriesPerSec * 1.03 ? 'delivery falls behind' : '');
      row(name, 'latency (202 -> first byte)', latencyValue(r.latency), `reghook / ${who}, p99`, each(refs, (ref) => (ref.latency?.p99 ?? Number.NaN) / (r.latency?.p99 ?? Number.NaN)));
      row(name, 'CPU per event', `${r.cpuPerEvent.toFixed(3)} ms (${CPU_COUNTS[kind]})`, `reghook / ${who}`, each(refs, (ref) => ref.cpuPerEvent / r.cpuPerEvent));
      const db = r.databaseCpuPerEvent;
      if (db !== undefined) {
        row(name, 'PostgreSQL server CPU per event', `${db.toFixed(3)} ms`, `reghook / ${who}`, each(refs.filter(([, ref]) => ref?.databaseCpuPerEvent !== undefined), (ref) => ref.databaseCpuPerEvent! / db));
      }
    }
  }
}

function table(): string {
  const header = ['scenario', 'figure', 'value', 'target', 'ratio', 'verdict'];
  const lines = [header, ...rows.map((r) => [r.scenario, r.figure, r.value, r.target, r.ratio, r.verdict])];
  const width = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const fmtLine = (l: string[]) => `| ${l.map((cell, c) => cell.padEnd(width[c]!)).join(' | ')} |`;
  return [fmtLine(header), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.slice(1).map(fmtLine)].join('\n');
}

async function main(): Promise<void> {
  const m = machine();
  log(`reghook bench, ${P.mode} mode${PROFILE ? ', with CPU profiles (slower)' : ''}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, load average ${m.loadAvgStart.join(' ')}`);
  const scenarios: [string, () => Promise<void>][] = [
    ['ceiling', scenarioCeiling],
    ['S1', runS1Sqlite],
    ['S1pg', runS1Postgres],
    ['S2', runS2],
    ['S3', () => runS3(false)],
    ['S3', () => runS3(true)],
    ['W1', runW1],
    ['S4', runS4],
    ['S6', runS6],
    ['S7', runS7],
    ['S7pg', runS7Postgres],
    ['P1bullmq', () => runP1('bullmq')],
    ['P1pgboss', () => runP1('pgboss')],
    ['P1relay', () => runP1('relay')],
    ['P2ceiling', runP2Ceiling],
    ['P2reghook', () => runP2('reghook-sqlite')],
    ['P2reghook1t', () => runP2('reghook-sqlite-1t')],
    ['P2reghookpg', () => runP2('reghook-pg')],
    ['P2bullmq', () => runP2('bullmq')],
    ['P2pgboss', () => runP2('pgboss')],
    ['P2relay', () => runP2('relay')],
    ['P3pg', runP3],
  ];
  for (const [name, run] of scenarios) {
    if (!wanted(name)) continue;
    currentScenario = name;
    try {
      await run();
    } catch (error) {
      const msg = `${name}: failed: ${String((error as Error)?.stack ?? error).split('\n').slice(0, 4).join(' | ')}`;
      log(`\n${elapsed()}  ${msg}`);
      notes.push(msg);
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await receiver.closeServers().catch(() => {});
    }
  }

  peerRows();
  p3Rows();

  if (PROFILE && profiles['S1-sqlite'] && existsSync(profiles['S1-sqlite'])) {
    profileSummary = summariseProfile(profiles['S1-sqlite']);
  }

  const loadEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);
  const out: string[] = [];
  out.push('# reghook bench results', '');
  out.push(
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os} (shared: load average ${m.loadAvgStart.join(' ')} at the start, ${loadEnd.join(' ')} at the end)`,
    `- Node ${m.node}; date ${new Date().toISOString()}; mode ${P.mode}${PROFILE ? ' with --cpu-prof on reghook (figures are slowed by the profiler)' : ''}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    `- load generator, receiver and reghook share the ${m.cores} cores: compare the ratios (measured side by side in this run), not the absolute figures`,
    `- S1: closed loop of ${P.concurrency} concurrent registration reports over ${P.loadProjects} projects (each endpoint its own 127.0.0.1 port), ${P.warmupMs / 1000} s warm-up, ${P.measureMs / 1000} s measured; latency = the 202's arrival at the load generator -> the request's arrival at the receiver`,
    '',
  );
  out.push('## Summary', '', table(), '');
  if (notes.length > 0) out.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  out.push('## Details', '', ...details);
  if (profileSummary) {
    const p = profileSummary;
    out.push(
      '## Where S1 spends its CPU (reghook process, self time)',
      '',
      `profile ${path.relative(REPO_ROOT, profiles['S1-sqlite']!)}: ${fmt(p.totalMs)} ms sampled, ${fmt(p.idleMs)} ms idle`,
      '',
      '| self ms | share of busy | function | where |',
      '|---:|---:|---|---|',
      ...p.functions.map((f) => `| ${fmt(f.selfMs)} | ${(f.share * 100).toFixed(1)} % | ${f.name} | ${f.where} |`),
      '',
      '| self ms | share of busy | origin |',
      '|---:|---:|---|',
      ...p.origins.map((o) => `| ${fmt(o.selfMs)} | ${(o.share * 100).toFixed(1)} % | ${o.origin} |`),
      '',
    );
  }
  // A subset (--only) prints its figures but leaves the last complete run's RESULTS.md alone.
  if (ONLY === null) writeFileSync(RESULTS_FILE, out.join('\n'));

  log('\n' + table());
  if (notes.length > 0) log('\nnotes:\n' + notes.map((n) => `  - ${n}`).join('\n'));
  if (profileSummary) {
    log('\nS1 CPU profile, top self time (reghook process):');
    for (const f of profileSummary.functions.slice(0, 15)) log(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${fmt(f.selfMs).padStart(7)} ms  ${f.name}  ${f.where}`);
    log('  by origin:');
    for (const o of profileSummary.origins.slice(0, 12)) log(`  ${(o.share * 100).toFixed(1).padStart(5)} %  ${o.origin}`);
  }
  log(
    ONLY === null
      ? `\nwritten to ${path.relative(process.cwd(), RESULTS_FILE)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`
      : `\n--only: ${path.relative(process.cwd(), RESULTS_FILE)} left as it was; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await receiver.exit().catch(() => {});
    cleanup();
    if (!KEEP) rmSync(tempRoot, { recursive: true, force: true });
    else log(`temp files kept in ${tempRoot}`);
    clearTimeout(watchdog);
    // Old profiles are only overwritten by name; list what is there.
    if (PROFILE && existsSync(PROFILE_DIR)) log(`profiles: ${readdirSync(PROFILE_DIR).join(', ')}`);
  });
