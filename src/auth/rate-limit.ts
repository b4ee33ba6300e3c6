/**
 * Fixed-window counters in memory, one per key (a client address, an API key). Enough for one
 * process's protection against guessing and floods; several processes each count on their own.
 */
import type { Clock } from '../clock.js';

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
    /** Keys tracked at most; the oldest windows go first beyond it. */
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one hit; answers 0 when allowed, else the seconds until the window resets. */
  hit(key: string): number {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxKeys) this.evict(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count > this.limit ? Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) : 0;
  }

  /** Whether the key is over its limit now, without counting a hit. */
  blocked(key: string): number {
    const w = this.windows.get(key);
    const now = this.clock.now();
    if (!w || now - w.start >= this.windowMs || w.count < this.limit) return 0;
    return Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
  }

  private evict(now: number): void {
    for (const [key, w] of this.windows) {
      if (now - w.start >= this.windowMs) this.windows.delete(key);
    }
    // Still full: drop the oldest entries (Map iterates in insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
