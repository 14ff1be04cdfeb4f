import { describe, expect, it } from 'vitest';
import { PF_ID, PF_P, PF_RSVD, PF_US, PF_WR } from '../../src/mmu/cpu-fault.js';
import {
  AccessKind, CR4_PGE_BIT, CR4_SMAP_BIT, CR4_SMEP_BIT, PTE_A, PTE_D, PTE_G, PTE_PS, PTE_RW, PTE_US, PagingMode,
  Priv, WalkResult, pagingMode, paePdptesValid, walk, type PagingContext,
} from '../../src/mmu/paging-walk.js';
import { GuestMemoryPhysAccess } from '../../src/mmu/phys-access.js';
import { MiB, PageTables, makeMemory, type Mode } from './page-tables.js';

const { READ, WRITE, FETCH } = AccessKind;
const { SUPERVISOR, USER, IMPLICIT } = Priv;

function setup(mode: Mode) {
  const mem = makeMemory();
  const pt = new PageTables(mem, mode);
  const phys = new GuestMemoryPhysAccess(mem);
  const out = new WalkResult();
  const run = (ctx: PagingContext, lin: number, kind: AccessKind = READ, priv: Priv = SUPERVISOR, ac = false) =>
    walk(phys, ctx, lin, kind, priv, ac, out) ? out.phys : -out.errorCode - 1;
  /** The #PF error code of a walk that must fail. */
  const fault = (ctx: PagingContext, lin: number, kind: AccessKind = READ, priv: Priv = SUPERVISOR, ac = false) => {
    expect(walk(phys, ctx, lin, kind, priv, ac, out)).toBe(false);
    return out.errorCode;
  };
  return { mem, pt, out, run, fault };
}

describe('paging disabled', () => {
  it('maps linear to physical one to one with every right', () => {
    const { run, out } = setup('bits32');
    const ctx = { cr0: 1, cr3: 0, cr3Hi: 0, cr4: 0, efer: 0 };
    expect(pagingMode(ctx)).toBe(PagingMode.NONE);
    expect(run(ctx, 0xfee00123, WRITE, USER)).toBe(0xfee00123);
    expect([out.writable, out.user, out.executable, out.dirty]).toEqual([true, true, true, true]);
  });
});

describe('32-bit paging', () => {
  it('translates 4 KiB pages through the page directory and page table', () => {
    const { pt, run, out } = setup('bits32');
    pt.map(0x00401000, 0x00123000);
    const ctx = pt.context();
    expect(pagingMode(ctx)).toBe(PagingMode.BITS32);
    expect(run(ctx, 0x00401abc)).toBe(0x00123abc);
    expect(out.pageSize).toBe(4096);
  });

  it('translates 4 MiB pages when CR4.PSE is set', () => {
    const { pt, run, out } = setup('bits32');
    pt.mapLarge(0xc0000000, 0x00800000, 2);
    expect(run(pt.context(), 0xc0345678)).toBe(0x00b45678);
    expect(out.pageSize).toBe(4 * MiB);
  });

  it('ignores PDE.PS when CR4.PSE is clear and walks a page table instead', () => {
    const { pt, run, mem } = setup('bits32');
    pt.mapLarge(0x00400000, 0x00200000, 2);
    // The "page table" at 0x200000 holds one PTE for page 1 of the region.
    mem.write32(0x00200000 + 4, 0x00555000 | 1);
    const ctx = { ...pt.context(), cr4: 0 };
    expect(run(ctx, 0x00401010)).toBe(0x00555010);
  });

  it('raises RSVD for bits 21:13 of a 4 MiB PDE (no PSE-36)', () => {
    const { pt, fault } = setup('bits32');
    const pde = pt.mapLarge(0x00400000, 0x00800000, 2);
    pt.setBits(pde, 1 << 13);
    expect(fault(pt.context(), 0x00400000)).toBe(PF_P | PF_RSVD);
    expect(fault(pt.context(), 0x00400000, WRITE, USER)).toBe(PF_P | PF_RSVD | PF_WR | PF_US);
  });

  it('does not report I/D for fetch faults without SMEP or PAE+NXE', () => {
    const { pt, fault } = setup('bits32');
    pt.map(0x1000, 0x2000, PTE_RW); // supervisor page
    expect(fault(pt.context(), 0x5000, FETCH)).toBe(0);
    expect(fault(pt.context(), 0x1000, FETCH, USER)).toBe(PF_P | PF_US);
  });
});

describe('error codes (SDM 4.7)', () => {
  it('reports not-present faults with P=0 and the access bits', () => {
    const { pt, fault } = setup('bits32');
    const ctx = pt.context();
    expect(fault(ctx, 0x00800000)).toBe(0);
    expect(fault(ctx, 0x00800000, WRITE)).toBe(PF_WR);
    expect(fault(ctx, 0x00800000, WRITE, USER)).toBe(PF_WR | PF_US);
    pt.map(0x00801000, 0x3000);
    expect(fault(ctx, 0x00800000, READ, USER)).toBe(PF_US); // PDE present, PTE not
  });

  it('faults a CPL3 write to a read-only page', () => {
    const { pt, fault } = setup('pae');
    pt.map(0x1000, 0x5000, PTE_US);
    expect(fault(pt.context(), 0x1000, WRITE, USER)).toBe(PF_P | PF_WR | PF_US);
  });

  it('lets CPL0 write a read-only page when CR0.WP=0 and faults it when WP=1', () => {
    const { pt, run, fault } = setup('long');
    pt.map(0x1000, 0x5000, PTE_US);
    pt.map(0x2000, 0x6000, 0);
    expect(run(pt.context(), 0x1010, WRITE)).toBe(0x5010);
    expect(run(pt.context(), 0x2010, WRITE)).toBe(0x6010);
    const wp = PageTables.withWp(pt.context());
    expect(fault(wp, 0x1010, WRITE)).toBe(PF_P | PF_WR);
    expect(fault(wp, 0x2010, WRITE)).toBe(PF_P | PF_WR);
  });

  it('ANDs R/W over all levels', () => {
    const { pt, fault } = setup('long');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_US, { upper: 1 | PTE_US });
    expect(fault(pt.context(), 0x1000, WRITE, USER)).toBe(PF_P | PF_WR | PF_US);
  });

  it('faults user access to a supervisor page, also when only an upper level is supervisor', () => {
    const { pt, fault, run } = setup('pae');
    pt.map(0x1000, 0x5000, PTE_RW);
    pt.map(0x40000000, 0x6000, PTE_RW | PTE_US, { upper: 1 | PTE_RW }); // new PD: supervisor PDE
    expect(fault(pt.context(), 0x1000, READ, USER)).toBe(PF_P | PF_US);
    expect(fault(pt.context(), 0x40000000, WRITE, USER)).toBe(PF_P | PF_WR | PF_US);
    expect(run(pt.context(), 0x40000000, WRITE)).toBe(0x6000);
  });

  it('faults fetches from XD pages with I/D when EFER.NXE is set', () => {
    const { pt, fault, run } = setup('pae');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_US, { xd: true });
    const nx = PageTables.withNx(pt.context());
    expect(run(nx, 0x1000, READ, USER)).toBe(0x5000);
    expect(fault(nx, 0x1000, FETCH, USER)).toBe(PF_P | PF_US | PF_ID);
    expect(fault(nx, 0x1000, FETCH)).toBe(PF_P | PF_ID);
    expect(fault(nx, 0x9000, FETCH)).toBe(PF_ID); // not present, still an instruction fetch
  });

  it('treats the XD bit as reserved when EFER.NXE is clear', () => {
    const { pt, fault } = setup('long');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_US, { xd: true });
    expect(fault(pt.context(), 0x1000, READ, USER)).toBe(PF_P | PF_RSVD | PF_US);
  });

  it('faults supervisor fetches from user pages with SMEP', () => {
    const { pt, fault, run } = setup('long');
    pt.map(0x1000, 0x5000, PTE_US);
    expect(run(pt.context(), 0x1000, FETCH)).toBe(0x5000);
    expect(fault(pt.context({ cr4: CR4_SMEP_BIT }), 0x1000, FETCH)).toBe(PF_P | PF_ID);
    expect(run(pt.context({ cr4: CR4_SMEP_BIT }), 0x1000, FETCH, USER)).toBe(0x5000);
  });

  it('faults supervisor data accesses to user pages with SMAP unless EFLAGS.AC is set for an explicit access', () => {
    const { pt, fault, run } = setup('long');
    pt.map(0x1000, 0x5000, PTE_US | PTE_RW);
    const smap = pt.context({ cr4: CR4_SMAP_BIT });
    expect(fault(smap, 0x1000)).toBe(PF_P);
    expect(fault(smap, 0x1000, WRITE)).toBe(PF_P | PF_WR);
    expect(run(smap, 0x1000, READ, SUPERVISOR, true)).toBe(0x5000);
    expect(run(smap, 0x1000, WRITE, SUPERVISOR, true)).toBe(0x5000);
    expect(fault(smap, 0x1000, READ, IMPLICIT, true)).toBe(PF_P);
    expect(run(smap, 0x1000, FETCH)).toBe(0x5000); // SMAP does not govern fetches
    expect(run(smap, 0x1000, READ, USER)).toBe(0x5000);
  });
});

describe('PAE paging', () => {
  it('translates 4 KiB and 2 MiB pages, and physical addresses above 4 GiB', () => {
    const { pt, run, out } = setup('pae');
    pt.map(0x80001000, 0x00345000);
    pt.mapLarge(0xc0200000, 0x8_0040_0000, 2);
    const ctx = pt.context();
    expect(pagingMode(ctx)).toBe(PagingMode.PAE);
    expect(run(ctx, 0x80001fff)).toBe(0x00345fff);
    expect(run(ctx, 0xc02abcde)).toBe(0x8_0040_0000 + 0xabcde);
    expect(out.pageSize).toBe(2 * MiB);
  });

  it('raises RSVD for physical-address bits at or above MAXPHYADDR (36 by default)', () => {
    const { pt, fault, run } = setup('pae');
    const pte = pt.map(0x1000, 0x5000);
    pt.setBits(pte, 0, 1 << 4); // bit 36
    expect(fault(pt.context(), 0x1000)).toBe(PF_P | PF_RSVD);
    expect(run({ ...pt.context(), maxPhyAddr: 40 }, 0x1000)).toBe(0x10_0000_5000);
  });

  it('raises RSVD for reserved PDPTE bits and for bits 20:13 of a 2 MiB PDE', () => {
    const a = setup('pae');
    a.pt.map(0x1000, 0x5000);
    const pdpte = a.pt.entryAddr(0x1000, 3);
    a.pt.setBits(pdpte, PTE_RW);
    expect(a.fault(a.pt.context(), 0x1000, WRITE)).toBe(PF_P | PF_RSVD | PF_WR);
    const b = setup('pae');
    const pde = b.pt.mapLarge(0x200000, 0x400000, 2);
    b.pt.setBits(pde, 1 << 20);
    expect(b.fault(b.pt.context(), 0x200000)).toBe(PF_P | PF_RSVD);
  });

  it('checks the four PDPTEs the way MOV CR3 must', () => {
    const { pt, mem } = setup('pae');
    pt.map(0x1000, 0x5000);
    const phys = new GuestMemoryPhysAccess(mem);
    expect(paePdptesValid(phys, pt.root)).toBe(true);
    pt.setBits(pt.root + 8 * 2, 1 | (1 << 5));
    expect(paePdptesValid(phys, pt.root)).toBe(false);
  });
});

describe('4-level paging', () => {
  it('translates 4 KiB, 2 MiB and 1 GiB pages at high canonical addresses', () => {
    const { pt, run, out } = setup('long');
    const high = 0xffff_8000_0000_0000 % 2 ** 48; // bits 47:0 of the kernel half
    pt.map(high + 0x5000, 0x00777000);
    pt.mapLarge(high + 0x4000_0000 + 0x20_0000, 0x00600000, 2);
    pt.mapLarge(0x7f_c000_0000, 0xc0_4000_0000, 3);
    const ctx = pt.context();
    expect(pagingMode(ctx)).toBe(PagingMode.LONG4);
    expect(run(ctx, high + 0x5123)).toBe(0x00777123);
    expect(run(ctx, high + 0x4000_0000 + 0x2f_f00d)).toBe(0x006ff00d);
    expect(out.pageSize).toBe(2 * MiB);
    expect(run(ctx, 0x7f_c000_0000 + 0x3fff_fffe)).toBe(0xc0_4000_0000 + 0x3fff_fffe);
    expect(out.pageSize).toBe(2 ** 30);
  });

  it('raises RSVD for PS in a PML4E, bits 29:13 of a 1 GiB page and bits above MAXPHYADDR 40', () => {
    const a = setup('long');
    a.pt.map(0x1000, 0x5000);
    a.pt.setBits(a.pt.entryAddr(0x1000, 4), PTE_PS);
    expect(a.fault(a.pt.context(), 0x1000)).toBe(PF_P | PF_RSVD);
    const b = setup('long');
    b.pt.setBits(b.pt.mapLarge(0x4000_0000, 0x8000_0000, 3), 1 << 13);
    expect(b.fault(b.pt.context(), 0x4000_0000, FETCH, USER)).toBe(PF_P | PF_RSVD | PF_US);
    const c = setup('long');
    c.pt.setBits(c.pt.map(0x1000, 0x5000), 0, 1 << 8); // bit 40
    expect(c.fault(c.pt.context(), 0x1000)).toBe(PF_P | PF_RSVD);
  });

  it('faults with RSVD when CR3 points outside RAM (tables read as all ones)', () => {
    const { pt, fault } = setup('long');
    expect(fault({ ...pt.context(), cr3: 0x4000_0000 }, 0x1000)).toBe(PF_P | PF_RSVD);
  });

  it('reports global mappings only with CR4.PGE', () => {
    const { pt, run, out } = setup('long');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_G);
    run(pt.context(), 0x1000);
    expect(out.global).toBe(false);
    run(pt.context({ cr4: CR4_PGE_BIT }), 0x1000);
    expect(out.global).toBe(true);
  });
});

describe('accessed and dirty flags', () => {
  it('sets A at every level on a read and D only on the leaf of a write', () => {
    for (const mode of ['bits32', 'long'] as const) {
      const { pt, run, mem } = setup(mode);
      const pte = pt.map(0x1000, 0x5000);
      const pde = pt.entryAddr(0x1000, 2);
      run(pt.context(), 0x1000);
      expect(mem.read32(pde) & (PTE_A | PTE_D)).toBe(PTE_A);
      expect(mem.read32(pte) & (PTE_A | PTE_D)).toBe(PTE_A);
      run(pt.context(), 0x1000, WRITE);
      expect(mem.read32(pde) & (PTE_A | PTE_D)).toBe(PTE_A);
      expect(mem.read32(pte) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
      if (mode === 'long') expect(mem.read32(pt.entryAddr(0x1000, 4)) & PTE_A).toBe(PTE_A);
    }
  });

  it('sets D on a large-page leaf and reports it', () => {
    const { pt, run, mem, out } = setup('pae');
    const pde = pt.mapLarge(0x200000, 0x400000, 2);
    run(pt.context(), 0x200010);
    expect(out.dirty).toBe(false);
    run(pt.context(), 0x200010, WRITE);
    expect(out.dirty).toBe(true);
    expect(mem.read32(pde) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });

  it('leaves the leaf untouched when the access faults, and never writes PAE PDPTEs', () => {
    const { pt, fault, run, mem } = setup('pae');
    const pte = pt.map(0x1000, 0x5000, PTE_US);
    const pdpte = pt.entryAddr(0x1000, 3);
    const before = mem.read32(pdpte);
    fault(pt.context(), 0x1000, WRITE, USER);
    expect(mem.read32(pte) & (PTE_A | PTE_D)).toBe(0);
    run(pt.context(), 0x1000, READ, USER);
    expect(mem.read32(pte) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(mem.read32(pdpte)).toBe(before);
  });
});

describe('walk results', () => {
  it('reports the effective rights of the mapping', () => {
    const { pt, run, out } = setup('long');
    pt.map(0x1000, 0x5000, PTE_US, { xd: true });
    run(PageTables.withNx(pt.context()), 0x1000, READ, USER);
    expect([out.writable, out.user, out.executable]).toEqual([false, true, false]);
  });
});
