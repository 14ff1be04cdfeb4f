/**
 * The accelerator contract: what runs vCPUs. QEMU draws the same line between
 * accel/tcg and accel/kvm: the accelerator owns vCPU lifecycle and register state;
 * the machine (memory, buses, devices) is handed to it and does not know which
 * accelerator drives it.
 */
import type { CpuState } from './cpu-state.js';
import type { GuestMemory } from './guest-memory.js';
import type { InterruptSource, IrqLine } from './irq.js';
import type { IoBus } from './io-bus.js';

export type AccelKind = 'kvm' | 'tcg';

/** Why the machine stopped running guest code, reported by an accelerator. */
export type MachineEvent =
  /** The guest asked to stop: isa-debug-exit, ACPI power-off, or a test device. */
  | { kind: 'exit'; status: number; reason: string }
  /** Triple fault or a reset request (0xCF9, i8042 0xFE, KVM_SYSTEM_EVENT_RESET). */
  | { kind: 'reset'; reason: string }
  /** The accelerator cannot continue: failed entry, internal error, unhandled exit. */
  | { kind: 'fatal'; message: string };

/** What the machine gives an accelerator. */
export interface MachineBinding {
  readonly memory: GuestMemory;
  readonly pio: IoBus;
  readonly mmio: IoBus;
  /** The user-space interrupt controller (our 8259 pair), used when the irqchip is not in the kernel. */
  readonly interrupts: InterruptSource;
  /** Receives exits, resets and fatal errors. */
  onEvent(event: MachineEvent): void;
}

export type VcpuRunState = 'created' | 'running' | 'paused' | 'halted' | 'stopped';

export interface Vcpu {
  readonly index: number;
  readonly runState: VcpuRunState;
  getState(): Promise<CpuState>;
  setState(state: CpuState): Promise<void>;
}

/** Counters every accelerator reports for --stats. */
export interface ExitStatRow {
  /** "IO", "MMIO", "HLT", "instructions" ... */
  readonly reason: string;
  /** Port or region ("0x3f8 uart-16550"), or "" for the reason's total. */
  readonly where: string;
  readonly count: number;
  /** Time spent handling them, in nanoseconds. */
  readonly timeNs: number;
}

export interface Accelerator {
  readonly kind: AccelKind;
  readonly vcpus: readonly Vcpu[];
  /**
   * Interrupt lines for device IRQs. With an in-kernel irqchip these reach KVM;
   * otherwise the machine wires devices to its own PIC and this is null.
   */
  readonly kernelIrqLines: ((gsi: number) => IrqLine) | null;
  /** Starts (or restarts after a pause) every vCPU. */
  start(): void;
  /** Stops every vCPU at an instruction boundary; resolves when all have stopped. */
  pause(): Promise<void>;
  /** Lets a paused machine run again. */
  resume(): void;
  /** Kicks the vCPUs so they notice a newly raised interrupt line (user irqchip). */
  notifyInterrupt(): void;
  /** Stops the vCPUs for good and releases host resources. */
  destroy(): Promise<void>;
  stats(): readonly ExitStatRow[];
}
