import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterScheduledAttempt,
  retryWait,
  decidePurchase,
  formatRegisterDate,
  initialEventStatus,
  isSuccess,
  newEventId,
  parseDateTime,
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
  const policy = { intervalsMs: [3_600_000], maxAttempts: 10 };

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

  it('a schedule: the waits after the 1st, 2nd, … failure, the last repeating (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 86_400_000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 2, max: 30 }), (waits, max) => {
        const schedule = { intervalsMs: waits, maxAttempts: max };
        let now = 0;
        const gaps: number[] = [];
        for (let attempt = 1; ; attempt++) {
          const next = afterScheduledAttempt(schedule, attempt, false, now);
          if (next.status !== 'pending') break;
          gaps.push(next.nextAttemptAt - now);
          now = next.nextAttemptAt;
        }
        expect(gaps).toEqual(Array.from({ length: max - 1 }, (_, i) => waits[Math.min(i, waits.length - 1)]));
      }),
    );
    // SPEC's example: 10 minutes, 30 minutes, then hourly.
    const published = { intervalsMs: [600_000, 1_800_000, 3_600_000], maxAttempts: 5 };
    expect([1, 2, 3, 4].map((n) => retryWait(published, n))).toEqual([600_000, 1_800_000, 3_600_000, 3_600_000]);
  });

  it('any success delivers, whatever the attempt number (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (attempt, max) => {
        expect(afterScheduledAttempt({ intervalsMs: [1], maxAttempts: max }, attempt, true, 0)).toEqual({ status: 'delivered' });
        const failed = afterScheduledAttempt({ intervalsMs: [5], maxAttempts: max }, attempt, false, 100);
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

describe('registerDate range (1970-01-01 00:00:00 … 9999-12-31 23:59:59 UTC, four-digit years)', () => {
  const MIN = 0;
  const MAX = Date.UTC(9999, 11, 31, 23, 59, 59);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const offsetText = (minutes: number) =>
    `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
  /** The wall-clock text of `ms` at `offsetMinutes`, or undefined when that local year has no four digits. */
  const localText = (ms: number, offsetMinutes: number) => {
    const local = new Date(ms + offsetMinutes * 60_000);
    const year = local.getUTCFullYear();
    if (year < 0 || year > 9999) return undefined;
    return `${pad(year, 4)}${local.toISOString().slice(-20, -5)}${offsetText(offsetMinutes)}`;
  };

  it.each([
    '0070-01-01 00:00:00',
    '0000-01-01 00:00:00',
    '1969-12-31 23:59:59',
    '1970-01-01T00:00:00+00:01',
    '1970-01-01T00:59:59.999+01:00',
    '9999-12-31T23:59:59-14:00',
    '9999-12-31T23:59:59-00:01',
    '2016-12-31 23:59:60',
    '2016-12-31T23:59:60Z',
    '2017-01-01T02:59:60+03:00',
  ])('refuses %j (out of range, or a leap second)', (text) => expect(parseRegisterDate(text)).toBeUndefined());

  it.each([
    ['1970-01-01 00:00:00', MIN],
    ['1969-12-31T23:30:00-01:00', 30 * 60_000],
    ['9999-12-31 23:59:59', MAX],
    ['9999-12-31T23:59:59.999Z', MAX],
    ['9999-12-31T23:59:59+14:00', MAX - 14 * 3_600_000],
    ['1970-01-01T00:00:00+00:00', MIN],
  ] as const)('accepts %j as the instant in range', (text, ms) => expect(parseRegisterDate(text)).toBe(ms));

  it('every accepted registerDate formats with a four-digit year, parses back, and names the instant written (property)', () => {
    // Fields drawn around the edges where the bugs were (years 0-99, 1969/1970, 9999; :59/:60;
    // the last days of months), written in the plain form or with an offset.
    const date = fc.record({
      year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 69, 70, 99, 100, 1969, 1970, 9999)),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 32 })),
      hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constant(24)),
      minute: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
      second: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
      fraction: fc.option(fc.stringMatching(/^\.\d{1,9}$/), { nil: '' }),
      zone: fc.option(fc.oneof(fc.constantFrom('Z', 'z'), fc.integer({ min: -24 * 60, max: 24 * 60 }).map(offsetText)), { nil: null }),
    });
    const daysIn = (year: number, month: number) =>
      [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
    fc.assert(
      fc.property(date, (f) => {
        const day = `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}`;
        const time = `${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
        const text = f.zone === null ? `${day} ${time}` : `${day}T${time}${f.fraction}${f.zone}`;
        // The oracle: Date.parse reads ISO years 0000-9999 correctly; the fields are checked here
        // because it rolls 02-30 over into March and accepts 24:00 and :60 in some forms.
        const real = f.month >= 1 && f.month <= 12 && f.day >= 1 && f.day <= daysIn(f.year, f.month) && f.hour < 24 && f.minute < 60 && f.second < 60;
        const utc = Date.parse(`${day}T${time}${f.zone === null ? 'Z' : f.zone.toUpperCase()}`);
        const expected = real && Number.isFinite(utc) && utc >= MIN && utc <= MAX ? utc : undefined;
        const ms = parseRegisterDate(text);
        expect(ms).toBe(expected);
        if (ms === undefined) return;
        const formatted = formatRegisterDate(ms);
        expect(formatted).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
        if (f.zone === null) expect(formatted).toBe(text);
        expect(parseRegisterDate(formatted)).toBe(ms);
      }),
      { numRuns: 5000 },
    );
  });

  it('every second in range formats, and parses back from the plain form and any offset form (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN / 1000, max: MAX / 1000 }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (seconds, millis, offsetMinutes) => {
          const ms = seconds * 1000;
          const plain = formatRegisterDate(ms);
          expect(plain).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
          expect(parseRegisterDate(plain)).toBe(ms);
          const local = localText(ms + millis, offsetMinutes);
          if (local !== undefined) expect(parseRegisterDate(local)).toBe(ms);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every instant outside the range is refused, whatever its notation (property)', () => {
    const YEAR_0 = Date.UTC(2000, 0, 1) - 2000 * 365.2425 * 86_400_000;
    const before = fc.integer({ min: YEAR_0, max: MIN - 1 });
    const after = fc.integer({ min: MAX + 1000, max: MAX + 1000 + 24 * 3_600_000 });
    fc.assert(
      fc.property(fc.oneof(before, after), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), (ms, offsetMinutes) => {
        const local = localText(ms, offsetMinutes);
        if (local !== undefined) expect(parseRegisterDate(local)).toBeUndefined();
        const plain = localText(ms, 0)?.slice(0, 19).replace('T', ' ');
        if (plain !== undefined) expect(parseRegisterDate(plain)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('formatRegisterDate refuses an instant it cannot write with four digits', () => {
    expect(() => formatRegisterDate(MAX + 1000)).toThrow(RangeError);
    expect(() => formatRegisterDate(-1000)).toThrow(RangeError);
    expect(() => formatRegisterDate(Number.NaN)).toThrow(RangeError);
  });
});

describe('date-time inputs (purchaseDate, since)', () => {
  it('parses RFC 3339 date-times with an offset to the instant they name', () => {
    expect(parseDateTime('2020-03-20T15:35:41+03:00')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(parseDateTime('2020-03-20T12:35:41.123456Z')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41, 123));
    expect(parseDateTime('2020-03-20t12:35:41z')).toBe(Date.UTC(2020, 2, 20, 12, 35, 41));
    expect(parseDateTime('2020-03-20 12:35:41-0130')).toBe(Date.UTC(2020, 2, 20, 14, 5, 41));
    // Years 0-99 are those years, not 1900-1999 (Date.UTC's legacy mapping).
    expect(parseDateTime('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00Z'));
    expect(new Date(parseDateTime('0050-01-01T00:00:00Z')!).getUTCFullYear()).toBe(50);
  });

  it.each([
    '2016-12-31T23:59:60Z',
    '2017-01-01T02:59:60+03:00',
    '2020-02-30T00:00:00Z',
    '2020-01-01T24:00:00Z',
    '2020-01-01T10:00:00',
    '2020-01-01T10:00:00+03',
    '2020-01-01T10:00:00+24:00',
    '2020-01-01\t10:00:00Z',
    '2020-01-01\n10:00:00Z',
    '+002020-01-01T10:00:00Z',
    'tomorrow',
    '',
  ])('refuses %j', (text) => expect(parseDateTime(text)).toBeUndefined());

  it('whatever it accepts is a finite instant that prints and parses back (property)', () => {
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const num = (min: number, max: number, width = 2) => fc.integer({ min, max }).map((n) => pad(n, width));
    const text = fc
      .tuple(
        num(0, 9999, 4),
        num(0, 13),
        num(0, 32),
        fc.constantFrom('T', 't', ' '),
        num(0, 24),
        num(0, 60),
        num(0, 61),
        fc.option(fc.stringMatching(/^\.\d{1,12}$/), { nil: '' }),
        fc.oneof(fc.constantFrom('Z', 'z', ''), fc.tuple(fc.constantFrom('+', '-'), num(0, 25), fc.constantFrom(':', ''), num(0, 61)).map((p) => p.join(''))),
      )
      .map(([y, mo, d, sep, h, mi, s, frac, zone]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${zone}`);
    fc.assert(
      fc.property(text, (t) => {
        const ms = parseDateTime(t);
        if (ms === undefined) return;
        expect(Number.isFinite(ms)).toBe(true);
        expect(Date.parse(new Date(ms).toISOString())).toBe(ms);
        expect(t).not.toMatch(/:60(\.|[zZ+-]|$)/);
      }),
      { numRuns: 3000 },
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
