/**
 * CPU-state changes the system side makes outside the step loop: CPL (the MMU's
 * user/supervisor masks follow it), CR0/CR4 writes with their #GP rules (SDM Vol. 2,
 * "MOV—Move to/from Control Registers"; Vol. 3, 2.5) and the MMU paging context.
 */
import type { PagingContext } from '../../mmu/paging-walk.js';
import { raise, Vector } from '../faults.js';
import type { PagedLinearMemory } from '../paged-memory.js';
import type { SoftCpu } from '../soft-cpu.js';
import { mmuOf } from './descriptor.js';
import { Attr, Seg } from '../../state/segment-cache.js';

export const CR0_PE = 1;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;
/** PE MP EM TS ET NE WP AM NW CD PG; other CR0[31:0] bits are reserved and ignored on writes. */
const CR0_WRITABLE = 0xe005003f;
/** CR4 bits this CPU has: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT, SMEP SMAP. */
const CR4_VALID = 0x003007ff;
const CR4_PAE = 1 << 5;
const EFER_LME = 1 << 8;
const EFER_LMA = 1 << 10;
const FLAG_AC = 0x40000;

/** Tells the MMU and the memory fast path the current CPL and EFLAGS.AC. */
export function syncPrivilege(cpu: SoftCpu): void {
  const cpl = cpu.regs.cpl;
  mmuOf(cpu)?.setPrivilege(cpl, (cpu.regs.flags.get() & FLAG_AC) !== 0);
  (cpu.mem as PagedLinearMemory).setUser?.(cpl === 3);
}

function pagingContext(cpu: SoftCpu): PagingContext {
  return cpu.regs;
}

/**
 * MOV CR0 / LMSW result: validates, stores, and updates the MMU context. Setting PG with
 * EFER.LME activates IA-32e mode (EFER.LMA), which needs CR4.PAE and a CS without L; clearing
 * PG leaves it, which 64-bit code may not do (SDM Vol. 3, 9.8.5 and "MOV—Move to/from
 * Control Registers").
 */
export function writeCr0(cpu: SoftCpu, value: number): void {
  const r = cpu.regs;
  let v = ((value & CR0_WRITABLE) | CR0_ET) | 0;
  if (v & CR0_PG && !(v & CR0_PE)) raise(Vector.GP, 0);
  if (v & CR0_NW && !(v & CR0_CD)) raise(Vector.GP, 0);
  let efer = r.efer;
  if (v & CR0_PG && !(r.cr0 & CR0_PG) && efer & EFER_LME) {
    if (!(r.cr4 & CR4_PAE) || r.seg.attr[Seg.CS] & Attr.L) raise(Vector.GP, 0);
    efer |= EFER_LMA;
  } else if (!(v & CR0_PG)) {
    if (efer & EFER_LMA && r.seg.attr[Seg.CS] & Attr.L) raise(Vector.GP, 0);
    efer &= ~EFER_LMA;
  }
  v |= 0;
  r.cr0 = v;
  const lmaChanged = ((r.efer ^ efer) & EFER_LMA) !== 0;
  r.efer = efer;
  mmuOf(cpu)?.setPagingContext(pagingContext(cpu));
  syncPrivilege(cpu);
  if (lmaChanged) cpu.syncLongMode();
}

export function writeCr4(cpu: SoftCpu, value: number): void {
  const r = cpu.regs;
  if (value & ~CR4_VALID) raise(Vector.GP, 0);
  if (r.efer & EFER_LMA && !(value & CR4_PAE)) raise(Vector.GP, 0);
  r.cr4 = value | 0;
  mmuOf(cpu)?.setPagingContext(pagingContext(cpu));
}

export function writeCr3(cpu: SoftCpu, value: number, hi = 0): void {
  cpu.regs.cr3 = value | 0;
  cpu.regs.cr3Hi = hi | 0;
  mmuOf(cpu)?.writeCr3(value | 0, hi | 0);
}
