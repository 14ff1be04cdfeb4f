/**
 * The ACPI power-management timer (ACPI 6.5 spec, 4.8.3.3 "Power Management Timer"): a
 * free-running 24-bit counter at 3.579545 MHz, read as a dword at PM_TMR_BLK (0x608, as
 * QEMU's PIIX4). Linux uses it to calibrate the TSC and as a clocksource ("acpi_pm"). The
 * count is derived from the machine clock, so it runs in virtual time under tcg. The
 * overflow status bit (TMR_STS, on bit 23 toggles) belongs to the PM1 event block, which
 * asks this timer for it.
 */
import type { AccessSize, Clock, IoDevice } from './platform/index.js';

export const PM_TIMER_FREQUENCY_HZ = 3_579_545;
const COUNTER_MASK = 0xffffff;

export class AcpiPmTimer implements IoDevice {
  readonly name = 'acpi-pm-timer';

  constructor(private readonly clock: Clock) {}

  /** The 24-bit count now. */
  count(): number {
    // ns * 3.579545 MHz / 1e9, split so the product stays exact for years of uptime.
    const ns = this.clock.nowNs();
    const ticks = Math.floor(ns / 1e9) * PM_TIMER_FREQUENCY_HZ + Math.floor(((ns % 1e9) * PM_TIMER_FREQUENCY_HZ) / 1e9);
    return ticks & COUNTER_MASK;
  }

  /** Times bit 23 has toggled since the machine started (for TMR_STS). */
  overflows(): number {
    const ns = this.clock.nowNs();
    const ticks = Math.floor(ns / 1e9) * PM_TIMER_FREQUENCY_HZ + Math.floor(((ns % 1e9) * PM_TIMER_FREQUENCY_HZ) / 1e9);
    return Math.floor(ticks / 0x800000);
  }

  read(offset: number, size: AccessSize): number {
    const value = this.count() >>> (8 * offset);
    return size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
  }

  write(): void {
    // Read-only.
  }
}
