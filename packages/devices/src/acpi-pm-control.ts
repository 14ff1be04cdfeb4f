/**
 * ACPI PM1a control register (PM1a_CNT_BLK, ACPI spec 4.8.3.2.1), alone.
 *
 * Writing SLP_EN (bit 13) with SLP_TYP (bits 12:10) = the S5 value puts the machine in
 * soft-off: tsemu powers off. The port (0x604) and S5 = 0 follow QEMU's PIIX4 PM so
 * that guests and ACPI tables written for QEMU's pc machine work unchanged. Only the
 * power-off path lives here; the full PM block arrives with ACPI tables.
 */
import type { AccessSize, IoDevice } from './platform/index.js';

export const PM1_CNT_SLP_EN = 1 << 13;
export const PM1_CNT_SLP_TYP_SHIFT = 10;
/** SLP_TYP value that the \_S5 object of our ACPI tables will name. */
export const SLP_TYP_S5 = 0;
/** SCI_EN: ACPI mode enabled (set at reset: there is no legacy SMI mode to leave). */
export const PM1_CNT_SCI_EN = 1 << 0;

export interface AcpiPmControlOptions {
  onPowerOff: () => void;
}

export class AcpiPmControl implements IoDevice {
  readonly name = 'acpi-pm1a-cnt';
  private control = PM1_CNT_SCI_EN;

  constructor(private readonly options: AcpiPmControlOptions) {}

  read(offset: number, size: AccessSize): number {
    const value = this.control >>> (8 * offset);
    return size === 1 ? value & 0xff : value & 0xffff;
  }

  write(offset: number, size: AccessSize, value: number): void {
    // Byte writes update one half of the 16-bit register.
    const merged = size === 1
      ? (this.control & ~(0xff << (8 * offset))) | ((value & 0xff) << (8 * offset))
      : value & 0xffff;
    const slpTyp = (merged >>> PM1_CNT_SLP_TYP_SHIFT) & 7;
    // SLP_EN is write-only: it triggers the transition and always reads as zero.
    this.control = merged & ~PM1_CNT_SLP_EN;
    if (merged & PM1_CNT_SLP_EN && slpTyp === SLP_TYP_S5) this.options.onPowerOff();
  }
}
