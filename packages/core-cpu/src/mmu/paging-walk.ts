/**
 * The x86 page walker: linear address -> guest-physical address for the four paging modes
 * (Intel SDM Vol. 3A, chapter 4): none (CR0.PG=0), 32-bit (4 KiB, and 4 MiB with CR4.PSE),
 * PAE (PDPTE / PD / PT, 2 MiB pages, XD with EFER.NXE) and 4-level (EFER.LMA: 1 GiB pages).
 *
 * Pure apart from the injected PhysAccess: no TLB, no CPU object. The TLB calls it on a miss
 * and caches what it returns, so it reports the page's effective rights (SDM 4.6: R/W and U/S
 * ANDed over all levels, XD ORed) as well as checking the one access it was asked about.
 *
 * Decisions (each visible to a guest only in corner cases):
 * - Linear addresses are numbers. Legacy modes use bits 31:0. 4-level paging uses bits 47:0
 *   (a number < 2^48); the caller checks canonicity and drops bits 63:48, e.g.
 *   `lin = (hi & 0xffff) * 2 ** 32 + (lo >>> 0)`.
 * - MAXPHYADDR is `ctx.maxPhyAddr` when given (the CPU model's CPUID.80000008H:EAX[7:0]);
 *   otherwise 36 in PAE mode (the SDM's value when leaf 80000008H is absent) and 40 in
 *   4-level mode. Physical address bits at or above it in any entry fault with RSVD.
 * - 32-bit paging has no PSE-36: bits 21:13 of a 4 MiB PDE are reserved (RSVD fault).
 * - PAE PDPTEs are read on every walk instead of being latched at MOV CR3; reserved bits in a
 *   present PDPTE give a #PF with RSVD here. The CPU's MOV CR3 should call
 *   `paePdptesValid()` and raise #GP itself, as the SDM requires.
 * - Accessed flags are set on each non-leaf entry as it is used (present, no reserved bits),
 *   before rights are checked; the leaf's A (and D, for writes) only once the access is
 *   allowed, so a faulting access leaves the PTE untouched. QEMU's walker behaves the same.
 */
import type { PhysAccess } from './phys-access.js';
import { PF_ID, PF_P, PF_RSVD, PF_US, PF_WR } from './cpu-fault.js';

// Control-register and EFER bits (SDM Vol. 3A 2.5, 2.2.1), as numbers for the hot path.
export const CR0_WP_BIT = 1 << 16;
export const CR0_PG_BIT = 1 << 31;
export const CR4_PSE_BIT = 1 << 4;
export const CR4_PAE_BIT = 1 << 5;
export const CR4_PGE_BIT = 1 << 7;
export const CR4_SMEP_BIT = 1 << 20;
export const CR4_SMAP_BIT = 1 << 21;
export const EFER_NXE_BIT = 1 << 11;
export const EFER_LMA_BIT = 1 << 10;

// Paging-structure entry bits (SDM Tables 4-4 .. 4-20).
export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
/** XD is bit 63: bit 31 of the high dword. */
export const PTE_HI_XD = 1 << 31;

export const DEFAULT_MAXPHYADDR_PAE = 36;
export const DEFAULT_MAXPHYADDR_LONG = 40;

/** What the access does. */
export const AccessKind = { READ: 0, WRITE: 1, FETCH: 2 } as const;
export type AccessKind = (typeof AccessKind)[keyof typeof AccessKind];

/**
 * Who makes the access (SDM 4.6). SUPERVISOR: CPL < 3, explicit (SMAP honours EFLAGS.AC).
 * USER: CPL 3. IMPLICIT: a supervisor-mode access to a system structure (GDT/LDT/IDT/TSS)
 * whatever the CPL; SMAP applies to it regardless of EFLAGS.AC.
 */
export const Priv = { SUPERVISOR: 0, USER: 1, IMPLICIT: 2 } as const;
export type Priv = (typeof Priv)[keyof typeof Priv];

export const PagingMode = { NONE: 0, BITS32: 1, PAE: 2, LONG4: 3 } as const;
export type PagingMode = (typeof PagingMode)[keyof typeof PagingMode];

/** The registers that steer translation. Values are the low 32 bits (signed or not). */
export interface PagingContext {
  cr0: number;
  cr3: number;
  /** CR3 bits 63:32 (4-level paging only). */
  cr3Hi: number;
  cr4: number;
  efer: number;
  /** Physical-address width; see the file comment for the default. */
  maxPhyAddr?: number;
}

export function pagingMode(ctx: PagingContext): PagingMode {
  if ((ctx.cr0 & CR0_PG_BIT) === 0) return PagingMode.NONE;
  if ((ctx.cr4 & CR4_PAE_BIT) === 0) return PagingMode.BITS32;
  return (ctx.efer & EFER_LMA_BIT) !== 0 ? PagingMode.LONG4 : PagingMode.PAE;
}

/** The walker's answer; one object is reused for every walk (no allocation on a miss). */
export class WalkResult {
  /** Guest-physical address of the addressed byte. */
  phys = 0;
  /** Size of the mapping that translated it: 4 KiB, 4 MiB, 2 MiB or 1 GiB. */
  pageSize = 4096;
  /** Effective rights of the mapping (not of this access). */
  writable = false;
  user = false;
  executable = false;
  /** G set in the leaf and CR4.PGE on. */
  global = false;
  /** The leaf's D flag is set (after this walk's own update). */
  dirty = false;
  /** When the walk failed: the #PF error code (SDM 4.7). */
  errorCode = 0;
}

const TWO_32 = 4294967296;

function identity(linear: number, out: WalkResult): true {
  out.phys = linear >>> 0;
  out.pageSize = 4096;
  out.writable = out.user = out.executable = out.dirty = true;
  out.global = false;
  out.errorCode = 0;
  return true;
}

function faultCode(kind: AccessKind, priv: Priv, ctx: PagingContext, base: number): number {
  let code = base;
  if (kind === AccessKind.WRITE) code |= PF_WR;
  if (priv === Priv.USER) code |= PF_US;
  if (
    kind === AccessKind.FETCH &&
    ((ctx.cr4 & CR4_SMEP_BIT) !== 0 || ((ctx.cr4 & CR4_PAE_BIT) !== 0 && (ctx.efer & EFER_NXE_BIT) !== 0))
  ) {
    code |= PF_ID;
  }
  return code;
}

/** SDM 4.6 access rights, given the mapping's effective R/W, U/S and XD. */
export function accessAllowed(
  kind: AccessKind, priv: Priv, ac: boolean, writable: boolean, user: boolean, executable: boolean,
  cr0: number, cr4: number,
): boolean {
  if (priv === Priv.USER) {
    if (!user) return false;
    return kind === AccessKind.WRITE ? writable : kind === AccessKind.FETCH ? executable : true;
  }
  if (kind === AccessKind.FETCH) return executable && !(user && (cr4 & CR4_SMEP_BIT) !== 0);
  if (user && (cr4 & CR4_SMAP_BIT) !== 0 && (priv === Priv.IMPLICIT || !ac)) return false;
  return kind !== AccessKind.WRITE || writable || (cr0 & CR0_WP_BIT) === 0;
}

/** Finishes a walk at the leaf: rights check, then the leaf's A/D update. */
function leaf(
  mem: PhysAccess, ctx: PagingContext, kind: AccessKind, priv: Priv, ac: boolean, out: WalkResult,
  entryAddr: number, lo: number, rw: number, us: number, xd: number,
): boolean {
  const writable = (rw & 1) !== 0;
  const user = (us & 1) !== 0;
  const executable = (xd & 1) === 0;
  if (!accessAllowed(kind, priv, ac, writable, user, executable, ctx.cr0, ctx.cr4)) {
    out.errorCode = faultCode(kind, priv, ctx, PF_P);
    return false;
  }
  const set = kind === AccessKind.WRITE ? PTE_A | PTE_D : PTE_A;
  if ((lo & set) !== set) mem.write32(entryAddr, lo | set);
  out.writable = writable;
  out.user = user;
  out.executable = executable;
  out.global = (lo & PTE_G) !== 0 && (ctx.cr4 & CR4_PGE_BIT) !== 0;
  out.dirty = ((lo | set) & PTE_D) !== 0;
  out.errorCode = 0;
  return true;
}

function walk32(
  mem: PhysAccess, ctx: PagingContext, linear: number, kind: AccessKind, priv: Priv, ac: boolean,
  out: WalkResult,
): boolean {
  const lin = linear >>> 0;
  const pdeAddr = (ctx.cr3 & 0xfffff000) + (lin >>> 22) * 4;
  const pde = mem.read32(pdeAddr) | 0;
  if ((pde & PTE_P) === 0) return notPresent(ctx, kind, priv, out);
  if ((pde & PTE_PS) !== 0 && (ctx.cr4 & CR4_PSE_BIT) !== 0) {
    if ((pde & 0x003fe000) !== 0) return reserved(ctx, kind, priv, out);
    out.phys = ((pde & 0xffc00000) >>> 0) + (lin & 0x3fffff);
    out.pageSize = 0x400000;
    return leaf(mem, ctx, kind, priv, ac, out, pdeAddr, pde, pde >>> 1, pde >>> 2, 0);
  }
  const pteAddr = ((pde & 0xfffff000) >>> 0) + ((lin >>> 12) & 0x3ff) * 4;
  const pte = mem.read32(pteAddr) | 0;
  if ((pte & PTE_P) === 0) return notPresent(ctx, kind, priv, out);
  out.phys = ((pte & 0xfffff000) >>> 0) + (lin & 0xfff);
  out.pageSize = 4096;
  if (!leaf(mem, ctx, kind, priv, ac, out, pteAddr, pte, (pde & pte) >>> 1, (pde & pte) >>> 2, 0)) return false;
  // The PDE's A flag only once the translation succeeded, as the 386 (test386.asm POST 0x11
  // checks it), Bochs and KVM's guest walker do; SDM 4.10.3 allows setting it earlier, not requires it.
  if ((pde & PTE_A) === 0) mem.write32(pdeAddr, mem.read32(pdeAddr) | PTE_A);
  return true;
}

function notPresent(ctx: PagingContext, kind: AccessKind, priv: Priv, out: WalkResult): false {
  out.errorCode = faultCode(kind, priv, ctx, 0);
  return false;
}

function reserved(ctx: PagingContext, kind: AccessKind, priv: Priv, out: WalkResult): false {
  out.errorCode = faultCode(kind, priv, ctx, PF_P | PF_RSVD);
  return false;
}

/** PAE and 4-level paging: 64-bit entries, 9 index bits a level. */
function walk64(
  mem: PhysAccess, ctx: PagingContext, linear: number, kind: AccessKind, priv: Priv, ac: boolean,
  out: WalkResult, long: boolean,
): boolean {
  const linLo = linear >>> 0;
  const linHi = long ? Math.floor(linear / TWO_32) & 0xffff : 0;
  const m = ctx.maxPhyAddr ?? (long ? DEFAULT_MAXPHYADDR_LONG : DEFAULT_MAXPHYADDR_PAE);
  const addrHiMask = (1 << (m - 32)) - 1;
  // Bits M..51 (4-level) or M..62 (PAE) are reserved; bit 63 too unless EFER.NXE.
  const topBit = long ? 20 : 31;
  let rsvdHi = ((1 << (topBit - (m - 32))) - 1) << (m - 32);
  if ((ctx.efer & EFER_NXE_BIT) === 0) rsvdHi |= PTE_HI_XD;
  let table = long
    ? (ctx.cr3Hi & addrHiMask) * TWO_32 + ((ctx.cr3 & 0xfffff000) >>> 0)
    : (ctx.cr3 & 0xffffffe0) >>> 0;
  let rw = 1;
  let us = 1;
  let xd = 0;
  for (let level = long ? 4 : 3; level >= 1; level--) {
    const shift = 3 + 9 * level;
    let index: number;
    if (shift >= 32) index = (linHi >>> (shift - 32)) & 0x1ff;
    else if (shift === 30) index = long ? ((linHi << 2) | (linLo >>> 30)) & 0x1ff : linLo >>> 30;
    else index = (linLo >>> shift) & 0x1ff;
    const entryAddr = table + index * 8;
    const lo = mem.read32(entryAddr) | 0;
    if ((lo & PTE_P) === 0) return notPresent(ctx, kind, priv, out);
    const hi = mem.read32(entryAddr + 4) | 0;
    const paePdpte = !long && level === 3;
    let rsvdLo = 0;
    let large = false;
    if (paePdpte) {
      // PAE PDPTE: bits 2:1 and 8:5 reserved, and bit 63 whatever EFER.NXE says (SDM Table 4-8).
      if ((lo & 0x1e6) !== 0 || (hi & (rsvdHi | PTE_HI_XD)) !== 0) return reserved(ctx, kind, priv, out);
    } else {
      if (level === 4) rsvdLo = PTE_PS;
      else if (level <= 3 && level >= 2 && (lo & PTE_PS) !== 0) {
        large = true;
        rsvdLo = level === 3 ? 0x3fffe000 : 0x001fe000;
      }
      if ((lo & rsvdLo) !== 0 || (hi & rsvdHi) !== 0) return reserved(ctx, kind, priv, out);
      rw &= lo >>> 1;
      us &= lo >>> 2;
      xd |= hi >>> 31;
    }
    const base = (hi & addrHiMask) * TWO_32;
    if (large || level === 1) {
      const size = 2 ** shift;
      const offsetMask = size - 1;
      out.phys = base + ((lo & ~offsetMask & 0xfffff000) >>> 0) + ((linLo & offsetMask) >>> 0);
      out.pageSize = size;
      return leaf(mem, ctx, kind, priv, ac, out, entryAddr, lo, rw, us, xd);
    }
    if (!paePdpte && (lo & PTE_A) === 0) mem.write32(entryAddr, lo | PTE_A);
    table = base + ((lo & 0xfffff000) >>> 0);
  }
  // Unreachable: level 1 always returns above.
  return notPresent(ctx, kind, priv, out);
}

/**
 * Translates one access. Returns true with `out` filled, or false with `out.errorCode` set
 * to the #PF error code (the caller raises the fault with CR2 = linear).
 */
export function walk(
  mem: PhysAccess, ctx: PagingContext, linear: number, kind: AccessKind, priv: Priv, ac: boolean,
  out: WalkResult,
): boolean {
  if ((ctx.cr0 & CR0_PG_BIT) === 0) return identity(linear, out);
  if ((ctx.cr4 & CR4_PAE_BIT) === 0) return walk32(mem, ctx, linear, kind, priv, ac, out);
  return walk64(mem, ctx, linear, kind, priv, ac, out, (ctx.efer & EFER_LMA_BIT) !== 0);
}

/**
 * The check MOV to CR3 (and MOV to CR0/CR4 entering PAE paging) makes on the four PDPTEs:
 * false means a present PDPTE has reserved bits set and the instruction must raise #GP(0).
 */
export function paePdptesValid(mem: PhysAccess, cr3: number, maxPhyAddr = DEFAULT_MAXPHYADDR_PAE): boolean {
  const base = (cr3 & 0xffffffe0) >>> 0;
  const rsvdHi = ((((1 << (31 - (maxPhyAddr - 32))) - 1) << (maxPhyAddr - 32)) | PTE_HI_XD) >>> 0;
  for (let i = 0; i < 4; i++) {
    const lo = mem.read32(base + i * 8);
    if ((lo & PTE_P) !== 0 && ((lo & 0x1e6) !== 0 || (mem.read32(base + i * 8 + 4) & rsvdHi) !== 0)) return false;
  }
  return true;
}
