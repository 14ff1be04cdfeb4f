import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/tcg/virtual-clock.js';

function clockWithCounter(shift = 0) {
  const clock = new VirtualClock({ shift, epochMs: Date.UTC(2026, 0, 1) });
  const counter = { retired: 0 };
  clock.bindCounter(() => counter.retired);
  return { clock, counter };
}

describe('VirtualClock', () => {
  it('counts 2^shift nanoseconds per retired instruction', () => {
    const { clock, counter } = clockWithCounter(3);
    counter.retired = 1000;
    expect(clock.nowNs()).toBe(8000);
    expect(clock.nsPerInstruction).toBe(8);
  });

  it('keeps time continuous when the counter is rebound', () => {
    const { clock, counter } = clockWithCounter();
    counter.retired = 500;
    const other = { retired: 7 };
    clock.bindCounter(() => other.retired);
    expect(clock.nowNs()).toBe(500);
    other.retired = 17;
    expect(clock.nowNs()).toBe(510);
  });

  it('cuts a burst at the next deadline and fires timers in deadline order, ties in arming order', () => {
    const { clock, counter } = clockWithCounter(1);
    const fired: string[] = [];
    clock.schedule(300, () => fired.push(`b@${clock.nowNs()}`));
    clock.schedule(100, () => fired.push(`a@${clock.nowNs()}`));
    clock.schedule(300, () => fired.push(`c@${clock.nowNs()}`));
    expect(clock.instructionsUntilDeadline(1000)).toBe(50);
    counter.retired = 50;
    expect(clock.runDue()).toBe(1);
    expect(clock.instructionsUntilDeadline(1000)).toBe(100);
    expect(clock.instructionsUntilDeadline(30)).toBe(30);
    counter.retired = 150;
    expect(clock.runDue()).toBe(2);
    expect(fired).toEqual(['a@100', 'b@300', 'c@300']);
    expect(clock.nextDeadline()).toBe(Infinity);
    expect(clock.timersFired).toBe(3);
  });

  it('fires at once a timer a callback arms in the past, and never a cancelled one', () => {
    const { clock, counter } = clockWithCounter();
    const fired: number[] = [];
    const cancelled = clock.schedule(20, () => fired.push(-1));
    clock.schedule(10, () => {
      fired.push(1);
      clock.schedule(5, () => fired.push(2));
    });
    cancelled.cancel();
    counter.retired = 30;
    clock.runDue();
    expect(fired).toEqual([1, 2]);
  });

  it('jumps to a deadline while halted and counts the skipped time as idle', () => {
    const { clock, counter } = clockWithCounter();
    counter.retired = 10;
    let at = -1;
    clock.schedule(1_000_000, () => (at = clock.nowNs()));
    clock.skipTo(clock.nextDeadline());
    clock.runDue();
    expect(at).toBe(1_000_000);
    expect(clock.idleNs).toBe(999_990);
    counter.retired = 12;
    expect(clock.nowNs()).toBe(1_000_002);
  });

  it('rejects an icount shift outside 0-10', () => {
    expect(() => new VirtualClock({ shift: 11, epochMs: 0 })).toThrow(RangeError);
    expect(() => new VirtualClock({ shift: -1, epochMs: 0 })).toThrow(RangeError);
  });
});
