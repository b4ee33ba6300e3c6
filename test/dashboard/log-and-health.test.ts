/**
 * SPEC §6: the Webhooks page puts the log and its search first, says loudly when the endpoint is
 * failing (since when, its last answer, how many attempts), and sums up the last 24 hours. HTTP
 * level, then the same page in Chromium at 1280 and 375 px (screenshots in test-results/dashboard).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLogSearch } from '../../src/dashboard/routes/webhooks.js';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventually, registration, startTestService, uuid, type TestService } from '../helpers/service.js';

const HOST = 'dash.test';
let svc: TestService;
let receiver: Receiver;
let key: string;
let cookie: string;
const events: { eventId: string; clientUuid: string }[] = [];

const page = async (query = '') =>
  (await svc.app!.inject({ method: 'GET', url: `/projects/1/webhooks${query}`, headers: { host: HOST, cookie } })).body;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '1', REGHOOK_FAILING_AFTER: '3' });
  receiver = await startReceiver(answer(500, 'down for maintenance'));
  key = await svc.createProject(1, 'Banner Shop');
  await svc.setEndpoint(1, receiver.url);
  for (let i = 0; i < 4; i++) {
    const clientUuid = uuid();
    const res = await svc.call('POST', '/v1/registrations', registration({ appId: 1, clientUuid }));
    events.push({ eventId: res.json.eventId, clientUuid });
  }
  for (const { eventId } of events) {
    await eventually(async () => ((await svc.call('GET', `/v1/projects/1/events/${eventId}`)).json.status === 'failed' ? true : undefined));
  }
  const signIn = await svc.app!.inject({
    method: 'POST',
    url: '/sign-in',
    headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: key }).toString(),
  });
  cookie = `reghook_session=${signIn.cookies.find((c) => c.name === 'reghook_session')!.value}`;
});
afterAll(async () => {
  await receiver?.close();
  await svc?.stop();
});

describe('the Webhooks page', () => {
  it('shows a failing endpoint in a banner before anything else: since when, its last answer, how many failed', async () => {
    const body = await page();
    const banner = /<div class="notice notice-error health-banner" role="alert" id="health">([\s\S]*?)<\/div>/.exec(body)?.[1];
    expect(banner).toBeDefined();
    expect(banner).toMatch(/Failing since <time datetime="[^"]+">[^<]+ UTC<\/time>/);
    expect(banner).toContain('last answer HTTP 500');
    expect(banner).toContain('4 attempts failed in a row');
    // The banner, then the log: before the endpoint form, the secret and the test.
    expect(body.indexOf('id="health"')).toBeLessThan(body.indexOf('id="log"'));
    expect(body.indexOf('id="log"')).toBeLessThan(body.indexOf('id="endpoint"'));
    expect(body).toContain('<span class="badge badge-failed">✕ failing</span>');
    expect(body).toContain('<strong>Last 24 hours:</strong> 0 delivered, 4 failed, 0 pending, 0 skipped events · 0% delivered');
  });

  it('searches the log by event id, by client UUID (any case), by subscriber id and by time, keeping the search across pages', async () => {
    const rowsOf = (body: string) => [...body.matchAll(/<a href="\/projects\/1\/events\/(evt_[0-9A-Z]{26})"><code>/g)].map((m) => m[1]);
    expect(rowsOf(await page(`?q=${events[1]!.eventId}`))).toEqual([events[1]!.eventId]);
    expect(rowsOf(await page(`?q=${events[2]!.clientUuid.toUpperCase()}`))).toEqual([events[2]!.eventId]);
    expect(rowsOf(await page('?since=2000-01-01T00:00&until=2000-01-02T00:00'))).toEqual([]);
    expect(rowsOf(await page('?since=2000-01-01T00:00'))).toHaveLength(4);
    // Anything else is a subscriberId, matched exactly (through its keyed hash).
    expect(rowsOf(await page('?q=905555555555'))).toHaveLength(4);
    const nobody = await page('?q=someone%40example.com');
    expect(nobody).not.toContain('id="q-error"');
    expect(rowsOf(nobody)).toEqual([]);
    expect(rowsOf(await page('?q=90555555555'))).toEqual([]);
    // Tabs and pages keep the search.
    expect(await page(`?q=${events[1]!.eventId}`)).toContain(`/projects/1/webhooks?status=failed&amp;q=${events[1]!.eventId}#log`);
  });

  it('reads a whole minute for an until without seconds', () => {
    const { filter } = parseLogSearch({ since: '2026-01-01T10:00', until: '2026-01-01T10:05' });
    expect(filter).toEqual({ since: Date.UTC(2026, 0, 1, 10, 0), until: Date.UTC(2026, 0, 1, 10, 5, 59, 999) });
    expect(parseLogSearch({ until: '2026-02-31T10:00' }).search.error).toMatch(/UTC/);
  });

  it('looks right in Chromium at 1280 and 375 px (screenshots)', async () => {
    const shots = path.resolve('test-results/dashboard');
    mkdirSync(shots, { recursive: true });
    const browser = await launchChromium();
    try {
      for (const width of [1280, 375]) {
        const context = await browser.newContext({ viewport: { width, height: 900 } });
        const [name, value] = cookie.split('=') as [string, string];
        await context.addCookies([{ name, value, url: svc.url! }]);
        const tab = await context.newPage();
        await tab.goto(`${svc.url}/projects/1/webhooks`);
        expect(await tab.getByRole('alert').textContent()).toContain('Failing since');
        expect(await tab.getByRole('search', { name: 'Search the delivery log' }).isVisible()).toBe(true);
        expect(await tab.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
        await screenshot(() => tab.screenshot({ path: path.join(shots, `webhooks-failing-${width}.png`), fullPage: true }));
        await tab.getByLabel('Event id, client UUID or subscriber id').fill(events[0]!.eventId);
        await Promise.all([tab.waitForEvent('load'), tab.getByRole('button', { name: 'Search' }).click()]);
        expect(await tab.locator('table.log tbody tr').count()).toBe(1);
        await screenshot(() => tab.screenshot({ path: path.join(shots, `webhooks-search-${width}.png`), fullPage: true }));
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
  it('has no banner once the endpoint answers 200 again', async () => {
    receiver.respondWith(answer(200));
    await svc.call('POST', '/v1/projects/1/events/replay', { since: '2000-01-01T00:00:00Z' });
    await eventually(async () => ((await svc.call('GET', '/v1/projects/1/webhook/stats')).json.health === 'healthy' ? true : undefined));
    const body = await page();
    expect(body).not.toContain('id="health"');
    expect(body).toContain('✓ healthy');
  });
});
