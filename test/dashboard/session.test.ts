import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FlashCodec } from '../../src/dashboard/flash.js';
import { SESSION_LIFETIME_MS, SessionCodec, csrfMatches, isSameOrigin } from '../../src/dashboard/session.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';

const NOW = Date.UTC(2024, 4, 1, 12);
const codec = new SessionCodec(randomBytes(32));
const project = codec.create({ kind: 'project', appId: 7, keyId: 'key_0123456789abcdef' }, 'ab'.repeat(32), NOW);

describe('the session cookie value', () => {
  it('round-trips a session and carries a fresh random CSRF token', () => {
    expect(codec.decode(codec.encode(project), NOW)).toEqual(project);
    expect(codec.create({ kind: 'admin' }, 'cd'.repeat(32), NOW).csrf).not.toBe(project.csrf);
    expect(project.csrf.length).toBeGreaterThanOrEqual(43);
  });

  it('expires after 12 hours', () => {
    const value = codec.encode(project);
    expect(codec.decode(value, NOW + SESSION_LIFETIME_MS - 1)).not.toBeNull();
    expect(codec.decode(value, NOW + SESSION_LIFETIME_MS)).toBeNull();
  });

  it('round-trips a portal session, whose read-only flag cannot be altered', () => {
    const portal = codec.create({ kind: 'portal', appId: 7, portalSessionId: 'ps_0123456789abcdef', readOnly: true }, '', NOW);
    expect(portal).toMatchObject({ kind: 'portal', appId: 7, portalSessionId: 'ps_0123456789abcdef', readOnly: true });
    expect(portal).not.toHaveProperty('keyHash');
    const value = codec.encode(portal);
    expect(codec.decode(value, NOW)).toEqual(portal);
    const [, mac] = value.split('.') as [string, string];
    const writable = Buffer.from(JSON.stringify({ ...portal, readOnly: false })).toString('base64url');
    expect(codec.decode(`${writable}.${mac}`, NOW)).toBeNull();
  });

  it('is refused when altered, truncated, or signed with another key', () => {
    const value = codec.encode(project);
    const [payload, mac] = value.split('.') as [string, string];
    const altered = Buffer.from(JSON.stringify({ ...project, appId: 8 })).toString('base64url');
    expect(codec.decode(`${altered}.${mac}`, NOW)).toBeNull();
    expect(codec.decode(`${payload}.${mac.slice(0, -2)}`, NOW)).toBeNull();
    expect(codec.decode(payload, NOW)).toBeNull();
    expect(codec.decode('', NOW)).toBeNull();
    expect(new SessionCodec(randomBytes(32)).decode(value, NOW)).toBeNull();
  });
});

describe('the CSRF token check', () => {
  it("accepts only the session's own token", () => {
    expect(csrfMatches(project, project.csrf)).toBe(true);
    expect(csrfMatches(project, project.csrf + 'x')).toBe(false);
    expect(csrfMatches(project, '')).toBe(false);
    expect(csrfMatches(project, undefined)).toBe(false);
    expect(csrfMatches(project, [project.csrf])).toBe(false);
  });
});

describe('the same-origin check', () => {
  it('accepts an Origin, or without one a Referer, naming the Host', () => {
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://dash.example' })).toBe(true);
    expect(isSameOrigin({ host: 'dash.example:443', origin: 'https://dash.example' })).toBe(true);
    expect(isSameOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })).toBe(true);
    expect(isSameOrigin({ host: 'dash.example', referer: 'https://dash.example/projects/1/webhooks' })).toBe(true);
  });

  it('with a configured public origin, accepts exactly it (scheme and port included), whatever the Host', () => {
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://dash.example' }, 'https://dash.example')).toBe(true);
    expect(isSameOrigin({ host: '10.0.0.5:8080', referer: 'https://dash.example/projects/1/webhooks' }, 'https://dash.example')).toBe(true);
    expect(isSameOrigin({ host: 'dash.example', origin: 'http://dash.example' }, 'https://dash.example')).toBe(false);
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://dash.example:8443' }, 'https://dash.example')).toBe(false);
    // The page embedding the dashboard is not the dashboard: its forms send the frame's own origin.
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://panel.example' }, 'https://dash.example')).toBe(false);
    expect(isSameOrigin({ host: 'dash.example', origin: 'null' }, 'https://dash.example')).toBe(false);
  });

  it('refuses another origin, a null origin, a missing header, and Host tricks', () => {
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://evil.example' })).toBe(false);
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://dash.example.evil.example' })).toBe(false);
    expect(isSameOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' })).toBe(false);
    expect(isSameOrigin({ host: 'dash.example', origin: 'null' })).toBe(false);
    expect(isSameOrigin({ host: 'dash.example' })).toBe(false);
    expect(isSameOrigin({ host: 'dash.example', origin: 'https://evil.example', referer: 'https://dash.example/' })).toBe(false);
    expect(isSameOrigin({ host: 'evil.example/x', origin: 'https://evil.example' })).toBe(false);
    expect(isSameOrigin({ origin: 'https://dash.example' })).toBe(false);
  });
});

describe('the flash cookie', () => {
  const flashes = new FlashCodec(createSecretBox(randomBytes(32)));
  const secret = 'whsec_' + randomBytes(24).toString('base64');

  it('is encrypted, bound to its session, and short-lived', () => {
    const sealed = flashes.seal(project, { secret: { value: secret, reason: 'revealed', previousExpiresAt: null } }, NOW);
    expect(sealed).not.toContain(secret.slice(6, 20));
    expect(flashes.open(project, sealed, NOW)?.secret?.value).toBe(secret);
    const other = codec.create({ kind: 'project', appId: 7, keyId: 'key_0123456789abcdef' }, 'ab'.repeat(32), NOW);
    expect(flashes.open(other, sealed, NOW)).toBeNull();
    expect(flashes.open(project, sealed, NOW + 60_000)).toBeNull();
    expect(flashes.open(project, sealed.slice(0, -4) + 'AAA=', NOW)).toBeNull();
  });

  it('stays small enough for a cookie by shortening a long response excerpt', () => {
    const body = '\u0001'.repeat(1024);
    const sealed = flashes.seal(project, { test: { success: false, statusCode: 500, durationMs: 3, error: 'http_500', responseBody: body, at: NOW } }, NOW);
    expect(sealed.length).toBeLessThanOrEqual(3800);
    expect(flashes.open(project, sealed, NOW)?.test?.responseBody?.length).toBeGreaterThan(0);
  });
});
