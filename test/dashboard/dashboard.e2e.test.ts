import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, eventually, registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §6 in a real headless browser against a real listening service and a real receiver.
const SCREENSHOTS = path.resolve('test-results/dashboard');
let svc: TestService;
let receiver: Receiver;
let browser: Browser;
/** Fail an action in seconds with its own message, not at the test's timeout. */
const ACTION_TIMEOUT_MS = 5_000;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '2', REGHOOK_RETRY_INTERVAL: '100ms' });
  receiver = await startReceiver(answer(200));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await svc?.stop();
});

/** Clicks a submit button and waits for the page the POST redirects to (or re-renders). */
async function submit(page: Page, button: Locator): Promise<void> {
  await Promise.all([page.waitForEvent('load'), button.click()]);
}

const shot = (page: Page, name: string) => screenshot(() => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true }));

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${svc.url}/`);
  expect(await page.title()).toBe('Sign in · reghook');
  await page.getByLabel('Project API key or admin token').fill(token);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
}

async function report(appId: number, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await svc.call('POST', '/v1/registrations', registration({ appId, ...overrides }));
  expect(res.status).toBe(202);
  return res.json.eventId as string;
}

const eventStatus = async (appId: number, eventId: string) => (await svc.call('GET', `/v1/projects/${appId}/events/${eventId}`)).json.status as string;
const settled = (appId: number, eventId: string, status: string) =>
  eventually(async () => ((await eventStatus(appId, eventId)) === status ? true : undefined));

describe('the dashboard in a browser', () => {
  it('walks a project owner through Developer Tools → Webhooks', async () => {
    const apiKey = await svc.createProject(1, 'Acme Shop');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.url! });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    // The inline script and styles run under the CSP nonce: the browser reports no violation or error.
    const problems: string[] = [];
    page.on('console', (message) => {
      // 401/422 answers to a bad key or URL are intended; anything else (a CSP violation, a script error) is not.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    // Sign in with the project key: it lands on its own project's page.
    await page.goto(`${svc.url}/`);
    await page.getByLabel('Project API key or admin token').fill('rhk_not-a-real-key');
    await submit(page, page.getByRole('button', { name: 'Sign in' }));
    expect(await page.locator('#token-error').innerText()).toContain('not valid');
    await shot(page, '01-sign-in');
    await signIn(page, apiKey);
    expect(new URL(page.url()).pathname).toBe('/projects/1/webhooks');
    expect(await page.title()).toBe('Webhooks · Acme Shop · reghook');

    // The URL is validated next to the field, keeping what was typed; a good one is active on save.
    await page.getByLabel('Endpoint URL').fill('ftp://example.com/hooks');
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    expect(await page.locator('#url-error').innerText()).toContain('is not allowed');
    expect(await page.getByLabel('Endpoint URL').inputValue()).toBe('ftp://example.com/hooks');
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    expect(await page.locator('.notices').innerText()).toContain('Endpoint saved and active');
    // The first save shows the new signing secret once, with a copy button (JS is on).
    const firstSecret = (await page.locator('#signing-secret').innerText()).trim();
    expect(firstSecret).toMatch(/^whsec_/);
    expect((await svc.call('POST', '/v1/projects/1/webhook/secret')).json.signingSecret).toBe(firstSecret);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(firstSecret);
    await page.reload();
    expect(await page.locator('#signing-secret').count()).toBe(0);

    // Send Test Webhook: success only on HTTP 200, then a failure when the receiver answers 500.
    await submit(page, page.getByRole('button', { name: 'Send Test Webhook' }));
    let result = await page.locator('#test-result').innerText();
    expect(result).toContain('✓ succeeded');
    expect(result).toContain('HTTP 200');
    expect(result).toMatch(/\d+ ms/);
    receiver.respondWith(answer(500, 'receiver exploded'));
    await submit(page, page.getByRole('button', { name: 'Send Test Webhook' }));
    result = await page.locator('#test-result').innerText();
    expect(result).toContain('✕ failed');
    expect(result).toContain('HTTP 500');
    expect(result).toContain('http_500');
    expect(result).toContain('receiver exploded');
    await shot(page, '02-test-webhook-failed');

    // Registrations reported through the API appear in the log: one fails (2 attempts), two are delivered.
    const failedId = await report(1);
    await settled(1, failedId, 'failed');
    receiver.respondWith(answer(200));
    const deliveredIds = [await report(1), await report(1, { subscriberName: 'Jane Roe' })];
    for (const id of deliveredIds) await settled(1, id, 'delivered');
    await page.reload();
    const log = page.locator('#log table');
    for (const id of [failedId, ...deliveredIds]) expect(await log.innerText()).toContain(id);
    const failedRow = page.locator('#log tr', { hasText: failedId });
    expect(await failedRow.innerText()).toContain('✕ failed');
    expect(await page.locator('#log tr', { hasText: deliveredIds[0]! }).innerText()).toContain('✓ delivered');
    // Personal data is masked in the log.
    expect(await log.innerText()).toContain('9055****5555 · J*** D**');
    expect(await page.content()).not.toContain('905555555555');
    // The status filter.
    await submit(page, page.locator('#log nav').getByRole('link', { name: 'Failed' }));
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    expect(await page.locator('#log tbody tr').count()).toBe(1);
    // The chart counts the events by outcome (not their attempts).
    const chart = page.locator('#chart svg[role=img]');
    expect(await chart.locator('desc').textContent()).toMatch(/\d+ delivered, \d+ failed, \d+ pending and \d+ skipped events/);
    expect(await page.locator('#chart rect.bar-ok').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart rect.bar-fail').count()).toBeGreaterThan(0);
    await submit(page, page.getByRole('link', { name: 'Last 7 days' }));
    expect(await chart.locator('title').first().textContent()).toContain('the last 7 days');
    await page.goto(`${svc.url}/projects/1/webhooks`);
    await shot(page, '03-webhooks-page');

    // An event's attempts, personal data on request, and Redeliver.
    await submit(page, page.getByRole('link', { name: failedId }));
    expect(await page.title()).toContain(`Event ${failedId}`);
    const attempts = page.locator('#attempts');
    expect(await attempts.locator('tbody tr').count()).toBe(2);
    expect(await attempts.innerText()).toContain('HTTP 500');
    expect(await attempts.innerText()).toContain('scheduled');
    expect(await page.locator('#payload pre').innerText()).toContain('"subscriberId": "9055****5555"');
    await submit(page, page.getByRole('link', { name: 'Reveal personal data' }));
    expect(await page.locator('#payload pre').innerText()).toContain('"subscriberId": "905555555555"');
    expect(await page.locator('#payload pre').innerText()).toContain('"clientIp": "203.0.113.7"');
    await submit(page, page.getByRole('button', { name: 'Redeliver' }));
    expect(await page.locator('.notices').innerText()).toContain('Redelivered: your endpoint answered HTTP 200');
    expect(await attempts.locator('tbody tr').count()).toBe(3);
    expect(await attempts.locator('tbody tr').first().innerText()).toMatch(/3[\s\S]*manual[\s\S]*✓ succeeded/);
    await shot(page, '04-event');

    // Recover failed since…: the failed event goes back on a fresh schedule and is delivered.
    const otherFailed = await (async () => {
      receiver.respondWith(answer(503));
      const id = await report(1);
      await settled(1, id, 'failed');
      receiver.respondWith(answer(200));
      return id;
    })();
    await page.goto(`${svc.url}/projects/1/webhooks`);
    await submit(page, page.getByRole('button', { name: 'Recover failed events' }));
    expect(await page.locator('.notices').innerText()).toMatch(/Recovered [12] failed events?/);
    await settled(1, otherFailed, 'delivered');

    // Rotate the secret (the confirm dialog is accepted): a new one, the old one co-signing for 24 h.
    const rotateForm = page.locator('#secret');
    expect(await rotateForm.innerText()).toContain('keeps signing every webhook, alongside the new one, for 24 hours');
    await submit(page, page.getByRole('button', { name: 'Rotate secret' }));
    const rotated = (await page.locator('#signing-secret').innerText()).trim();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(firstSecret);
    expect(await page.locator('#secret').innerText()).toContain('previous secret keeps signing alongside it until');
    const before = receiver.requests.length;
    await submit(page, page.getByRole('button', { name: 'Send Test Webhook' }));
    expect(receiver.requests[before]!.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    await submit(page, page.getByRole('button', { name: 'Reveal' }));
    expect((await page.locator('#signing-secret').innerText()).trim()).toBe(rotated);

    // Sign out: the pages are closed again.
    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    expect(await page.locator('.notices').innerText()).toContain('You are signed out.');
    await page.goto(`${svc.url}/projects/1/webhooks`);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('works with JavaScript turned off, signed in as the admin', async () => {
    await svc.createProject(2, 'No-JS Store');
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 800 } });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const page = await context.newPage();
    await signIn(page, ADMIN_TOKEN);
    expect(new URL(page.url()).pathname).toBe('/projects');
    await submit(page, page.getByRole('link', { name: 'No-JS Store' }));
    expect(new URL(page.url()).pathname).toBe('/projects/2/webhooks');

    await page.getByLabel('Endpoint URL').fill('');
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    expect(await page.locator('#url-error').innerText()).toContain('required');
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    const secret = (await page.locator('#signing-secret').innerText()).trim();
    expect(secret).toMatch(/^whsec_/);
    // No script ran: the copy button stays hidden.
    expect(await page.getByRole('button', { name: 'Copy' }).count()).toBe(0);

    await submit(page, page.getByRole('button', { name: 'Send Test Webhook' }));
    expect(await page.locator('#test-result').innerText()).toContain('✓ succeeded');
    await submit(page, page.getByRole('button', { name: 'Reveal' }));
    expect((await page.locator('#signing-secret').innerText()).trim()).toBe(secret);
    await submit(page, page.getByRole('button', { name: 'Rotate secret' }));
    expect((await page.locator('#signing-secret').innerText()).trim()).not.toBe(secret);

    // Disable the endpoint: an event reported now is skipped, and cannot be redelivered until it is enabled.
    await page.getByRole('checkbox', { name: 'Enabled' }).uncheck();
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    expect(await page.locator('.notices').innerText()).toContain('saved but disabled');
    expect(await page.locator('#endpoint h2').innerText()).toContain('disabled');
    const id = await report(2);
    expect(await eventStatus(2, id)).toBe('skipped');
    await page.reload();
    await submit(page, page.getByRole('link', { name: id }));
    expect(await page.locator('main dl').first().innerText()).toContain('– skipped');
    // The admin sees personal data masked and cannot reveal it: it is the project's.
    expect(await page.locator('#payload').innerText()).toContain('only the project itself can reveal it');
    expect(await page.locator('#payload pre').innerText()).toContain('"subscriberName": "J*** D**"');
    await submit(page, page.getByRole('button', { name: 'Redeliver' }));
    expect(await page.locator('.notices').innerText()).toContain('The endpoint is disabled');
    expect(await page.locator('#attempts tbody tr').count()).toBe(0);

    await submit(page, page.getByRole('link', { name: 'Webhooks' }));
    await page.getByRole('checkbox', { name: 'Enabled' }).check();
    await submit(page, page.getByRole('button', { name: 'Save endpoint' }));
    expect(await page.locator('.notices').innerText()).toContain('Endpoint saved and active');

    await page.getByLabel('Failed since (UTC)').fill('2020-01-01T00:00');
    await submit(page, page.getByRole('button', { name: 'Recover failed events' }));
    expect(await page.locator('.notices').innerText()).toContain('since 2020-01-01 00:00:00 UTC');
    await shot(page, '05-no-js-webhooks');

    await submit(page, page.getByRole('link', { name: id }));
    await submit(page, page.getByRole('button', { name: 'Redeliver' }));
    expect(await page.locator('.notices').innerText()).toContain('Redelivered');
    expect(await page.locator('#attempts tbody tr').count()).toBe(1);
    expect(await page.locator('#attempts tbody tr').innerText()).toMatch(/manual[\s\S]*HTTP 200/);

    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    expect(await page.locator('.notices').innerText()).toContain('You are signed out.');
    await context.close();
  });

  it('draws the p95 latency line over the chart’s bars once attempts succeed, with its axis and legend, readable at 375 px', async () => {
    const apiKey = await svc.createProject(4, 'Latency Shop');
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const page = await context.newPage();
    await signIn(page, apiKey);
    // No attempt yet: no line, and the description says why.
    expect(await page.locator('#chart .latency-dot').count()).toBe(0);
    expect(await page.locator('#chart desc').textContent()).toContain('No successful attempts, so no latency line.');

    await svc.setEndpoint(4, receiver.url);
    for (let i = 0; i < 2; i++) await settled(4, await report(4), 'delivered');
    await page.reload();
    const dot = page.locator('#chart circle.latency-dot');
    expect(await dot.count()).toBe(1);
    expect(await dot.isVisible()).toBe(true);
    expect(await page.locator('#chart desc').textContent()).toMatch(/The line is the p95 latency of successful attempts, from \d+ ms to \d+ ms \(right axis\)\./);
    expect(await page.locator('#chart figcaption').innerText()).toContain('p95 latency of successful attempts (line, right axis)');
    // The right axis: its title and ticks inside the drawing, and large enough to read on a phone.
    const svgBox = (await page.locator('#chart svg[role=img]').boundingBox())!;
    const labels = page.locator('#chart text.axis-latency');
    expect(await labels.count()).toBe(4);
    expect(await page.locator('#chart text.axis-latency').last().textContent()).toBe('p95 ms');
    for (const label of await labels.all()) {
      const box = (await label.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(svgBox.x + svgBox.width + 0.5);
      expect(box.height).toBeGreaterThanOrEqual(9);
    }
    // The bars are still there under it.
    expect(await page.locator('#chart rect.bar-ok').count()).toBe(1);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await screenshot(() => page.locator('#chart').screenshot({ path: path.join(SCREENSHOTS, '07-chart-latency-375px.png') }));
    await context.close();
  });

  it('fits a 375 px wide phone screen', async () => {
    const apiKey = await svc.createProject(3, 'Phone Shop');
    await svc.setEndpoint(3, receiver.url);
    await report(3);
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const page = await context.newPage();
    await signIn(page, apiKey);
    expect(new URL(page.url()).pathname).toBe('/projects/3/webhooks');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(await page.getByRole('button', { name: 'Send Test Webhook' }).isVisible()).toBe(true);
    await shot(page, '06-webhooks-375px');
    await context.close();
  });
});
