import { describe, expect, it } from 'vitest';
import { AcpiPmEvents, PM1_EN_TMR, PM1_STS_TMR, acpiPmEventsStateSchema } from '../src/acpi-pm-events.js';
import { AcpiPmTimer, PM_TIMER_FREQUENCY_HZ } from '../src/acpi-pm-timer.js';
import { ManualClock, RecordingIrqLine } from '../src/platform/index.js';

describe('ACPI PM timer', () => {
  it('counts at 3.579545 MHz from the machine clock and wraps at 24 bits', () => {
    const clock = new ManualClock();
    const timer = new AcpiPmTimer(clock);
    expect(timer.read(0, 4)).toBe(0);
    clock.advanceTo(1_000_000);
    expect(timer.read(0, 4)).toBe(3579);
    clock.advanceTo(1e9);
    expect(timer.read(0, 4)).toBe(PM_TIMER_FREQUENCY_HZ & 0xffffff);
    clock.advanceTo(10e9);
    expect(timer.read(0, 4)).toBe((10 * PM_TIMER_FREQUENCY_HZ) % 0x1000000);
    expect(timer.read(1, 1)).toBe(((10 * PM_TIMER_FREQUENCY_HZ) % 0x1000000) >>> 8 & 0xff);
  });

  it('is monotonic between wraps over a day of virtual time in uneven steps', () => {
    const clock = new ManualClock();
    const timer = new AcpiPmTimer(clock);
    let last = 0;
    let wraps = 0;
    for (let t = 0; t < 86_400e9; t += 3_333_333_333) {
      clock.advanceTo(t);
      const v = timer.count();
      if (v < last) wraps++;
      last = v;
    }
    expect(wraps).toBe(Math.floor((86_400 * PM_TIMER_FREQUENCY_HZ) / 0x1000000));
  });
});

describe('ACPI PM1a event block', () => {
  it('latches TMR_STS when bit 23 toggles, clears it on a write of one, and raises the SCI only when enabled', () => {
    const clock = new ManualClock();
    const sci = new RecordingIrqLine();
    const ev = new AcpiPmEvents(new AcpiPmTimer(clock), sci);
    expect(ev.read(0, 2)).toBe(0);
    clock.advanceTo(Math.ceil((0x800000 / PM_TIMER_FREQUENCY_HZ) * 1e9) + 1);
    expect(ev.read(0, 2) & PM1_STS_TMR).toBe(PM1_STS_TMR);
    expect(sci.level).toBe(false);
    ev.write(2, 2, PM1_EN_TMR);
    expect(sci.level).toBe(true);
    expect(ev.read(2, 2)).toBe(PM1_EN_TMR);
    ev.write(0, 2, PM1_STS_TMR);
    expect(ev.read(0, 2) & PM1_STS_TMR).toBe(0);
    expect(sci.level).toBe(false);
  });

  it('takes a dword write to status and enable at once, keeps unknown enable bits clear, and restores', () => {
    const clock = new ManualClock();
    const ev = new AcpiPmEvents(new AcpiPmTimer(clock), new RecordingIrqLine());
    ev.write(0, 4, 0xffff_0000);
    expect(ev.read(2, 2)).toBe(0x0521);
    const copy = new AcpiPmEvents(new AcpiPmTimer(clock), new RecordingIrqLine());
    copy.restore(acpiPmEventsStateSchema.parse(JSON.parse(JSON.stringify(ev.save()))));
    expect(copy.read(0, 4) >>> 16).toBe(0x0521);
  });
});
