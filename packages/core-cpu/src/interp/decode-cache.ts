/**
 * The decoded-instruction cache: decoding is the interpreter's largest cost (about a third of
 * the time on integer loops), and loops run the same bytes over and over. Entries are keyed by
 * the instruction's first byte as an offset in the guest RAM backing (GuestMemory.bytes) plus
 * the decoding mode. The run loop gets that offset straight from the TLB entry it already
 * loaded (bits 31:12 of a RAM entry are the page's backing offset, mmu/tlb.ts), so a lookup is
 * integer arithmetic on one Int32Array; and since the key is where the bytes are, paging
 * changes (CR0/CR3/CR4, INVLPG) need no flush. The cache is direct-mapped (slot = low key
 * bits) and each slot owns one Instruction (created on the slot's first use) that decode()
 * refills on a miss, so a hit costs two typed-array compares and allocates nothing. Only RAM
 * the TLB maps directly is cached (the fetch fast path excludes anything else).
 *
 * Validity: the pages an entry was decoded from are marked in the MMU (`tlb.markCode`), which
 * sends every write to them down the MMU slow path and to `mmu.onCodeWrite`; that hook drops
 * the entries whose bytes the write overlaps (QEMU's and v86's code-page tracking work the same
 * way). The hook speaks guest-physical addresses: `notePage` records, per cached page, which
 * backing page it is, and `invalidatePhys` translates through that record. Instructions that
 * cross a page boundary are never cached, so an entry's bytes all lie in the page that was
 * marked. Writes that bypass the MMU (GuestMemory.bytes, device DMA) are not seen: whoever
 * does those must call `flush()` (SoftCpu.flushDecodeCache).
 *
 * The handler a slot keeps is picked at decode by loop-handlers.ts.
 */
import { CpuMode, Instruction } from '../decoder/instruction.js';
import { MAX_INSTRUCTION_LENGTH } from '../decoder/decoder.js';
import type { Handler } from './handlers/types.js';

/**
 * Slots (a power of two). 64 Ki instructions: hot loops need far fewer, but direct mapping by
 * the low address bits makes code 64 KiB apart collide, and a kernel's hot paths spread out.
 */
export const DECODE_CACHE_SLOTS = 1 << 16;
const SLOT_MASK = DECODE_CACHE_SLOTS - 1;

export interface DecodeCacheCounters {
  /** Decodes into the cache (hits are not counted: that would cost on every instruction). */
  misses: number;
  /** Entries dropped because guest code wrote over their bytes. */
  invalidations: number;
  flushes: number;
}

/** Placeholder in slots never used (one shared object keeps the array's elements uniform). */
const UNUSED = new Instruction();

export class DecodeCache {
  /** RAM backing offset of each slot's instruction, -1 when empty. */
  readonly tags = new Int32Array(DECODE_CACHE_SLOTS).fill(-1);
  /** The CpuMode each slot was decoded in (the same bytes decode differently per mode). */
  readonly modes = new Uint8Array(DECODE_CACHE_SLOTS);
  /** One decoded record per slot, refilled in place on a miss (UNUSED until the first). */
  readonly insns: Instruction[];
  /**
   * Each slot's handler, looked up once at decode (saves two dependent loads per instruction;
   * measured +8% on a NOP loop). Written by store() with the tag; stale only where the tag is.
   */
  readonly handlers: Handler[];
  /** Slots filled since the last flush (each once: `listed` marks the members). */
  private readonly used = new Int32Array(DECODE_CACHE_SLOTS);
  private readonly listed = new Uint8Array(DECODE_CACHE_SLOTS);
  private usedCount = 0;
  /** Backing page (offset / 4096) of each guest-physical page (phys / 4096) code was cached from. */
  private readonly pageOffsets = new Map<number, number>();
  readonly counters: DecodeCacheCounters = { misses: 0, invalidations: 0, flushes: 0 };

  constructor(placeholder: Handler) {
    // Filled by push, not new Array(n).fill: V8 then keeps them packed (no hole check per load).
    this.handlers = [];
    this.insns = [];
    // Records are created on a slot's first use: a CPU that runs little code allocates little.
    for (let i = 0; i < DECODE_CACHE_SLOTS; i++) {
      this.handlers.push(placeholder);
      this.insns.push(UNUSED);
    }
  }

  /** The record slot `slot` decodes into (created on first use). */
  recordFor(slot: number): Instruction {
    let insn = this.insns[slot];
    if (insn === UNUSED) {
      insn = new Instruction();
      this.insns[slot] = insn;
    }
    return insn;
  }

  /** The slot an instruction at backing offset `key` lives in. */
  static slotOf(key: number): number {
    return key & SLOT_MASK;
  }

  /** The cached instruction at backing offset `key` decoded in `mode`, or null. */
  lookup(key: number, mode: CpuMode): Instruction | null {
    const slot = key & SLOT_MASK;
    return this.tags[slot] === key && this.modes[slot] === mode ? this.insns[slot] : null;
  }

  /** Code is being cached from guest-physical page `physPage`, held at backing page `keyPage`. */
  notePage(physPage: number, keyPage: number): void {
    if (this.pageOffsets.get(physPage) !== keyPage) this.pageOffsets.set(physPage, keyPage);
  }

  /**
   * The MMU's code-write hook: guest code wrote `length` bytes at guest-physical `phys`.
   * Pages never noted hold no cached code.
   */
  invalidatePhys(phys: number, length: number): void {
    while (length > 0) {
      const physPage = Math.floor(phys / 4096);
      const inPage = phys - physPage * 4096;
      const part = Math.min(length, 4096 - inPage);
      const keyPage = this.pageOffsets.get(physPage);
      if (keyPage !== undefined) this.invalidate(keyPage * 4096 + inPage, part);
      phys += part;
      length -= part;
    }
  }

  /**
   * Guest code wrote `length` bytes at backing offset `key`: drop every entry whose bytes may
   * overlap them (an instruction starting up to 14 bytes before the write can reach into it).
   */
  invalidate(key: number, length: number): void {
    const tags = this.tags;
    const end = key + length;
    // A write longer than the cache sweeps every slot anyway.
    if (length + MAX_INSTRUCTION_LENGTH > DECODE_CACHE_SLOTS) {
      this.flush();
      return;
    }
    for (let a = Math.max(0, key - (MAX_INSTRUCTION_LENGTH - 1)); a < end; a++) {
      const slot = a & SLOT_MASK;
      if (tags[slot] === a) {
        tags[slot] = -1;
        this.counters.invalidations++;
      }
    }
  }

  /** Records that `slot` now holds the instruction at backing offset `key` decoded in `mode`, run by `handler`. */
  store(slot: number, key: number, mode: CpuMode, handler: Handler): void {
    this.tags[slot] = key;
    this.modes[slot] = mode;
    this.handlers[slot] = handler;
    if (this.listed[slot] === 0) {
      this.listed[slot] = 1;
      this.used[this.usedCount++] = slot;
    }
  }

  /**
   * Drops every entry. Clears only the slots used since the last flush, so flushing a cache
   * that holds a few instructions (a test harness flushes before each case) is cheap.
   */
  flush(): void {
    const { tags, listed, used } = this;
    for (let k = 0; k < this.usedCount; k++) {
      const slot = used[k];
      tags[slot] = -1;
      listed[slot] = 0;
    }
    this.usedCount = 0;
    this.counters.flushes++;
  }
}
