/**
 * The CPU the software accelerator presents: a P6-class "GenuineIntel" part with the
 * identification of a Pentium II model 5 ("Deschutes", family 6 model 5 stepping 2,
 * signature 0x652) and the subset of its features that tsemu implements.
 *
 * Why this part: it is the first P6 that reports FXSR (FXSAVE/FXRSTOR), which the software
 * CPU issue requires, while staying before SSE. Linux's 686 checks (CX8, CMOV, FPU, TSC,
 * SEP with a model/stepping that is not the Pentium Pro SEP erratum) all pass. A real
 * Deschutes also reports MMX, MTRR, MCE/MCA, PAT and PSE-36; tsemu does not implement those
 * yet, and CPUID never claims what the CPU cannot do, so they are left out (SDM Vol. 2A,
 * CPUID, Table 3-11). MMX/SSE/SSE2 arrive with the x86-64 work, which will use a newer model.
 *
 * FXSR is claimed because FXSAVE/FXRSTOR are part of the same issue; until their handlers
 * exist the guest sees #UD on them. `fxsr: false` hides the bit for a build without them.
 *
 * Long mode: no P6 had it, but the software CPU issue asks for the integer ISA in 16-, 32- and
 * 64-bit code with long-mode entry and 4-level paging, and a guest only enters long mode when
 * CPUID.80000001H:EDX.LM says it may. So this model claims LM and NX (EFER.NXE is honoured by
 * the MMU) with the extended leaves up to 80000008H (address sizes), and nothing else of an
 * x86-64 part: SYSCALL/SYSRET, LAHF/SAHF in 64-bit mode, MMX/SSE/SSE2 stay unclaimed until the
 * interpreter implements them (a later issue), and the family/model stay the Pentium II's.
 * `longMode: false` gives the plain P6 (no EFER, no extended feature leaf).
 */
import { CPUID_1_EDX, CPUID_7_EBX } from './cpuid-bits.js';

export interface CpuModelConfig {
  /** The machine has a local APIC: claim CPUID.01H:EDX.APIC and implement IA32_APIC_BASE. Default true. */
  apic?: boolean;
  /** Initial APIC ID, reported in CPUID.01H:EBX[31:24]. Default 0 (the bootstrap processor). */
  apicId?: number;
  /** Claim FXSR (FXSAVE/FXRSTOR, CR4.OSFXSR). Default true. */
  fxsr?: boolean;
  /**
   * Processor brand string for CPUID 80000002H-80000004H (at most 47 ASCII characters);
   * null leaves out the extended leaves entirely, as a real Pentium II does.
   */
  brandString?: string | null;
  /** Claim long mode and NX (CPUID.80000001H:EDX.LM/NX; EFER and the long-mode MSRs exist). Default true. */
  longMode?: boolean;
  /**
   * Claim SMEP and SMAP (CPUID.07H:EBX; CR4.SMEP/SMAP, STAC/CLAC), which the MMU implements.
   * Default true: kernels use them to keep themselves out of user memory.
   */
  smap?: boolean;
}

export interface CpuModel {
  readonly vendor: string;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  /** CPUID.01H:EAX: stepping[3:0], model[7:4], family[11:8], type[13:12] = 0 (original OEM). */
  readonly signature: number;
  readonly apic: boolean;
  readonly apicId: number;
  /** CPUID.01H:EDX with the APIC bit as if the APIC were enabled (the bit follows IA32_APIC_BASE.EN). */
  readonly featuresEdx: number;
  /** CPUID.01H:ECX: nothing a P6 has is reported there. */
  readonly featuresEcx: number;
  /** Highest basic leaf (CPUID.00H:EAX). */
  readonly maxBasicLeaf: number;
  /** CPUID.02H EAX, EBX, ECX, EDX: cache and TLB descriptors. */
  readonly cacheDescriptors: readonly [number, number, number, number];
  readonly brandString: string | null;
  /** Reported in IA32_BIOS_SIGN_ID[63:32] after a CPUID (the "loaded microcode" revision). */
  readonly microcodeRevision: number;
  /** IA32_PLATFORM_ID[52:50]. */
  readonly platformId: number;
  /** IA-32e capable: EFER, FS/GS/KERNEL_GS_BASE exist; CPUID reports LM and NX. */
  readonly longMode: boolean;
  /** RDTSCP and IA32_TSC_AUX exist (CPUID.80000001H:EDX.RDTSCP): with long mode. */
  readonly rdtscp: boolean;
  /** CPUID.(07H,0):EBX; 0 when the model has no leaf 7. */
  readonly structuredEbx: number;
  /** CPUID.80000008H:EAX[7:0] and [15:8]: physical and linear address widths. */
  readonly physAddrBits: number;
  readonly linearAddrBits: number;
  /**
   * WRMSR to IA32_TSC writes only bits 31:0 and clears 63:32 (P6 and early Pentium 4;
   * SDM Vol. 4, Table 2-2 / Pentium 4 MSR table, IA32_TIME_STAMP_COUNTER).
   */
  readonly tscWriteLow32Only: boolean;
}

/** Pentium II model 5 identification (Intel Pentium II Processor Specification Update, CPUID 0652H). */
export const P6_FAMILY = 6;
export const P6_MODEL_PENTIUM_II_DESCHUTES = 5;
export const P6_STEPPING = 2;

export const DEFAULT_BRAND_STRING = 'tsemu software CPU';

/**
 * Cache and TLB descriptors of a Pentium II with 512 KB L2 (SDM Vol. 2A, CPUID, Table 3-12):
 * AL = 01h (one CPUID(2) call suffices); 01h ITLB 4K 32-entry 4-way; 02h ITLB 4M 2-entry;
 * 03h DTLB 4K 64-entry 4-way; 43h L2 512 KB 4-way 32-byte lines; 08h L1I 16 KB 4-way 32-byte
 * lines; 04h DTLB 4M 8-entry 4-way; 0Ch L1D 16 KB 4-way 32-byte lines.
 */
const PENTIUM_II_CACHE_DESCRIPTORS: readonly [number, number, number, number] = [0x03020101, 0, 0, 0x0c040843];

const E = CPUID_1_EDX;
/** What the software CPU implements; see the file overview for what a real 0652H adds. */
const IMPLEMENTED_EDX = E.FPU | E.DE | E.PSE | E.TSC | E.MSR | E.PAE | E.CX8 | E.SEP | E.PGE | E.CMOV;

export function createCpuModel(config: CpuModelConfig = {}): CpuModel {
  const apic = config.apic ?? true;
  const fxsr = config.fxsr ?? true;
  const apicId = config.apicId ?? 0;
  if (!Number.isInteger(apicId) || apicId < 0 || apicId > 0xff) throw new RangeError(`APIC ID ${apicId} is not 0-255`);
  const brandString = config.brandString === undefined ? DEFAULT_BRAND_STRING : config.brandString;
  if (brandString !== null && (brandString.length > 47 || !/^[\x20-\x7e]*$/.test(brandString))) {
    throw new RangeError('the CPU brand string must be at most 47 printable ASCII characters');
  }
  const family = P6_FAMILY;
  const model = P6_MODEL_PENTIUM_II_DESCHUTES;
  const stepping = P6_STEPPING;
  return {
    vendor: 'GenuineIntel',
    family,
    model,
    stepping,
    signature: (family << 8) | (model << 4) | stepping,
    apic,
    apicId,
    featuresEdx: IMPLEMENTED_EDX | (apic ? E.APIC : 0) | (fxsr ? E.FXSR : 0),
    featuresEcx: 0,
    // Leaf 7 (structured features) exists when there is something to report; 3-6 read as zero.
    maxBasicLeaf: config.smap ?? true ? 7 : 2,
    cacheDescriptors: PENTIUM_II_CACHE_DESCRIPTORS,
    brandString,
    microcodeRevision: 0x2c,
    platformId: 1,
    longMode: config.longMode ?? true,
    rdtscp: config.longMode ?? true,
    structuredEbx: config.smap ?? true ? CPUID_7_EBX.SMEP | CPUID_7_EBX.SMAP : 0,
    // 36 physical bits as the PAE P6 has (IA32_APIC_BASE and PAE entries are masked to them); 48 linear.
    physAddrBits: 36,
    linearAddrBits: 48,
    tscWriteLow32Only: true,
  };
}

/** CR4 bits (SDM Vol. 3A, 2.5). */
export const CR4_BITS = {
  VME: 1 << 0, PVI: 1 << 1, TSD: 1 << 2, DE: 1 << 3, PSE: 1 << 4, PAE: 1 << 5, MCE: 1 << 6, PGE: 1 << 7,
  PCE: 1 << 8, OSFXSR: 1 << 9, OSXMMEXCPT: 1 << 10,
} as const;

/**
 * The CR4 bits a MOV to CR4 may set on this model; any other bit is #GP(0), as on a CPU
 * without the feature. Each bit follows the CPUID flag that announces it; PCE exists on every
 * P6 (RDPMC is a P6 instruction even though CPUID has no flag for it).
 */
export function cr4WritableMask(model: CpuModel): number {
  const f = model.featuresEdx;
  const C = CR4_BITS;
  let m = C.PCE;
  if (f & E.VME) m |= C.VME | C.PVI;
  if (f & E.TSC) m |= C.TSD;
  if (f & E.DE) m |= C.DE;
  if (f & E.PSE) m |= C.PSE;
  if (f & E.PAE) m |= C.PAE;
  if (f & E.MCE) m |= C.MCE;
  if (f & E.PGE) m |= C.PGE;
  if (f & E.FXSR) m |= C.OSFXSR;
  if (f & E.SSE) m |= C.OSXMMEXCPT;
  return m;
}
