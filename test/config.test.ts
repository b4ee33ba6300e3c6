import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

describe('configuration', () => {
  it('defaults are the SPEC section 8 defaults', () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ kind: 'sqlite', path: './data/reghook.db' });
    expect([c.host, c.port]).toEqual(['127.0.0.1', 8080]);
    expect(c.retryIntervalsMs).toEqual([3_600_000]);
    expect(c.maxAttempts).toBe(10);
    expect(c.deliveryTimeoutMs).toBe(10_000);
    expect(c.networkPolicy.allowAll).toBe(false);
    expect(c.retentionMs).toBe(30 * 86_400_000);
    expect(c.awaitingRetentionMs).toBe(365 * 86_400_000);
    expect(c.dispatch).toBe(true);
  });

  it('REGHOOK_RETRY_INTERVAL may be a schedule, with no more waits than there are retries', () => {
    expect(loadConfig({ REGHOOK_RETRY_INTERVAL: '10m,30m,1h' }).retryIntervalsMs).toEqual([600_000, 1_800_000, 3_600_000]);
    expect(loadConfig({ REGHOOK_RETRY_INTERVAL: '10m, 30m', REGHOOK_MAX_ATTEMPTS: '3' }).retryIntervalsMs).toEqual([600_000, 1_800_000]);
    expect(() => loadConfig({ REGHOOK_RETRY_INTERVAL: '1m,2m,3m', REGHOOK_MAX_ATTEMPTS: '3' })).toThrow(
      'REGHOOK_RETRY_INTERVAL lists 3 waits, but REGHOOK_MAX_ATTEMPTS=3 leaves 2 retries',
    );
    // One attempt in all: a single wait is the (unused) default, not an error.
    expect(loadConfig({ REGHOOK_MAX_ATTEMPTS: '1' }).retryIntervalsMs).toEqual([3_600_000]);
  });

  describe('operator notifications (REGHOOK_OPERATOR_WEBHOOK_URL / _SECRET)', () => {
    const secret = 'whsec_' + Buffer.alloc(24, 7).toString('base64');

    it('are off by default, and on with both', () => {
      expect(loadConfig({}).operatorWebhook).toBeUndefined();
      expect(loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks', REGHOOK_OPERATOR_WEBHOOK_SECRET: secret }).operatorWebhook).toEqual({
        url: 'https://ops.example/hooks',
        secret,
      });
    });

    it('need both or neither', () => {
      expect(() => loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks' })).toThrow('REGHOOK_OPERATOR_WEBHOOK_URL is set without REGHOOK_OPERATOR_WEBHOOK_SECRET');
      expect(() => loadConfig({ REGHOOK_OPERATOR_WEBHOOK_SECRET: secret })).toThrow('REGHOOK_OPERATOR_WEBHOOK_SECRET is set without REGHOOK_OPERATOR_WEBHOOK_URL');
    });

    it.each([
      ['ftp://ops.example/x', 'is not allowed'],
      ['https://user:pw@ops.example/x', 'user name or password'],
      ['not a url', 'not a valid absolute URL'],
      ['http://127.0.0.1:9000/hooks', 'REGHOOK_OPERATOR_WEBHOOK_URL is refused'],
    ])('refuse the URL %s like an endpoint URL, network policy included', (url, message) => {
      expect(() => loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: url, REGHOOK_OPERATOR_WEBHOOK_SECRET: secret })).toThrow(message);
    });

    it('allow a private address when the network policy does', () => {
      const c = loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: 'http://127.0.0.1:9000/hooks', REGHOOK_OPERATOR_WEBHOOK_SECRET: secret, REGHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      expect(c.operatorWebhook?.url).toBe('http://127.0.0.1:9000/hooks');
    });

    it.each(['not-a-secret', 'whsec_', 'whsec_!!!', Buffer.alloc(24, 7).toString('base64')])('refuse the secret %s without showing it', (bad) => {
      let message = '';
      try {
        loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks', REGHOOK_OPERATOR_WEBHOOK_SECRET: bad });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^REGHOOK_OPERATOR_WEBHOOK_SECRET must be a Standard Webhooks secret/);
      if (bad.length > 6) expect(message).not.toContain(bad);
    });

    it('take the secret from a file', () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'reghook-config-')), 'operator-secret');
      writeFileSync(file, secret + '\n');
      const c = loadConfig({ REGHOOK_OPERATOR_WEBHOOK_URL: 'https://ops.example/hooks', REGHOOK_OPERATOR_WEBHOOK_SECRET_FILE: file });
      expect(c.operatorWebhook?.secret).toBe(secret);
    });
  });

  it('flags override the environment', () => {
    const c = loadConfig({ REGHOOK_PORT: '9000' }, ['--port', '0', '--retry-interval=250ms', '--dispatch', 'false']);
    expect(c.port).toBe(0);
    expect(c.retryIntervalsMs).toEqual([250]);
    expect(c.dispatch).toBe(false);
  });

  it.each([
    ['REGHOOK_PORT', '70000'],
    ['REGHOOK_PORT', 'eighty'],
    ['REGHOOK_MAX_ATTEMPTS', '0'],
    ['REGHOOK_RETRY_INTERVAL', '1 hour'],
    ['REGHOOK_RETRY_INTERVAL', '10m,,1h'],
    ['REGHOOK_RETRY_INTERVAL', '10m,0ms'],
    ['REGHOOK_DELIVERY_TIMEOUT', '-5s'],
    ['REGHOOK_DATABASE_URL', 'mysql://x'],
    ['REGHOOK_ALLOW_PRIVATE_NETWORKS', '10.0.0.0/33'],
    ['REGHOOK_DISPATCH', 'maybe'],
    ['REGHOOK_SECRET_KEY', 'c2hvcnQ='],
    ['REGHOOK_ADMIN_TOKEN', 'short'],
    ['REGHOOK_LOG_LEVEL', 'loud'],
    ['REGHOOK_TRUST_PROXY', '10.0.0.0/33'],
    ['REGHOOK_TRUST_PROXY', 'proxy.internal'],
    ['REGHOOK_TRUST_PROXY', '10.0.0.1,'],
    ['REGHOOK_TRUST_PROXY', 'fd00::/129'],
    ['REGHOOK_PUBLIC_URL', 'reghook.example.com'],
    ['REGHOOK_PUBLIC_URL', 'ftp://reghook.example.com'],
    ['REGHOOK_PUBLIC_URL', 'https://reghook.example.com/sub'],
    ['REGHOOK_PUBLIC_URL', 'https://user:pw@reghook.example.com'],
    ['REGHOOK_PUBLIC_URL', 'https://reghook.example.com/?x=1'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', '*'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', "'self'"],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', 'panel.example.com'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', 'https://panel.example.com/embed'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', 'https://panel.example.com,'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', 'https://panel.example.com; script-src *'],
    ['REGHOOK_DASHBOARD_FRAME_ANCESTORS', 'javascript://panel.example.com'],
  ])('a bad %s (%j) stops with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(name));
  });

  it('REGHOOK_SQLITE_THREAD: on when the machine has a second core, else off; true/false win', () => {
    expect(loadConfig({}).sqliteThread).toBe(availableParallelism() > 1);
    expect(loadConfig({ REGHOOK_SQLITE_THREAD: 'false' }).sqliteThread).toBe(false);
    expect(loadConfig({ REGHOOK_SQLITE_THREAD: '1' }).sqliteThread).toBe(true);
    expect(() => loadConfig({ REGHOOK_SQLITE_THREAD: 'sometimes' })).toThrow(ConfigError);
  });

  it('REGHOOK_TRUST_PROXY: none by default, else a list of addresses and CIDRs (also as --trust-proxy)', () => {
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ REGHOOK_TRUST_PROXY: '10.0.0.1, 192.0.2.0/24,fd00::/8' }).trustProxy).toEqual(['10.0.0.1', '192.0.2.0/24', 'fd00::/8']);
    expect(loadConfig({}, ['--trust-proxy', '127.0.0.1']).trustProxy).toEqual(['127.0.0.1']);
  });

  it('REGHOOK_PUBLIC_URL: none by default, else an origin', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ REGHOOK_PUBLIC_URL: 'https://Reghook.Example.com/' }).publicUrl).toBe('https://reghook.example.com');
    expect(loadConfig({ REGHOOK_PUBLIC_URL: 'https://reghook.example.com:443' }).publicUrl).toBe('https://reghook.example.com');
    expect(loadConfig({ REGHOOK_PUBLIC_URL: 'http://10.0.0.5:8080' }).publicUrl).toBe('http://10.0.0.5:8080');
  });

  it('REGHOOK_DASHBOARD_FRAME_ANCESTORS: none by default, else origins, and only with the dashboard on https or loopback', () => {
    expect(loadConfig({}).dashboardFrameAncestors).toEqual([]);
    expect(
      loadConfig({ REGHOOK_DASHBOARD_FRAME_ANCESTORS: 'https://panel.example.com, http://localhost:3000/,https://*.example.org:8443' }).dashboardFrameAncestors,
    ).toEqual(['https://panel.example.com', 'http://localhost:3000', 'https://*.example.org:8443']);
    const embedded = { REGHOOK_DASHBOARD_FRAME_ANCESTORS: 'https://panel.example.com' };
    expect(() => loadConfig({ ...embedded, REGHOOK_HOST: '0.0.0.0' })).toThrowError(/REGHOOK_DASHBOARD_FRAME_ANCESTORS needs the dashboard on https/);
    expect(() => loadConfig({ ...embedded, REGHOOK_PUBLIC_URL: 'http://reghook.example.com' })).toThrowError(/REGHOOK_PUBLIC_URL=https/);
    expect(loadConfig({ ...embedded, REGHOOK_HOST: '0.0.0.0', REGHOOK_PUBLIC_URL: 'https://reghook.example.com' }).publicUrl).toBe('https://reghook.example.com');
    expect(loadConfig({ ...embedded, REGHOOK_HOST: '::1' }).dashboardFrameAncestors).toEqual(['https://panel.example.com']);
  });

  it('an unknown flag is refused', () => {
    expect(() => loadConfig({}, ['--colour', 'blue'])).toThrowError(/unknown option --colour/);
  });

  it('durations: every unit, and a bare number is milliseconds (property)', () => {
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(...Object.keys(units)), (n, unit) => {
        expect(parseDuration(`${n}${unit}`)).toBe(n * units[unit]!);
      }),
    );
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h30m')).toBeUndefined();
  });
});
