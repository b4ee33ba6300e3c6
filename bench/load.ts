/**
 * Load generation, in the bench process, with undici Pools: closed loop (N workers, each sends the
 * next report as soon as the previous one is answered), open loop (a fixed rate, whatever the
 * answers), and the raw ceiling (signed webhook POSTs straight to the receiver). Every loop is
 * bounded in time and in count.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { newEventId } from '../src/domain/ids.js';
import { signatureHeader } from '@reghook/receiver/signing';
import { ADMIN_TOKEN } from './reghook-process.js';

export const nowMs = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A Self Service registration report (SPEC section 3 shape; a fresh user each time). */
export function registrationBody(appId: number, clientUuid: string = randomUUID()): string {
  return (
    `{"clientUuid":"${clientUuid}","clientIp":"203.0.113.7","country":"TR","language":"en","storeRegister":false,` +
    `"subscriberId":"905555555555","subscriberName":"John Doe","appId":${appId},"flowId":1,"siteId":1,` +
    `"registerDate":"2020-03-20 12:35:41","registerOtpStatus":false}`
  );
}

/** The accepted events of one scenario: eventId and when its 202 arrived, in arrival order. */
export class Ledger {
  readonly ids: string[] = [];
  /** When the 202's headers arrived (epoch ms, sub-ms precision). */
  readonly t202: number[] = [];
  /** When the report was sent. */
  readonly sentAt: number[] = [];
  readonly apps: number[] = [];

  add(id: string, t202: number, sentAt: number, appId: number): void {
    this.ids.push(id);
    this.t202.push(t202);
    this.sentAt.push(sentAt);
    this.apps.push(appId);
  }

  get size(): number {
    return this.ids.length;
  }
}

export class LoadCounters {
  sent = 0;
  accepted = 0;
  /** Answers other than 202, by status. */
  readonly rejected = new Map<number, number>();
  /** Connection errors and timeouts (no answer). */
  errors = 0;
  /** Open loop: sends skipped because too many were outstanding. */
  skipped = 0;
  outstanding = 0;
}

const HEADERS = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

export function apiPool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
}

async function reportOne(pool: Pool, appId: number, ledger: Ledger, counters: LoadCounters): Promise<boolean> {
  const sentAt = nowMs();
  counters.sent++;
  counters.outstanding++;
  try {
    const res = await pool.request({ path: '/v1/registrations', method: 'POST', headers: HEADERS, body: registrationBody(appId) });
    const t202 = nowMs();
    const text = await res.body.text();
    if (res.statusCode === 202) {
      const answer = JSON.parse(text) as { eventId: string; status: string };
      if (answer.status !== 'pending') throw new Error(`unexpected answer ${text}`);
      ledger.add(answer.eventId, t202, sentAt, appId);
      counters.accepted++;
      return true;
    }
    counters.rejected.set(res.statusCode, (counters.rejected.get(res.statusCode) ?? 0) + 1);
    return false;
  } catch {
    counters.errors++;
    return false;
  } finally {
    counters.outstanding--;
  }
}

export interface ClosedLoopOptions {
  pool: Pool;
  concurrency: number;
  durationMs: number;
  /** Upper bound on reports sent, whatever the duration. */
  maxRequests: number;
  appIds: readonly number[];
  ledger: Ledger;
  counters: LoadCounters;
  /** Ends the loop early when it returns true (checked before every send). */
  stop?: () => boolean;
}

/** `concurrency` workers, each reporting the next registration once the previous one is answered. */
export async function closedLoop(o: ClosedLoopOptions): Promise<void> {
  const until = Date.now() + o.durationMs;
  let next = 0;
  const worker = async () => {
    while (Date.now() < until && o.counters.sent < o.maxRequests && !(o.stop?.() ?? false)) {
      const appId = o.appIds[next++ % o.appIds.length]!;
      const ok = await reportOne(o.pool, appId, o.ledger, o.counters);
      // A service that is down answers at once: do not spin.
      if (!ok) await sleep(5);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
}

export interface OpenLoopOptions {
  pool: Pool;
  ratePerSec: number;
  durationMs: number;
  maxOutstanding: number;
  appIds: readonly number[];
  ledger: Ledger;
  counters: LoadCounters;
}

/** Reports at a fixed rate, whatever the answers (at most `maxOutstanding` unanswered; beyond, counted as skipped). */
export async function openLoop(o: OpenLoopOptions): Promise<void> {
  const start = performance.now();
  const total = Math.floor((o.ratePerSec * o.durationMs) / 1000);
  const inflight = new Set<Promise<boolean>>();
  let issued = 0;
  while (issued < total) {
    const elapsed = performance.now() - start;
    if (elapsed > o.durationMs + 1_000) break; // bounded even if the timers fall behind
    const owed = Math.min(total, Math.floor((elapsed * o.ratePerSec) / 1000));
    while (issued < owed) {
      issued++;
      if (inflight.size >= o.maxOutstanding) {
        o.counters.skipped++;
        continue;
      }
      const appId = o.appIds[issued % o.appIds.length]!;
      const p = reportOne(o.pool, appId, o.ledger, o.counters);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await sleep(1);
  }
  await Promise.all(inflight);
}

/**
 * The physical reference: signed webhook POSTs (the same body and headers reghook sends) straight
 * to the receiver, closed loop at `concurrency`. Answers 200s per second over the measured window.
 */
export async function ceiling(o: {
  url: string;
  body: string;
  key: Buffer;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  onTick?: (done: number) => void;
}): Promise<{ reqPerSec: number; total: number; errors: number }> {
  const pool = new Pool(o.url, { connections: o.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const start = Date.now();
  const measureFrom = start + o.warmupMs;
  const until = measureFrom + o.measureMs;
  let inWindow = 0;
  let total = 0;
  let errors = 0;
  const worker = async () => {
    while (Date.now() < until && total < 10_000_000) {
      const now = Date.now();
      const id = newEventId(now);
      const ts = Math.floor(now / 1000);
      try {
        const res = await pool.request({
          path: '/webhooks',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'reghook-bench',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': signatureHeader([o.key], id, ts, o.body),
          },
          body: o.body,
        });
        await res.body.text();
        const t = Date.now();
        if (res.statusCode === 200) {
          total++;
          if (t >= measureFrom && t < until) inWindow++;
          o.onTick?.(total);
        } else errors++;
      } catch {
        errors++;
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  await pool.close();
  return { reqPerSec: (inWindow * 1000) / o.measureMs, total, errors };
}
