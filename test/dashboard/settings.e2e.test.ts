import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { ADMIN_TOKEN, eventually, registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §6 (API keys, the audit log, erasure, copy buttons) in a real headless browser.
const SCREENSHOTS = path.resolve('test-results/dashboard');
const ACTION_TIMEOUT_MS = 5_000;
let svc: TestService;
let receiver: Receiver;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Failed attempts are retried only an hour later: an event stays pending while the test erases it.
  svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '10', REGHOOK_RETRY_INTERVAL: '1h' });
  receiver = await startReceiver(answer(500));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await svc?.stop();
});

async function submit(page: Page, control: Locator): Promise<void> {
  await Promise.all([page.waitForEvent('load'), control.click()]);
}

const shot = (page: Page, name: string) => screenshot(() => page.screenshot({ path: path.join(SCREENSHOTS, `settings-${name}.png`), fullPage: true }));

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${svc.url}/`);
  await page.getByLabel('Project API key or admin token').fill(token);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
}

/** A context whose pages must log no script error nor CSP violation (checked by `close`). */
async function openContext(options: Parameters<Browser['newContext']>[0]): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return {
    context,
    page,
    async close() {
      await context.close();
      expect(problems).toEqual([]);
    },
  };
}

const apiStatus = async (token: string) => (await svc.call('GET', '/v1/projects/1/api-keys', undefined, token)).status;
const auditRows = (page: Page) => page.locator('#audit tbody tr');

describe('Settings in a browser', () => {
  let projectKey: string;

  it('lets the admin create a key, shown once with a Copy button that copies it; event ids copy too', async () => {
    projectKey = await svc.createProject(1, 'Acme Shop');
    const { context, page, close } = await openContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.url! });
    await signIn(page, ADMIN_TOKEN);
    await submit(page, page.getByRole('link', { name: 'Acme Shop' }));
    // Found from the Webhooks page.
    await submit(page, page.getByRole('navigation', { name: 'Project pages' }).getByRole('link', { name: 'Settings' }));
    expect(new URL(page.url()).pathname).toBe('/projects/1/settings');
    expect(await page.title()).toBe('Settings · Acme Shop · reghook');
    expect(await page.locator('#keys tbody tr').count()).toBe(1);

    await submit(page, page.getByRole('button', { name: 'Create API key' }));
    expect(new URL(page.url()).search).toBe('');
    expect(await page.locator('.notices').innerText()).toMatch(/API key key_[0-9a-f]{16} created/);
    const newKey = (await page.locator('#new-api-key').innerText()).trim();
    expect(newKey).toMatch(/^rhk_/);
    expect(page.url()).not.toContain(newKey);
    expect(await apiStatus(newKey)).toBe(200);
    expect(await page.locator('#keys tbody tr').count()).toBe(2);
    await page.locator('#new-key').getByRole('button', { name: 'Copy' }).click();
    await page.locator('#new-key').getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.locator('#new-key button[data-copy]').getAttribute('data-copied')).toBe('true');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(newKey);
    await shot(page, '01-new-key-1280');
    // Shown once: a reload no longer has it.
    await page.reload();
    expect(await page.locator('#new-api-key').count()).toBe(0);
    expect(await page.content()).not.toContain(newKey);

    // An event's id has a Copy button too.
    const eventId = (await svc.call('POST', '/v1/registrations', registration({ appId: 1 }))).json.eventId as string;
    await page.goto(`${svc.url}/projects/1/events/${eventId}`);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(eventId);
    await close();
  });

  it('shows a project key its keys without a Create form, lets it revoke one, and pages the audit log', async () => {
    const doomed = (await svc.call('POST', '/v1/projects/1/api-keys')).json as { id: string; apiKey: string };
    // More entries than a page holds (25).
    for (let i = 0; i < 26; i++) await svc.call('POST', '/v1/projects/1/api-keys');
    const { page, close } = await openContext({ viewport: { width: 1280, height: 900 } });
    await signIn(page, projectKey);
    await page.goto(`${svc.url}/projects/1/settings`);
    expect(await page.getByRole('button', { name: 'Create API key' }).count()).toBe(0);
    expect(await page.locator('#keys').innerText()).toContain('Only the platform admin can create API keys');
    expect(await page.locator('#keys tbody tr').count()).toBe(29);
    expect(await page.locator('#keys tr', { hasText: '(this session)' }).count()).toBe(1);

    // Revoke asks first (a <details>), then the key is refused.
    const row = page.locator('#keys tr', { hasText: doomed.id });
    const revoke = page.getByRole('button', { name: `Revoke key ${doomed.id}` });
    expect(await revoke.isVisible()).toBe(false);
    await row.locator('summary').click();
    expect(await row.innerText()).toContain('refused from now on (401)');
    await shot(page, '02-revoke-confirm-1280');
    await submit(page, revoke);
    expect(await page.locator('.notices').innerText()).toContain(`API key ${doomed.id} revoked`);
    expect(await page.locator('#keys tr', { hasText: doomed.id }).innerText()).toContain('revoked');
    expect(await apiStatus(doomed.apiKey)).toBe(401);
    expect(await apiStatus(projectKey)).toBe(200);

    // The audit log: newest first (the revocation by this key from the dashboard), 25 a page.
    expect(await auditRows(page).count()).toBe(25);
    const newest = await auditRows(page).first().innerText();
    expect(newest).toContain('api_key.revoked');
    expect(newest).toMatch(/key:key_[0-9a-f]{16}/);
    expect(newest).toContain(`apiKeyId: ${doomed.id}`);
    expect(newest).toContain('via: dashboard');
    expect(newest).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    expect(newest).toMatch(/127\.0\.0\.1|::1/);
    await shot(page, '03-audit-1280');
    await submit(page, page.getByRole('link', { name: 'Older →' }));
    expect(new URL(page.url()).searchParams.get('cursor')).toMatch(/^\d+$/);
    const older = await page.locator('#audit tbody').innerText();
    // 1 project + 1 key from the dashboard + 27 from the API + 1 revocation = 30: 5 on the second page.
    expect(await auditRows(page).count()).toBe(5);
    expect(older).toContain('project.created');
    expect(older).toMatch(/api_key\.created[\s\S]*via: dashboard/);
    expect(await page.getByRole('link', { name: 'Older →' }).count()).toBe(0);
    await submit(page, page.getByRole('link', { name: '← Newest' }));
    expect(await auditRows(page).first().innerText()).toContain('api_key.revoked');
    await close();
  });

  it('works with JavaScript off on a 375 px screen: create, revoke, and erase a subscriber after a confirmation', async () => {
    await svc.createProject(2, 'Phone Shop');
    await svc.setEndpoint(2, receiver.url);
    const erased = await svc.call('POST', '/v1/registrations', registration({ appId: 2 }));
    const kept = await svc.call('POST', '/v1/registrations', registration({ appId: 2, subscriberId: '900000000001' }));
    const eventId = erased.json.eventId as string;
    // Its first attempt failed; the next is an hour away: a webhook still owed.
    await eventually(async () => {
      const e = (await svc.call('GET', `/v1/projects/2/events/${eventId}`)).json;
      return e.status === 'pending' && e.attemptCount === 1 && e.attempts.every((a: { statusCode: number | null }) => a.statusCode === 500) ? true : undefined;
    });

    const { page, close } = await openContext({ javaScriptEnabled: false, viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 });
    await signIn(page, ADMIN_TOKEN);
    await page.goto(`${svc.url}/projects/2/settings`);
    const fits = async () => expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await fits();

    await submit(page, page.getByRole('button', { name: 'Create API key' }));
    const newKey = (await page.locator('#new-api-key').innerText()).trim();
    expect(newKey).toMatch(/^rhk_/);
    // No script ran: no Copy button, the key is plain selectable text.
    expect(await page.getByRole('button', { name: 'Copy' }).count()).toBe(0);
    await fits();
    await shot(page, '04-new-key-375-no-js');
    const newId = /New API key (key_[0-9a-f]{16})/.exec(await page.locator('#new-key').innerText())![1]!;
    await page.locator('#keys tr', { hasText: newId }).locator('summary').click();
    await submit(page, page.getByRole('button', { name: `Revoke key ${newId}` }));
    expect(await page.locator('.notices').innerText()).toContain(`API key ${newId} revoked`);
    expect((await svc.call('GET', '/v1/projects/2/api-keys', undefined, newKey)).status).toBe(401);

    // Erasure: nothing typed is refused next to the field; then a confirmation page; then the erasure.
    await submit(page, page.getByRole('button', { name: 'Erase subscriber…' }));
    expect(await page.locator('#subscriber-id-error').innerText()).toContain('required');
    await page.getByLabel('Subscriber id').fill('905555555555');
    await submit(page, page.getByRole('button', { name: 'Erase subscriber…' }));
    expect(await page.title()).toBe('Confirm erasure · Phone Shop · reghook');
    const confirmText = await page.locator('main').innerText();
    expect(confirmText).toContain('This cannot be undone');
    expect(confirmText).toContain('9055****5555');
    expect(confirmText).toContain('cancels every webhook still owed to them');
    expect(await page.content()).not.toContain('905555555555');
    expect((await svc.call('GET', `/v1/projects/2/events/${eventId}`)).json.status).toBe('pending');
    await fits();
    await shot(page, '05-erase-confirm-375-no-js');
    await submit(page, page.getByRole('button', { name: 'Erase permanently' }));
    expect(new URL(page.url()).pathname).toBe('/projects/2/settings');
    expect(await page.locator('.notices').innerText()).toContain('Subscriber 9055****5555 erased: 1 registration and 1 event');
    const audit = await auditRows(page).first().innerText();
    expect(audit).toContain('subscriber.erased');
    expect(audit).toContain('registrations: 1');
    expect(await page.content()).not.toContain('905555555555');
    await fits();
    await shot(page, '06-erased-375-no-js');

    const event = (await svc.call('GET', `/v1/projects/2/events/${eventId}`)).json;
    expect(event).toMatchObject({ status: 'erased', payload: null, nextAttemptAt: null });
    expect((await svc.call('GET', `/v1/projects/2/events/${kept.json.eventId as string}`)).json.payload).not.toBeNull();
    await close();
  });
});
