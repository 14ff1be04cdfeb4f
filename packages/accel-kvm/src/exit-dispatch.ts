/**
 * Exit dispatch: why KVM_RUN returned, decoded from the kvm_run page into a tagged union
 * (rust-vmm's `VcpuExit`), and served through an ExitHandler. Pure functions with no KVM
 * and no threads in them, so the tests feed them made-up run pages (Firecracker tests
 * its vCPU exit handling the same way).
 *
 * Facts from Documentation/virt/kvm/api.rst ("The kvm_run structure"):
 * - KVM_EXIT_IO: `count` accesses of `size` bytes to one port (count > 1 for REP INS/OUTS);
 *   the data is at `data_offset` in the run mapping. For IN, user space fills it before
 *   the next KVM_RUN, which completes the instruction.
 * - KVM_EXIT_MMIO: one access of `len` <= 8 bytes; for a read, fill `data`.
 * - KVM_EXIT_SHUTDOWN: the guest triple-faulted; the vCPU needs a reset.
 * - KVM_EXIT_FAIL_ENTRY: VM entry failed (hardware_entry_failure_reason is VMX/SVM specific).
 * - KVM_EXIT_INTERNAL_ERROR: KVM could not emulate or deliver something (suberror + data).
 * - KVM_EXIT_SYSTEM_EVENT: the guest asked for shutdown/reset (e.g. PSCI, Hyper-V), or crashed.
 */
import type { AccessSize, MachineEvent } from '@tsemu/devices/platform';
import {
  KVM_EXIT_IO_OUT, KVM_INTERNAL_ERROR_DELIVERY_EV, KVM_INTERNAL_ERROR_EMULATION, KVM_INTERNAL_ERROR_SIMUL_EX,
  KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
  KvmExit, exitReasonName, type KvmRun,
} from './structs/kvm-run.js';
import { hex } from './trace.js';

export interface IoExit {
  kind: 'io';
  direction: 'in' | 'out';
  port: number;
  size: AccessSize;
  count: number;
  /** count * size bytes inside the run page, little-endian elements. */
  data: Uint8Array;
}

export interface MmioExit {
  kind: 'mmio';
  direction: 'read' | 'write';
  address: number;
  /** 1..8 bytes inside the run page. */
  data: Uint8Array;
}

export type SystemEventType = 'shutdown' | 'reset' | 'crash' | 'other';

export type VcpuExit =
  | IoExit
  | MmioExit
  | { kind: 'hlt' }
  | { kind: 'shutdown' }
  | { kind: 'fail-entry'; hardwareEntryFailureReason: bigint; cpu: number }
  | { kind: 'internal-error'; suberror: number; data: bigint[] }
  | { kind: 'system-event'; type: SystemEventType; typeCode: number; data: bigint[] }
  | { kind: 'irq-window-open' }
  | { kind: 'intr' }
  | { kind: 'unknown'; reason: number; reasonName: string; hardwareExitReason: bigint };

/** Port accesses; IoBus satisfies it. */
export interface PortIo {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

/** MMIO accesses of 1..8 bytes; IoBus satisfies it. */
export interface MmioIo {
  readInto(address: number, data: Uint8Array): void;
  writeFrom(address: number, data: Uint8Array): void;
}

export interface ExitHandler {
  readonly pio: PortIo;
  readonly mmio: MmioIo;
  /** "RIP=0x... CS=0x..." for fatal messages; optional because it costs ioctls. */
  describeCpu?(): string;
}

/** What the vCPU loop does after an exit. */
export type ExitAction =
  | { kind: 'continue' }
  /** HLT without an in-kernel irqchip: wait for an interrupt (or a pause/stop). */
  | { kind: 'halt' }
  /** The machine cannot go on as is: report the event and park the vCPU. */
  | { kind: 'stop'; event: MachineEvent };

const CONTINUE: ExitAction = { kind: 'continue' };
const HALT: ExitAction = { kind: 'halt' };
const INTR: VcpuExit = { kind: 'intr' };
const HLT: VcpuExit = { kind: 'hlt' };
const SHUTDOWN: VcpuExit = { kind: 'shutdown' };
const IRQ_WINDOW_OPEN: VcpuExit = { kind: 'irq-window-open' };

/** The exit KVM_RUN reported, read in place from the run page (data views alias it). */
export function decodeExit(run: KvmRun): VcpuExit {
  const reason = run.exitReason;
  switch (reason) {
    case KvmExit.KVM_EXIT_IO: {
      const size = run.ioSize;
      if (size !== 1 && size !== 2 && size !== 4) break;
      return {
        kind: 'io',
        direction: run.ioDirection === KVM_EXIT_IO_OUT ? 'out' : 'in',
        port: run.ioPort,
        size,
        count: run.ioCount,
        data: run.ioData(),
      };
    }
    case KvmExit.KVM_EXIT_MMIO:
      if (run.mmioLen < 1 || run.mmioLen > 8) break;
      return { kind: 'mmio', direction: run.mmioIsWrite ? 'write' : 'read', address: run.mmioPhysAddr, data: run.mmioData() };
    case KvmExit.KVM_EXIT_HLT:
      return HLT;
    case KvmExit.KVM_EXIT_SHUTDOWN:
      return SHUTDOWN;
    case KvmExit.KVM_EXIT_FAIL_ENTRY:
      return { kind: 'fail-entry', hardwareEntryFailureReason: run.hardwareEntryFailureReason, cpu: run.failEntryCpu };
    case KvmExit.KVM_EXIT_INTERNAL_ERROR:
      return { kind: 'internal-error', suberror: run.internalSuberror, data: run.internalData() };
    case KvmExit.KVM_EXIT_SYSTEM_EVENT: {
      const typeCode = run.systemEventType;
      const type: SystemEventType =
        typeCode === KVM_SYSTEM_EVENT_SHUTDOWN ? 'shutdown'
          : typeCode === KVM_SYSTEM_EVENT_RESET ? 'reset'
            : typeCode === KVM_SYSTEM_EVENT_CRASH ? 'crash'
              : 'other';
      return { kind: 'system-event', type, typeCode, data: run.systemEventData() };
    }
    case KvmExit.KVM_EXIT_IRQ_WINDOW_OPEN:
      return IRQ_WINDOW_OPEN;
    case KvmExit.KVM_EXIT_INTR:
      return INTR;
  }
  return {
    kind: 'unknown',
    reason,
    reasonName: exitReasonName(reason),
    hardwareExitReason: reason === KvmExit.KVM_EXIT_UNKNOWN ? run.hardwareExitReason : 0n,
  };
}

/** Performs the `count` port accesses of an IO exit, in order; IN results land in `data`. */
export function serveIo(exit: IoExit, pio: PortIo): void {
  const { size, port, data } = exit;
  const count = Math.min(exit.count, Math.floor(data.length / size));
  for (let i = 0, at = 0; i < count; i++, at += size) {
    if (exit.direction === 'out') {
      let value = data[at];
      if (size > 1) value |= data[at + 1] << 8;
      if (size > 2) value = (value | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
      pio.write(port, size, value);
    } else {
      const value = pio.read(port, size);
      data[at] = value;
      if (size > 1) data[at + 1] = value >>> 8;
      if (size > 2) {
        data[at + 2] = value >>> 16;
        data[at + 3] = value >>> 24;
      }
    }
  }
}

export function serveMmio(exit: MmioExit, mmio: MmioIo): void {
  if (exit.direction === 'write') mmio.writeFrom(exit.address, exit.data);
  else mmio.readInto(exit.address, exit.data);
}

export const INTERNAL_ERROR_NAMES: Readonly<Record<number, string>> = {
  [KVM_INTERNAL_ERROR_EMULATION]: 'emulation failure',
  [KVM_INTERNAL_ERROR_SIMUL_EX]: 'exception while delivering an exception',
  [KVM_INTERNAL_ERROR_DELIVERY_EV]: 'event delivery failed',
  [KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON]: 'unexpected hardware exit reason',
};

function at(handler: ExitHandler): string {
  const cpu = handler.describeCpu?.();
  return cpu ? ` at ${cpu}` : '';
}

/** Serves one exit and says what the vCPU loop does next. */
export function serveExit(exit: VcpuExit, handler: ExitHandler): ExitAction {
  switch (exit.kind) {
    case 'io':
      serveIo(exit, handler.pio);
      return CONTINUE;
    case 'mmio':
      serveMmio(exit, handler.mmio);
      return CONTINUE;
    case 'hlt':
      return HALT;
    case 'irq-window-open':
    case 'intr':
      return CONTINUE;
    case 'shutdown':
      return { kind: 'stop', event: { kind: 'reset', reason: 'triple fault' } };
    case 'system-event':
      if (exit.type === 'reset') return { kind: 'stop', event: { kind: 'reset', reason: 'guest requested reset (KVM_SYSTEM_EVENT_RESET)' } };
      if (exit.type === 'shutdown') return { kind: 'stop', event: { kind: 'exit', status: 0, reason: 'guest powered off (KVM_SYSTEM_EVENT_SHUTDOWN)' } };
      return {
        kind: 'stop',
        event: { kind: 'fatal', message: `KVM_EXIT_SYSTEM_EVENT ${exit.type === 'crash' ? 'crash' : `type ${exit.typeCode}`}${at(handler)}` },
      };
    case 'fail-entry':
      return {
        kind: 'stop',
        event: {
          kind: 'fatal',
          message: `KVM_EXIT_FAIL_ENTRY: VM entry failed, hardware entry failure reason ${hex(exit.hardwareEntryFailureReason)} on host cpu ${exit.cpu}${at(handler)}`,
        },
      };
    case 'internal-error': {
      const name = INTERNAL_ERROR_NAMES[exit.suberror] ?? 'unknown suberror';
      const data = exit.data.length ? ` data [${exit.data.map(hex).join(' ')}]` : '';
      return {
        kind: 'stop',
        event: { kind: 'fatal', message: `KVM_EXIT_INTERNAL_ERROR suberror ${exit.suberror} (${name})${data}${at(handler)}` },
      };
    }
    case 'unknown': {
      const hw = exit.reason === KvmExit.KVM_EXIT_UNKNOWN ? ` (hardware exit reason ${hex(exit.hardwareExitReason)})` : '';
      return {
        kind: 'stop',
        event: { kind: 'fatal', message: `unhandled KVM exit ${exit.reason} (KVM_EXIT_${exit.reasonName})${hw}${at(handler)}` },
      };
    }
  }
}
