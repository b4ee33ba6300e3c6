/** Runs `reghook serve` as a child process for the demo, and stops it the way an operator would (SIGTERM). */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The package root: this file compiles to dist/examples/demo/, and also runs from examples/demo/ (vitest, tsx). */
export function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bin', 'reghook.js'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`bin/reghook.js not found above ${import.meta.dirname}`);
  }
}

export interface ReghookChild {
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then waits for it to drain and exit (SIGKILL after `graceMs`). Answers the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL, at once (used when the demo itself is dying). */
  kill(): void;
}

export async function startReghook(env: Record<string, string>, args: string[], onLine: (line: string) => void, timeoutMs = 20_000): Promise<ReghookChild> {
  const root = packageRoot();
  const child: ChildProcess = spawn(process.execPath, [path.join(root, 'bin', 'reghook.js'), 'serve', ...args], {
    cwd: root,
    // The user's own REGHOOK_* variables stay out: the demo needs its own settings.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGHOOK_'))), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in the terminal reaches the demo only, which then stops reghook
    // with one SIGTERM (a second signal would make reghook skip its drain).
    detached: true,
  });
  let out = '';
  let pending = '';
  let url: string | null = null;
  let listening: (url: string) => void = () => {};
  const whenListening = new Promise<string>((resolve) => (listening = resolve));
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (url === null) {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) listening((url = m[1]!));
      }
      if (line.trim() !== '') onLine(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));

  let timer: NodeJS.Timeout | undefined;
  const started = await Promise.race([
    whenListening,
    exited.then((code) => {
      throw new Error(`reghook serve exited with code ${code} before listening:\n${out}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reghook serve did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    }),
  ])
    .catch((error: unknown) => {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw error;
    })
    .finally(() => clearTimeout(timer));

  return {
    url: started,
    output: () => out,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
