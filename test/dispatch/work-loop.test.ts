/** The loop the dispatcher and the operator notifier share (src/dispatch/work-loop.ts). */
import { describe, expect, it } from 'vitest';
import { WorkLoop, type NextRound } from '../../src/dispatch/work-loop.js';

const LONG = 60_000;

describe('WorkLoop', () => {
  it('a wake-up during a round skips the sleep after it; a wake-up during the sleep ends it', async () => {
    let rounds = 0;
    let wakeInRound = false;
    const loop = new WorkLoop(async () => {
      rounds++;
      if (wakeInRound) {
        wakeInRound = false;
        loop.wake();
      }
      return LONG;
    });
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(1);
    // Woken while asleep: one more round, then asleep again.
    loop.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(2);
    // Woken inside the round: its sleep is skipped, so a third round runs and the fourth waits.
    wakeInRound = true;
    loop.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(4);
    const started = Date.now();
    await loop.stop();
    expect(Date.now() - started).toBeLessThan(LONG);
    expect(loop.isRunning).toBe(false);
  });

  it("runs again at once on 'now' and after pending I/O on 'after_io', and stops after the current round", async () => {
    const plan: NextRound[] = ['now', 'after_io', 'now', LONG];
    let rounds = 0;
    let ioRan = false;
    const loop = new WorkLoop(async () => {
      rounds++;
      if (rounds === 2) setImmediate(() => (ioRan = true));
      if (rounds === 3) expect(ioRan).toBe(true);
      return plan[rounds - 1] ?? LONG;
    });
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(4);
    await loop.stop();
    loop.wake();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(rounds).toBe(4);
  });
});
