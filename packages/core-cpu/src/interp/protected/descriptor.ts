/**
 * Segment descriptors (SDM Vol. 3, 3.4.5 and 5.x): reading them from the GDT/LDT, decoding
 * base/limit/attributes into the hidden segment cache, setting the accessed bit.
 *
 * Descriptor-table and TSS accesses are implicit supervisor accesses (SDM Vol. 3, 4.6.1):
 * they go straight to the MMU with Priv.IMPLICIT, so they work at CPL 3 and page faults on
 * them carry the supervisor error code. The last descriptor read sits in module scratch
 * (`desc`) rather than a fresh object: nothing here allocates.
 */
import { Priv } from '../../mmu/paging-walk.js';
import type { Mmu } from '../../mmu/mmu.js';
import { Attr, Seg } from '../../state/segment-cache.js';
import { raise } from '../faults.js';
import { PagedLinearMemory } from '../paged-memory.js';
import type { SoftCpu } from '../soft-cpu.js';

/** Descriptor high-dword bits (SDM Vol. 3, Figure 3-8). */
export const D_TYPE_SHIFT = 8;
export const D_S = 1 << 12;
export const D_DPL_SHIFT = 13;
export const D_P = 1 << 15;
export const D_DB = 1 << 22;
export const D_G = 1 << 23;
/** Type bits of code/data descriptors (S = 1). */
export const TYPE_ACCESSED = 1;
export const TYPE_WRITABLE = 2; // data
export const TYPE_READABLE = 2; // code
export const TYPE_EXPAND_DOWN = 4; // data
export const TYPE_CONFORMING = 4; // code
export const TYPE_CODE = 8;
/** System descriptor types (S = 0, SDM Vol. 3, Table 3-2). */
export const SYS_TSS16_AVAIL = 1;
export const SYS_LDT = 2;
export const SYS_TSS16_BUSY = 3;
export const SYS_CALL_GATE16 = 4;
export const SYS_TASK_GATE = 5;
export const SYS_INT_GATE16 = 6;
export const SYS_TRAP_GATE16 = 7;
export const SYS_TSS32_AVAIL = 9;
export const SYS_TSS32_BUSY = 11;
export const SYS_CALL_GATE32 = 12;
export const SYS_INT_GATE32 = 14;
export const SYS_TRAP_GATE32 = 15;

/**
 * The last descriptor read: its two dwords and linear address; `hi2` is the third dword
 * (base 63:32 or gate offset 63:32) of a 16-byte long-mode system descriptor, once read
 * with readDescriptorUpper.
 */
export const desc = { lo: 0, hi: 0, addr: 0, hi2: 0 };

const TWO_32 = 4294967296;

/** A 64-bit base as a linear-address number (hi signed: upper-half addresses are negative). */
export function linearBase(lo: number, hi: number): number {
  return hi * TWO_32 + (lo >>> 0);
}

export function mmuOf(cpu: SoftCpu): Mmu | null {
  if (cpu.mmu) return cpu.mmu;
  return cpu.legacyMem instanceof PagedLinearMemory ? cpu.legacyMem.mmu : null;
}

/** Implicit supervisor reads/writes (descriptor tables, TSS). */
// With an MMU the address is passed as it is: the MMU wraps it to 32 bits in legacy modes and
// takes it as a 48-bit canonical value (negative = upper half) in 4-level paging.
export function sysRead32(cpu: SoftCpu, linear: number): number {
  const m = mmuOf(cpu);
  return m ? m.read32(linear, Priv.IMPLICIT) >>> 0 : cpu.mem.read32(linear >>> 0) >>> 0;
}
export function sysRead16(cpu: SoftCpu, linear: number): number {
  const m = mmuOf(cpu);
  return m ? m.read16(linear, Priv.IMPLICIT) : cpu.mem.read16(linear >>> 0);
}
export function sysWrite8(cpu: SoftCpu, linear: number, v: number): void {
  const m = mmuOf(cpu);
  if (m) m.write8(linear, v & 0xff, Priv.IMPLICIT);
  else cpu.mem.write8(linear >>> 0, v & 0xff);
}
export function sysWrite32(cpu: SoftCpu, linear: number, v: number): void {
  const m = mmuOf(cpu);
  if (m) m.write32(linear, v >>> 0, Priv.IMPLICIT);
  else cpu.mem.write32(linear >>> 0, v >>> 0);
}

/**
 * Reads the descriptor `selector` names into `desc`. Returns false (no fault) when the
 * selector lies outside its table or names the LDT while none is loaded.
 */
export function tryReadDescriptor(cpu: SoftCpu, selector: number): boolean {
  const s = cpu.regs.seg;
  let base: number;
  let limit: number;
  if (selector & 4) {
    if (s.attr[Seg.LDTR] & Attr.Unusable || (s.selector[Seg.LDTR] & 0xfffc) === 0) return false;
    base = linearBase(s.base[Seg.LDTR], s.baseHi[Seg.LDTR]);
    limit = s.limit[Seg.LDTR] >>> 0;
  } else {
    base = linearBase(cpu.regs.gdtBase, cpu.regs.gdtBaseHi);
    limit = cpu.regs.gdtLimit;
  }
  const index = selector & 0xfff8;
  if (index + 7 > limit) return false;
  desc.addr = mmuOf(cpu) ? base + index : (base + index) >>> 0;
  desc.lo = sysRead32(cpu, desc.addr);
  desc.hi = sysRead32(cpu, desc.addr + 4);
  return true;
}

/**
 * Reads the upper half of a 16-byte long-mode system descriptor (LDT, TSS, call gate) whose
 * lower half is in `desc`: its third dword goes to `desc.hi2`. Past the table limit, or with
 * a non-zero type in the upper half (SDM Vol. 3, Figure 7-4), raises #GP(selector).
 */
export function readDescriptorUpper(cpu: SoftCpu, selector: number): void {
  const s = cpu.regs.seg;
  const limit = selector & 4 ? s.limit[Seg.LDTR] >>> 0 : cpu.regs.gdtLimit;
  if ((selector & 0xfff8) + 15 > limit) raise(13, selector & 0xfffc);
  desc.hi2 = sysRead32(cpu, desc.addr + 8) | 0;
  if (sysRead32(cpu, desc.addr + 12) & 0x1f00) raise(13, selector & 0xfffc);
}

/** As tryReadDescriptor, raising `vector`(selector & 0xfffc | ext) when it is out of bounds. */
export function readDescriptor(cpu: SoftCpu, selector: number, vector: number, ext: number): void {
  if (!tryReadDescriptor(cpu, selector)) raise(vector, (selector & 0xfffc) | ext);
}

export const descType = (hi: number): number => (hi >>> D_TYPE_SHIFT) & 0xf;
export const descDpl = (hi: number): number => (hi >>> D_DPL_SHIFT) & 3;
export const isSegment = (hi: number): boolean => (hi & D_S) !== 0;
export const isCode = (hi: number): boolean => (hi & D_S) !== 0 && (hi & (TYPE_CODE << D_TYPE_SHIFT)) !== 0;
export const isPresent = (hi: number): boolean => (hi & D_P) !== 0;

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}

/** Byte-granular limit (G scales by 4 KiB, filling the low 12 bits with ones). */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & D_G ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** Loads the hidden cache of `seg` from `desc` (attributes as in SegmentCache). */
export function loadCache(cpu: SoftCpu, seg: number, selector: number): void {
  const s = cpu.regs.seg;
  const { lo, hi } = desc;
  s.selector[seg] = selector;
  s.base[seg] = descBase(lo, hi) | 0;
  s.baseHi[seg] = 0;
  s.limit[seg] = descLimit(lo, hi) | 0;
  s.attr[seg] = (hi >>> 8) & 0xf0ff;
}

/** A null selector in DS/ES/FS/GS (or LDTR): the register is unusable until reloaded. */
export function loadNull(cpu: SoftCpu, seg: number, selector: number): void {
  const s = cpu.regs.seg;
  s.selector[seg] = selector;
  s.base[seg] = 0;
  s.baseHi[seg] = 0;
  s.limit[seg] = 0;
  s.attr[seg] = Attr.Unusable;
}

/** Sets the accessed bit of a code/data descriptor in memory (a locked write on hardware). */
export function setAccessed(cpu: SoftCpu): void {
  if (desc.hi & (TYPE_ACCESSED << D_TYPE_SHIFT)) return;
  desc.hi |= TYPE_ACCESSED << D_TYPE_SHIFT;
  sysWrite8(cpu, desc.addr + 5, desc.hi >>> 8);
}
