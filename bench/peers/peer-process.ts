/**
 * The bench side of the peers: starts a peer (bullmq-sender, pgboss-sender, relay-ceiling) as a
 * child process, as reghook-process.ts starts reghook, and the bench's own `redis-server` for the
 * BullMQ peer (a free port, AOF everysec, a temp folder; never the machine's own Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN, children, processCpuMs, REPO_ROOT } from '../reghook-process.js';

export type PeerKind = 'bullmq' | 'pgboss' | 'relay';
const FILES: Record<PeerKind, string> = { bullmq: 'bullmq-sender.js', pgboss: 'pgboss-sender.js', relay: 'relay-ceiling.js' };

/** A child process that prints `listening on …` (or `Ready to accept connections`) once it serves. */
class Child {
  private out = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    );
  }

  private append(d: Buffer): void {
    this.out = (this.out + d.toString()).slice(-64_000);
  }

  output(): string {
    return this.out;
  }

  async waitFor(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.out);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`${what} did not start (exit ${this.child.exitCode}):\n${this.out.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  cpuMs(): number {
    return processCpuMs(this.child.pid);
  }

  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export class Peer extends Child {
  url = '';

  private constructor(
    child: ChildProcess,
    readonly kind: PeerKind,
  ) {
    super(child);
  }

  /** `endpoints[i]` is the webhook URL of appId i + 1; `secret` the HMAC key; `env` what the queue needs. */
  static async start(kind: PeerKind, endpoints: readonly string[], secret: Buffer, env: Record<string, string>): Promise<Peer> {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, FILES[kind])], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PEER_ENDPOINTS: JSON.stringify(Object.fromEntries(endpoints.map((url, i) => [i + 1, url]))),
        PEER_SECRET: secret.toString('base64'),
        PEER_ADMIN_TOKEN: ADMIN_TOKEN,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const peer = new Peer(child, kind);
    peer.url = (await peer.waitFor(/listening on (http:\/\/\S+)/, `peer ${kind}`))[1]!;
    return peer;
  }
}

export const REDIS_SERVER = process.env.REGHOOK_BENCH_REDIS_SERVER ?? '/usr/bin/redis-server';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The bench's own redis-server: 127.0.0.1 on a free port, appendonly yes, appendfsync everysec, no RDB snapshots. */
export class RedisServer extends Child {
  private constructor(
    child: ChildProcess,
    readonly port: number,
  ) {
    super(child);
  }

  static available(): boolean {
    return existsSync(REDIS_SERVER);
  }

  static async start(dir: string): Promise<RedisServer> {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const redis = new RedisServer(child, port);
    // At loglevel warning Redis prints nothing when ready: wait until the port answers a PING.
    await redis.waitForPing();
    return redis;
  }

  private async waitForPing(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pong = await new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.setTimeout(500);
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
        socket.connect(this.port, '127.0.0.1', () => socket.write('PING\r\n'));
      });
      if (pong) return;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`redis-server did not start on port ${this.port} (exit ${this.child.exitCode}):\n${this.output().slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
