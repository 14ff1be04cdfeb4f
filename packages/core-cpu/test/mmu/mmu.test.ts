import { describe, expect, it } from 'vitest';
import { GuestMemory, createMmioBus, createSharedRamBacking, type AccessSize, type IoDevice } from '@tsemu/devices/platform';
import { PF_ID, PF_P, PF_US, PF_WR, VECTOR_PF, isCpuFault } from '../../src/mmu/cpu-fault.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { PTE_D, PTE_RW, PTE_US, Priv } from '../../src/mmu/paging-walk.js';
import { TLB_NOT_RAM } from '../../src/mmu/tlb.js';
import { MiB, PageTables, makeMemory, type Mode } from './page-tables.js';

const { SUPERVISOR, USER } = Priv;

class RecordingDevice implements IoDevice {
  readonly name = 'recorder';
  readonly log: string[] = [];
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size}@${offset.toString(16)}`);
    return 0x44332211 & (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1);
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${size}@${offset.toString(16)}=${value.toString(16)}`);
  }
}

function setup(mode: Mode, extra: { cr0?: number; cr4?: number; efer?: number } = {}) {
  const mem = makeMemory();
  const pt = new PageTables(mem, mode);
  const bus = createMmioBus();
  const dev = new RecordingDevice();
  bus.register(0xfebf0000, 0x1000, dev, [1, 2, 4]);
  const mmu = new Mmu(mem, bus);
  const load = () => mmu.setPagingContext(pt.context(extra));
  return { mem, pt, mmu, dev, load };
}

function catchFault(fn: () => unknown): { errorCode: number; address: number; vector: number } {
  try {
    fn();
  } catch (e) {
    if (!isCpuFault(e)) throw e;
    return { errorCode: e.errorCode, address: e.address, vector: e.vector };
  }
  throw new Error('expected a guest fault');
}

describe('Mmu accesses', () => {
  it('reads and writes 8/16/32-bit values through the mapping', () => {
    const { mem, pt, mmu, load } = setup('pae');
    pt.map(0x40000000, 0x00300000);
    load();
    mmu.write32(0x40000100, 0x89abcdef, SUPERVISOR);
    mmu.write16(0x40000104, 0x1234, SUPERVISOR);
    mmu.write8(0x40000106, 0x56, SUPERVISOR);
    expect(mem.read32(0x00300100)).toBe(0x89abcdef);
    expect(mmu.read32(0x40000100, SUPERVISOR)).toBe(0x89abcdef);
    expect(mmu.read16(0x40000104, SUPERVISOR)).toBe(0x1234);
    expect(mmu.read8(0x40000106, SUPERVISOR)).toBe(0x56);
  });

  it('lets CPL0 write a read-only page through the slow path when CR0.WP=0, setting D', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    const pte = pt.map(0x1000, 0x5000, PTE_US);
    load();
    mmu.write8(0x1000, 0x42, SUPERVISOR);
    mmu.write8(0x1001, 0x43, SUPERVISOR);
    expect(mem.read16(0x5000)).toBe(0x4342);
    expect(mem.read32(pte) & PTE_D).toBe(PTE_D);
    mmu.setPrivilege(3, false);
    expect(catchFault(() => mmu.write8(0x1000, 0, USER)).errorCode).toBe(PF_P | PF_WR | PF_US);
    mmu.setPrivilege(0, false);
    mmu.setPagingContext(PageTables.withWp(pt.context()));
    expect(catchFault(() => mmu.write8(0x1000, 0, SUPERVISOR)).errorCode).toBe(PF_P | PF_WR);
  });

  it('assembles a read that crosses into a non-contiguous physical page', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x7000);
    pt.map(0x2000, 0x3000);
    load();
    mem.write8(0x7ffe, 0x11);
    mem.write8(0x7fff, 0x22);
    mem.write8(0x3000, 0x33);
    mem.write8(0x3001, 0x44);
    expect(mmu.read32(0x1ffe, SUPERVISOR)).toBe(0x44332211);
    expect(mmu.read16(0x1fff, SUPERVISOR)).toBe(0x3322);
  });

  it('writes across a page boundary into both pages', () => {
    const { mem, pt, mmu, load } = setup('long');
    pt.map(0x1000, 0x7000);
    pt.map(0x2000, 0x3000);
    load();
    mmu.write32(0x1fff, 0xaabbccdd, SUPERVISOR);
    expect(mem.read8(0x7fff)).toBe(0xdd);
    expect(mem.read8(0x3000)).toBe(0xcc);
    expect(mem.read16(0x3001)).toBe(0xaabb);
  });

  it('leaves the first page untouched when a crossing write faults on the second', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x7000, PTE_RW | PTE_US);
    pt.map(0x2000, 0x3000, PTE_US); // read-only for CPL3
    load();
    mmu.setPrivilege(3, false);
    mem.write32(0x7ffc, 0x01020304);
    const f = catchFault(() => mmu.write32(0x1ffe, 0xffffffff, USER));
    expect(f).toEqual({ vector: VECTOR_PF, errorCode: PF_P | PF_WR | PF_US, address: 0x2000 });
    expect(mem.read32(0x7ffc)).toBe(0x01020304);
    expect(mem.read8(0x3000)).toBe(0);
    pt.map(0x3000, 0x4000, PTE_RW | PTE_US);
    mem.write8(0x4fff, 0x5a);
    const g = catchFault(() => mmu.write16(0x3fff, 0, USER)); // next page not present
    expect(g).toEqual({ vector: VECTOR_PF, errorCode: PF_WR | PF_US, address: 0x4000 });
    expect(mem.read8(0x4fff)).toBe(0x5a);
  });

  it('wraps a crossing access at the top of the 32-bit linear space', () => {
    const { mem, pt, mmu, load } = setup('bits32');
    pt.map(0xfffff000, 0x7000);
    pt.map(0x0, 0x3000);
    load();
    mmu.write16(0xffffffff, 0xbeef, SUPERVISOR);
    expect(mem.read8(0x7fff)).toBe(0xef);
    expect(mem.read8(0x3000)).toBe(0xbe);
  });

  it('sends accesses to non-RAM physical pages to the MMIO bus', () => {
    const { pt, mmu, dev, load } = setup('long');
    pt.map(0xffff_8000_0000_0000 % 2 ** 48, 0xfebf0000, PTE_RW | PTE_D);
    load();
    const lin = 0xffff_8000_0000_0000 % 2 ** 48;
    expect(mmu.read32(lin + 0x10, SUPERVISOR)).toBe(0x44332211);
    mmu.write16(lin + 0x20, 0xabcd, SUPERVISOR);
    expect(dev.log).toEqual(['r4@10', 'w2@20=abcd']);
    expect(mmu.translateRead(lin + 0x30, SUPERVISOR)).toBe(-1);
    expect(mmu.lastPhys).toBe(0xfebf0030);
    expect(mmu.entries[lin >>> 12] & TLB_NOT_RAM).toBe(TLB_NOT_RAM);
    expect(mmu.counters.mmioReads).toBe(1);
    expect(mmu.counters.mmioWrites).toBe(1);
  });

  it('reads RAM that lies outside the direct TLB window through the slow path', () => {
    const backing = createSharedRamBacking(2 * MiB);
    // A region whose backing offset is not page aligned with its guest address.
    const mem = new GuestMemory(backing, [{ gpa: 0x100000, size: MiB, offset: 0x800 }]);
    const mmu = new Mmu(mem, createMmioBus());
    mmu.setPagingContext({ cr0: 1, cr3: 0, cr3Hi: 0, cr4: 0, efer: 0 });
    mem.write32(0x100010, 0xcafef00d);
    expect(mmu.translateRead(0x100010, SUPERVISOR)).toBe(-1);
    expect(mmu.read32(0x100010, SUPERVISOR)).toBe(0xcafef00d);
    mmu.write8(0x100010, 0x0e, SUPERVISOR);
    expect(mem.read8(0x100010)).toBe(0x0e);
  });

  it('checks fetch rights in fetch8: NX pages fault with I/D', () => {
    const { mem, pt, mmu, load } = setup('pae', { efer: 1 << 11 });
    pt.map(0x1000, 0x5000, PTE_RW | PTE_US);
    pt.map(0x2000, 0x6000, PTE_RW | PTE_US, { xd: true });
    load();
    mem.write8(0x5000, 0x90);
    expect(mmu.fetch8(0x1000, SUPERVISOR)).toBe(0x90);
    expect(mmu.read8(0x2000, SUPERVISOR)).toBe(0);
    expect(catchFault(() => mmu.fetch8(0x2000, SUPERVISOR)).errorCode).toBe(PF_P | PF_ID);
    mmu.setPrivilege(3, false);
    expect((mmu.entries[2] & mmu.fetchMask) === mmu.fetchExpect).toBe(false);
    expect((mmu.entries[1] & mmu.fetchMask) === mmu.fetchExpect).toBe(true);
  });

  it('reuses one fault object and reports CR2 as bits 47:0 in long mode', () => {
    const { pt, mmu, load } = setup('long');
    pt.map(0x1000, 0x5000);
    load();
    let first: unknown;
    try {
      mmu.read8(0x7fff_0000_0123, SUPERVISOR);
    } catch (e) {
      first = e;
    }
    expect(mmu.fault.address).toBe(0x7fff_0000_0123);
    try {
      mmu.read8(-0x1000 + 5, SUPERVISOR);
    } catch (e) {
      expect(e).toBe(first);
    }
    expect(mmu.fault.address).toBe(2 ** 48 - 0x1000 + 5);
    expect(mmu.counters.pageFaults).toBe(2);
  });

  it('flushes everything when a paging-mode bit changes and only non-global entries when CR3 changes', () => {
    const { pt, mmu, load } = setup('bits32');
    pt.map(0x1000, 0x5000);
    load();
    mmu.read8(0x1000, SUPERVISOR);
    const before = mmu.tlb.counters.globalFlushes;
    mmu.setPagingContext({ ...pt.context(), cr0: pt.context().cr0 | (1 << 16) });
    expect(mmu.tlb.counters.globalFlushes).toBe(before + 1);
    expect(mmu.entries[1]).toBe(0);
    mmu.read8(0x1000, SUPERVISOR);
    mmu.setPagingContext({ ...mmu.context, cr3: pt.root + 0x1000 });
    expect(mmu.tlb.counters.flushes).toBe(1);
    expect(mmu.entries[1]).toBe(0);
  });
});
