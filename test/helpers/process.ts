/** Runs the built `reghook` CLI as a real child process (tests that kill it need a real process). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { TEST_SECRET_KEY } from './service.js';

export const BIN = path.resolve(import.meta.dirname, '../../bin/reghook.js');

/**
 * The environment of a spawned test process: nothing inherited but PATH, any free port, and the
 * sealing key and admin token every process of one deployment shares.
 */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    REGHOOK_PORT: '0',
    REGHOOK_SECRET_KEY: TEST_SECRET_KEY,
    REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough',
    ...env,
  };
}

export interface ReghookProcess {
  child: ChildProcessWithoutNullStreams;
  /** The API's base URL (serve only). */
  url: string | null;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `reghook <command>` and resolves once it serves (or, for workers, has started). */
export async function spawnReghook(command: 'serve' | 'worker', env: Record<string, string>, timeoutMs = 15_000): Promise<ReghookProcess> {
  const child = spawn(process.execPath, [BIN, command], {
    env: { PATH: process.env.PATH ?? '', REGHOOK_PORT: '0', REGHOOK_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reghook ${command} did not start:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m || (command === 'worker' && out.length > 0) || child.exitCode !== null) {
        clearTimeout(timer);
        if (child.exitCode !== null && !m) reject(new Error(`reghook ${command} exited ${child.exitCode}:\n${out}`));
        else resolve(m ? m[1]! : null);
        return;
      }
      setTimeout(check, 20);
    };
    check();
  });
  return { child, url, output: () => out, exited };
}
