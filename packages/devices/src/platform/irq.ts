/**
 * Interrupt wiring. A device is handed an IrqLine and drives its level; it never
 * knows whether the line ends at our 8259 model, KVM's in-kernel irqchip
 * (KVM_IRQ_LINE), or a test's recorder (vm-superio's injected Trigger).
 */

/** One interrupt request wire. ISA devices signal an edge by raising then lowering. */
export interface IrqLine {
  setLevel(high: boolean): void;
}

/** Raise then lower: an edge on an edge-triggered ISA line. */
export function pulse(line: IrqLine): void {
  line.setLevel(true);
  line.setLevel(false);
}

/** The CPU-facing side of an interrupt controller that lives in user space (the PIC). */
export interface InterruptSource {
  /** True when the controller asserts INTR to the CPU. */
  hasPendingInterrupt(): boolean;
  /** The INTA cycle: returns the vector to deliver and updates in-service state. */
  acknowledgeInterrupt(): number;
}

/** An IrqLine that only records, for tests and for lines nothing is wired to. */
export class RecordingIrqLine implements IrqLine {
  level = false;
  /** Number of low-to-high transitions seen. */
  rises = 0;
  setLevel(high: boolean): void {
    if (high && !this.level) this.rises++;
    this.level = high;
  }
}

/** A line that goes nowhere. */
export const NO_IRQ: IrqLine = { setLevel() {} };
