import { describe, expect, it } from 'vitest';
import { Pit8254, pit8254StateSchema, pitClocksIn, pitNsForClocks } from '../src/pit-8254.js';
import { ManualClock, type IrqLine } from '../src/platform/index.js';

const CH0 = 0;
const CH2 = 2;
const CTRL = 3;

/** Records the clock time of every rising edge. */
class EdgeLog implements IrqLine {
  level = false;
  rises: number[] = [];
  falls: number[] = [];
  constructor(private readonly clock: ManualClock) {}
  setLevel(high: boolean): void {
    if (high && !this.level) this.rises.push(this.clock.nowNs());
    if (!high && this.level) this.falls.push(this.clock.nowNs());
    this.level = high;
  }
}

function setup(startNs = 0): { clock: ManualClock; pit: Pit8254; irq: EdgeLog } {
  const clock = new ManualClock();
  clock.advanceTo(startNs);
  const irq = new EdgeLog(clock);
  const pit = new Pit8254({ clock, irq0: irq });
  return { clock, pit, irq };
}

function program(pit: Pit8254, channel: number, control: number, count: number): void {
  pit.write(CTRL, 1, control);
  pit.write(channel, 1, count & 0xff);
  pit.write(channel, 1, count >> 8);
}

function readLoHi(pit: Pit8254, channel: number): number {
  const lo = pit.read(channel, 1);
  return lo | (pit.read(channel, 1) << 8);
}

describe('Pit8254', () => {
  it('converts between nanoseconds and PIT clocks exactly', () => {
    expect(pitClocksIn(1e9)).toBe(1_193_182);
    for (const k of [1, 17, 1193, 65536, 1_193_182, 1_193_183, 123_456_789_012]) {
      const ns = pitNsForClocks(k);
      expect(pitClocksIn(ns)).toBe(k);
      expect(pitClocksIn(ns - 1)).toBe(k - 1);
    }
  });

  it('mode 2 rate generator raises IRQ 0 once per period for 10,000 periods without drift', () => {
    const { clock, pit, irq } = setup(12_345);
    const n = 1193; // Linux's LATCH for HZ=1000
    program(pit, CH0, 0x34, n);
    const t0 = clock.nowNs();
    const before = irq.rises.length;
    clock.advanceTo(t0 + pitNsForClocks(10_000 * n));
    const rises = irq.rises.slice(before);
    expect(rises.length).toBe(10_000);
    expect(rises[0]).toBe(t0 + pitNsForClocks(n));
    expect(rises[9_999]).toBe(t0 + pitNsForClocks(10_000 * n));
    // OUT is low for exactly one clock before each rise.
    expect(irq.falls.at(-1)).toBe(t0 + pitNsForClocks(10_000 * n - 1));
  });

  it('mode 0 on channel 2 shows OUT2 on port 0x61 exactly when the count expires', () => {
    const { clock, pit } = setup();
    pit.port61.write(0, 1, (pit.port61.read(0, 1) & ~0x02) | 0x01); // gate on, speaker off
    const latch = 59_659; // Linux pit_calibrate_tsc: 50 ms
    program(pit, CH2, 0xb0, latch);
    const t0 = clock.nowNs();
    expect(pit.port61.read(0, 1) & 0x20).toBe(0);
    clock.advanceTo(t0 + pitNsForClocks(latch) - 1);
    expect(pit.port61.read(0, 1) & 0x20).toBe(0);
    clock.advanceTo(t0 + pitNsForClocks(latch));
    expect(pit.port61.read(0, 1) & 0x20).toBe(0x20);
    clock.advanceBy(1e9); // OUT stays high while the counter wraps
    expect(pit.port61.read(0, 1) & 0x20).toBe(0x20);
    expect(pit.port61.read(0, 1) & 0x03).toBe(0x01);
  });

  it('lohi reads of a running counter decrease with clock time', () => {
    const { clock, pit } = setup();
    pit.port61.write(0, 1, 0x01);
    program(pit, CH2, 0xb0, 0xffff); // Linux quick_pit_calibrate
    const values: number[] = [];
    for (let i = 0; i < 5; i++) {
      values.push(readLoHi(pit, CH2));
      clock.advanceBy(100_000);
    }
    expect(values[0]).toBe(0xffff);
    for (let i = 1; i < values.length; i++) {
      expect(values[i]).toBe(0xffff - pitClocksIn(i * 100_000));
    }
  });

  it('a latched count is frozen until read, and a second latch is ignored', () => {
    const { clock, pit } = setup();
    program(pit, CH0, 0x34, 10_000);
    clock.advanceTo(pitNsForClocks(1_000));
    pit.write(CTRL, 1, 0x00);
    clock.advanceTo(pitNsForClocks(3_000));
    pit.write(CTRL, 1, 0x00);
    expect(readLoHi(pit, CH0)).toBe(9_000);
    expect(readLoHi(pit, CH0)).toBe(7_000); // latch released: live again
  });

  it('read-back latches status (with NULL COUNT) before the count', () => {
    const { clock, pit } = setup();
    program(pit, CH0, 0x34, 1_000);
    pit.write(CTRL, 1, 0xe2); // status only, channel 0
    expect(pit.read(CH0, 1)).toBe(0x80 | 0x40 | 0x30 | 0x04); // OUT high, null count, lohi, mode 2
    clock.advanceTo(pitNsForClocks(250));
    pit.write(CTRL, 1, 0xc2); // count and status, channel 0
    expect(pit.read(CH0, 1)).toBe(0x80 | 0x30 | 0x04); // count now loaded
    expect(readLoHi(pit, CH0)).toBe(750);
    clock.advanceTo(pitNsForClocks(255));
    pit.write(CTRL, 1, 0xd2); // count only
    clock.advanceTo(pitNsForClocks(260));
    expect(readLoHi(pit, CH0)).toBe(745); // the value at the command, not at the read
    expect(readLoHi(pit, CH0)).toBe(740);
  });

  it('mode 3 square wave is high for ceil(N/2) and low for floor(N/2) clocks', () => {
    const { clock, pit, irq } = setup();
    program(pit, CH0, 0x36, 5);
    const r0 = irq.rises.length;
    const f0 = irq.falls.length;
    clock.advanceTo(pitNsForClocks(50));
    expect(irq.rises.slice(r0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => pitNsForClocks(5 * k)));
    expect(irq.falls.slice(f0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => pitNsForClocks(5 * k + 3)));
    program(pit, CH0, 0x36, 1000);
    const t = clock.nowNs();
    clock.advanceTo(t + pitNsForClocks(499));
    expect(pit.output(0)).toBe(true);
    expect(readLoHi(pit, CH0)).toBe(1000 - 2 * 499);
    clock.advanceTo(t + pitNsForClocks(500));
    expect(pit.output(0)).toBe(false);
  });

  it('reprogramming channel 0 cancels the old timer', () => {
    const { clock, pit, irq } = setup();
    program(pit, CH0, 0x34, 1_000);
    clock.advanceTo(pitNsForClocks(1_500));
    program(pit, CH0, 0x34, 5_000);
    const t = clock.nowNs();
    expect(clock.nextDeadline()).toBe(t + pitNsForClocks(4_999));
    const before = irq.rises.length;
    clock.advanceTo(t + pitNsForClocks(20_000));
    expect(irq.rises.slice(before)).toEqual([1, 2, 3, 4].map((k) => t + pitNsForClocks(5_000 * k)));
    program(pit, CH0, 0x30, 0); // mode 0, as Linux's shutdown: one expiry, then nothing
    const u = clock.nowNs();
    expect(clock.nextDeadline()).toBe(u + pitNsForClocks(0x10000));
    clock.advanceTo(u + pitNsForClocks(0x10000));
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it('mode 4 one-shot (Linux oneshot clockevent) raises IRQ 0 one clock after expiry', () => {
    const { clock, pit, irq } = setup();
    pit.write(CTRL, 1, 0x38);
    const before = irq.rises.length;
    pit.write(CH0, 1, 100);
    pit.write(CH0, 1, 0);
    const t = clock.nowNs();
    clock.advanceBy(1e7);
    expect(irq.rises.slice(before)).toEqual([t + pitNsForClocks(101)]);
    expect(irq.falls.at(-1)).toBe(t + pitNsForClocks(100));
  });

  it('a new mode 2 count takes effect at the end of the current period', () => {
    const { clock, pit, irq } = setup();
    program(pit, CH0, 0x34, 1_000);
    clock.advanceTo(pitNsForClocks(400));
    pit.write(CH0, 1, 2_000 & 0xff);
    pit.write(CH0, 1, 2_000 >> 8);
    const before = irq.rises.length;
    clock.advanceTo(pitNsForClocks(5_000));
    expect(irq.rises.slice(before)).toEqual([1_000, 3_000, 5_000].map(pitNsForClocks));
  });

  it('gate low stops mode 2 counting with OUT high; gate rising reloads', () => {
    const { clock, pit } = setup();
    program(pit, CH2, 0xb4, 1_000);
    clock.advanceTo(pitNsForClocks(100));
    expect(readLoHi(pit, CH2)).toBe(1_000); // gate 2 is low after reset
    pit.port61.write(0, 1, 0x01);
    const t = clock.nowNs();
    clock.advanceTo(t + pitNsForClocks(300));
    expect(readLoHi(pit, CH2)).toBe(700);
    pit.port61.write(0, 1, 0x00);
    clock.advanceBy(1e6);
    expect(readLoHi(pit, CH2)).toBe(700);
    expect(pit.output(2)).toBe(true);
    pit.port61.write(0, 1, 0x01);
    expect(readLoHi(pit, CH2)).toBe(1_000);
  });

  it('mode 1 one-shot is triggered by the gate rising edge and retriggers', () => {
    const { clock, pit } = setup();
    program(pit, CH2, 0xb2, 500);
    expect(pit.output(2)).toBe(true); // armed, not triggered
    pit.port61.write(0, 1, 0x01);
    const t = clock.nowNs();
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(t + pitNsForClocks(400));
    pit.port61.write(0, 1, 0x00);
    pit.port61.write(0, 1, 0x01); // retrigger
    const u = clock.nowNs();
    clock.advanceTo(u + pitNsForClocks(499));
    expect(pit.port61.read(0, 1) & 0x20).toBe(0);
    clock.advanceTo(u + pitNsForClocks(500));
    expect(pit.port61.read(0, 1) & 0x20).toBe(0x20);
  });

  it('counts in BCD when asked', () => {
    const { clock, pit } = setup();
    pit.port61.write(0, 1, 0x01);
    program(pit, CH2, 0xb1, 0x1000); // mode 0, BCD 1000
    clock.advanceTo(pitNsForClocks(1));
    expect(readLoHi(pit, CH2)).toBe(0x0999);
    clock.advanceTo(pitNsForClocks(999));
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(pitNsForClocks(1000));
    expect(pit.output(2)).toBe(true);
    clock.advanceTo(pitNsForClocks(1001));
    expect(readLoHi(pit, CH2)).toBe(0x9999);
  });

  it('LSB-only and MSB-only access modes move a single byte', () => {
    const { clock, pit } = setup();
    pit.port61.write(0, 1, 0x01);
    pit.write(CTRL, 1, 0x90); // channel 2, LSB only, mode 0
    pit.write(CH2, 1, 200);
    clock.advanceTo(pitNsForClocks(50));
    expect(pit.read(CH2, 1)).toBe(150);
    expect(pit.read(CH2, 1)).toBe(150);
    pit.write(CTRL, 1, 0xa0); // MSB only
    pit.write(CH2, 1, 0x02); // count 0x200
    expect(pit.read(CH2, 1)).toBe(0x02);
    clock.advanceTo(clock.nowNs() + pitNsForClocks(257));
    expect(pit.read(CH2, 1)).toBe(0x00); // 0x200 - 257 = 0xff
  });

  it('mode 0 stops counting after the first byte of a new count, with OUT low', () => {
    const { clock, pit } = setup();
    pit.port61.write(0, 1, 0x01);
    program(pit, CH2, 0xb0, 10);
    clock.advanceTo(pitNsForClocks(20));
    expect(pit.output(2)).toBe(true);
    pit.write(CH2, 1, 0x00);
    expect(pit.output(2)).toBe(false);
    clock.advanceTo(pitNsForClocks(100_000));
    expect(pit.output(2)).toBe(false);
  });

  it('port 0x61 bit 4 toggles every 18 PIT clocks', () => {
    const { clock, pit } = setup();
    const bit = (): number => pit.port61.read(0, 1) & 0x10;
    expect(bit()).toBe(0);
    clock.advanceTo(pitNsForClocks(18) - 1);
    expect(bit()).toBe(0);
    clock.advanceTo(pitNsForClocks(18));
    expect(bit()).toBe(0x10);
    clock.advanceTo(pitNsForClocks(36));
    expect(bit()).toBe(0);
  });

  it('the control port reads as floating and is counted', () => {
    const { pit } = setup();
    expect(pit.read(CTRL, 1)).toBe(0xff);
    expect(pit.counters.ignored).toBe(1);
  });

  it('restores a running periodic timer into a new PIT on the same timeline', () => {
    const { clock, pit, irq } = setup();
    program(pit, CH0, 0x34, 1_000);
    clock.advanceTo(pitNsForClocks(2_500));
    const state = pit8254StateSchema.parse(JSON.parse(JSON.stringify(pit.save())));
    const irq2 = new EdgeLog(clock);
    const copy = new Pit8254({ clock, irq0: irq2 });
    copy.restore(state);
    pit.write(CTRL, 1, 0x30); // stop the original's periodic edges
    const before = irq2.rises.length;
    clock.advanceTo(pitNsForClocks(5_000));
    expect(irq2.rises.slice(before)).toEqual([3_000, 4_000, 5_000].map(pitNsForClocks));
    expect(readLoHi(copy, CH0)).toBe(1_000);
    expect(irq.level).toBe(false);
  });
});
