/**
 * Reset Control Register at port 0xCF9 (Intel PIIX/ICH datasheets, "RST_CNT").
 *
 * Bit 1 (SYS_RST) selects a hard reset, bit 2 (RST_CPU) going from 0 to 1 starts
 * the reset. Linux's `reboot=pci` and most firmware reset through here; the other
 * usual paths are the i8042 0xFE command and a triple fault.
 */
import type { AccessSize, IoDevice } from './platform/index.js';

export const RST_CNT_SYS_RST = 1 << 1;
export const RST_CNT_RST_CPU = 1 << 2;

export class ResetControl implements IoDevice {
  readonly name = 'reset-control';
  private value = 0;

  constructor(private readonly onReset: (reason: string) => void) {}

  read(_offset: number, _size: AccessSize): number {
    return this.value;
  }

  write(_offset: number, _size: AccessSize, value: number): void {
    const starting = (value & RST_CNT_RST_CPU) !== 0 && (this.value & RST_CNT_RST_CPU) === 0;
    this.value = value & RST_CNT_SYS_RST;
    if (starting) this.onReset(value & RST_CNT_SYS_RST ? 'hard reset via port 0xcf9' : 'soft reset via port 0xcf9');
  }
}
