/**
 * The decoded-instruction cache: decoding is the interpreter's largest cost (about a third of
 * the time on integer loops), and loops run the same bytes over and over. Entries are keyed by
 * the guest-physical address of the instruction's first byte plus the decoding mode, so
 * paging changes (CR0/CR3/CR4, INVLPG) need no flush: the TLB lookup that precedes the cache
 * lookup already yields the new physical page. The cache is direct-mapped (slot = low address
 * bits) and each slot owns one Instruction (created on the slot's first use) that decode()
 * refills on a miss, so a hit costs two typed-array compares and allocates nothing.
 *
 * Validity: the pages an entry was decoded from are marked in the MMU (`tlb.markCode`), which
 * sends every write to them down the MMU slow path and to `mmu.onCodeWrite`; that hook drops
 * the entries whose bytes the write overlaps (QEMU's and v86's code-page tracking work the same
 * way). Instructions that cross a page boundary are never cached, so an entry's bytes all lie
 * in the page that was marked. Writes that bypass the MMU (GuestMemory.bytes, device DMA) are
 * not seen: whoever does those must call `flush()` (SoftCpu.flushDecodeCache).
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
  /** Guest-physical address of each slot's instruction, -1 when empty. */
  readonly tags = new Float64Array(DECODE_CACHE_SLOTS).fill(-1);
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
  readonly counters: DecodeCacheCounters = { misses: 0, invalidations: 0, flushes: 0 };

  constructor(placeholder: Handler) {
    this.handlers = new Array<Handler>(DECODE_CACHE_SLOTS).fill(placeholder);
    // Records are created on a slot's first use: a CPU that runs little code allocates little.
    this.insns = new Array<Instruction>(DECODE_CACHE_SLOTS).fill(UNUSED);
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

  /** The slot an instruction at `phys` lives in. */
  static slotOf(phys: number): number {
    return phys & SLOT_MASK;
  }

  /** The cached instruction at `phys` decoded in `mode`, or null. */
  lookup(phys: number, mode: CpuMode): Instruction | null {
    const slot = phys & SLOT_MASK;
    return this.tags[slot] === phys && this.modes[slot] === mode ? this.insns[slot] : null;
  }

  /**
   * Guest code wrote `length` bytes at `phys`: drop every entry whose bytes may overlap them
   * (an instruction starting up to 14 bytes before the write can reach into it).
   */
  invalidate(phys: number, length: number): void {
    const tags = this.tags;
    const end = phys + length;
    // A write longer than the cache sweeps every slot anyway.
    if (length + MAX_INSTRUCTION_LENGTH > DECODE_CACHE_SLOTS) {
      this.flush();
      return;
    }
    for (let a = Math.max(0, phys - (MAX_INSTRUCTION_LENGTH - 1)); a < end; a++) {
      const slot = a & SLOT_MASK;
      if (tags[slot] === a) {
        tags[slot] = -1;
        this.counters.invalidations++;
      }
    }
  }

  /** Records that `slot` now holds the instruction at `phys` decoded in `mode`, run by `handler`. */
  store(slot: number, phys: number, mode: CpuMode, handler: Handler): void {
    this.tags[slot] = phys;
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
