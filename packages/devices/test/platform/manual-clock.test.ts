import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/index.js';

describe('ManualClock', () => {
  it('fires timers in deadline order at their own deadlines', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.schedule(300, () => fired.push(`c@${clock.nowNs()}`));
    clock.schedule(100, () => fired.push(`a@${clock.nowNs()}`));
    clock.schedule(200, () => fired.push(`b@${clock.nowNs()}`));
    clock.advanceTo(250);
    expect(fired).toEqual(['a@100', 'b@200']);
    expect(clock.nowNs()).toBe(250);
    expect(clock.nextDeadline()).toBe(300);
  });

  it('runs timers scheduled by a callback within the same advance', () => {
    const clock = new ManualClock();
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.schedule(clock.nowNs() + 10, tick);
    };
    clock.schedule(10, tick);
    clock.advanceTo(100);
    expect(ticks).toBe(10);
  });

  it('never fires a cancelled timer', () => {
    const clock = new ManualClock();
    let fired = false;
    clock.schedule(5, () => (fired = true)).cancel();
    clock.advanceBy(10);
    expect(fired).toBe(false);
    expect(clock.nextDeadline()).toBe(Infinity);
  });
});
