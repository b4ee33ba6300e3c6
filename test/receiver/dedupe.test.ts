import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDeduper, DEFAULT_DEDUPE_MAX, DEFAULT_DEDUPE_TTL_MS } from '@reghook/receiver';

function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('createDeduper', () => {
  it('reports an id as new the first time and as a duplicate after', () => {
    const deduper = createDeduper();
    expect(deduper.checkAndMark('evt_a')).toBe(false);
    expect(deduper.checkAndMark('evt_a')).toBe(true);
    expect(deduper.checkAndMark('evt_b')).toBe(false);
  });

  it('forgets the least recently seen id once more than max are remembered', () => {
    const deduper = createDeduper({ max: 3 });
    for (const id of ['a', 'b', 'c', 'd']) expect(deduper.checkAndMark(id)).toBe(false);
    expect(deduper.size).toBe(3);
    expect(deduper.checkAndMark('d')).toBe(true);
    expect(deduper.checkAndMark('c')).toBe(true);
    expect(deduper.checkAndMark('b')).toBe(true);
    expect(deduper.checkAndMark('a')).toBe(false); // evicted when d came in
  });

  it('a duplicate counts as use: the id it touched outlives an older untouched one', () => {
    const deduper = createDeduper({ max: 2 });
    deduper.checkAndMark('a');
    deduper.checkAndMark('b');
    expect(deduper.checkAndMark('a')).toBe(true);
    deduper.checkAndMark('c'); // evicts b, the least recently seen
    expect(deduper.checkAndMark('a')).toBe(true);
    expect(deduper.checkAndMark('b')).toBe(false);
  });

  it('forgets an id ttlMs after it was first marked, without sleeping', () => {
    const clock = manualClock();
    const deduper = createDeduper({ ttlMs: 60_000, now: clock.now });
    expect(deduper.checkAndMark('a')).toBe(false);
    clock.advance(59_999);
    expect(deduper.checkAndMark('a')).toBe(true); // a hit does not extend the TTL
    clock.advance(1);
    expect(deduper.checkAndMark('a')).toBe(false); // expired: new again, and marked afresh
    clock.advance(59_999);
    expect(deduper.checkAndMark('a')).toBe(true);
  });

  it('defaults to 10 000 ids for 24 hours', () => {
    expect(DEFAULT_DEDUPE_MAX).toBe(10_000);
    expect(DEFAULT_DEDUPE_TTL_MS).toBe(86_400_000);
    const clock = manualClock();
    const deduper = createDeduper({ now: clock.now });
    for (let i = 0; i <= DEFAULT_DEDUPE_MAX; i++) deduper.checkAndMark(`evt_${i}`);
    expect(deduper.size).toBe(DEFAULT_DEDUPE_MAX);
    expect(deduper.checkAndMark(`evt_${DEFAULT_DEDUPE_MAX}`)).toBe(true);
    clock.advance(DEFAULT_DEDUPE_TTL_MS - 1);
    expect(deduper.checkAndMark(`evt_${DEFAULT_DEDUPE_MAX}`)).toBe(true);
    clock.advance(1);
    expect(deduper.checkAndMark(`evt_${DEFAULT_DEDUPE_MAX}`)).toBe(false);
  });

  it('unmark makes an id new again', () => {
    const deduper = createDeduper();
    deduper.checkAndMark('a');
    deduper.unmark('a');
    expect(deduper.checkAndMark('a')).toBe(false);
  });

  it('refuses a max below 1 or a non-positive TTL', () => {
    expect(() => createDeduper({ max: 0 })).toThrow(RangeError);
    expect(() => createDeduper({ max: 1.5 })).toThrow(RangeError);
    expect(() => createDeduper({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => createDeduper({ ttlMs: Number.NaN })).toThrow(RangeError);
  });

  it('behaves like a plain reference LRU with TTL for any sequence of ids and clock steps', () => {
    const step = fc.oneof(
      fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f') }),
      fc.record({ advance: fc.integer({ min: 0, max: 150 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 300 }), fc.array(step, { maxLength: 60 }), (max, ttlMs, steps) => {
        const clock = manualClock(0);
        const deduper = createDeduper({ max, ttlMs, now: clock.now });
        // Reference: an array, most recently seen last, each id with the time it was marked.
        let model: Array<{ id: string; markedAt: number }> = [];
        for (const s of steps) {
          if ('advance' in s) {
            clock.advance(s.advance);
            continue;
          }
          const t = clock.now();
          const entry = model.find((e) => e.id === s.id);
          model = model.filter((e) => e.id !== s.id);
          const duplicate = entry !== undefined && t - entry.markedAt < ttlMs;
          model.push(duplicate ? entry : { id: s.id, markedAt: t });
          if (model.length > max) model.shift();
          expect(deduper.checkAndMark(s.id)).toBe(duplicate);
          expect(deduper.size).toBe(model.length);
        }
      }),
    );
  });
});
