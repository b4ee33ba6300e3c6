import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterScheduledAttempt,
  decidePurchase,
  formatRegisterDate,
  initialEventStatus,
  isSuccess,
  newEventId,
  parseRegisterDate,
  registrationFires,
} from '../../src/domain/index.js';

describe('trigger rules', () => {
  it('a registration fires at once for Self Service, and for a store user only after a purchase', () => {
    expect(registrationFires(false, false)).toBe(true);
    expect(registrationFires(false, true)).toBe(true);
    expect(registrationFires(true, false)).toBe(false);
    expect(registrationFires(true, true)).toBe(true);
  });

  it('a purchase fires only as the first purchase of a registered store user', () => {
    expect(decidePurchase(null, false)).toEqual({ fire: false, reason: 'awaiting_registration' });
    expect(decidePurchase({ storeRegister: false }, true)).toEqual({ fire: false, reason: 'self_service_user' });
    expect(decidePurchase({ storeRegister: true }, false)).toEqual({ fire: true });
    expect(decidePurchase({ storeRegister: true }, true)).toEqual({ fire: false, reason: 'not_first_purchase' });
  });

  it('an event is queued only when the project has an enabled endpoint', () => {
    expect(initialEventStatus(true)).toBe('pending');
    expect(initialEventStatus(false)).toBe('skipped');
  });
});

describe('retry schedule', () => {
  const policy = { intervalMs: 3_600_000, maxAttempts: 10 };

  it('only HTTP 200 is success', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), (code) => {
        expect(isSuccess(code)).toBe(code === 200);
      }),
    );
    expect(isSuccess(null)).toBe(false);
  });

  it('ten hours of failures: nine retries an hour apart, then failed', () => {
    let now = Date.UTC(2026, 0, 1);
    const times: number[] = [];
    for (let attempt = 1; ; attempt++) {
      times.push(now);
      const next = afterScheduledAttempt(policy, attempt, false, now);
      if (next.status !== 'pending') {
        expect(next.status).toBe('failed');
        break;
      }
      now = next.nextAttemptAt;
    }
    expect(times).toHaveLength(10);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual(Array(9).fill(3_600_000));
  });

  it('any success delivers, whatever the attempt number (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (attempt, max) => {
        expect(afterScheduledAttempt({ intervalMs: 1, maxAttempts: max }, attempt, true, 0)).toEqual({ status: 'delivered' });
        const failed = afterScheduledAttempt({ intervalMs: 5, maxAttempts: max }, attempt, false, 100);
        expect(failed).toEqual(attempt >= max ? { status: 'failed' } : { status: 'pending', nextAttemptAt: 105 });
      }),
    );
  });
});

describe('registerDate', () => {
  it('parses both notations to the same instant and prints UTC', () => {
    expect(parseRegisterDate('2020-03-20 12:35:41')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(parseRegisterDate('2020-03-20T15:35:41+03:00')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(parseRegisterDate('2020-03-20T12:35:41.123Z')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(parseRegisterDate('2020-03-20T07:05:41-0530')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(formatRegisterDate(Date.UTC(2020, 2, 20, 12, 35, 41))).toBe('2020-03-20 12:35:41');
  });

  it.each(['2020-02-30 00:00:00', '2021-02-29 00:00:00', '2020-13-01 00:00:00', '2020-03-20T12:35:41', '2020-03-20 12:35', '20-03-20 12:35:41', '2020-03-20 12:35:41Z', ' 2020-03-20 12:35:41'])(
    'refuses %j',
    (text) => expect(parseRegisterDate(text)).toBeUndefined(),
  );

  it('any second from 1970 to 9999 round-trips through the plain form and an offset form (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59) / 1000 }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (seconds, offsetMinutes) => {
          const ms = seconds * 1000;
          const plain = formatRegisterDate(ms);
          expect(parseRegisterDate(plain)).toBe(ms);
          const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const iso = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const localYear = new Date(ms + offsetMinutes * 60_000).getUTCFullYear();
          if (localYear >= 1970 && localYear <= 9999) expect(parseRegisterDate(iso)).toBe(ms);
        },
      ),
    );
  });
});

describe('event ids', () => {
  it('are evt_ + 26 Crockford characters and sort by time (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 40 }), (t, dt) => {
        const a = newEventId(t);
        const b = newEventId(t + dt);
        expect(a).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
        expect(a < b).toBe(true);
      }),
    );
  });
});
