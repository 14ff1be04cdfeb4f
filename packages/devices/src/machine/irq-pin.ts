/**
 * An IrqLine whose far end is connected later. Devices are built with the machine,
 * before the accelerator exists, and only the accelerator knows whether IRQs end at
 * KVM's in-kernel irqchip or at our own PIC; the pin remembers its level and replays
 * it when connected, so an interrupt raised early is not lost.
 */
import type { IrqLine } from '../platform/index.js';

export class IrqPin implements IrqLine {
  private target: IrqLine | null = null;
  level = false;

  setLevel(high: boolean): void {
    this.level = high;
    this.target?.setLevel(high);
  }

  connect(target: IrqLine): void {
    this.target = target;
    if (this.level) target.setLevel(true);
  }
}
