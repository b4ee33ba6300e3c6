import { afterAll, beforeAll, expect, it } from 'vitest';
import { answer, startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually, registration, startTestService, type TestService } from './helpers/service.js';

let svc: TestService;
let receiver: Receiver;

beforeAll(async () => {
  svc = await startTestService({ REGHOOK_MAX_ATTEMPTS: '2', REGHOOK_RETRY_INTERVAL: '50ms' });
  receiver = await startReceiver();
  await svc.createProject(7);
  await svc.setEndpoint(7, receiver.url);
});
afterAll(async () => {
  await svc.stop();
  await receiver.close();
});

const scrape = async () => (await svc.app!.inject({ method: 'GET', url: '/metrics' })).body;
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

it('counts ingest outcomes, attempts by outcome, delivery latency and the queue, without per-project or personal labels', async () => {
  const ok = await svc.call('POST', '/v1/registrations', registration({ appId: 7 }));
  await svc.call('POST', '/v1/registrations', registration({ appId: 7, storeRegister: true }));
  await eventually(async () => ((await svc.call('GET', `/v1/projects/7/events/${ok.json.eventId}`)).json.status === 'delivered' ? true : undefined));

  receiver.respondWith(answer(500));
  const bad = await svc.call('POST', '/v1/registrations', registration({ appId: 7 }));
  await eventually(async () => ((await svc.call('GET', `/v1/projects/7/events/${bad.json.eventId}`)).json.status === 'failed' ? true : undefined));

  const text = await eventually(async () => {
    const t = await scrape();
    return value(t, 'reghook_attempts_total{trigger="scheduled",outcome="http_error"}') === 2 ? t : undefined;
  });
  expect(value(text, 'reghook_ingest_total{route="registrations",outcome="pending"}')).toBe(2);
  expect(value(text, 'reghook_ingest_total{route="registrations",outcome="awaiting_first_purchase"}')).toBe(1);
  expect(value(text, 'reghook_attempts_total{trigger="scheduled",outcome="success"}')).toBe(1);
  expect(value(text, 'reghook_delivery_latency_seconds_count')).toBe(1);
  expect(value(text, 'reghook_queue_due')).toBe(0);
  expect(text).toMatch(/^reghook_nodejs_eventloop_lag_seconds /m);
  expect(text).not.toMatch(/appId|app_id|905555555555|John Doe|203\.0\.113\.7/);
});
