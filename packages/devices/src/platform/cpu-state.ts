/**
 * CpuState: the architectural state of one x86 vCPU, the currency both accelerators
 * exchange (a loader sets it, KVM's KVM_SET_REGS/SREGS or the software CPU applies it,
 * a snapshot saves it). 64-bit quantities are bigint: this is a sync path, not a hot one.
 */

/** General-purpose registers in x86 encoding order (ModRM reg numbers). */
export const Gpr = {
  RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
} as const;

/** A segment register with its hidden descriptor cache (the fields of struct kvm_segment). */
export interface SegmentState {
  selector: number;
  base: bigint;
  /** Byte-granular limit (already scaled when G=1). */
  limit: number;
  /** Descriptor type field (4 bits): 0xb = execute/read accessed code, 0x3 = read/write accessed data. */
  type: number;
  present: boolean;
  dpl: number;
  /** D/B: default operand size 32 bits. */
  db: boolean;
  /** S: code/data (true) or system (false) descriptor. */
  s: boolean;
  /** L: 64-bit code segment. */
  l: boolean;
  g: boolean;
  avl: boolean;
  unusable: boolean;
}

export interface DescriptorTableState {
  base: bigint;
  limit: number;
}

export interface CpuState {
  /** 16 GPRs in encoding order; see Gpr. */
  gpr: bigint[];
  rip: bigint;
  rflags: bigint;
  cs: SegmentState;
  ds: SegmentState;
  es: SegmentState;
  fs: SegmentState;
  gs: SegmentState;
  ss: SegmentState;
  tr: SegmentState;
  ldt: SegmentState;
  gdt: DescriptorTableState;
  idt: DescriptorTableState;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
}

export const CR0_PE = 1n << 0n;
export const CR0_ET = 1n << 4n;
export const CR0_NE = 1n << 5n;
export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;
export const CR4_PAE = 1n << 5n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
/** Bit 1 of RFLAGS is reserved and always reads as one. */
export const RFLAGS_FIXED = 0x2n;
export const RFLAGS_IF = 0x200n;
/** IA32_APIC_BASE at reset: 0xfee00000, enabled, bootstrap processor. */
export const APIC_BASE_DEFAULT = 0xfee00000n | (1n << 11n) | (1n << 8n);

/** A real-mode segment: base = selector * 16, 64 KiB limit, read/write (or code). */
export function realModeSegment(selector: number, code = false): SegmentState {
  return {
    selector, base: BigInt(selector) << 4n, limit: 0xffff, type: code ? 0xb : 0x3,
    present: true, dpl: 0, db: false, s: true, l: false, g: false, avl: false, unusable: false,
  };
}

/** A flat 4 GiB 32-bit segment for protected-mode entry (Multiboot, Linux 32-bit boot). */
export function flatSegment32(selector: number, code: boolean): SegmentState {
  return {
    selector, base: 0n, limit: 0xffffffff, type: code ? 0xb : 0x3,
    present: true, dpl: 0, db: true, s: true, l: false, g: true, avl: false, unusable: false,
  };
}

/** A 64-bit code segment (L=1, D=0) or a flat data segment for long mode. */
export function flatSegment64(selector: number, code: boolean): SegmentState {
  return { ...flatSegment32(selector, code), db: !code, l: code };
}

/** The state of a CPU after RESET (SDM Vol. 3, 9.1.1): real mode at F000:FFF0. */
export function resetCpuState(): CpuState {
  const data = realModeSegment(0);
  const cs: SegmentState = { ...realModeSegment(0xf000, true), base: 0xffff0000n };
  return {
    gpr: new Array<bigint>(16).fill(0n),
    rip: 0xfff0n,
    rflags: RFLAGS_FIXED,
    cs,
    ds: { ...data },
    es: { ...data },
    fs: { ...data },
    gs: { ...data },
    ss: { ...data },
    tr: { ...data, type: 0xb, s: false },
    ldt: { ...data, type: 0x2, s: false },
    gdt: { base: 0n, limit: 0xffff },
    idt: { base: 0n, limit: 0xffff },
    cr0: CR0_ET | 0x60000000n,
    cr2: 0n,
    cr3: 0n,
    cr4: 0n,
    cr8: 0n,
    efer: 0n,
    apicBase: APIC_BASE_DEFAULT,
  };
}

/** A reset CPU placed directly in flat 32-bit protected mode at `entry` (paging off, IF=0). */
export function protectedModeEntryState(entry: number): CpuState {
  const s = resetCpuState();
  s.cs = flatSegment32(0x10, true);
  for (const seg of ['ds', 'es', 'fs', 'gs', 'ss'] as const) s[seg] = flatSegment32(0x18, false);
  s.tr = { ...flatSegment32(0, false), limit: 0xffff, g: false, db: false, type: 0xb, s: false };
  s.cr0 = CR0_PE | CR0_ET;
  s.rip = BigInt(entry >>> 0);
  return s;
}
