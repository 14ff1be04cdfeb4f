/**
 * struct kvm_run (include/uapi/linux/kvm.h): the page(s) shared between KVM and user
 * space, mapped from the vCPU fd (KVM_GET_VCPU_MMAP_SIZE bytes: the struct, then the
 * port-I/O data page, then the coalesced-MMIO ring). User space reads why KVM_RUN
 * returned and writes its answers and requests here.
 *
 * KvmRun reads fields in place through a DataView (no copies on the exit hot path).
 * Offsets, checked against the kernel header:
 *   0 request_interrupt_window  u8   in: exit as soon as an interrupt can be injected
 *   1 immediate_exit            u8   in: KVM_RUN returns -EINTR without entering the guest
 *   8 exit_reason               u32  out: KVM_EXIT_*
 *  12 ready_for_interrupt_injection u8 out: KVM_INTERRUPT would be accepted now
 *  13 if_flag                   u8   out: RFLAGS.IF (valid without an in-kernel LAPIC)
 *  14 flags                     u16
 *  16 cr8, 24 apic_base         u64
 *  32 the exit union (256 bytes):
 *     io:           u8 direction, u8 size, u16 port, u32 count, u64 data_offset
 *                   (data sits at data_offset inside this mapping: count * size bytes)
 *     mmio:         u64 phys_addr, u8 data[8], u32 len, u8 is_write
 *     fail_entry:   u64 hardware_entry_failure_reason, u32 cpu
 *     hw (UNKNOWN): u64 hardware_exit_reason
 *     ex:           u32 exception, u32 error_code
 *     internal:     u32 suberror, u32 ndata, u64 data[16]
 *     system_event: u32 type, u32 ndata, u64 data[16]
 * 288 kvm_valid_regs, 296 kvm_dirty_regs, 304 the sync-regs union (2048 bytes).
 */

export const KvmRunOffset = {
  requestInterruptWindow: 0,
  immediateExit: 1,
  exitReason: 8,
  readyForInterruptInjection: 12,
  ifFlag: 13,
  flags: 14,
  cr8: 16,
  apicBase: 24,
  exit: 32,
  ioDirection: 32,
  ioSize: 33,
  ioPort: 34,
  ioCount: 36,
  ioDataOffset: 40,
  mmioPhysAddr: 32,
  mmioData: 40,
  mmioLen: 48,
  mmioIsWrite: 52,
  failEntryReason: 32,
  failEntryCpu: 40,
  hwExitReason: 32,
  exException: 32,
  exErrorCode: 36,
  internalSuberror: 32,
  internalNdata: 36,
  internalData: 40,
  systemEventType: 32,
  systemEventNdata: 36,
  systemEventData: 40,
  kvmValidRegs: 288,
  kvmDirtyRegs: 296,
  syncRegs: 304,
} as const;

/** sizeof(struct kvm_run) on x86-64. The mapping is larger (KVM_GET_VCPU_MMAP_SIZE). */
export const KVM_RUN_SIZE = 2352;

/** Exit reasons (KVM_EXIT_*). */
export const KvmExit = {
  KVM_EXIT_UNKNOWN: 0,
  KVM_EXIT_EXCEPTION: 1,
  KVM_EXIT_IO: 2,
  KVM_EXIT_HYPERCALL: 3,
  KVM_EXIT_DEBUG: 4,
  KVM_EXIT_HLT: 5,
  KVM_EXIT_MMIO: 6,
  KVM_EXIT_IRQ_WINDOW_OPEN: 7,
  KVM_EXIT_SHUTDOWN: 8,
  KVM_EXIT_FAIL_ENTRY: 9,
  KVM_EXIT_INTR: 10,
  KVM_EXIT_SET_TPR: 11,
  KVM_EXIT_TPR_ACCESS: 12,
  KVM_EXIT_NMI: 16,
  KVM_EXIT_INTERNAL_ERROR: 17,
  KVM_EXIT_WATCHDOG: 21,
  KVM_EXIT_SYSTEM_EVENT: 24,
  KVM_EXIT_IOAPIC_EOI: 26,
  KVM_EXIT_HYPERV: 27,
  KVM_EXIT_X86_RDMSR: 29,
  KVM_EXIT_X86_WRMSR: 30,
  KVM_EXIT_DIRTY_RING_FULL: 31,
  KVM_EXIT_AP_RESET_HOLD: 32,
  KVM_EXIT_X86_BUS_LOCK: 33,
  KVM_EXIT_XEN: 34,
  KVM_EXIT_NOTIFY: 37,
  KVM_EXIT_MEMORY_FAULT: 39,
} as const;

/** Short name of an exit reason ("IO", "HLT", ...), as kvm_stat prints them. */
export function exitReasonName(reason: number): string {
  for (const [name, value] of Object.entries(KvmExit)) if (value === reason) return name.slice('KVM_EXIT_'.length);
  return `EXIT_${reason}`;
}

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_CRASH = 3;

export const KVM_INTERNAL_ERROR_EMULATION = 1;
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2;
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3;
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;

/** The internal/system_event data arrays hold at most 16 words. */
const MAX_DATA_WORDS = 16;

/** A live view of one vCPU's kvm_run mapping. */
export class KvmRun {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  constructor(bytes: Uint8Array) {
    if (bytes.byteLength < KVM_RUN_SIZE) throw new RangeError(`kvm_run needs ${KVM_RUN_SIZE} bytes, got ${bytes.byteLength}`);
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get requestInterruptWindow(): number {
    return this.bytes[KvmRunOffset.requestInterruptWindow];
  }
  set requestInterruptWindow(v: number) {
    this.bytes[KvmRunOffset.requestInterruptWindow] = v ? 1 : 0;
  }
  /**
   * Written by another thread to kick this vCPU, so both sides use sequentially
   * consistent Atomics: clearing it must not be reordered after reading the control word.
   */
  get immediateExit(): number {
    return Atomics.load(this.bytes, KvmRunOffset.immediateExit);
  }
  set immediateExit(v: number) {
    Atomics.store(this.bytes, KvmRunOffset.immediateExit, v ? 1 : 0);
  }
  get exitReason(): number {
    return this.dv.getUint32(KvmRunOffset.exitReason, true);
  }
  get readyForInterruptInjection(): number {
    return this.bytes[KvmRunOffset.readyForInterruptInjection];
  }
  get ifFlag(): number {
    return this.bytes[KvmRunOffset.ifFlag];
  }
  get flags(): number {
    return this.dv.getUint16(KvmRunOffset.flags, true);
  }
  get cr8(): bigint {
    return this.dv.getBigUint64(KvmRunOffset.cr8, true);
  }
  get apicBase(): bigint {
    return this.dv.getBigUint64(KvmRunOffset.apicBase, true);
  }

  // KVM_EXIT_IO
  get ioDirection(): number {
    return this.bytes[KvmRunOffset.ioDirection];
  }
  get ioSize(): number {
    return this.bytes[KvmRunOffset.ioSize];
  }
  get ioPort(): number {
    return this.dv.getUint16(KvmRunOffset.ioPort, true);
  }
  get ioCount(): number {
    return this.dv.getUint32(KvmRunOffset.ioCount, true);
  }
  /** data_offset is a u64; it always points inside the mapping, so a number is exact. */
  get ioDataOffset(): number {
    return this.dv.getUint32(KvmRunOffset.ioDataOffset, true) + this.dv.getUint32(KvmRunOffset.ioDataOffset + 4, true) * 2 ** 32;
  }
  /** The count * size bytes of port data, in place: fill it for IN, read it for OUT. */
  ioData(): Uint8Array {
    const start = this.ioDataOffset;
    const length = this.ioSize * this.ioCount;
    if (start + length > this.bytes.byteLength) throw new RangeError(`KVM_EXIT_IO data [${start}, +${length}) is outside the run mapping`);
    return this.bytes.subarray(start, start + length);
  }

  // KVM_EXIT_MMIO
  /** Guest-physical addresses are below 2**52, so a number is exact. */
  get mmioPhysAddr(): number {
    return this.dv.getUint32(KvmRunOffset.mmioPhysAddr, true) + this.dv.getUint32(KvmRunOffset.mmioPhysAddr + 4, true) * 2 ** 32;
  }
  get mmioLen(): number {
    return this.dv.getUint32(KvmRunOffset.mmioLen, true);
  }
  get mmioIsWrite(): number {
    return this.bytes[KvmRunOffset.mmioIsWrite];
  }
  /** The len (<= 8) data bytes, in place: fill them for a read. */
  mmioData(): Uint8Array {
    const len = Math.min(this.mmioLen, 8);
    return this.bytes.subarray(KvmRunOffset.mmioData, KvmRunOffset.mmioData + len);
  }

  // KVM_EXIT_FAIL_ENTRY / KVM_EXIT_UNKNOWN / KVM_EXIT_EXCEPTION
  get hardwareEntryFailureReason(): bigint {
    return this.dv.getBigUint64(KvmRunOffset.failEntryReason, true);
  }
  get failEntryCpu(): number {
    return this.dv.getUint32(KvmRunOffset.failEntryCpu, true);
  }
  get hardwareExitReason(): bigint {
    return this.dv.getBigUint64(KvmRunOffset.hwExitReason, true);
  }
  get exception(): number {
    return this.dv.getUint32(KvmRunOffset.exException, true);
  }
  get errorCode(): number {
    return this.dv.getUint32(KvmRunOffset.exErrorCode, true);
  }

  // KVM_EXIT_INTERNAL_ERROR
  get internalSuberror(): number {
    return this.dv.getUint32(KvmRunOffset.internalSuberror, true);
  }
  internalData(): bigint[] {
    return this.words(KvmRunOffset.internalNdata, KvmRunOffset.internalData);
  }

  // KVM_EXIT_SYSTEM_EVENT
  get systemEventType(): number {
    return this.dv.getUint32(KvmRunOffset.systemEventType, true);
  }
  systemEventData(): bigint[] {
    return this.words(KvmRunOffset.systemEventNdata, KvmRunOffset.systemEventData);
  }

  private words(ndataAt: number, dataAt: number): bigint[] {
    const n = Math.min(this.dv.getUint32(ndataAt, true), MAX_DATA_WORDS);
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(this.dv.getBigUint64(dataAt + 8 * i, true));
    return out;
  }
}
