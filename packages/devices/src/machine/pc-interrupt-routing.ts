/**
 * How the PC's ISA interrupt lines reach the I/O APIC beside the 8259 pair, and how the
 * I/O APIC's messages reach the local APIC (the user-space irqchip of tcg and kvm
 * --irqchip=user).
 *
 * Every ISA line drives both controllers, as on a PIIX-based board: the 8259 input of the
 * same number and I/O APIC pin (GSI) of the same number, except IRQ 0, the PIT, which is
 * wired to pin 2 (pin 0 of a real board carries the 8259's INTR, which we leave unconnected,
 * as QEMU does). The MADT says so with its interrupt source override (tables.ts). The guest
 * chooses which path it uses by masking the other: Linux starts on the 8259 and moves to the
 * I/O APIC itself (arch/x86/kernel/apic/io_apic.c, setup_IO_APIC and check_timer).
 */
import type { ApicIpi } from '../local-apic.js';
import type { IoApicMessage } from '../ioapic-82093.js';
import type { IrqLine } from '../platform/index.js';

/** ISA IRQ 0 (the PIT) arrives at this I/O APIC pin (the MADT's interrupt source override). */
export const PIT_GSI = 2;

/** The I/O APIC pin (GSI) an ISA IRQ drives, or -1 for the cascade line, which drives none. */
export function isaIrqToGsi(irq: number): number {
  if (irq === 0) return PIT_GSI;
  if (irq === 2) return -1;
  return irq;
}

/** One interrupt line driving several inputs (the 8259's and the I/O APIC's). */
export class IrqFanout implements IrqLine {
  constructor(private readonly targets: readonly IrqLine[]) {}

  setLevel(high: boolean): void {
    for (const t of this.targets) t.setLevel(high);
  }
}

/** What an I/O APIC message needs from the local APIC it is sent to. */
export interface IoApicTarget {
  matchesDestination(destination: number, mode: 'physical' | 'logical'): boolean;
  receiveIpi(ipi: Pick<ApicIpi, 'deliveryMode' | 'vector' | 'trigger' | 'level'>): void;
}

export interface IoApicRouteCounters {
  /** Messages whose destination selects no CPU of this machine. */
  toNowhere: number;
  /** ExtINT and SMI messages: the 8259 path is LINT0's, SMM does not exist here. */
  unsupported: number;
}

/**
 * Delivers an I/O APIC message on a one-CPU machine: to the CPU's local APIC when the
 * destination selects it (physical ID, or logical flat/cluster match; a broadcast 0xFF
 * selects every CPU in both modes), otherwise nowhere.
 */
export function deliverIoApicMessage(target: IoApicTarget, message: IoApicMessage, counters: IoApicRouteCounters): void {
  if (message.deliveryMode === 'extint' || message.deliveryMode === 'smi') {
    counters.unsupported++;
    return;
  }
  if (!target.matchesDestination(message.destination, message.destinationMode)) {
    counters.toNowhere++;
    return;
  }
  target.receiveIpi({ deliveryMode: message.deliveryMode, vector: message.vector, trigger: message.trigger, level: true });
}
