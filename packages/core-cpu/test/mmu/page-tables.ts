// Test helper: builds x86 page tables in guest RAM for each paging mode.
import { GuestMemory, createSharedRamBacking } from '@tsemu/devices/platform';
import {
  CR0_PG_BIT, CR0_WP_BIT, CR4_PAE_BIT, CR4_PSE_BIT, EFER_LMA_BIT, EFER_NXE_BIT, PTE_P, PTE_PS, PTE_RW, PTE_US,
  type PagingContext,
} from '../../src/mmu/paging-walk.js';

export const MiB = 1 << 20;
export const TWO_32 = 2 ** 32;

/** 16 MiB of RAM at guest-physical 0, page tables allocated from 8 MiB up. */
export function makeMemory(size = 16 * MiB): GuestMemory {
  return new GuestMemory(createSharedRamBacking(size), [{ gpa: 0, size, offset: 0 }]);
}

export type Mode = 'bits32' | 'pae' | 'long';

/** Upper-level entries grant everything by default, so the leaf decides the rights. */
const UPPER = PTE_P | PTE_RW | PTE_US;

export class PageTables {
  private next: number;
  readonly root: number;

  constructor(
    readonly mem: GuestMemory,
    readonly mode: Mode,
    tableArea = 8 * MiB,
  ) {
    this.next = tableArea;
    // A PAE PDPT needs only 32 bytes; it gets a whole page like the other roots.
    this.root = this.alloc();
  }

  alloc(): number {
    const pa = this.next;
    this.next += 4096;
    this.mem.fill(pa, 4096, 0);
    return pa;
  }

  /** A paging context for this mode (extra CR0/CR4/EFER bits ORed in). */
  context(extra: { cr0?: number; cr4?: number; efer?: number } = {}): PagingContext {
    const cr0 = 1 | CR0_PG_BIT | (extra.cr0 ?? 0);
    const cr4 = (this.mode === 'bits32' ? CR4_PSE_BIT : CR4_PAE_BIT) | (extra.cr4 ?? 0);
    const efer = (this.mode === 'long' ? EFER_LMA_BIT | 0x100 : 0) | (extra.efer ?? 0);
    return { cr0, cr3: this.root, cr3Hi: 0, cr4, efer };
  }

  static withWp(ctx: PagingContext): PagingContext {
    return { ...ctx, cr0: ctx.cr0 | CR0_WP_BIT };
  }

  static withNx(ctx: PagingContext): PagingContext {
    return { ...ctx, efer: ctx.efer | EFER_NXE_BIT };
  }

  private get levels(): number {
    return this.mode === 'long' ? 4 : this.mode === 'pae' ? 3 : 2;
  }

  private index(lin: number, level: number): number {
    if (this.mode === 'bits32') return level === 2 ? Math.floor(lin / 2 ** 22) & 0x3ff : Math.floor(lin / 4096) & 0x3ff;
    if (this.mode === 'pae' && level === 3) return Math.floor(lin / 2 ** 30) & 3;
    return Math.floor(lin / 2 ** (12 + 9 * (level - 1))) & 0x1ff;
  }

  private get entrySize(): number {
    return this.mode === 'bits32' ? 4 : 8;
  }

  private readEntry(pa: number): { lo: number; hi: number } {
    return { lo: this.mem.read32(pa), hi: this.entrySize === 8 ? this.mem.read32(pa + 4) : 0 };
  }

  writeEntry(pa: number, lo: number, hi = 0): void {
    this.mem.write32(pa, lo >>> 0);
    if (this.entrySize === 8) this.mem.write32(pa + 4, hi >>> 0);
  }

  /**
   * Address of the entry at `level` (1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E) for `lin`,
   * creating the tables above it.
   */
  entryAddr(lin: number, level: number, upper = UPPER): number {
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const ea = table + this.index(lin, l) * this.entrySize;
      let { lo } = this.readEntry(ea);
      if ((lo & PTE_P) === 0) {
        const t = this.alloc();
        // A PAE PDPTE has no R/W or U/S bits (they are reserved there).
        lo = this.mode === 'pae' && l === 3 ? t | PTE_P : t | upper;
        this.writeEntry(ea, lo);
      }
      table = lo & 0xfffff000;
    }
    return table + this.index(lin, level) * this.entrySize;
  }

  /** Maps the 4 KiB page at `lin` to `phys` with leaf flags (P added); returns the PTE address. */
  map(lin: number, phys: number, flags = PTE_RW | PTE_US, opts: { xd?: boolean; upper?: number } = {}): number {
    const ea = this.entryAddr(lin, 1, opts.upper);
    this.writeEntry(ea, ((phys % TWO_32) & 0xfffff000) | flags | PTE_P, Math.floor(phys / TWO_32) | (opts.xd ? 0x80000000 : 0));
    return ea;
  }

  /** Maps a large page (level 2: 4 MiB / 2 MiB, level 3: 1 GiB); returns the entry address. */
  mapLarge(lin: number, phys: number, level: 2 | 3, flags = PTE_RW | PTE_US, opts: { xd?: boolean } = {}): number {
    const ea = this.entryAddr(lin, level);
    this.writeEntry(ea, ((phys % TWO_32) & 0xfffff000) | flags | PTE_P | PTE_PS, Math.floor(phys / TWO_32) | (opts.xd ? 0x80000000 : 0));
    return ea;
  }

  /** Sets bits in the entry at `addr` (lo and hi dwords). */
  setBits(addr: number, lo: number, hi = 0): void {
    const e = this.readEntry(addr);
    this.writeEntry(addr, e.lo | lo, e.hi | hi);
  }
}
