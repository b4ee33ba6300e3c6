import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../../src/config.js';
import { spawnReghook } from '../helpers/process.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/reghook.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });

describe('the reghook command', () => {
  it('migrate applies the migrations and exits 0', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-cli-'));
    const res = run(['migrate', '--database-url', `sqlite:${dir}/m.db`]);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('migrations applied');
    expect(existsSync(path.join(dir, 'm.db'))).toBe(true);
  });

  it.each([
    [['serve'], { REGHOOK_RETRY_INTERVAL: 'soon' }, 'REGHOOK_RETRY_INTERVAL'],
    [['serve', '--max-attempts', '0'], {}, 'REGHOOK_MAX_ATTEMPTS'],
    [['worker'], { REGHOOK_DATABASE_URL: 'mongodb://x' }, 'REGHOOK_DATABASE_URL'],
    [['serve'], { REGHOOK_TRUST_PROXY: '10.0.0.0/40' }, 'REGHOOK_TRUST_PROXY'],
  ])('a bad value stops %j with one line naming the variable', (args, env, name) => {
    const res = run(args, env);
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
  });

  it('an unknown command prints the usage and exits 2', () => {
    const res = run(['fly']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('usage: reghook');
  });

  it('first start without REGHOOK_ADMIN_TOKEN prints a generated token once; the secret key file is mode 0600', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-cli-'));
    const env = { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db` };
    const first = await spawnReghook('serve', env);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const token = /admin token[^:]*: (rhadm_[A-Za-z0-9_-]{43})/.exec(first.output())?.[1];
    expect(token).toBeDefined();
    expect(statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);

    const second = await spawnReghook('serve', env);
    const res = await fetch(`${second.url}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).not.toContain('rhadm_');
  });

  it('starting with another secret key fails closed with a clear message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reghook-cli-'));
    const env = { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough' };
    const first = await spawnReghook('serve', env);
    first.child.kill('SIGTERM');
    await first.exited;
    const res = run(['serve'], { ...env, REGHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/REGHOOK_SECRET_KEY does not match/);
    expect(res.stderr).toContain('every process of one deployment must share the same REGHOOK_SECRET_KEY');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});

const VERSION = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'reghook-cli-'));
/** A throw-away database and any free port, so a start that should have been refused harms nothing. */
const scratch = () => ({ REGHOOK_DATABASE_URL: `sqlite:${tempDir()}/r.db`, REGHOOK_PORT: '0' });
/** Exactly one line on stderr, starting "reghook: " (no stack). */
const oneLine = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^reghook: /);
  return lines[0]!;
};

describe('help and version', () => {
  it.each([['--help'], ['-h'], ['help']])('reghook %s prints the usage on stdout and exits 0', (flag) => {
    const res = run([flag], scratch());
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('usage: reghook <command>');
    for (const command of ['serve', 'worker', 'migrate']) expect(res.stdout).toContain(`  ${command} `);
    expect(res.stderr).toBe('');
  });

  it('reghook --version prints the package version', () => {
    const res = run(['--version'], scratch());
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe(VERSION);
  });

  it.each([['serve'], ['worker'], ['migrate']])('reghook %s --help prints its usage and every option, starts nothing, exits 0', (command) => {
    const dir = tempDir();
    const res = run([command, '--help'], { REGHOOK_DATABASE_URL: `sqlite:${dir}/h.db`, REGHOOK_PORT: '0' });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`usage: reghook ${command}`);
    for (const { name } of VARIABLES) expect(res.stdout).toContain(name);
    expect(res.stdout).toContain('REGHOOK_SECRET_KEY_FILE');
    expect(existsSync(path.join(dir, 'h.db'))).toBe(false);
  });

  it('reghook with no command prints the usage on stderr and exits 2', () => {
    const res = run([], scratch());
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('usage: reghook');
  });
});

describe('unknown settings', () => {
  it('an unknown REGHOOK_* variable stops the start with one line naming it and the closest known name', () => {
    const res = run(['serve'], { ...scratch(), REGHOOK_RETRY_INTERVALL: '1s' });
    expect(res.status).toBe(1);
    expect(oneLine(res.stderr)).toBe('reghook: unknown variable REGHOOK_RETRY_INTERVALL; did you mean REGHOOK_RETRY_INTERVAL?');
  });

  it('an unknown variable far from every known one is named without a guess', () => {
    const res = run(['worker'], { ...scratch(), REGHOOK_COLOUR_SCHEME: 'dark' });
    expect(res.status).toBe(1);
    expect(oneLine(res.stderr)).toBe('reghook: unknown variable REGHOOK_COLOUR_SCHEME');
  });

  it('an unknown flag is refused with the closest known flag', () => {
    const res = run(['serve', '--max-attempt', '3'], scratch());
    expect(res.status).toBe(1);
    expect(oneLine(res.stderr)).toBe('reghook: unknown option --max-attempt; did you mean --max-attempts?');
  });
});

describe('secrets from files', () => {
  it('REGHOOK_ADMIN_TOKEN_FILE and REGHOOK_SECRET_KEY_FILE: the files hold the values (one trailing newline removed)', async () => {
    const dir = tempDir();
    const token = 'a-token-from-a-file-0123456789';
    const key = Buffer.alloc(32, 9).toString('base64');
    writeFileSync(path.join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'key'), `${key}\r\n`, { mode: 0o600 });
    const env = { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_ADMIN_TOKEN_FILE: path.join(dir, 'token'), REGHOOK_SECRET_KEY_FILE: path.join(dir, 'key') };
    const first = await spawnReghook('serve', env);
    try {
      const res = await fetch(`${first.url}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);
    // The key came from the file: none was generated, and the same key given directly opens the database.
    expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
    const second = await spawnReghook('serve', { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_ADMIN_TOKEN: token, REGHOOK_SECRET_KEY: key });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('REGHOOK_DATABASE_URL_FILE names the database', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'url'), `sqlite:${dir}/from-file.db\n`);
    const res = run(['migrate'], { REGHOOK_DATABASE_URL_FILE: path.join(dir, 'url') });
    expect(res.status, res.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'from-file.db'))).toBe(true);
  });

  it('giving both REGHOOK_X and REGHOOK_X_FILE is one line naming both', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'token'), 'a-token-from-a-file-0123456789');
    const res = run(['serve'], { ...scratch(), REGHOOK_ADMIN_TOKEN: 'another-token-0123456789', REGHOOK_ADMIN_TOKEN_FILE: path.join(dir, 'token') });
    expect(res.status).toBe(1);
    expect(oneLine(res.stderr)).toBe('reghook: REGHOOK_ADMIN_TOKEN and REGHOOK_ADMIN_TOKEN_FILE are both set; set only one');
  });

  it('a file that cannot be read is one line naming the variable and the file', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'no-such-file');
    const res = run(['serve'], { ...scratch(), REGHOOK_SECRET_KEY_FILE: missing });
    expect(res.status).toBe(1);
    expect(oneLine(res.stderr)).toBe(`reghook: REGHOOK_SECRET_KEY_FILE=${missing} cannot be read (ENOENT)`);
  });

  it('a bad value read from a file names the file variable and never prints the value', () => {
    const dir = tempDir();
    const file = path.join(dir, 'key');
    writeFileSync(file, 'not-a-key-but-secret\n');
    chmodSync(file, 0o600);
    const res = run(['serve'], { ...scratch(), REGHOOK_SECRET_KEY_FILE: file });
    expect(res.status).toBe(1);
    const line = oneLine(res.stderr);
    expect(line).toContain('REGHOOK_SECRET_KEY (read from REGHOOK_SECRET_KEY_FILE)');
    expect(line).not.toContain('not-a-key-but-secret');
  });
});

describe('a port in use', () => {
  it('is one line naming the port and the variable, without a stack', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const dir = tempDir();
      const res = run(['serve'], { REGHOOK_DATABASE_URL: `sqlite:${dir}/r.db`, REGHOOK_PORT: String(port), REGHOOK_ADMIN_TOKEN: 'an-admin-token-long-enough' });
      expect(res.status).toBe(1);
      expect(oneLine(res.stderr)).toMatch(new RegExp(`^reghook: port ${port} is in use on 127\\.0\\.0\\.1; set REGHOOK_PORT`));
    } finally {
      blocker.close();
    }
  });
});
