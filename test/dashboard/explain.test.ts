/**
 * SPEC §6: every failed attempt explained with its likely fix and the URL attempted, the attempts
 * as a compact table, replay by filter from the Webhooks page, times in UTC or the browser's zone,
 * pending rows that update by themselves. HTTP level, then Chromium (screenshots in
 * test-results/dashboard).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';

const HOST = 'dash.test';
const ORIGIN = `http://${HOST}`;
let svc: TestService;
let receiver: Receiver;
let cookie: string;
let csrf: string;
let browser: Browser;
const failed: string[] = [];
const shots = path.resolve('test-results/dashboard');

const form = (body: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) for (const value of Array.isArray(v) ? v : [v]) params.append(k, value);
  return params.toString();
};
const get = (url: string, c = cookie) => svc.app!.inject({ method: 'GET', url, headers: { host: HOST, cookie: c } });
const post = (url: string, body: Record<string, string | string[]>, c = cookie) =>
  svc.app!.inject({ method: 'POST', url, headers: { host: HOST, origin: ORIGIN, cookie: c, 'content-type': 'application/x-www-form-urlencoded' }, payload: form(body) });
const statusOf = async (eventId: string) => (await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status as string;

async function signedInContext(width: number, timezoneId = 'UTC'): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, timezoneId });
  const [name, value] = cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, url: svc.url! }]);
  return context;
}

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '1' });
  receiver = await startReceiver(answer(204, ''));
  const key = await svc.createProject(1, 'Explain Shop');
  await svc.setEndpoint(1, receiver.url);
  for (let i = 0; i < 2; i++) failed.push((await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string);
  for (const id of failed) await eventually(async () => ((await statusOf(id)) === 'failed' ? true : undefined));
  const signIn = await svc.app!.inject({
    method: 'POST',
    url: '/sign-in',
    headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token: key }),
  });
  const value = signIn.cookies.find((c) => c.name === 'reghook_session')!.value;
  cookie = `reghook_session=${value}`;
  csrf = (JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8')) as { csrf: string }).csrf;
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await svc?.stop();
});

describe("a failed event's page", () => {
  it('shows the attempts as a table, each failure explained with its fix, the URL, UTC times and the body on demand', async () => {
    const body = (await get(`/projects/1/events/${failed[0]}`)).body;
    expect(body).toContain('<table class="log attempts-table">');
    expect(body).toMatch(/<tr id="attempt-1" class="attempt-row">/);
    expect(body).toContain('HTTP 204');
    expect(body).toContain('Your endpoint answered HTTP 204, but only 200 counts as delivered.');
    expect(body).toContain('<strong>Likely fix:</strong> Answer exactly 200 (not 201, 202 or 204)');
    expect(body).toContain(`Sent to <code class="url">${receiver.url}</code>`);
    expect(body).toContain("the endpoint's current URL");
    expect(body).toMatch(/<td data-label="Started"><time datetime="\d{4}-\d\d-\d\dT[^"]+Z">[^<]+ UTC<\/time><\/td>/);
    expect(body).toContain('<details class="body"><summary>Response body (empty)</summary>');
    expect(body).toContain('data-tz-toggle hidden');
  });

  it('in Chromium: readable at 1280 and 375 px, times switch to the browser zone and back', async () => {
    for (const width of [1280, 375]) {
      const context = await signedInContext(width, 'Asia/Tokyo');
      const tab = await context.newPage();
      await tab.goto(`${svc.url}/projects/1/events/${failed[0]}`);
      const row = tab.locator('#attempts tbody tr').first();
      expect(await row.innerText()).toContain('only 200 counts as delivered');
      expect(await tab.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await screenshot(() => tab.screenshot({ path: path.join(shots, `event-failed-${width}.png`), fullPage: true }));
      const started = row.locator('time');
      expect(await started.innerText()).toMatch(/ UTC$/);
      await tab.getByRole('button', { name: 'Show local time' }).click();
      expect(await started.innerText()).not.toMatch(/ UTC$/);
      expect(await started.innerText()).toMatch(/GMT\+9|JST/);
      expect(await tab.locator('[data-tz-label]').innerText()).toContain('Asia/Tokyo');
      if (width === 375) await screenshot(() => tab.screenshot({ path: path.join(shots, `event-failed-local-${width}.png`), fullPage: true }));
      // The choice is kept across pages; Show UTC switches back.
      await tab.reload();
      expect(await tab.locator('#attempts tbody tr time').first().innerText()).toMatch(/GMT\+9|JST/);
      await tab.getByRole('button', { name: 'Show UTC' }).click();
      expect(await tab.locator('#attempts tbody tr time').first().innerText()).toMatch(/ UTC$/);
      await tab.getByText('Response body (empty)').click();
      expect(await tab.locator('#attempts details.body').first().getAttribute('open')).not.toBeNull();
      await context.close();
    }
  }, 60_000);

  it('stays UTC without JavaScript (no toggle shown)', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, timezoneId: 'Asia/Tokyo' });
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: svc.url! }]);
    const tab = await context.newPage();
    await tab.goto(`${svc.url}/projects/1/events/${failed[0]}`);
    expect(await tab.locator('#attempts tbody tr time').first().innerText()).toMatch(/ UTC$/);
    expect(await tab.locator('[data-tz-toggle]').isVisible()).toBe(false);
    await context.close();
  });
});

describe('the replay form', () => {
  const since = '2000-01-01T00:00';

  it('is on the Webhooks page with the statuses, the window and Count / Replay', async () => {
    const body = (await get('/projects/1/webhooks')).body;
    expect(body).toContain('<form method="post" action="/projects/1/webhooks/replay" novalidate>');
    expect(body).toContain('<input type="checkbox" name="status" value="failed" checked>');
    expect(body).toContain('<input type="checkbox" name="status" value="skipped">');
    expect(body).toContain('<button type="submit" name="action" value="count">Count</button>');
    expect(body).toContain('value="replay" class="primary">Replay</button>');
  });

  it('refuses a form without its CSRF token, and one from another origin', async () => {
    const res = await post('/projects/1/webhooks/replay', { status: 'failed', since, action: 'replay' });
    expect(res.statusCode).toBe(403);
    const foreign = await svc.app!.inject({
      method: 'POST',
      url: '/projects/1/webhooks/replay',
      headers: { host: HOST, origin: 'http://evil.test', cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ _csrf: csrf, status: 'failed', since, action: 'replay' }),
    });
    expect(foreign.statusCode).toBe(403);
    for (const id of failed) expect(await statusOf(id)).toBe('failed');
  });

  it('gives a read-only session no form, and refuses its POST with 403', async () => {
    const minted = await svc.call('POST', '/v1/projects/1/portal-sessions', { readOnly: true });
    const opened = await get(new URL(minted.json.url as string).pathname, '');
    const value = opened.cookies.find((c) => c.name === 'reghook_session')!.value;
    const readOnly = `reghook_session=${value}`;
    const roCsrf = (JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8')) as { csrf: string }).csrf;
    const page = (await get('/projects/1/webhooks', readOnly)).body;
    expect(page).not.toContain('/webhooks/replay');
    const res = await post('/projects/1/webhooks/replay', { _csrf: roCsrf, status: 'failed', since, action: 'replay' }, readOnly);
    expect(res.statusCode).toBe(403);
    for (const id of failed) expect(await statusOf(id)).toBe('failed');
  });

  it('says what is wrong with the form and changes nothing', async () => {
    const none = await post('/projects/1/webhooks/replay', { _csrf: csrf, since, action: 'replay' });
    expect(none.statusCode).toBe(422);
    expect(none.body).toContain('Choose at least one status.');
    const bad = await post('/projects/1/webhooks/replay', { _csrf: csrf, status: 'failed', since: 'yesterday', action: 'replay' });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('id="replay-error"');
    expect(bad.body).toContain('value="yesterday"');
    const backwards = await post('/projects/1/webhooks/replay', { _csrf: csrf, status: 'failed', since: '2030-01-01T00:00', until: since, action: 'replay' });
    expect(backwards.body).toContain('The &quot;to&quot; time is before the &quot;from&quot; time.');
    for (const id of failed) expect(await statusOf(id)).toBe('failed');
  });

  it('counts on a dry run and changes nothing', async () => {
    const res = await post('/projects/1/webhooks/replay', { _csrf: csrf, status: ['failed', 'skipped'], since, action: 'count' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('2 failed or skipped events created from 2000-01-01 00:00:00 UTC would be replayed. Nothing was changed.');
    // The form keeps what was asked, ready for Replay.
    expect(res.body).toContain('<input type="checkbox" name="status" value="skipped" checked>');
    const none = await post('/projects/1/webhooks/replay', { _csrf: csrf, status: 'failed', since: '2000-01-01T00:00', until: '2000-01-02T00:00', action: 'count' });
    expect(none.body).toContain('0 failed events created from 2000-01-01 00:00:00 UTC to 2000-01-02 00:00:59 UTC would be replayed');
    for (const id of failed) expect(await statusOf(id)).toBe('failed');
    expect(receiver.requests).toHaveLength(2);
  });

  it('replays: the events are rescheduled and delivered once the endpoint answers 200', async () => {
    receiver.respondWith(answer(200));
    const res = await post('/projects/1/webhooks/replay', { _csrf: csrf, status: 'failed', since, action: 'replay' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/projects/1/webhooks#replay');
    const flashCookie = res.cookies.find((c) => c.name === 'reghook_flash')!;
    const next = await get('/projects/1/webhooks', `${cookie}; reghook_flash=${flashCookie.value}`);
    expect(next.body).toContain('Replayed 2 failed events created from 2000-01-01 00:00:00 UTC: they are pending again');
    for (const id of failed) await eventually(async () => ((await statusOf(id)) === 'delivered' ? true : undefined));
    const audit = await svc.call('GET', '/v1/projects/1/audit-log');
    expect(JSON.stringify(audit.json)).toContain('events.replayed');
  });
});

describe('the Webhooks page', () => {
  it('sums up the last 24 hours with p50/p95/p99 and charts events, not attempts', async () => {
    const body = (await get('/projects/1/webhooks')).body;
    expect(body).toMatch(/2 delivered, 0 failed, 0 pending, 0 skipped events · 100% delivered · latency of delivered attempts p50 [^,]+, p95 [^,]+, p99 /);
    // Four attempts (two 204s, two 200s) but two events: the chart counts the events.
    expect(body).toContain('2 delivered, 0 failed, 0 pending and 0 skipped events created in the last 24 hours');
  });

  it('updates a pending row by itself within 5 s where JavaScript runs', async () => {
    receiver.respondWith((_req, _i, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }, 1_500);
    });
    const eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    const context = await signedInContext(375);
    const tab = await context.newPage();
    await tab.goto(`${svc.url}/projects/1/webhooks`);
    const row = tab.locator(`table.log tbody tr:has(a[href$="${eventId}"])`);
    expect(await row.getAttribute('data-status')).toBe('pending');
    await tab.evaluate('window.__notReloaded = true');
    await screenshot(() => tab.screenshot({ path: path.join(shots, 'webhooks-live-pending-375.png'), fullPage: false }));
    const started = Date.now();
    await tab.locator(`table.log tbody tr[data-status="delivered"]:has(a[href$="${eventId}"])`).waitFor({ timeout: 7_000 });
    expect(Date.now() - started).toBeLessThan(5_000 + 1_500);
    expect(await tab.evaluate('window.__notReloaded')).toBe(true);
    expect(await tab.locator(`table.log tbody tr:has(a[href$="${eventId}"])`).innerText()).toContain('✓ delivered');
    await screenshot(() => tab.screenshot({ path: path.join(shots, 'webhooks-live-delivered-375.png'), fullPage: false }));
    await context.close();
  }, 30_000);

  it('an event’s page updates its status and attempts by itself within 5 s while the event is pending', async () => {
    receiver.respondWith((_req, _i, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }, 1_500);
    });
    const eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    const context = await signedInContext(375);
    const tab = await context.newPage();
    await tab.goto(`${svc.url}/projects/1/events/${eventId}`);
    const status = tab.locator('[data-live="event-summary"] dd[data-status]');
    expect(await status.getAttribute('data-status')).toBe('pending');
    expect(await tab.locator('.live-note').innerText()).toContain('Refresh');
    await tab.evaluate('window.__notReloaded = true');
    const started = Date.now();
    await tab.locator('[data-live="event-summary"] dd[data-status="delivered"]').waitFor({ timeout: 7_000 });
    expect(Date.now() - started).toBeLessThan(5_000 + 1_500);
    expect(await tab.evaluate('window.__notReloaded')).toBe(true);
    expect(await status.innerText()).toContain('✓ delivered');
    // The attempts table and its count came along; the pending note went.
    expect(await tab.locator('#attempts h2').innerText()).toBe('Attempts (1)');
    expect(await tab.locator('#attempts tbody tr').count()).toBe(1);
    expect(await tab.locator('#attempt-1').innerText()).toMatch(/HTTP 200/);
    expect(await tab.locator('.live-note').count()).toBe(0);
    // Times in the swapped regions follow the zone toggle like the rest of the page.
    expect(await tab.locator('#attempt-1 time').first().innerText()).toMatch(/UTC/);
    await screenshot(() => tab.screenshot({ path: path.join(shots, 'event-live-delivered-375.png'), fullPage: false }));
    await context.close();
  }, 30_000);

  it('an event’s page offers a Refresh link while pending, for a browser without JavaScript', async () => {
    let release: (() => void) | undefined;
    receiver.respondWith((_req, _i, res) => {
      release = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      };
    });
    const eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: svc.url! }]);
    const tab = await context.newPage();
    await tab.goto(`${svc.url}/projects/1/events/${eventId}`);
    expect(await tab.locator('[data-live="event-summary"] dd[data-status]').getAttribute('data-status')).toBe('pending');
    await eventually(() => release);
    release!();
    await eventually(async () => ((await statusOf(eventId)) === 'delivered' ? true : undefined));
    // Without JavaScript nothing changes by itself; the link brings the news.
    expect(await tab.locator('[data-live="event-summary"] dd[data-status]').getAttribute('data-status')).toBe('pending');
    await Promise.all([tab.waitForEvent('load'), tab.getByRole('link', { name: 'Refresh' }).click()]);
    expect(await tab.locator('[data-live="event-summary"] dd[data-status]').getAttribute('data-status')).toBe('delivered');
    expect(await tab.getByRole('link', { name: 'Refresh' }).count()).toBe(0);
    await context.close();
  }, 30_000);

  it('keeps the Refresh link for a browser without JavaScript', async () => {
    const body = (await get('/projects/1/webhooks')).body;
    expect(body).toMatch(/<a href="\/projects\/1\/webhooks#log">Refresh<\/a>/);
    expect(body).toContain('<tbody data-live="log">');
  });
});
