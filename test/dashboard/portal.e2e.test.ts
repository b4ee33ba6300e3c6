import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/dashboard/html.js';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { answer, startReceiver, type Receiver } from '../helpers/receiver.js';
import { registration, startTestService, type TestService } from '../helpers/service.js';

// SPEC §5/§6 in a real headless browser: the platform's panel (a page on one loopback origin,
// http://localhost:<p>) embeds the dashboard served on another (http://127.0.0.1:<q>) through a
// portal session link. Inside the frame the session works (save the endpoint, send a test webhook
// that reaches a real receiver); a page on an unlisted origin cannot embed it; a used or expired
// link is refused. Expiry runs on an offset clock, never a sleep.
const SCREENSHOTS = path.resolve('test-results/dashboard');
const ACTION_TIMEOUT_MS = 5_000;

/** A stand-in for the platform's merchant panel: one page that frames `?src=`. */
interface Panel {
  origin: string;
  /** The panel page framing `src`. */
  pageFor(src: string): string;
  close(): Promise<void>;
}

async function startPanel(): Promise<Panel> {
  const server: Server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? 'about:blank';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Merchant panel</title>
<style>body{font:15px system-ui,sans-serif;margin:0;background:#eef1f5} header{padding:12px 20px;background:#24292f;color:#fff} iframe{display:block;margin:16px;width:calc(100% - 32px);height:1400px;border:1px solid #8c959f;background:#fff}</style></head>
<body><header>Merchant panel · Developer Tools → Webhooks</header>
<iframe id="dash" name="dash" title="reghook" src="${escapeHtml(src)}" onload="document.body.dataset.frameLoaded = 'yes'"></iframe>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  return {
    origin,
    pageFor: (src) => `${origin}/?src=${encodeURIComponent(src)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let svc: TestService;
let receiver: Receiver;
let browser: Browser;
let panel: Panel;
let elsewhere: Panel;
let offset = 0;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  panel = await startPanel();
  elsewhere = await startPanel();
  svc = await startTestService({ REGHOOK_DASHBOARD_FRAME_ANCESTORS: panel.origin }, { now: () => Date.now() + offset });
  receiver = await startReceiver(answer(200, 'thanks'));
  browser = await launchChromium();
  await svc.createProject(1, 'Embedded Shop');
});
afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await panel?.close();
  await elsewhere?.close();
  await svc?.stop();
});

const shot = (page: Page, name: string) => screenshot(() => page.screenshot({ path: path.join(SCREENSHOTS, `portal-${name}.png`), fullPage: true }));

async function mintLink(body: Record<string, unknown> = {}): Promise<string> {
  const res = await svc.call('POST', '/v1/projects/1/portal-sessions', body);
  expect(res.status).toBe(201);
  expect(res.json.url.startsWith(`${svc.url}/portal/`)).toBe(true);
  return res.json.url as string;
}

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  return context;
}

/** Opens `panelPage`, waits until its iframe has loaded, and answers the frame. */
async function openPanel(page: Page, panelPage: string): Promise<Frame> {
  await page.goto(panelPage);
  await page.waitForSelector('body[data-frame-loaded]', { state: 'attached' });
  return page.frame({ name: 'dash' })!;
}

/** Clicks a submit button inside the frame and waits for the notice the next page shows. */
async function submitInFrame(frame: Frame, button: string, awaited: string): Promise<void> {
  await frame.getByRole('button', { name: button }).click();
  await frame.locator('.notices', { hasText: awaited }).waitFor();
}

describe('the dashboard embedded in the platform panel', () => {
  it('signs in through the link inside the frame: saves the endpoint and sends a test webhook that arrives', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
    });

    const frame = await openPanel(page, panel.pageFor(await mintLink()));
    await frame.getByRole('heading', { name: /^Webhooks/ }).waitFor();
    expect(new URL(frame.url()).pathname).toBe('/projects/1/webhooks');
    expect(await frame.locator('.who').innerText()).toContain('Project 1, opened from the platform');
    await shot(page, '01-embedded');

    await frame.getByLabel('Endpoint URL').fill(receiver.url);
    await submitInFrame(frame, 'Save endpoint', 'Endpoint saved and active');
    expect((await frame.locator('#signing-secret').innerText()).trim()).toMatch(/^whsec_/);
    expect((await svc.call('GET', '/v1/projects/1/webhook')).json).toMatchObject({ url: receiver.url, enabled: true });

    await submitInFrame(frame, 'Send Test Webhook', 'Test webhook delivered');
    const result = await frame.locator('#test-result').innerText();
    expect(result).toContain('✓ succeeded');
    expect(result).toContain('HTTP 200');
    expect(result).toContain('thanks');
    const [delivered] = await receiver.waitFor(1);
    expect(delivered!.body).toContain('"Test User"');
    expect(delivered!.headers['webhook-signature']).toMatch(/^v1,/);
    await shot(page, '02-test-webhook');

    // The confirmation dialog of Rotate secret works inside the frame too.
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await submitInFrame(frame, 'Rotate secret', 'Signing secret rotated');
    expect(dialogs).toEqual([expect.stringContaining('Rotate the signing secret?')]);

    // The session holds across pages inside the frame; its cookie is the embeddable kind.
    await frame.getByRole('link', { name: 'Settings' }).click();
    await frame.getByRole('heading', { name: /^Settings/ }).waitFor();
    expect(await frame.locator('#create-key').count()).toBe(1);
    const cookie = (await context.cookies(svc.url!)).find((c) => c.name === 'reghook_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'None' });
    // Partitioned under the panel's site: the same browser opening the dashboard itself is not signed in.
    const top = await context.newPage();
    await top.goto(`${svc.url}/projects/1/webhooks`);
    expect(new URL(top.url()).pathname).toBe('/');
    expect(await top.title()).toBe('Sign in · reghook');

    const audit = (await svc.call('GET', '/v1/projects/1/audit-log')).json.data as { actor: string; action: string }[];
    expect(audit.find((e) => e.action === 'endpoint.created')?.actor).toMatch(/^portal:ps_/);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a read-only link shows the project inside the frame without a single form that changes anything', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const frame = await openPanel(page, panel.pageFor(await mintLink({ readOnly: true })));
    await frame.getByRole('heading', { name: /^Webhooks/ }).waitFor();
    expect(await frame.locator('#endpoint').innerText()).toContain(receiver.url);
    expect(await frame.locator('.who').innerText()).toContain('read-only');
    expect(await frame.locator('form[method=post]').count()).toBe(0);
    // Nothing that changes anything: the log's search (a GET form) and the switch of how times are shown.
    expect(await frame.locator('form').count()).toBe(1);
    expect(await frame.locator('form').getAttribute('method')).toBe('get');
    expect(await frame.getByRole('button').count()).toBe(2);
    expect(await frame.getByRole('button', { name: 'Search' }).count()).toBe(1);
    expect(await frame.locator('button[data-tz-toggle]').count()).toBe(1);
    await shot(page, '03-read-only');
    await context.close();
  });

  it('a read-only session meets no POST form on any page it can open, and can still search the log', async () => {
    const kept = (await svc.call('POST', '/v1/registrations', registration({ appId: 1, subscriberId: 'read-only-viewer-1' }))).json.eventId as string;
    const gone = (await svc.call('POST', '/v1/registrations', registration({ appId: 1, subscriberId: 'read-only-viewer-2' }))).json.eventId as string;
    expect((await svc.call('DELETE', '/v1/projects/1/subscribers/read-only-viewer-2')).status).toBe(200);
    const context = await newContext();
    const page = await context.newPage();
    // Opened in a tab of its own this time: the same session rules as in the frame.
    await page.goto(await mintLink({ readOnly: true }));
    expect(await page.locator('.who').innerText()).toContain('read-only');
    const pages = [
      '/projects/1/webhooks',
      '/projects/1/webhooks?status=failed',
      '/projects/1/webhooks?range=7d',
      `/projects/1/webhooks?q=${kept}`,
      '/projects/1/settings',
      `/projects/1/events/${kept}`,
      `/projects/1/events/${kept}?reveal=1`,
      `/projects/1/events/${gone}`,
      '/projects/1/events/evt_00000000000000000000000000',
      '/projects/2/webhooks',
    ];
    for (const url of pages) {
      await page.goto(`${svc.url}${url}`);
      expect(await page.locator('main').count(), url).toBe(1);
      expect(await page.locator('form[method=post]').count(), url).toBe(0);
      expect(await page.locator('input[name=_csrf]').count(), url).toBe(0);
      // Whatever forms remain are GET filters.
      for (const form of await page.locator('form').all()) expect(await form.getAttribute('method'), url).toBe('get');
    }
    // The search still works, by subscriberId too.
    await page.goto(`${svc.url}/projects/1/webhooks`);
    await page.getByLabel('Event id, client UUID or subscriber id').fill('read-only-viewer-1');
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Search' }).click()]);
    expect(new URL(page.url()).searchParams.get('q')).toBe('read-only-viewer-1');
    expect(await page.locator('table.log tbody tr').count()).toBe(1);
    expect(await page.locator('table.log tbody tr').innerText()).toContain(kept);
    expect(await page.locator('form[method=post]').count()).toBe(0);
    await shot(page, '03b-read-only-search');
    await context.close();
  });

  it('a page on an origin that is not listed cannot embed it', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const refusals: string[] = [];
    page.on('console', (message) => {
      if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
    });
    const frame = await openPanel(page, elsewhere.pageFor(await mintLink()));
    // Chromium replaces a frame its CSP forbids with an error page: nothing of the dashboard renders.
    expect(frame.url()).toMatch(/^chrome-error:/);
    expect(await frame.locator('h1, form, input').count()).toBe(0);
    expect(refusals.join('\n')).toContain(`frame-ancestors ${panel.origin}`);
    await shot(page, '04-unlisted-origin');
    await context.close();
  });

  it('a link that was used already, or has expired, is refused inside the frame', async () => {
    const context = await newContext();
    const page = await context.newPage();
    const link = await mintLink();
    let frame = await openPanel(page, panel.pageFor(link));
    await frame.getByRole('heading', { name: /^Webhooks/ }).waitFor();

    const reused = await context.newPage();
    frame = await openPanel(reused, panel.pageFor(link));
    await frame.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
    expect(await frame.locator('form').count()).toBe(0);
    await shot(reused, '05-link-used');

    const late = await mintLink({ expiresIn: '10m' });
    offset += 10 * 60_000 + 1;
    try {
      const expired = await context.newPage();
      frame = await openPanel(expired, panel.pageFor(late));
      await frame.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
    } finally {
      offset = 0;
    }
    await context.close();
  });
});
