/**
 * CPUID leaf values of a CpuModel, precomputed once into typed arrays so the instruction
 * allocates nothing (SDM Vol. 2A, CPUID).
 *
 * Leaves: 00H (max basic leaf, vendor), 01H (signature, initial APIC ID, features), 02H (cache
 * descriptors), and, when the model has a brand string, 80000000H-80000004H; a long-mode
 * model adds 80000001H:EDX LM|NX and 80000008H (address sizes), so its extended range runs to
 * 80000008H (80000005H-80000007H are zero, as Intel reports them). An input above
 * the highest basic or extended leaf returns the highest basic leaf's data, as Intel parts do
 * ("If a value entered for CPUID.EAX is higher than the maximum input value for basic or
 * extended function for that processor then the data for the highest basic information leaf
 * is returned"). Leaf 07H has sub-leaf 0 only (ECX other than 0 reads zeros); leaves 03H-06H are
 * zero (no serial number, no deterministic cache leaf: leaf 02H describes the caches).
 */
import { CPUID_1_EDX, CPUID_80000001_EDX } from './cpuid-bits.js';
import type { CpuModel } from './cpu-model.js';

export const CPUID_EXTENDED_BASE = 0x80000000;

export interface CpuidTable {
  readonly maxBasicLeaf: number;
  /** Highest extended leaf, or 0 when the model has none. */
  readonly maxExtendedLeaf: number;
  /** Four dwords (EAX, EBX, ECX, EDX) per basic leaf. */
  readonly basic: Int32Array;
  /** Four dwords per extended leaf, from 80000000H. */
  readonly extended: Int32Array;
}

/** The four little-endian dwords of a 16-byte slice of `text` (zero padded). */
function packAscii(text: string, start: number, out: Int32Array, at: number, count: number): void {
  for (let d = 0; d < count; d++) {
    let v = 0;
    for (let b = 0; b < 4; b++) {
      const i = start + d * 4 + b;
      v |= (i < text.length ? text.charCodeAt(i) & 0xff : 0) << (8 * b);
    }
    out[at + d] = v;
  }
}

export function buildCpuidTable(model: CpuModel): CpuidTable {
  const max = model.maxBasicLeaf;
  const basic = new Int32Array(4 * (max + 1));
  // Leaf 0: the vendor string is EBX, EDX, ECX in that order ("Genu" "ineI" "ntel").
  basic[0] = max;
  const vendor = new Int32Array(3);
  packAscii(model.vendor, 0, vendor, 0, 3);
  basic[1] = vendor[0];
  basic[3] = vendor[1];
  basic[2] = vendor[2];
  // Leaf 1: EBX = initial APIC ID in 31:24; brand index, CLFLUSH size and logical count are 0
  // (no brand index on a Pentium II, CLFSH and HTT not claimed).
  basic[4] = model.signature;
  basic[5] = (model.apicId & 0xff) << 24;
  basic[6] = model.featuresEcx;
  basic[7] = model.featuresEdx;
  if (max >= 2) basic.set(model.cacheDescriptors, 8);
  // Leaf 7, sub-leaf 0: EAX = highest sub-leaf (0), EBX = SMEP/SMAP. Other sub-leaves are zero.
  if (max >= 7) basic[29] = model.structuredEbx;

  if (model.brandString === null && !model.longMode) return { maxBasicLeaf: max, maxExtendedLeaf: 0, basic, extended: new Int32Array(0) };
  const top = model.longMode ? 8 : 4;
  const extended = new Int32Array(4 * (top + 1));
  extended[0] = CPUID_EXTENDED_BASE + top;
  // 80000001H: LM and NX on a long-mode model; never SYSCALL or LAHF-SAHF (not implemented).
  if (model.longMode) extended[7] = CPUID_80000001_EDX.LM | CPUID_80000001_EDX.NX | (model.rdtscp ? CPUID_80000001_EDX.RDTSCP : 0);
  // 80000002H-80000004H: the 48-byte brand string, NUL-terminated (zeros without one).
  if (model.brandString !== null) packAscii(model.brandString, 0, extended, 8, 12);
  // 80000008H: EAX[7:0] physical, [15:8] linear address bits.
  if (model.longMode) extended[32] = (model.linearAddrBits << 8) | model.physAddrBits;
  return { maxBasicLeaf: max, maxExtendedLeaf: CPUID_EXTENDED_BASE + top, basic, extended };
}

/**
 * Writes leaf `leaf` (unsigned) into out[0..3] as EAX, EBX, ECX, EDX. `apicEnabled` is
 * IA32_APIC_BASE.EN: with the APIC disabled CPUID.01H:EDX.APIC reads 0 (SDM Vol. 3A, 11.4.3).
 */
export function cpuidQuery(table: CpuidTable, leaf: number, apicEnabled: boolean, out: Int32Array, subleaf = 0): void {
  let src = table.basic;
  let at: number;
  if (leaf <= table.maxBasicLeaf) at = leaf * 4;
  else if (leaf >= CPUID_EXTENDED_BASE && leaf <= table.maxExtendedLeaf) {
    src = table.extended;
    at = (leaf - CPUID_EXTENDED_BASE) * 4;
  } else at = table.maxBasicLeaf * 4;
  out[0] = src[at];
  out[1] = src[at + 1];
  out[2] = src[at + 2];
  out[3] = src[at + 3];
  if (src === table.basic && at === 4 && !apicEnabled) out[3] &= ~CPUID_1_EDX.APIC;
  if (src === table.basic && at === 28 && subleaf !== 0) out.fill(0);
}
