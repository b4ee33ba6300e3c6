/**
 * SPEC section 4, end to end: each endpoint's concurrency adapts between 1 and
 * REGHOOK_ENDPOINT_CONCURRENCY — a healthy busy endpoint is given more attempts at once than the
 * initial window, a hanging one is narrowed to at most 2 within its first deadlines, and neither
 * changes what another project gets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INITIAL_WINDOW } from '../../src/domain/concurrency-window.js';
import { eventually, registration, startTestService, type TestService } from '../helpers/service.js';

/** A receiver that counts the requests open at once; it answers after `delayMs`, or never (null). */
async function countingReceiver(delayMs: number | null) {
  let open = 0;
  const log: { at: number; open: number }[] = [];
  let answered = 0;
  const server: Server = createServer((req, res) => {
    open++;
    log.push({ at: Date.now(), open });
    req.resume();
    res.on('close', () => void open--);
    if (delayMs !== null) {
      setTimeout(() => {
        answered++;
        res.writeHead(200).end('ok');
      }, delayMs);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    log,
    answered: () => answered,
    maxOpenSince: (since: number) => Math.max(0, ...log.filter((e) => e.at >= since).map((e) => e.open)),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const TIMEOUT_MS = 300;
let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({
    REGHOOK_ENDPOINT_CONCURRENCY: '64',
    REGHOOK_DELIVERY_TIMEOUT: `${TIMEOUT_MS}ms`,
    REGHOOK_RETRY_INTERVAL: '20ms',
    REGHOOK_MAX_ATTEMPTS: '10',
  });
});
afterAll(async () => {
  await svc?.stop();
});

async function report(appId: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await svc.call('POST', '/v1/registrations', registration({ appId }))).status).toBe(202);
}

describe('adaptive per-endpoint concurrency', () => {
  it('gives a healthy busy endpoint far more than the initial window, and narrows a hanging one to at most 2', async () => {
    const healthy = await countingReceiver(25);
    const hanging = await countingReceiver(null);
    try {
      // A backlog first: reported while the endpoints are disabled (skipped), then replayed at once.
      await svc.createProject(1);
      await svc.setEndpoint(1, healthy.url, false);
      await svc.createProject(2);
      await svc.setEndpoint(2, hanging.url, false);
      const since = new Date().toISOString();
      await Promise.all([report(1, 600), report(2, 60)]);
      await Promise.all([svc.setEndpoint(1, healthy.url, true), svc.setEndpoint(2, hanging.url, true)]);
      const started = Date.now();
      for (const [appId, n] of [[1, 600], [2, 60]] as const) {
        expect((await svc.call('POST', `/v1/projects/${appId}/events/replay`, { status: ['skipped'], since })).json).toEqual({ count: n });
      }
      await eventually(async () => (healthy.answered() >= 600 ? true : undefined), 20_000);

      // The healthy one grew well past where every endpoint starts.
      expect(healthy.maxOpenSince(0)).toBeGreaterThan(4 * INITIAL_WINDOW);
      // The hanging one never had more than the initial window, and after two deadlines at most 2.
      expect(hanging.maxOpenSince(0)).toBeLessThanOrEqual(INITIAL_WINDOW);
      expect(hanging.log.length).toBeGreaterThan(0);
      const later = started + 2 * TIMEOUT_MS + 100;
      // Watch the hanging endpoint for a few more deadlines.
      await eventually(async () => (hanging.log.some((e) => e.at >= later + 3 * TIMEOUT_MS) ? true : undefined), 10_000);
      expect(hanging.log.some((e) => e.at >= later)).toBe(true);
      expect(hanging.maxOpenSince(later)).toBeLessThanOrEqual(2);
      const buckets = (await svc.app!.inject({ method: 'GET', url: '/metrics' })).body;
      expect(buckets).toMatch(/^reghook_endpoint_window_bucket\{le="1"\} [1-9]/m);
      expect(buckets).toMatch(/^reghook_endpoint_window_bucket\{le="64"\} [1-9]/m);
    } finally {
      await healthy.close();
      await hanging.close();
    }
  });
});
