/**
 * The model-specific registers of the software CPU that RDMSR/WRMSR reach (SDM Vol. 4,
 * Table 2-2 "IA-32 Architectural MSRs" and the P6 family table), for the MSRs a Linux 686
 * kernel and a BIOS touch on this model. Anything else, and any MSR whose feature CPUID does
 * not claim (MCG_CAP without MCE/MCA, PAT, EFER on a CPU without long mode, APIC_BASE without
 * an APIC), is unimplemented: the access fails and the instruction raises #GP(0). So does a
 * write to a read-only MSR or one that sets a reserved bit.
 *
 * Values are EDX:EAX pairs of 32-bit numbers (no BigInt). IA32_APIC_BASE and EFER live in
 * CpuRegisters (they are part of CpuState); the rest is here and persists on its own.
 */
import { z } from 'zod';
import type { Persistable } from '@tsemu/devices/platform';
import type { CpuRegisters } from '../state/cpu-registers.js';
import type { CpuModel } from './cpu-model.js';

export const MSR = {
  IA32_TIME_STAMP_COUNTER: 0x10,
  IA32_PLATFORM_ID: 0x17,
  IA32_APIC_BASE: 0x1b,
  IA32_BIOS_SIGN_ID: 0x8b,
  IA32_MTRRCAP: 0xfe,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MCG_CAP: 0x179,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_PAT: 0x277,
  IA32_EFER: 0xc0000080,
  IA32_FS_BASE: 0xc0000100,
  IA32_GS_BASE: 0xc0000101,
  IA32_KERNEL_GS_BASE: 0xc0000102,
  IA32_TSC_AUX: 0xc0000103,
} as const;

/** IA32_APIC_BASE fields (SDM Vol. 3A, 11.4.4). */
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_EN = 1 << 11;
/** Writable bits of the low half: BSP, EN, base[31:12]; bits 7:0, 9 and 10 (x2APIC) are reserved. */
const APIC_BASE_LO_MASK = 0xfffff000 | APIC_BASE_BSP | APIC_BASE_EN;
/** MAXPHYADDR is 36 on a PAE P6 without CPUID 80000008H: base bits 35:32 in the high half. */
const APIC_BASE_HI_MASK = 0xf;

/** IA32_MISC_ENABLE fields (SDM Vol. 4, Table 2-2). */
export const MISC_ENABLE_FAST_STRINGS = 1 << 0;
export const MISC_ENABLE_TCC = 1 << 3;
export const MISC_ENABLE_PERFMON_AVAILABLE = 1 << 7;
export const MISC_ENABLE_BTS_UNAVAILABLE = 1 << 11;
export const MISC_ENABLE_PEBS_UNAVAILABLE = 1 << 12;
/** Limit CPUID maxval: CPUID.00H:EAX reports at most 2 (the CPUID handler applies it). */
export const MISC_ENABLE_LIMIT_CPUID = 1 << 22;
const MISC_ENABLE_WRITABLE = MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_TCC | MISC_ENABLE_LIMIT_CPUID;
/** Read-only status bits: a write may carry them (software writes back what it read); they stay. */
const MISC_ENABLE_READ_ONLY = MISC_ENABLE_PERFMON_AVAILABLE | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE;
/** No performance monitoring, no BTS or PEBS; fast strings on, as firmware leaves it. */
const MISC_ENABLE_RESET = MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE;

/** EFER bits an IA-32e model accepts (SCE, LME, NXE); LMA (bit 10) is set by the CPU. */
const EFER_WRITABLE = (1 << 0) | (1 << 8) | (1 << 11);
const EFER_LME = 1 << 8;
const EFER_LMA = 1 << 10;
const CR0_PG = 1 << 31;
const SEG_FS = 4;
const SEG_GS = 5;

/** True when hi:lo is a canonical 48-bit address (bits 63:47 all equal). */
function canonical(hi: number): boolean {
  return ((hi | 0) << 16) >> 16 === (hi | 0);
}

const TWO_32 = 4294967296;

const u32 = z.number().int().min(0).max(0xffffffff);
const msr64 = z.object({ lo: u32, hi: u32 });
export const msrFileStateSchema = z.object({
  version: z.literal(1),
  /** The guest-visible TSC when saved; restoring re-bases it on the new TSC source. */
  tsc: msr64,
  sysenterCs: msr64,
  sysenterEsp: msr64,
  sysenterEip: msr64,
  miscEnable: msr64,
  biosSignId: msr64,
  /** IA32_KERNEL_GS_BASE (long-mode models; absent in states saved before it existed). */
  kernelGsBase: msr64.optional(),
  /** IA32_TSC_AUX (RDTSCP models; absent in states saved before it existed). */
  tscAux: z.number().int().min(0).max(0xffffffff).optional(),
});
export type MsrFileState = z.infer<typeof msrFileStateSchema>;

/** Guest TSC source: a non-negative integer count below 2^53 that never decreases. */
export type TscSource = () => number;

export class MsrFile implements Persistable<MsrFileState> {
  /** EDX:EAX of the last successful `read`. */
  lo = 0;
  hi = 0;
  /** IA32_SYSENTER_CS/ESP/EIP, low and high halves (SYSENTER uses the low halves in legacy mode). */
  sysenterCs = 0;
  sysenterCsHi = 0;
  sysenterEsp = 0;
  sysenterEspHi = 0;
  sysenterEip = 0;
  sysenterEipHi = 0;
  miscEnable = MISC_ENABLE_RESET;
  biosSignIdLo = 0;
  biosSignIdHi = 0;
  /** IA32_KERNEL_GS_BASE: what SWAPGS exchanges with GS.base. */
  kernelGsBase = 0;
  kernelGsBaseHi = 0;
  /** IA32_TSC_AUX: what RDTSCP returns in ECX (bits 63:32 are reserved). */
  tscAux = 0;
  /** Guest TSC = source() + tscOffset. */
  private tscOffset = 0;
  /**
   * When the source counts the CPU's cycles (retired instructions and stall cycles), each cycle
   * adding 2^tscCycleShift: translated code then reads the TSC from a base without a host call
   * (jit/wasm/runtime.ts). -1 when it does not (host time).
   */
  tscCycleShift = -1;
  /** Counted, not thrown: RDMSR/WRMSR of MSRs this model does not have (for traces). */
  unknownAccesses = 0;

  constructor(
    readonly model: CpuModel,
    private readonly regs: CpuRegisters,
    private tscSource: TscSource,
    /** Called after the guest moves or enables/disables its local APIC (the machine remaps the page). */
    private readonly onApicBaseWrite: ((lo: number, hi: number) => void) | null = null,
    readonly persistKey = 'cpu0/msrs',
  ) {}

  /** The guest-visible time-stamp counter. */
  tsc(): number {
    return this.tscSource() + this.tscOffset;
  }

  /** Replaces the TSC source, keeping the guest-visible count continuous (see tscCycleShift for `cycleShift`). */
  setTscSource(source: TscSource, cycleShift = -1): void {
    const now = this.tsc();
    this.tscSource = source;
    this.tscCycleShift = cycleShift;
    this.setTsc(now);
  }

  setTsc(value: number): void {
    this.tscOffset = value - this.tscSource();
  }

  /** CPUID updates IA32_BIOS_SIGN_ID[63:32] with the loaded microcode's revision (SDM Vol. 3A, 10.11.7.1). */
  onCpuid(): void {
    this.biosSignIdHi = this.model.microcodeRevision;
  }

  /** RDMSR: true and EDX:EAX in `hi`:`lo`, or false for #GP(0). `index` is ECX (unsigned). */
  read(index: number): boolean {
    let lo = 0;
    let hi = 0;
    switch (index) {
      case MSR.IA32_TIME_STAMP_COUNTER: {
        const t = this.tsc();
        lo = t >>> 0;
        hi = Math.floor(t / TWO_32) >>> 0;
        break;
      }
      case MSR.IA32_PLATFORM_ID:
        hi = (this.model.platformId & 7) << 18;
        break;
      case MSR.IA32_APIC_BASE:
        if (!this.model.apic) return this.unknown();
        lo = this.regs.apicBase >>> 0;
        hi = this.regs.apicBaseHi >>> 0;
        break;
      case MSR.IA32_BIOS_SIGN_ID:
        lo = this.biosSignIdLo;
        hi = this.biosSignIdHi;
        break;
      case MSR.IA32_MTRRCAP:
        // VCNT = 0, no fixed-range MTRRs, no write-combining type: CPUID does not claim MTRR.
        break;
      case MSR.IA32_SYSENTER_CS:
        lo = this.sysenterCs;
        hi = this.sysenterCsHi;
        break;
      case MSR.IA32_SYSENTER_ESP:
        lo = this.sysenterEsp;
        hi = this.sysenterEspHi;
        break;
      case MSR.IA32_SYSENTER_EIP:
        lo = this.sysenterEip;
        hi = this.sysenterEipHi;
        break;
      case MSR.IA32_MISC_ENABLE:
        lo = this.miscEnable;
        break;
      case MSR.IA32_EFER:
        if (!this.model.longMode) return this.unknown();
        lo = this.regs.efer >>> 0;
        break;
      case MSR.IA32_FS_BASE:
      case MSR.IA32_GS_BASE: {
        if (!this.model.longMode) return this.unknown();
        const seg = index === MSR.IA32_FS_BASE ? SEG_FS : SEG_GS;
        lo = this.regs.seg.base[seg] >>> 0;
        hi = this.regs.seg.baseHi[seg] >>> 0;
        break;
      }
      case MSR.IA32_KERNEL_GS_BASE:
        if (!this.model.longMode) return this.unknown();
        lo = this.kernelGsBase;
        hi = this.kernelGsBaseHi;
        break;
      case MSR.IA32_TSC_AUX:
        if (!this.model.rdtscp) return this.unknown();
        lo = this.tscAux;
        hi = 0;
        break;
      default:
        return this.unknown();
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return true;
  }

  /** WRMSR of EDX:EAX = `hi`:`lo`: true, or false for #GP(0). */
  write(index: number, lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    switch (index) {
      case MSR.IA32_TIME_STAMP_COUNTER:
        this.setTsc(this.model.tscWriteLow32Only ? lo : hi * TWO_32 + lo);
        return true;
      case MSR.IA32_APIC_BASE:
        if (!this.model.apic || lo & ~APIC_BASE_LO_MASK || hi & ~APIC_BASE_HI_MASK) return this.unknown();
        // P6 parts need a reset to re-enable a disabled APIC; later parts do not. tsemu
        // follows the later behaviour, which no P6-era software depends on either way.
        this.regs.apicBase = lo | 0;
        this.regs.apicBaseHi = hi | 0;
        this.onApicBaseWrite?.(lo, hi);
        return true;
      case MSR.IA32_BIOS_SIGN_ID:
        // Software writes 0 here, then runs CPUID, to read the microcode revision.
        this.biosSignIdLo = lo;
        this.biosSignIdHi = hi;
        return true;
      case MSR.IA32_SYSENTER_CS:
        this.sysenterCs = lo;
        this.sysenterCsHi = hi;
        return true;
      case MSR.IA32_SYSENTER_ESP:
        this.sysenterEsp = lo;
        this.sysenterEspHi = hi;
        return true;
      case MSR.IA32_SYSENTER_EIP:
        this.sysenterEip = lo;
        this.sysenterEipHi = hi;
        return true;
      case MSR.IA32_MISC_ENABLE:
        if (hi !== 0 || lo & ~(MISC_ENABLE_WRITABLE | MISC_ENABLE_READ_ONLY)) return this.unknown();
        this.miscEnable = ((this.miscEnable & MISC_ENABLE_READ_ONLY) | (lo & MISC_ENABLE_WRITABLE)) >>> 0;
        return true;
      case MSR.IA32_EFER:
        if (!this.model.longMode || hi !== 0 || lo & ~(EFER_WRITABLE | EFER_LMA)) return this.unknown();
        // LME may not change while paging is on (SDM Vol. 3, 9.8.5); LMA is the CPU's, not written.
        if ((lo ^ this.regs.efer) & EFER_LME && this.regs.cr0 & CR0_PG) return this.unknown();
        this.regs.efer = (lo & EFER_WRITABLE) | (this.regs.efer & EFER_LMA);
        return true;
      case MSR.IA32_FS_BASE:
      case MSR.IA32_GS_BASE: {
        if (!this.model.longMode || !canonical(hi)) return this.unknown();
        const seg = index === MSR.IA32_FS_BASE ? SEG_FS : SEG_GS;
        this.regs.seg.base[seg] = lo | 0;
        this.regs.seg.baseHi[seg] = hi | 0;
        return true;
      }
      case MSR.IA32_KERNEL_GS_BASE:
        if (!this.model.longMode || !canonical(hi)) return this.unknown();
        this.kernelGsBase = lo;
        this.kernelGsBaseHi = hi;
        return true;
      case MSR.IA32_TSC_AUX:
        if (!this.model.rdtscp || hi !== 0) return this.unknown();
        this.tscAux = lo >>> 0;
        return true;
      default:
        // Read-only MSRs (PLATFORM_ID, MTRRCAP) and unimplemented ones.
        return this.unknown();
    }
  }

  private unknown(): false {
    this.unknownAccesses++;
    return false;
  }

  save(): MsrFileState {
    const t = this.tsc();
    return {
      version: 1,
      tsc: { lo: t >>> 0, hi: Math.floor(t / TWO_32) >>> 0 },
      sysenterCs: { lo: this.sysenterCs >>> 0, hi: this.sysenterCsHi >>> 0 },
      sysenterEsp: { lo: this.sysenterEsp >>> 0, hi: this.sysenterEspHi >>> 0 },
      sysenterEip: { lo: this.sysenterEip >>> 0, hi: this.sysenterEipHi >>> 0 },
      miscEnable: { lo: this.miscEnable >>> 0, hi: 0 },
      biosSignId: { lo: this.biosSignIdLo >>> 0, hi: this.biosSignIdHi >>> 0 },
      kernelGsBase: { lo: this.kernelGsBase >>> 0, hi: this.kernelGsBaseHi >>> 0 },
      tscAux: this.tscAux >>> 0,
    };
  }

  restore(state: MsrFileState): void {
    const s = msrFileStateSchema.parse(state);
    this.setTsc(s.tsc.hi * TWO_32 + s.tsc.lo);
    this.sysenterCs = s.sysenterCs.lo;
    this.sysenterCsHi = s.sysenterCs.hi;
    this.sysenterEsp = s.sysenterEsp.lo;
    this.sysenterEspHi = s.sysenterEsp.hi;
    this.sysenterEip = s.sysenterEip.lo;
    this.sysenterEipHi = s.sysenterEip.hi;
    this.miscEnable = s.miscEnable.lo;
    this.biosSignIdLo = s.biosSignId.lo;
    this.biosSignIdHi = s.biosSignId.hi;
    this.kernelGsBase = s.kernelGsBase?.lo ?? 0;
    this.kernelGsBaseHi = s.kernelGsBase?.hi ?? 0;
    this.tscAux = s.tscAux ?? 0;
  }
}
