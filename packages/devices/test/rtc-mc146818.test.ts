import { describe, expect, it } from 'vitest';
import { RtcMc146818, rtcMc146818StateSchema } from '../src/rtc-mc146818.js';
import { ManualClock, RecordingIrqLine } from '../src/platform/index.js';

/** Saturday 14 March 2026, 15:09:26 UTC. */
const EPOCH = Date.UTC(2026, 2, 14, 15, 9, 26);
const UIP_HOLD_NS = (8 * 1e9) / 32768;

function setup(epochMs = EPOCH): { clock: ManualClock; rtc: RtcMc146818; irq: RecordingIrqLine } {
  const clock = new ManualClock(epochMs);
  const irq = new RecordingIrqLine();
  const rtc = new RtcMc146818({ clock, irq8: irq });
  return { clock, rtc, irq };
}

function rd(rtc: RtcMc146818, index: number): number {
  rtc.write(0, 1, index);
  return rtc.read(1, 1);
}

function wr(rtc: RtcMc146818, index: number, value: number): void {
  rtc.write(0, 1, index);
  rtc.write(1, 1, value);
}

function timeRegs(rtc: RtcMc146818): number[] {
  return [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map((i) => rd(rtc, i));
}

describe('RtcMc146818', () => {
  it('reads the clock epoch as BCD in 24-hour mode after reset', () => {
    const { rtc } = setup();
    // sec, min, hour, day of week (Saturday = 7), date, month, year, century
    expect(timeRegs(rtc)).toEqual([0x26, 0x09, 0x15, 0x07, 0x14, 0x03, 0x26, 0x20]);
    expect(rd(rtc, 0x0a)).toBe(0x26);
    expect(rd(rtc, 0x0b)).toBe(0x02);
    expect(rd(rtc, 0x0d)).toBe(0x80);
  });

  it('reads binary values with DM set, and follows clock time', () => {
    const { clock, rtc } = setup();
    wr(rtc, 0x0b, 0x06);
    expect(timeRegs(rtc)).toEqual([26, 9, 15, 7, 14, 3, 26, 20]);
    clock.advanceTo(8 * 3600e9 + 50 * 60e9 + 34e9); // to 00:00:00 on Sunday 15th
    expect(timeRegs(rtc)).toEqual([0, 0, 0, 1, 15, 3, 26, 20]);
  });

  it('encodes 12-hour mode with the PM flag in bit 7', () => {
    const { clock, rtc } = setup(Date.UTC(2026, 0, 1, 0, 30, 0));
    wr(rtc, 0x0b, 0x00); // BCD, 12-hour
    expect(rd(rtc, 0x04)).toBe(0x12); // 12 AM
    clock.advanceTo(12 * 3600e9);
    expect(rd(rtc, 0x04)).toBe(0x92); // 12 PM
    clock.advanceTo(15 * 3600e9);
    expect(rd(rtc, 0x04)).toBe(0x83); // 3 PM
  });

  it('shows UIP during the last 244 us of each second only', () => {
    const { clock, rtc } = setup(Date.UTC(2026, 0, 1));
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
    clock.advanceTo(1e9 - UIP_HOLD_NS - 1);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
    clock.advanceTo(Math.ceil(1e9 - UIP_HOLD_NS));
    expect(rd(rtc, 0x0a) & 0x80).toBe(0x80);
    clock.advanceTo(1e9 - 1);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0x80);
    clock.advanceTo(1e9);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
    wr(rtc, 0x0b, 0x82); // SET stops updates: no UIP
    clock.advanceTo(2e9 - 1000);
    expect(rd(rtc, 0x0a) & 0x80).toBe(0);
  });

  it('gives 1024 periodic interrupts per second at RS = 6 when the handler reads C', () => {
    const { clock, rtc, irq } = setup();
    wr(rtc, 0x0b, 0x42); // PIE
    let interrupts = 0;
    let flags = 0;
    while (clock.nextDeadline() <= 1e9) {
      clock.advanceTo(clock.nextDeadline());
      if (irq.level) {
        interrupts++;
        flags |= rd(rtc, 0x0c);
        expect(irq.level).toBe(false);
      }
    }
    expect(interrupts).toBe(1024);
    expect(flags & 0xc0).toBe(0xc0);
    expect(irq.rises).toBe(1024);
  });

  it('keeps the periodic interrupt on the 32.768 kHz grid (no drift over 10 s at 8192 Hz)', () => {
    const { clock, rtc, irq } = setup(Date.UTC(2026, 0, 1));
    wr(rtc, 0x0a, 0x23); // RS 3 = 8192 Hz
    wr(rtc, 0x0b, 0x42);
    let last = 0;
    while (clock.nextDeadline() <= 10e9) {
      clock.advanceTo(clock.nextDeadline());
      if (irq.level) {
        last = clock.nowNs();
        rd(rtc, 0x0c);
      }
    }
    expect(irq.rises).toBe(81920);
    expect(last).toBe(10e9);
  });

  it('without an interrupt handler, IRQ 8 stays high and gives one edge', () => {
    const { clock, rtc, irq } = setup();
    wr(rtc, 0x0a, 0x2f); // 2 Hz
    wr(rtc, 0x0b, 0x42);
    clock.advanceBy(3e9);
    expect(irq.rises).toBe(1);
    expect(irq.level).toBe(true);
    expect(rd(rtc, 0x0c)).toBe(0xd0); // IRQF | PF, and UF: flags are set whatever the enables
    expect(irq.level).toBe(false);
    expect(rd(rtc, 0x0c)).toBe(0x00);
  });

  it('sets PF without PIE and without raising IRQ 8', () => {
    const { clock, rtc, irq } = setup(Date.UTC(2026, 0, 1));
    wr(rtc, 0x0a, 0x2f); // 2 Hz, PIE off
    clock.advanceTo(0.4e9);
    expect(rd(rtc, 0x0c) & 0x40).toBe(0);
    clock.advanceTo(0.5e9);
    expect(rd(rtc, 0x0c) & 0x40).toBe(0x40);
    expect(irq.rises).toBe(0);
    expect(clock.nextDeadline()).toBe(1e9); // only the update timer: PF needs no timer
  });

  it('raises the update-ended interrupt once a second at the second boundary', () => {
    const { clock, rtc, irq } = setup(Date.UTC(2026, 0, 1, 0, 0, 0) + 250);
    wr(rtc, 0x0a, 0x20); // no periodic rate, so C holds UF alone
    wr(rtc, 0x0b, 0x12); // UIE
    const times: number[] = [];
    while (clock.nextDeadline() <= 3e9) {
      clock.advanceTo(clock.nextDeadline());
      if (irq.level) {
        times.push(clock.nowNs());
        expect(rd(rtc, 0x0c)).toBe(0x90);
      }
    }
    expect(times).toEqual([0.75e9, 1.75e9, 2.75e9]);
  });

  it('raises the alarm interrupt when the time matches, with 0xC0 as don\'t care', () => {
    const { clock, rtc, irq } = setup(); // 15:09:26
    wr(rtc, 0x0a, 0x20);
    wr(rtc, 0x01, 0x30);
    wr(rtc, 0x03, 0x09);
    wr(rtc, 0x05, 0x15);
    wr(rtc, 0x0b, 0x22); // AIE
    clock.advanceTo(4e9 - 1);
    expect(irq.level).toBe(false);
    clock.advanceTo(4e9); // 15:09:30
    expect(irq.level).toBe(true);
    expect(rd(rtc, 0x0c)).toBe(0xb0); // IRQF | AF | UF
    clock.advanceTo(64e9); // next match would be tomorrow
    expect(irq.level).toBe(false);
    wr(rtc, 0x03, 0xc0); // any minute, hour 15, second 30
    wr(rtc, 0x05, 0xff);
    clock.advanceTo(124e9); // 15:11:30
    expect(irq.rises).toBe(2);
    rd(rtc, 0x0c);
    wr(rtc, 0x01, 0xc0); // everything don't care: every second
    clock.advanceTo(125e9);
    expect(irq.level).toBe(true);
  });

  it('loads a new time while SET is on and runs from it after SET is cleared', () => {
    const { clock, rtc } = setup();
    clock.advanceTo(0.3e9);
    wr(rtc, 0x0b, 0x82 | 0x10); // SET (and UIE, which SET clears)
    expect(rd(rtc, 0x0b)).toBe(0x82);
    const regs: [number, number][] = [[0x00, 0x59], [0x02, 0x59], [0x04, 0x23], [0x07, 0x31], [0x08, 0x12], [0x09, 0x99], [0x32, 0x19]];
    for (const [i, v] of regs) wr(rtc, i, v);
    clock.advanceTo(5e9); // frozen while SET
    expect(rd(rtc, 0x00)).toBe(0x59);
    wr(rtc, 0x0b, 0x02);
    expect(timeRegs(rtc)).toEqual([0x59, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19]); // a Friday
    expect(rtc.guestTimeMs()).toBe(Date.UTC(1999, 11, 31, 23, 59, 59));
    clock.advanceTo(6e9); // the sub-second phase was kept: the next update is at 6 s
    expect(timeRegs(rtc)).toEqual([0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]);
  });

  it('a time register written while running moves the clock at once', () => {
    const { clock, rtc } = setup();
    wr(rtc, 0x02, 0x45);
    expect(timeRegs(rtc).slice(0, 3)).toEqual([0x26, 0x45, 0x15]);
    clock.advanceTo(1e9);
    expect(timeRegs(rtc).slice(0, 3)).toEqual([0x27, 0x45, 0x15]);
  });

  it('holds time with the divider in reset and updates half a second after release', () => {
    const { clock, rtc, irq } = setup();
    wr(rtc, 0x0a, 0x70);
    clock.advanceTo(10e9);
    expect(rd(rtc, 0x00)).toBe(0x26);
    wr(rtc, 0x0a, 0x26);
    wr(rtc, 0x0b, 0x12);
    clock.advanceTo(10.5e9 - 1);
    expect(irq.level).toBe(false);
    clock.advanceTo(10.5e9);
    expect(irq.level).toBe(true);
    expect(rd(rtc, 0x00)).toBe(0x27);
  });

  it('ignores the NMI-disable bit when indexing and remembers it', () => {
    const { rtc } = setup();
    rtc.write(0, 1, 0x80 | 0x0a);
    expect(rtc.read(1, 1)).toBe(0x26);
    expect(rtc.nmiDisabled).toBe(true);
    rtc.write(0, 1, 0x0d);
    expect(rtc.read(1, 1)).toBe(0x80);
    expect(rtc.nmiDisabled).toBe(false);
    expect(rtc.read(0, 1)).toBe(0xff);
  });

  it('registers C and D are read-only and writes to them are counted', () => {
    const { rtc } = setup();
    wr(rtc, 0x0c, 0xff);
    wr(rtc, 0x0d, 0x00);
    expect(rd(rtc, 0x0c)).toBe(0);
    expect(rd(rtc, 0x0d)).toBe(0x80);
    expect(rtc.counters.ignored).toBe(2);
  });

  it('fills the memory size bytes as QEMU does', () => {
    const { rtc } = setup();
    rtc.setMemorySize(0xc000_0000, 0x1_4000_0000); // 3 GiB low, 5 GiB high
    const word = (i: number): number => rd(rtc, i) | (rd(rtc, i + 1) << 8);
    expect(word(0x15)).toBe(640);
    expect(word(0x17)).toBe(0xffff);
    expect(word(0x30)).toBe(0xffff);
    expect(word(0x34)).toBe((0xc000_0000 - 16 * 1024 * 1024) / 65536);
    expect([rd(rtc, 0x5b), rd(rtc, 0x5c), rd(rtc, 0x5d)]).toEqual([0x00, 0x40, 0x01]);
    rtc.setMemorySize(8 * 1024 * 1024, 0);
    expect(word(0x17)).toBe(7 * 1024);
    expect(word(0x34)).toBe(0);
    expect(rd(rtc, 0x5d)).toBe(0);
  });

  it('keeps NVRAM bytes written by the guest, the host and the cmos option', () => {
    const clock = new ManualClock(EPOCH);
    const image = new Uint8Array(128).fill(0x5a);
    const rtc = new RtcMc146818({ clock, irq8: new RecordingIrqLine(), cmos: image });
    expect(rd(rtc, 0x7f)).toBe(0x5a);
    expect(rd(rtc, 0x0a)).toBe(0x26); // registers are the clock's, not the image's
    rtc.setCmosByte(0x10, 0x44);
    wr(rtc, 0x11, 0x33);
    expect(rd(rtc, 0x10)).toBe(0x44);
    expect(rtc.getCmosByte(0x11)).toBe(0x33);
  });

  it('restores saved state into a new RTC: NVRAM, guest time offset and pending flags', () => {
    const { clock, rtc } = setup();
    wr(rtc, 0x0b, 0x82);
    wr(rtc, 0x04, 0x01);
    wr(rtc, 0x0b, 0x02);
    wr(rtc, 0x40, 0x99);
    wr(rtc, 0x0a, 0x2f);
    clock.advanceTo(0.6e9);
    const state = rtcMc146818StateSchema.parse(JSON.parse(JSON.stringify(rtc.save())));
    const irq = new RecordingIrqLine();
    const copy = new RtcMc146818({ clock, irq8: irq });
    copy.restore(state);
    expect(timeRegs(copy)).toEqual(timeRegs(rtc));
    expect(rd(copy, 0x04)).toBe(0x01);
    expect(rd(copy, 0x40)).toBe(0x99);
    expect(rd(copy, 0x0c) & 0x40).toBe(0x40); // PF from the 0.5 s tick before the save
    expect(() => copy.restore({ ...state, version: 2 as 1 })).toThrow();
  });
});
