import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SAMPLE_EVENT, SECRET, post, signedRequest } from './fixtures.js';

describe('examples/receiver/server.ts', () => {
  const lines: string[] = [];
  let server: Server | undefined;

  afterAll(async () => {
    vi.restoreAllMocks();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function start(): Promise<string> {
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    process.env.WEBHOOK_SECRET = SECRET;
    process.env.PORT = '0';
    ({ server } = (await import('../../examples/receiver/server.js')) as { server: Server });
    if (!server.listening) await new Promise((resolve) => server!.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('logs each registration once, as one JSON line of identifiers without personal data', async () => {
    const url = await start();
    const req = signedRequest();
    expect((await post(url, req.body, req.headers)).status).toBe(200);
    expect((await post(url, req.body, req.headers)).json).toEqual({ received: true, duplicate: true });
    const tampered = signedRequest(SAMPLE_EVENT, { secrets: ['whsec_d3Jvbmctc2VjcmV0'] });
    expect((await post(url, tampered.body, tampered.headers)).status).toBe(401);

    const registrations = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'user registered');
    expect(registrations).toEqual([
      { msg: 'user registered', webhookId: req.webhookId, appId: SAMPLE_EVENT.appId, clientUuid: SAMPLE_EVENT.clientUuid },
    ]);
    const everything = lines.join('\n');
    for (const personal of [SAMPLE_EVENT.subscriberId, SAMPLE_EVENT.subscriberName!, SAMPLE_EVENT.clientIp]) {
      expect(everything).not.toContain(personal);
    }
  });
});
