import { describe, expect, it } from 'vitest';
import { createMmioBus } from '@tsemu/devices/platform';
import { CpuFault, PF_P, PF_US } from '../../src/mmu/cpu-fault.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { CR4_PGE_BIT, CR4_SMAP_BIT, PTE_D, PTE_G, PTE_RW, PTE_US, Priv, WalkResult } from '../../src/mmu/paging-walk.js';
import {
  TLB_GLOBAL, TLB_HAS_CODE, TLB_NOT_RAM, TLB_NO_USER, TLB_READONLY, TLB_VALID, TLB_VALID_LIST_CAPACITY, Tlb,
} from '../../src/mmu/tlb.js';
import { MiB, PageTables, makeMemory, type Mode } from './page-tables.js';

const { SUPERVISOR, USER } = Priv;

function setup(mode: Mode, extra: { cr4?: number } = {}) {
  const mem = makeMemory();
  const pt = new PageTables(mem, mode);
  const mmu = new Mmu(mem, createMmioBus());
  const load = () => mmu.setPagingContext(pt.context(extra));
  return { mem, pt, mmu, load };
}

/** With CR4.PGE: a global page at 0x1000 and a non-global one at 0x2000, both read once (in the TLB). */
function globalAndLocalPage(mode: Mode) {
  const t = setup(mode, { cr4: CR4_PGE_BIT });
  t.pt.map(0x1000, 0x5000, PTE_RW | PTE_G);
  t.pt.map(0x2000, 0x6000, PTE_RW);
  t.load();
  t.mmu.read8(0x1000, SUPERVISOR);
  t.mmu.read8(0x2000, SUPERVISOR);
  return t;
}

/** The interpreter's inline read fast path: the byte, or undefined on a miss. */
function fastRead8(mmu: Mmu, lin: number): number | undefined {
  const e = mmu.entries[lin >>> 12];
  return (e & mmu.readMask) === mmu.readExpect ? mmu.bytes[(e & ~0xfff) | (lin & 0xfff)] : undefined;
}

function fastWriteHits(mmu: Mmu, lin: number): boolean {
  return (mmu.entries[lin >>> 12] & mmu.writeMask) === mmu.writeExpect;
}

describe('software TLB', () => {
  it('serves the second access to a page from the TLB without walking', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    pt.map(0x00401000, 0x00123000);
    load();
    mem.write8(0x00123456, 0x5a);
    expect(fastRead8(mmu, 0x00401456)).toBeUndefined();
    expect(mmu.read8(0x00401456, SUPERVISOR)).toBe(0x5a);
    expect(mmu.counters.walks).toBe(1);
    expect(mmu.read8(0x00401457, SUPERVISOR)).toBe(0);
    expect(mmu.counters.walks).toBe(1);
    expect(fastRead8(mmu, 0x00401456)).toBe(0x5a);
  });

  it('keeps a stale translation until INVLPG, then walks the new one', () => {
    const { mem, pt, mmu, load } = setup('pae');
    const pte = pt.map(0x1000, 0x5000);
    load();
    mem.write8(0x5000, 1);
    mem.write8(0x6000, 2);
    expect(mmu.read8(0x1000, SUPERVISOR)).toBe(1);
    pt.writeEntry(pte, 0x6000 | 0x7);
    expect(mmu.read8(0x1000, SUPERVISOR)).toBe(1);
    mmu.invlpg(0x1000);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    expect(mmu.read8(0x1000, SUPERVISOR)).toBe(2);
  });

  it('flushes non-global entries on every CR3 write, even of the same value', () => {
    const { pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x5000);
    load();
    mmu.read8(0x1000, SUPERVISOR);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    expect(mmu.tlb.listed).toBe(0);
  });

  it('keeps global pages across CR3 reloads when CR4.PGE is set, and drops them when PGE is cleared', () => {
    const { pt, mmu } = globalAndLocalPage('long');
    expect(mmu.entries[1] & TLB_GLOBAL).toBe(TLB_GLOBAL);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
    expect(fastRead8(mmu, 0x2000)).toBeUndefined();
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
    expect(mmu.tlb.listed).toBe(1);
    mmu.invlpg(0x1000); // INVLPG drops global entries too
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    mmu.read8(0x1000, SUPERVISOR);
    mmu.setPagingContext(pt.context()); // CR4.PGE cleared
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
  });

  it('moves the generation on at a CR3 write or INVLPG only when it dropped the entry of a code page', () => {
    const { pt, mmu } = globalAndLocalPage('bits32');
    const tlb = mmu.tlb;
    // The non-global page at 0x2000 holds code (as when the decode cache decoded from it).
    tlb.markCode(0x6000);
    expect(mmu.entries[2] & TLB_HAS_CODE).toBe(TLB_HAS_CODE);
    let g = tlb.generation;
    // Drops the code page: links drawn under the old mapping must go.
    mmu.writeCr3(pt.root);
    expect(tlb.generation).toBe(g + 1);
    expect(fastRead8(mmu, 0x2000)).toBeUndefined();
    // Only the global page is left: nothing any link or jump-cache entry relies on changed.
    g = tlb.generation;
    mmu.writeCr3(pt.root);
    mmu.writeCr3(pt.root);
    expect(tlb.generation).toBe(g);
    expect(tlb.counters.flushes).toBe(3);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
    // Once the code page is back, the next CR3 write drops it and moves on again.
    mmu.read8(0x2000, SUPERVISOR);
    mmu.writeCr3(pt.root);
    expect(tlb.generation).toBe(g + 1);
    // A data page dropped, by a CR3 write or by INVLPG, or an INVLPG of a page not cached: no.
    tlb.unmarkCode(0x6000);
    mmu.read8(0x2000, SUPERVISOR);
    mmu.writeCr3(pt.root);
    mmu.read8(0x2000, SUPERVISOR);
    mmu.invlpg(0x2000);
    expect(fastRead8(mmu, 0x2000)).toBeUndefined();
    mmu.invlpg(0x2000);
    mmu.invlpg(0x7000);
    mmu.invlpg(0x1000); // the global data page
    expect(tlb.generation).toBe(g + 1);
    // INVLPG of a code page, global or not, does.
    mmu.read8(0x1000, SUPERVISOR);
    tlb.markCode(0x5000);
    mmu.invlpg(0x1000);
    expect(tlb.generation).toBe(g + 2);
    expect(tlb.counters.invlpgs).toBe(5);
  });

  it('moves the generation on when a fill takes over the slot of a code page of another 4 GiB region', () => {
    const { pt, mmu, load } = setup('long');
    pt.map(0x1000, 0x5000);
    pt.map(0x1_0000_1000, 0x6000); // the same slot, another tag
    load();
    const tlb = mmu.tlb;
    const g = tlb.generation;
    mmu.read8(0x1000, SUPERVISOR);
    mmu.read8(0x1_0000_1000, SUPERVISOR); // data replaced data: nothing relied on it
    expect(tlb.generation).toBe(g);
    tlb.markCode(0x6000);
    mmu.read8(0x1000, SUPERVISOR); // replaces the code page's entry: a later INVLPG of it finds nothing
    expect(tlb.generation).toBe(g + 1);
  });

  it('does not keep G pages across CR3 reloads without CR4.PGE', () => {
    const { pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_G);
    load();
    mmu.read8(0x1000, SUPERVISOR);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
  });

  it('drops every piece of a large page on INVLPG of any address in it', () => {
    const { mem, pt, mmu, load } = setup('pae');
    const pde = pt.mapLarge(0x200000, 0x400000, 2);
    load();
    mmu.read8(0x200000, SUPERVISOR);
    mmu.read8(0x3ff000, SUPERVISOR);
    pt.writeEntry(pde, 0x600000 | 0x87);
    mem.write8(0x7ff000, 9);
    mmu.invlpg(0x250000);
    expect(fastRead8(mmu, 0x3ff000)).toBeUndefined();
    expect(mmu.read8(0x3ff000, SUPERVISOR)).toBe(9);
  });

  it('makes writes walk until the D flag is set, then lets them hit', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    const pte = pt.map(0x1000, 0x5000);
    load();
    mmu.read8(0x1000, SUPERVISOR);
    expect(mmu.entries[1] & TLB_READONLY).toBe(TLB_READONLY);
    expect(fastWriteHits(mmu, 0x1000)).toBe(false);
    mmu.write8(0x1000, 0x77, SUPERVISOR);
    expect(mem.read32(pte) & PTE_D).toBe(PTE_D);
    expect(fastWriteHits(mmu, 0x1000)).toBe(true);
    expect(mem.read8(0x5000)).toBe(0x77);
  });

  it('checks user rights from the entry, so a CPL change needs no flush', () => {
    const { pt, mmu, load } = setup('long');
    pt.map(0x1000, 0x5000, PTE_RW); // supervisor only
    load();
    mmu.read8(0x1000, SUPERVISOR);
    expect(mmu.entries[1] & TLB_NO_USER).toBe(TLB_NO_USER);
    mmu.setPrivilege(3, false);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    let caught: unknown;
    try {
      mmu.read8(0x1000, USER);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(mmu.fault);
    expect(caught).toBeInstanceOf(CpuFault);
    expect(caught).not.toBeInstanceOf(Error);
    expect(mmu.fault.errorCode).toBe(PF_P | PF_US);
    mmu.setPrivilege(0, false);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
  });

  it('sends supervisor accesses to user pages down the slow path under SMAP unless EFLAGS.AC', () => {
    const { pt, mmu, load } = setup('long', { cr4: CR4_SMAP_BIT });
    pt.map(0x1000, 0x5000, PTE_RW | PTE_US);
    pt.map(0x2000, 0x6000, PTE_RW);
    load();
    mmu.setPrivilege(3, false);
    mmu.read8(0x1000, USER);
    mmu.setPrivilege(0, false);
    mmu.read8(0x2000, SUPERVISOR);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    expect(fastRead8(mmu, 0x2000)).toBe(0);
    expect(() => mmu.read8(0x1000, SUPERVISOR)).toThrow();
    expect(mmu.fault.errorCode).toBe(PF_P);
    mmu.setPrivilege(0, true);
    expect(fastRead8(mmu, 0x1000)).toBe(0);
  });

  it('tags 4-level entries with address bits 47:32 so aliases of the low 32 bits miss', () => {
    const { mem, pt, mmu, load } = setup('long');
    const a = 0x0000_7fff_0000_1000;
    const b = 0x0000_0001_0000_1000;
    pt.map(a, 0x5000);
    pt.map(b, 0x6000);
    load();
    mem.write8(0x5000, 0xaa);
    mem.write8(0x6000, 0xbb);
    expect(mmu.longMode).toBe(true);
    expect(mmu.read8(a, SUPERVISOR)).toBe(0xaa);
    expect(mmu.tags[a >>> 12]).toBe(0x7fff);
    expect(mmu.read8(b, SUPERVISOR)).toBe(0xbb);
    expect(mmu.read8(a, SUPERVISOR)).toBe(0xaa);
    expect(mmu.counters.walks).toBe(3);
    // Sign-extended (negative) and 48-bit forms name the same page.
    pt.map(0xffff_ffff_ffff_f000 % 2 ** 48, 0x7000);
    mem.write8(0x7000, 0xcc);
    expect(mmu.read8(-4096, SUPERVISOR)).toBe(0xcc);
  });

  it('drops at a CR3 reload an entry refilled as non-global while it was cached as global', () => {
    // Global page 0x1000 with D clear: a read caches it read-only. Its PTE then loses G (no
    // INVLPG, so the TLB may keep the old entry), and a write walks again to set D, refilling
    // the live slot as non-global: the next CR3 reload must drop it.
    const { pt, mmu, load } = setup('bits32', { cr4: CR4_PGE_BIT });
    const pte = pt.map(0x1000, 0x5000, PTE_RW | PTE_G);
    load();
    mmu.read8(0x1000, SUPERVISOR);
    expect(mmu.entries[1] & (TLB_GLOBAL | TLB_READONLY)).toBe(TLB_GLOBAL | TLB_READONLY);
    pt.writeEntry(pte, 0x5000 | PTE_RW | 1);
    mmu.write8(0x1000, 7, SUPERVISOR);
    expect(mmu.entries[1] & (TLB_GLOBAL | TLB_READONLY)).toBe(0);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    // And the other way: a non-global entry refilled as global is kept by the reload after.
    pt.writeEntry(pte, 0x5000 | PTE_RW | PTE_G | 1);
    mmu.invlpg(0x1000);
    mmu.read8(0x1000, SUPERVISOR);
    mmu.writeCr3(pt.root);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBe(7);
  });

  it('keeps every global entry and drops the non-global one at a CR3 reload, with many global ones cached', () => {
    const { pt, mmu, load } = setup('bits32', { cr4: CR4_PGE_BIT });
    for (let p = 0; p < 512; p++) pt.map(0x400000 + p * 4096, 0x100000 + p * 4096, PTE_RW | PTE_G);
    pt.map(0x1000, 0x5000);
    load();
    for (let p = 0; p < 512; p++) mmu.read8(0x400000 + p * 4096, SUPERVISOR);
    mmu.read8(0x1000, SUPERVISOR);
    expect(mmu.tlb.listed).toBe(513);
    mmu.writeCr3(pt.root);
    expect(fastRead8(mmu, 0x1000)).toBeUndefined();
    expect(fastRead8(mmu, 0x400000 + 511 * 4096)).toBe(0);
    expect(mmu.tlb.listed).toBe(512);
  });

  it('flushes everything when the valid list overflows and stays correct', () => {
    const { mmu } = setup('bits32');
    mmu.setPagingContext({ cr0: 1, cr3: 0, cr3Hi: 0, cr4: 0, efer: 0 });
    for (let p = 0; p <= TLB_VALID_LIST_CAPACITY; p++) mmu.translateRead(p * 4096, SUPERVISOR);
    expect(mmu.tlb.counters.overflows).toBe(1);
    expect(mmu.tlb.listed).toBe(1);
    expect(mmu.entries[0]).toBe(0);
    expect(mmu.translateRead(0x10, SUPERVISOR)).toBe(0x10);
  });

  it('marks pages beyond RAM as NOT_RAM and RAM pages with their backing offset', () => {
    const mem = makeMemory(MiB);
    const tlb = new Tlb(mem);
    const w = new WalkResult();
    Object.assign(w, { phys: 0x1234, pageSize: 4096, writable: true, user: true, executable: true, dirty: true });
    expect(tlb.fill(0x7000, w)).toBe(0x1000 | TLB_VALID);
    w.phys = 0xfee00000;
    expect(tlb.fill(0x8000, w) & (TLB_NOT_RAM | ~0xfff)).toBe(TLB_NOT_RAM);
    expect(tlb.frames[8]).toBe(0xfee00);
  });
});

describe('translated-code tracking', () => {
  it('turns writes to a code page into slow-path writes that call the hook, until unmarked', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x5000, PTE_RW | PTE_D);
    load();
    const seen: Array<[number, number]> = [];
    mmu.onCodeWrite = (phys, len) => seen.push([phys, len]);
    mmu.write8(0x1000, 1, SUPERVISOR);
    expect(fastWriteHits(mmu, 0x1000)).toBe(true);
    expect(seen).toEqual([]);
    mmu.tlb.markCode(0x5000);
    expect(mmu.entries[1] & TLB_HAS_CODE).toBe(TLB_HAS_CODE);
    expect(fastWriteHits(mmu, 0x1000)).toBe(false);
    expect(fastRead8(mmu, 0x1000)).toBe(1); // reads still hit
    mmu.write32(0x1010, 0xdeadbeef, SUPERVISOR);
    expect(seen).toEqual([[0x5010, 4]]);
    expect(mem.read32(0x5010)).toBe(0xdeadbeef);
    mmu.tlb.unmarkCode(0x5000);
    expect(fastWriteHits(mmu, 0x1000)).toBe(true);
  });

  it('sets HAS_CODE on entries filled after the page was marked', () => {
    const { pt, mmu, load } = setup('pae');
    pt.map(0x3000, 0x9000, PTE_RW | PTE_D);
    load();
    mmu.tlb.markCode(0x9abc);
    let hook = 0;
    mmu.onCodeWrite = () => hook++;
    mmu.write16(0x3002, 0x1234, SUPERVISOR);
    expect(hook).toBe(1);
    expect(mmu.entries[3] & TLB_HAS_CODE).toBe(TLB_HAS_CODE);
    expect(mmu.counters.codeWrites).toBe(1);
  });
});

describe('fast-path masks', () => {
  it('let a CPL0 read hit a supervisor RAM page and send CPL3 reads of it to the slow path', () => {
    const { mmu } = setup('bits32');
    const kernelPage = 0x5000 | TLB_VALID | TLB_NO_USER;
    expect(kernelPage & mmu.readMask).toBe(mmu.readExpect);
    expect((kernelPage | TLB_NOT_RAM) & mmu.readMask).not.toBe(mmu.readExpect);
    expect((kernelPage | TLB_READONLY) & mmu.writeMask).not.toBe(mmu.writeExpect);
    expect((kernelPage | TLB_HAS_CODE) & mmu.writeMask).not.toBe(mmu.writeExpect);
    mmu.setPrivilege(3, false);
    expect(kernelPage & mmu.readMask).not.toBe(mmu.readExpect);
    expect((0x5000 | TLB_VALID) & mmu.writeMask).toBe(mmu.writeExpect);
  });
});
