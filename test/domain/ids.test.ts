/** Event ids (domain/ids.ts): ULID-shaped, their time readable back, sorted by time, never repeated. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventIdFloor, idTime, newEventId } from '../../src/domain/ids.js';

const ms = fc.integer({ min: 0, max: 2 ** 48 - 1 });

describe('event ids', () => {
  it('carry their millisecond, and sort by it', () => {
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        const [x, y] = [newEventId(a), newEventId(b)];
        expect(x).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
        expect(idTime(x)).toBe(a);
        if (a < b) expect(x < y).toBe(true);
        // The floor of a millisecond sorts at or before its ids, after every earlier one's.
        expect(eventIdFloor(a) <= x).toBe(true);
        if (a < b) expect(x < eventIdFloor(b)).toBe(true);
      }),
    );
  });

  it('never repeat within a millisecond, across many refills of the random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    // The 16 random characters: all different tails, and every letter of the alphabet in them.
    const tails = ids.map((id) => id.slice(14));
    expect(new Set(tails).size).toBe(ids.length);
    expect(new Set(tails.join('')).size).toBe(32);
  });
});
