/**
 * The software TLB: one Int32Array slot per 4 KiB linear page of the low 4 GiB, so that a
 * guest RAM access that hits costs one typed-array load, one AND, one compare and the access
 * itself, with no call (v86's tlb_data and QEMU's CPUTLBEntry make the same trade).
 *
 * Entry (Int32, 0 = invalid):
 *   bits 31:12  backing offset of the page in GuestMemory.bytes (page aligned, < 2 GiB)
 *   bits 11:0   TLB_* flags below
 * The fast path is `(e & mask) === expect`, with mask/expect chosen per access kind and
 * privilege (see Mmu: readMask/readExpect ...); a hit gives the byte offset as
 * `(e & ~0xfff) | (lin & 0xfff)`.
 *
 * Entries record what the page allows (as the walk reported it), never who asked, so a CPL
 * change needs no flush: NO_USER is checked by the user mask and, inverted, by the SMAP/SMEP
 * masks. READONLY also covers "D not yet set" so the first write walks and sets D.
 *
 * 4-level paging (linear addresses up to 2^48): the same array is direct-mapped by bits 31:12
 * and `tags` holds bits 47:32 of the page that filled each slot; outside long mode every tag
 * is 0, so legacy fast paths skip the tag compare. Long-mode fast paths compare it.
 *
 * Large pages are cached as their 4 KiB pieces. INVLPG in a linear range that ever held a
 * large-page piece flushes everything (QEMU's tlb_flush_page does the same with its
 * large_page_addr/mask), because the other pieces of that large page must go too.
 *
 * Flushes walk a list of filled slots instead of clearing 4 MiB; global entries (G with
 * CR4.PGE) survive a CR3 reload.
 */
import type { GuestMemory } from '@tsemu/devices/platform';
import type { WalkResult } from './paging-walk.js';

/** The slot holds a translation. */
export const TLB_VALID = 1 << 0;
/** Writes take the slow path: the mapping is read-only, or its D flag is still clear. */
export const TLB_READONLY = 1 << 1;
/** U/S is 0 at some level: user accesses take the slow path (and fault there). */
export const TLB_NO_USER = 1 << 2;
/** The RAM page holds translated code: writes take the slow path and call the code hook. */
export const TLB_HAS_CODE = 1 << 3;
/** Not directly addressable RAM (MMIO, a hole, or RAM past the 2 GiB direct window). */
export const TLB_NOT_RAM = 1 << 4;
/** Kept across CR3 reloads. */
export const TLB_GLOBAL = 1 << 5;
/** XD is set at some level (with EFER.NXE): fetches take the slow path. */
export const TLB_NO_EXEC = 1 << 6;

/** Linear pages the flat array covers (2^20 x 4 KiB = 4 GiB). */
export const TLB_SLOTS = 1 << 20;
/**
 * In a WebAssembly RAM backing's scratch area, after the TLB's entries (offsets from
 * Tlb.wasmOffset): the JIT's status slots (jit/wasm/context.ts), the CPU's general-purpose
 * registers and segment caches (GprFile and SegmentCache, placed there by SoftCpu), and the
 * WebAssembly translations' jump cache (jit/wasm/runtime.ts).
 */
export const WASM_STATUS_OFFSET = TLB_SLOTS * 4;
export const WASM_GPR_OFFSET = WASM_STATUS_OFFSET + 0x100;
/** The segment caches' bases, limits and attributes (SegmentCache, placed there by SoftCpu). */
export const WASM_SEG_OFFSET = WASM_STATUS_OFFSET + 0x200;
export const WASM_JUMP_CACHE_OFFSET = WASM_STATUS_OFFSET + 0x1000;

/** Filled slots remembered for cheap flushes (per list); past this a fill flushes everything first. */
export const TLB_VALID_LIST_CAPACITY = 1 << 16;

const TWO_32 = 4294967296;
/** Backing offsets must fit bits 31:12 of a positive Int32. */
const DIRECT_LIMIT = 0x80000000;

export interface TlbCounters {
  fills: number;
  flushes: number;
  globalFlushes: number;
  invlpgs: number;
  /** List overflows that forced a full flush. */
  overflows: number;
}

/** Whether a (filled) entry may map a page holding code: marked so, or not RAM the mark can be kept for. */
function mayHoldCode(e: number): boolean {
  return (e & (TLB_HAS_CODE | TLB_NOT_RAM)) !== 0;
}

export class Tlb {
  /**
   * The entries. In a WebAssembly RAM backing's scratch area when this is the first TLB over it
   * (`inWasmMemory`): the JIT's WebAssembly translations read them there.
   */
  readonly entries: Int32Array;
  /** The RAM backing's WebAssembly memory when `entries` are in it (at byte `wasmOffset`), else null and -1. */
  readonly wasmMemory: WebAssembly.Memory | null;
  readonly wasmOffset: number;
  /**
   * Counts invalidations (INVLPG, flushes) that dropped an entry for a page holding code: a
   * cached linear-to-physical conclusion about code drawn under one generation (the JIT's links
   * between translations, the WebAssembly jump cache) is stale under the next. Such conclusions
   * are only ever drawn for code pages, whose entries carry TLB_HAS_CODE (the decode cache marks
   * every page it decodes from; setCode updates the entries already cached), so dropping a data
   * page's entry keeps them. Early in the Linux boot early_memremap maps and unmaps a fixmap
   * data page with INVLPG tens of thousands of times: each threw all of them away, and that
   * stretch entered translations from the run loop 936,000 times instead of 232,000 (its time
   * did not measurably change). An entry beyond the direct backing (TLB_NOT_RAM) cannot carry
   * the mark and counts as code.
   */
  generation = 0;
  /** Bits 47:32 of the linear page each slot was filled for (4-level paging). */
  readonly tags = new Uint16Array(TLB_SLOTS);
  /** Guest-physical page number (phys / 4096) of each slot: for MMIO and the code hook. */
  readonly frames = new Float64Array(TLB_SLOTS);
  readonly counters: TlbCounters = { fills: 0, flushes: 0, globalFlushes: 0, invlpgs: 0, overflows: 0 };
  /**
   * The filled slots, in two lists: non-global entries (all a CR3 reload walks) and global
   * ones. A kernel keeps thousands of global entries across the CR3 reloads of its context
   * switches; with one list each reload walked them all (Linux 686 early init: 15,800 reloads,
   * about 6% of that phase's main thread in flushNonGlobal and writeCr3). A slot may be on a
   * list with its entry since dropped (INVLPG), or on both lists: the walks tolerate that.
   */
  private readonly localList = new Int32Array(TLB_VALID_LIST_CAPACITY);
  private localCount = 0;
  private readonly globalList = new Int32Array(TLB_VALID_LIST_CAPACITY);
  private globalCount = 0;
  /** Linear range [largeLo, largeHi) that has held pieces of large pages since the last full flush. */
  private largeLo = Infinity;
  private largeHi = -Infinity;
  /** One byte per 4 KiB of the backing: 1 when the JIT holds code translated from it. */
  private readonly codePages: Uint8Array;

  constructor(private readonly mem: GuestMemory) {
    this.codePages = new Uint8Array(Math.ceil(mem.size / 4096));
    const wasm = mem.backing.wasm;
    if (wasm !== undefined && !wasm.claimed) {
      wasm.claimed = true;
      this.wasmMemory = wasm.memory;
      this.wasmOffset = wasm.scratchOffset;
      this.entries = new Int32Array(mem.backing.buffer, wasm.scratchOffset, TLB_SLOTS);
    } else {
      this.wasmMemory = null;
      this.wasmOffset = -1;
      this.entries = new Int32Array(TLB_SLOTS);
    }
  }

  /** Number of slots currently on the lists (duplicates included); for tests and stats. */
  get listed(): number {
    return this.localCount + this.globalCount;
  }

  /** Puts slot `i` on the list for its kind of entry; a full list flushes everything first. */
  private list(i: number, global: boolean): void {
    if ((global ? this.globalCount : this.localCount) === TLB_VALID_LIST_CAPACITY) {
      this.counters.overflows++;
      this.flushAll();
    }
    if (global) this.globalList[this.globalCount++] = i;
    else this.localList[this.localCount++] = i;
  }

  /** The entry for a linear address (any mode), or 0. */
  lookup(linear: number): number {
    const i = linear >>> 12;
    const hi = linear >= TWO_32 ? Math.floor(linear / TWO_32) : 0;
    return this.tags[i] === hi ? this.entries[i] : 0;
  }

  /** Caches a successful walk for the page containing `linear`; returns the new entry. */
  fill(linear: number, w: WalkResult): number {
    const i = linear >>> 12;
    const hi = linear >= TWO_32 ? Math.floor(linear / TWO_32) : 0;
    const pagePhys = w.phys - (w.phys % 4096);
    let e = TLB_VALID;
    if (!(w.writable && w.dirty)) e |= TLB_READONLY;
    if (!w.user) e |= TLB_NO_USER;
    if (!w.executable) e |= TLB_NO_EXEC;
    if (w.global) e |= TLB_GLOBAL;
    const off = this.mem.offsetOf(pagePhys, 4096);
    if (off >= 0 && this.codePages[Math.floor(off / 4096)] !== 0) e |= TLB_HAS_CODE;
    if (off >= 0 && off + 4096 <= DIRECT_LIMIT && (off & 0xfff) === 0) e |= off;
    else e |= TLB_NOT_RAM;
    const old = this.entries[i];
    // A code entry of another 4 GiB region (4-level paging) leaves without an INVLPG: a later
    // one for that page would find nothing to drop, so its conclusions go now.
    if (old !== 0 && this.tags[i] !== hi && mayHoldCode(old)) this.generation++;
    // A slot newly filled goes on its kind's list; one that turns non-global goes on that list
    // too (one that turns global is moved by the next CR3 reload's walk).
    const global = (e & TLB_GLOBAL) !== 0;
    if (old === 0 || (!global && (old & TLB_GLOBAL) !== 0)) this.list(i, global);
    if (w.pageSize > 4096) {
      const base = linear - (linear % w.pageSize);
      if (base < this.largeLo) this.largeLo = base;
      if (base + w.pageSize > this.largeHi) this.largeHi = base + w.pageSize;
    }
    this.entries[i] = e;
    this.tags[i] = hi;
    this.frames[i] = pagePhys / 4096;
    this.counters.fills++;
    return e;
  }

  /** INVLPG: drops the page containing `linear`, global or not (SDM 4.10.4.1). */
  invalidatePage(linear: number): void {
    this.counters.invlpgs++;
    if (linear >= this.largeLo && linear < this.largeHi) {
      this.flushAll();
      return;
    }
    const i = linear >>> 12;
    const hi = linear >= TWO_32 ? Math.floor(linear / TWO_32) : 0;
    if (this.tags[i] !== hi) return;
    // Left on its list: a refill lists it again, and the walks tolerate duplicates.
    if (mayHoldCode(this.entries[i])) this.generation++;
    this.entries[i] = 0;
  }

  /**
   * MOV to CR3: drops every entry but the global ones. The generation moves on only when an
   * entry for a code page went (see `generation`): a flush that finds only global entries and
   * data pages changes no conclusion drawn before it. A kernel that switches between its own
   * threads writes CR3 with nothing but global pages in the TLB: the Linux 686 boot's early init
   * did so 15,802 times, each of which threw away the translations' links and the WebAssembly
   * jump cache.
   */
  flushNonGlobal(): void {
    this.counters.flushes++;
    const { entries, tags, localList } = this;
    const count = this.localCount;
    this.localCount = 0;
    let droppedCode = false;
    for (let k = 0; k < count; k++) {
      const i = localList[k];
      const e = entries[i];
      if (e === 0) continue;
      if ((e & TLB_GLOBAL) === 0) {
        entries[i] = 0;
        tags[i] = 0;
        if (mayHoldCode(e)) droppedCode = true;
      } else {
        // Refilled as a global entry since it was listed here. Should the global list be full,
        // list() flushes it first; this walk goes on over the rest of its own list.
        this.list(i, true);
      }
    }
    if (droppedCode) this.generation++;
  }

  /** Drops everything, global entries included (paging-mode changes, CR4.PGE toggles). */
  flushAll(): void {
    this.generation++;
    this.counters.globalFlushes++;
    this.clearListed(this.localList, this.localCount);
    this.clearListed(this.globalList, this.globalCount);
    this.localCount = 0;
    this.globalCount = 0;
    this.largeLo = Infinity;
    this.largeHi = -Infinity;
  }

  /**
   * The JIT translated code from the RAM page holding `phys`: from now on writes to it take
   * the slow path, which calls the code-write hook.
   */
  markCode(phys: number): void {
    this.setCode(phys, true);
  }

  /** The JIT dropped all code of the page: writes may hit the fast path again. */
  unmarkCode(phys: number): void {
    this.setCode(phys, false);
  }

  /** True when the RAM page holding `phys` is marked as holding translated code. */
  hasCode(phys: number): boolean {
    const off = this.mem.offsetOf(phys);
    return off >= 0 && this.codePages[Math.floor(off / 4096)] !== 0;
  }

  private setCode(phys: number, on: boolean): void {
    const off = this.mem.offsetOf(phys);
    if (off < 0) return;
    const page = Math.floor(off / 4096);
    if ((this.codePages[page] !== 0) === on) return;
    this.codePages[page] = on ? 1 : 0;
    // Entries already cached for this page must learn about it: scan the filled slots.
    const pageOff = page * 4096;
    this.markListed(this.localList, this.localCount, pageOff, on);
    this.markListed(this.globalList, this.globalCount, pageOff, on);
  }

  /** Empties the first `count` slots of `list` (flushAll). */
  private clearListed(list: Int32Array, count: number): void {
    const { entries, tags } = this;
    for (let k = 0; k < count; k++) {
      const i = list[k];
      entries[i] = 0;
      tags[i] = 0;
    }
  }

  /** Sets or clears HAS_CODE on the listed entries that map RAM page offset `pageOff` (setCode). */
  private markListed(list: Int32Array, count: number, pageOff: number, on: boolean): void {
    const { entries } = this;
    for (let k = 0; k < count; k++) {
      const i = list[k];
      const e = entries[i];
      if (e === 0 || (e & TLB_NOT_RAM) !== 0 || (e & ~0xfff) !== pageOff) continue;
      entries[i] = on ? e | TLB_HAS_CODE : e & ~TLB_HAS_CODE;
    }
  }
}
