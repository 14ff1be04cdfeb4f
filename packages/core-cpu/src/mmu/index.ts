/**
 * The software MMU: page walks (paging-walk.ts), the software TLB (tlb.ts) and the slow-path
 * facade (mmu.ts).
 *
 * Interpreter fast path, legacy modes (linear address `lin` a 32-bit number, `priv` the
 * current Priv; masks follow CPL/AC/SMAP/SMEP through mmu.setPrivilege):
 *
 *   const e = mmu.entries[lin >>> 12];
 *   // byte read
 *   if ((e & mmu.readMask) === mmu.readExpect) v = mmu.bytes[(e & ~0xfff) | (lin & 0xfff)];
 *   else v = mmu.read8(lin, priv);
 *   // dword write that stays inside the page
 *   if ((e & mmu.writeMask) === mmu.writeExpect && (lin & 0xfff) <= 0xffc) {
 *     view.setUint32((e & ~0xfff) | (lin & 0xfff), v, true);   // view: a DataView on mmu.bytes
 *   } else mmu.write32(lin, v, priv);
 *   // instruction fetch: fetchMask / fetchExpect, slow path mmu.fetch8 or translateFetch
 *
 * 4-level paging (lin a number < 2^48, linHi = bits 47:32): add `mmu.tags[lin >>> 12] === linHi`
 * to the condition. Implicit supervisor accesses (descriptor tables) call the slow path with
 * Priv.IMPLICIT. A miss throws `mmu.fault` (a CpuFault, not an Error) on #PF.
 */
export {
  CpuFault, isCpuFault, VECTOR_PF, PF_P, PF_WR, PF_US, PF_RSVD, PF_ID,
} from './cpu-fault.js';
export { GuestMemoryPhysAccess, type PhysAccess } from './phys-access.js';
export {
  walk, pagingMode, paePdptesValid, accessAllowed, WalkResult, AccessKind, Priv, PagingMode,
  CR0_WP_BIT, CR0_PG_BIT, CR4_PSE_BIT, CR4_PAE_BIT, CR4_PGE_BIT, CR4_SMEP_BIT, CR4_SMAP_BIT,
  EFER_NXE_BIT, EFER_LMA_BIT, PTE_P, PTE_RW, PTE_US, PTE_A, PTE_D, PTE_PS, PTE_G, PTE_HI_XD,
  DEFAULT_MAXPHYADDR_PAE, DEFAULT_MAXPHYADDR_LONG, type PagingContext,
} from './paging-walk.js';
export {
  Tlb, TLB_VALID, TLB_READONLY, TLB_NO_USER, TLB_HAS_CODE, TLB_NOT_RAM, TLB_GLOBAL, TLB_NO_EXEC,
  TLB_SLOTS, TLB_VALID_LIST_CAPACITY, type TlbCounters,
} from './tlb.js';
export { Mmu, type MmuCounters } from './mmu.js';
