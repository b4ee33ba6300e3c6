/**
 * Starts `node bin/reghook.js serve` (or `worker`) as a child process, reads its URL, scrapes
 * /metrics, stops it; and the CPU accounting from /proc (a process's, the PostgreSQL server's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO_ROOT, 'bin/reghook.js');
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** Every child the bench started, so an early exit can take them down (by pid, nothing broader). */
export const children = new Set<ChildProcess>();

export interface ReghookOptions {
  /** `sqlite:<file>` or `postgres://…` */
  databaseUrl: string;
  dataDir: string;
  env?: Record<string, string>;
  /**
   * Write CPU profiles (`--cpu-prof`) into this folder: the main thread's under this name, each
   * worker thread's (the SQLite store thread) with `.thread<N>` before the extension.
   */
  profile?: { dir: string; name: string };
  /** `serve` (the default: API + dashboard + dispatcher) or `worker` (the dispatcher only, no HTTP). */
  command?: 'serve' | 'worker';
}

function profileScratch(profile: { dir: string; name: string }): string {
  return path.join(profile.dir, `.${profile.name}.d`);
}

/** Moves a child's per-thread profiles to their names: thread 0 is the main thread. */
function nameProfiles(profile: { dir: string; name: string }): void {
  const scratch = profileScratch(profile);
  let files: string[];
  try {
    files = readdirSync(scratch);
  } catch {
    return;
  }
  for (const file of files) {
    const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
    if (thread === undefined) continue;
    const name = thread === '0' ? profile.name : profile.name.replace(/\.cpuprofile$/, `.thread${thread}.cpuprofile`);
    renameSync(path.join(scratch, file), path.join(profile.dir, name));
  }
  rmSync(scratch, { recursive: true, force: true });
}

export class Reghook {
  private out = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly options: ReghookOptions,
  ) {
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      children.delete(child);
      if (options.profile) nameProfiles(options.profile);
      resolve(code);
    }));
  }

  url = '';

  private append(d: Buffer): void {
    // Keep the tail only: a long run at warn level should stay quiet, but do not grow without bound.
    this.out = (this.out + d.toString()).slice(-64_000);
  }

  output(): string {
    return this.out;
  }

  static async start(options: ReghookOptions, timeoutMs = 30_000): Promise<Reghook> {
    const nodeArgs: string[] = [];
    if (options.profile) {
      // Node names each thread's profile CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; a
      // fixed --cpu-prof-name would make the threads overwrite each other's.
      mkdirSync(profileScratch(options.profile), { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileScratch(options.profile)}`);
    }
    const command = options.command ?? 'serve';
    const child = spawn(process.execPath, [...nodeArgs, BIN, command], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        REGHOOK_DATABASE_URL: options.databaseUrl,
        REGHOOK_DATA_DIR: options.dataDir,
        REGHOOK_PORT: '0',
        REGHOOK_HOST: '127.0.0.1',
        REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        REGHOOK_ADMIN_TOKEN: ADMIN_TOKEN,
        // A worker listens on nothing: its start is known from its 'reghook started' line (info).
        REGHOOK_LOG_LEVEL: command === 'worker' ? 'info' : 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const r = new Reghook(child, options);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (command === 'worker') {
        if (/"msg":"reghook started"/.test(r.out)) return r;
      } else {
        const m = /listening on (http:\/\/\S+)/.exec(r.out);
        if (m) {
          r.url = m[1]!;
          return r;
        }
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`reghook did not start (exit ${child.exitCode}):\n${r.out.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGTERM (drains; writes the CPU profile), then SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Admin-token API call. */
  async api(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await request(this.url + url, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.statusCode, json };
  }

  /** Creates a project and its endpoint; answers the signing secret. */
  async project(appId: number, url: string, enabled = true): Promise<string> {
    const created = await this.api('POST', '/v1/projects', { appId, name: `bench ${appId}` });
    if (created.status !== 201) throw new Error(`create project ${appId}: ${created.status} ${JSON.stringify(created.json)}`);
    const endpoint = await this.api('PUT', `/v1/projects/${appId}/webhook`, { url, enabled });
    if (endpoint.status !== 200) throw new Error(`endpoint ${appId}: ${endpoint.status} ${JSON.stringify(endpoint.json)}`);
    return (endpoint.json as { signingSecret: string }).signingSecret;
  }

  async setEnabled(appId: number, url: string, enabled: boolean): Promise<void> {
    const res = await this.api('PUT', `/v1/projects/${appId}/webhook`, { url, enabled });
    if (res.status !== 200) throw new Error(`endpoint ${appId}: ${res.status} ${JSON.stringify(res.json)}`);
  }

  /** CPU time (user + system) the process has used so far, in ms (Linux /proc; NaN elsewhere). */
  cpuMs(): number {
    return processCpuMs(this.child.pid);
  }

  /** Resident set and used heap, from the process's own /metrics. */
  async memory(): Promise<{ rssBytes: number; heapUsedBytes: number }> {
    const res = await request(this.url + '/metrics', { headersTimeout: 60_000, bodyTimeout: 60_000 });
    const text = await res.body.text();
    const value = (name: string): number => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    return { rssBytes: value('reghook_process_resident_memory_bytes'), heapUsedBytes: value('reghook_nodejs_heap_size_used_bytes') };
  }
}

/** CPU time (user + system) of a process so far, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Clock ticks (user + system) of a /proc/<pid>/stat line: own, and of its waited-for children. */
function statTicks(pid: string): { comm: string; own: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, own: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return null;
  }
}

/** CPU ticks of every process whose comm is `postgres` (the server: postmaster, backends, background workers). */
export interface PostgresCpuSnapshot {
  /** pid -> own ticks */
  own: Map<string, number>;
  /** Ticks of the postgres processes' waited-for children (backends that exited were reaped by the postmaster). */
  reaped: number;
}

export function postgresCpuSnapshot(): PostgresCpuSnapshot {
  const own = new Map<string, number>();
  let reaped = 0;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return { own, reaped: Number.NaN };
  }
  for (const pid of pids) {
    const t = statTicks(pid);
    if (!t || t.comm !== 'postgres') continue;
    own.set(pid, t.own);
    reaped += t.children;
  }
  return { own, reaped };
}

/**
 * CPU ms the PostgreSQL server used between two snapshots: what each live process added, plus what
 * the processes that exited in between used after the first snapshot (their totals land in the
 * postmaster's children ticks when it reaps them; their part before the first snapshot is taken off).
 * The whole server: other databases' sessions on it count too.
 */
export function postgresCpuMsBetween(a: PostgresCpuSnapshot, b: PostgresCpuSnapshot): number {
  let ticks = b.reaped - a.reaped;
  for (const [pid, t] of b.own) ticks += t - (a.own.get(pid) ?? 0);
  for (const [pid, t] of a.own) if (!b.own.has(pid)) ticks -= t;
  return ticks * 10;
}
