import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
  });
});
