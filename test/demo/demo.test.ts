/**
 * `npm run demo` (examples/demo/demo.ts), run as a user would: the compiled demo as a child process,
 * with its own reghook child and receiver. `npm test` builds dist/ before vitest runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DEMO = path.resolve(import.meta.dirname, '../../dist/examples/demo/demo.js');

interface DemoRun {
  code: number | null;
  out: string;
}

/**
 * Runs the demo; `whenPrinted(out)` may answer a signal to send once the output matches (the
 * interactive run waits for Ctrl-C). Past `timeoutMs` the demo gets SIGTERM (it cleans up), then SIGKILL.
 */
function runDemo(args: string[], timeoutMs: number, whenPrinted?: (out: string) => NodeJS.Signals | null): Promise<DemoRun> {
  if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run npm run build first`);
  const env = { ...process.env };
  delete env.REGHOOK_DEMO_EXIT;
  const child = spawn(process.execPath, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let signalled = false;
  const onData = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    const signal = signalled ? null : (whenPrinted?.(out) ?? null);
    if (signal) {
      signalled = true;
      child.kill(signal);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => {
    const term = setTimeout(() => {
      out += `\n[test] the demo did not finish within ${timeoutMs} ms: SIGTERM\n`;
      child.kill('SIGTERM');
    }, timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.on('exit', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

const SUMMARY =
  /Summary: (\d+) webhooks expected, (\d+) received after dedupe: (\d+) exactly once, (\d+) more than once, (\d+) missing, (\d+) unexpected\./;

/** The temporary directory the demo announced, which must be gone once it exits. */
function tempDirOf(out: string): string {
  const m = /database: +sqlite:(\S+)\/reghook\.db/.exec(out);
  expect(m, 'the demo names its temporary database').not.toBeNull();
  return m![1]!;
}

describe('npm run demo', () => {
  it('--ci: every expected webhook arrives exactly once after dedupe, with a retry and a skipped duplicate; exits 0', async () => {
    const started = Date.now();
    const { code, out } = await runDemo(['--ci'], 60_000);
    const context = `demo output:\n${out}`;
    expect(code, context).toBe(0);

    // The summary: 4 webhooks (2 Self Service, 2 store), each processed exactly once by the receiver.
    const m = SUMMARY.exec(out);
    expect(m, context).not.toBeNull();
    const [expected, received, once, moreThanOnce, missing, unexpected] = m!.slice(1).map(Number);
    expect(expected, context).toBe(4);
    expect({ received, once, moreThanOnce, missing, unexpected }, context).toEqual({
      received: expected,
      once: expected,
      moreThanOnce: 0,
      missing: 0,
      unexpected: 0,
    });
    expect(out, context).toMatch(/deliveries reached the receiver: 4 processed, 1 answered HTTP 500 on purpose \(then retried\), 1 duplicate skipped\./);
    expect(out, context).toContain('Result: OK');

    // The retry step: attempt 1 answered 500, attempt 2 delivered after the short retry interval.
    expect(out, context).toMatch(/answered HTTP 500 on purpose; reghook will retry it/);
    const retry = /Retry: (evt_\w+) failed with HTTP 500 on attempt 1; reghook retried it ([\d.]+) s later and attempt 2 was delivered \(HTTP 200\)\./.exec(out);
    expect(retry, context).not.toBeNull();
    expect(Number(retry![2]), context).toBeGreaterThanOrEqual(1.9); // REGHOOK_RETRY_INTERVAL=2s
    // The trigger rules as the API answered them.
    expect(out).toContain('← 202 {"eventId":null,"status":"awaiting_first_purchase"}');
    expect(out).toContain('← 200 {"triggered":false,"reason":"not_first_purchase"}');
    expect(out).toContain('← 202 {"triggered":false,"reason":"awaiting_registration"}');
    expect(out).toContain('← 200 {"triggered":false,"reason":"self_service_user"}');
    expect(out).toMatch(/already processed -> skipped, answered 200 \{"received":true,"duplicate":true\}/);

    // The demo's made-up personal data never reaches the screen; the signing secret only shortened.
    for (const personal of ['Demo Subscriber', '90555000000', '203.0.113.']) expect(out).not.toContain(personal);
    expect(out).not.toMatch(/whsec_[A-Za-z0-9+/=]{11,}/);

    // --ci stops reghook (drained, exit 0) and removes the temporary directory.
    expect(out).toContain('reghook stopped (exit code 0).');
    expect(existsSync(tempDirOf(out))).toBe(false);
    console.log(`demo --ci took ${Date.now() - started} ms`);
  }, 80_000);

  it('interactive: leaves the dashboard URL, API key and admin token on screen; SIGTERM stops everything', async () => {
    const { code, out } = await runDemo([], 60_000, (text) => (text.includes('Press Ctrl-C to stop') ? 'SIGTERM' : null));
    const context = `demo output:\n${out}`;
    expect(code, context).toBe(0);
    expect(out, context).toMatch(/dashboard +http:\/\/127\.0\.0\.1:\d+\/ /);
    expect(out, context).toMatch(/project API key +rhk_\S+/);
    expect(out, context).toMatch(/admin token +rhadm_\S+/);
    expect(out, context).toContain('SIGTERM: stopping the receiver and reghook');
    expect(out, context).toContain('reghook stopped (exit code 0).');
    expect(existsSync(tempDirOf(out))).toBe(false);
  }, 80_000);
});
