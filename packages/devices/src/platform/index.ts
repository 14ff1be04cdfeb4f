// The platform contracts: everything an accelerator and a device agree on.
import './webassembly-types.js';
export { GuestMemoryError, BusError } from './errors.js';
export { createSharedRamBacking, WASM_SCRATCH_BYTES, type RamBacking, type WasmRam } from './ram-backing.js';
export { GuestMemory, type RamRegion } from './guest-memory.js';
export { IoBus, createPortBus, createMmioBus, type AccessSize, type IoDevice, type IoRange, type BusCounters } from './io-bus.js';
export { pulse, RecordingIrqLine, NO_IRQ, type IrqLine, type InterruptSource } from './irq.js';
export { ManualClock, type Clock, type Timer } from './clock.js';
export {
  Gpr, realModeSegment, flatSegment32, flatSegment64, resetCpuState, protectedModeEntryState,
  CR0_PE, CR0_ET, CR0_NE, CR0_WP, CR0_PG, CR4_PAE, EFER_LME, EFER_LMA, RFLAGS_FIXED, RFLAGS_IF, APIC_BASE_DEFAULT,
  type CpuState, type SegmentState, type DescriptorTableState,
} from './cpu-state.js';
export type { Accelerator, AccelKind, MachineBinding, MachineEvent, Vcpu, VcpuRunState, ExitStatRow } from './accelerator.js';
export type { Persistable } from './persist.js';
export { WIDE_ZERO } from './wide-zero.js';
