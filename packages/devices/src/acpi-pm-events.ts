/**
 * The ACPI PM1a event block (ACPI 6.5 spec, 4.8.3.1): PM1_STS (offset 0) and PM1_EN
 * (offset 2), 16 bits each, at PM1a_EVT_BLK (0x600, as QEMU's PIIX4). Status bits are
 * write-one-to-clear. The machine has no power button or sleep events yet, so the only
 * status source is TMR_STS (the PM timer's bit 23 toggling), latched when the block is
 * accessed; with TMR_EN set it raises the SCI then (not at the toggle itself: Linux leaves
 * TMR_EN clear, so no guest here waits for that interrupt). Linux reads and clears these at
 * ACPI init and on every SCI.
 */
import type { AccessSize, IoDevice, IrqLine, Persistable } from './platform/index.js';
import { z } from 'zod';
import type { AcpiPmTimer } from './acpi-pm-timer.js';

export const PM1_STS_TMR = 1 << 0;
export const PM1_STS_WAK = 1 << 15;
export const PM1_EN_TMR = 1 << 0;
/** Bits of PM1_EN that exist (TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN). */
const PM1_EN_MASK = 0x0521;

export const acpiPmEventsStateSchema = z.object({
  version: z.literal(1),
  status: z.number().int().min(0).max(0xffff),
  enable: z.number().int().min(0).max(0xffff),
  seenOverflows: z.number().int().min(0),
});
export type AcpiPmEventsState = z.infer<typeof acpiPmEventsStateSchema>;

export class AcpiPmEvents implements IoDevice, Persistable<AcpiPmEventsState> {
  readonly name = 'acpi-pm1a-evt';
  readonly persistKey = 'acpi-pm1a-evt';
  private status = 0;
  private enable = 0;
  private seenOverflows = 0;

  constructor(
    private readonly timer: AcpiPmTimer,
    private readonly sci: IrqLine,
  ) {}

  read(offset: number, size: AccessSize): number {
    this.sampleTimer();
    const value = (this.status | (this.enable << 16)) >>> (8 * offset);
    return size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
  }

  write(offset: number, size: AccessSize, value: number): void {
    this.sampleTimer();
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const wide = ((value & mask) * 2 ** (8 * offset)) >>> 0;
    const covered = (mask * 2 ** (8 * offset)) >>> 0;
    if (covered & 0xffff) this.status &= ~(wide & 0xffff);
    if (covered & 0xffff0000) this.enable = ((this.enable & ~(covered >>> 16)) | (wide >>> 16)) & PM1_EN_MASK;
    this.updateSci();
  }

  save(): AcpiPmEventsState {
    return { version: 1, status: this.status, enable: this.enable, seenOverflows: this.seenOverflows };
  }

  restore(state: AcpiPmEventsState): void {
    const s = acpiPmEventsStateSchema.parse(state);
    this.status = s.status;
    this.enable = s.enable;
    this.seenOverflows = s.seenOverflows;
    this.updateSci();
  }

  /** TMR_STS latches when bit 23 of the PM timer has toggled since it was last seen. */
  private sampleTimer(): void {
    const overflows = this.timer.overflows();
    if (overflows !== this.seenOverflows) {
      this.seenOverflows = overflows;
      this.status |= PM1_STS_TMR;
      this.updateSci();
    }
  }

  private updateSci(): void {
    this.sci.setLevel((this.status & this.enable & PM1_EN_MASK) !== 0);
  }
}
