// 32-bit paging sets the page directory entry's accessed flag only when the whole translation
// succeeds (as the 386 does, and test386.asm POST 0x11 checks; SDM 4.10.3 allows either).
import { describe, expect, it } from 'vitest';
import { AccessKind, Priv, PTE_A, PTE_P, PTE_RW, WalkResult, walk } from '../../src/mmu/paging-walk.js';
import { GuestMemoryPhysAccess } from '../../src/mmu/phys-access.js';
import { PageTables, makeMemory } from './page-tables.js';

function setup() {
  const mem = makeMemory();
  const pt = new PageTables(mem, 'bits32');
  const phys = new GuestMemoryPhysAccess(mem);
  const out = new WalkResult();
  const go = (kind: AccessKind, priv: Priv) => walk(phys, pt.context(), 0x1000, kind, priv, false, out);
  return { mem, pt, go };
}

describe('32-bit paging: the PDE accessed flag', () => {
  it('stays clear when the page table entry is not present', () => {
    const { mem, pt, go } = setup();
    const pte = pt.map(0x1000, 0x5000, PTE_RW);
    mem.write32(pte, mem.read32(pte) & ~PTE_P);
    const pde = pt.entryAddr(0x1000, 2);
    mem.write32(pde, mem.read32(pde) & ~PTE_A);
    expect(go(AccessKind.READ, Priv.SUPERVISOR)).toBe(false);
    expect(mem.read32(pde) & PTE_A).toBe(0);
  });

  it('stays clear on a protection fault (user access to a supervisor page)', () => {
    const { mem, pt, go } = setup();
    pt.map(0x1000, 0x5000, PTE_RW);
    const pde = pt.entryAddr(0x1000, 2);
    mem.write32(pde, mem.read32(pde) & ~PTE_A);
    expect(go(AccessKind.READ, Priv.USER)).toBe(false);
    expect(mem.read32(pde) & PTE_A).toBe(0);
  });

  it('is set, with the PTE\'s, once the translation succeeds', () => {
    const { mem, pt, go } = setup();
    const pte = pt.map(0x1000, 0x5000, PTE_RW);
    const pde = pt.entryAddr(0x1000, 2);
    mem.write32(pde, mem.read32(pde) & ~PTE_A);
    expect(go(AccessKind.READ, Priv.SUPERVISOR)).toBe(true);
    expect(mem.read32(pde) & PTE_A).toBe(PTE_A);
    expect(mem.read32(pte) & PTE_A).toBe(PTE_A);
  });
});
