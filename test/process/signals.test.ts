/**
 * SPEC section 8: "A signal that arrives while the process is still starting also ends it
 * cleanly": SIGTERM or SIGINT at any moment of the start (loading, opening the database, waiting
 * for PostgreSQL, right as it starts listening) exits 0, never by the signal, with no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv } from '../helpers/process.js';

const TRIES = 3;

/** Spawns `reghook <command>` and sends `signal` as soon as its output matches `moment` (plus `delayMs`). */
async function signalAt(
  command: 'serve' | 'worker',
  env: Record<string, string>,
  moment: RegExp,
  delayMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
) {
  const child = spawn(process.execPath, [BIN, command], {
    // The debug line "starting" says the handlers are in place.
    env: childEnv({ REGHOOK_LOG_LEVEL: 'debug', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let sent = false;
  const send = () => {
    if (sent) return;
    sent = true;
    setTimeout(() => child.kill(signal), delayMs);
  };
  const onData = (d: Buffer) => {
    out += d.toString();
    if (moment.test(out)) send();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  return { exit, out, sent };
}

const sqlite = () => ({ REGHOOK_DATABASE_URL: `sqlite:${mkdtempSync(path.join(tmpdir(), 'reghook-signal-'))}/r.db` });
const HANDLERS_IN_PLACE = /"msg":"starting; SIGTERM and SIGINT are handled"/;
const LISTENING = /listening on http/;

describe('a signal during the start', () => {
  it.each([
    ['as soon as the handlers are in place', HANDLERS_IN_PLACE, 0],
    ['while the service modules load and the database opens', HANDLERS_IN_PLACE, 40],
    ['while migrating and building the app', HANDLERS_IN_PLACE, 150],
    ['right as "listening on" is printed', LISTENING, 0],
    ['just after "listening on"', LISTENING, 5],
  ])('SIGTERM %s ends serve cleanly (exit 0, no stack)', async (_when, moment, delayMs) => {
    for (let i = 0; i < TRIES; i++) {
      const { exit, out, sent } = await signalAt('serve', sqlite(), moment, delayMs);
      expect(sent, out).toBe(true);
      expect(exit, out).toEqual({ code: 0, signal: null });
      expect(out).not.toMatch(/^\s+at /m);
    }
  });

  it('SIGINT right as "listening on" is printed ends serve cleanly', async () => {
    for (let i = 0; i < TRIES; i++) {
      const { exit, out } = await signalAt('serve', sqlite(), LISTENING, 0, 'SIGINT');
      expect(exit, out).toEqual({ code: 0, signal: null });
    }
  });

  it('SIGTERM while a worker waits for an unreachable PostgreSQL ends it at once', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    for (let i = 0; i < TRIES; i++) {
      const began = Date.now();
      const { exit, out } = await signalAt(
        'worker',
        { REGHOOK_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test` },
        /not reachable yet; retrying/,
        0,
      );
      expect(exit, out).toEqual({ code: 0, signal: null });
      expect(Date.now() - began).toBeLessThan(10_000);
      expect(out).not.toMatch(/^\s+at /m);
    }
  });
});
