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
 * The handler a slot keeps is picked here too (loopHandler): where one exists, a variant fixed
 * to the instruction's operand size and kind, and otherwise the table's handler, wrapped when
 * it may change what the run loop keeps in locals (MODE_KEEPING).
 */
import { CpuMode, Instruction } from '../decoder/instruction.js';
import { MAX_INSTRUCTION_LENGTH } from '../decoder/decoder.js';
import { DISPATCH } from './handlers/index.js';
import type { Handler } from './handlers/types.js';
import { OPCODE_TABLE } from '../decoder/opcode-table.js';
import { ALU_HANDLERS } from './handlers/alu.js';
import { ATOMIC_HANDLERS } from './handlers/atomics.js';
import { BCD_HANDLERS } from './handlers/bcd.js';
import { BITOP_HANDLERS } from './handlers/bitops.js';
import { CONTROL_HANDLERS } from './handlers/control.js';
import { DATA_HANDLERS, LEA_VARIANTS, MOV_VARIANTS } from './handlers/data.js';
import { MULDIV_HANDLERS } from './handlers/muldiv.js';
import { SHIFT_HANDLERS } from './handlers/shift.js';
import { FLAG_HANDLERS, STACK_HANDLERS } from './handlers/stack-ops.js';
import { STRING_HANDLERS } from './handlers/string.js';
import { X87_HANDLERS } from './handlers/x87.js';
import { ALU_FORM_VARIANTS } from '../generated/alu-forms.js';

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

/**
 * Handlers that cannot change CS (selector, base, attributes), CR0 or EFER, so the run loops
 * may keep the decoding mode and CS base they computed on entry across them: whole groups of
 * plain data operations, and the near control transfers. Left out, conservatively: I/O (a
 * device may reset the machine), segment register loads, POPF. A handler not listed (or
 * replaced later by a wrapper, e.g. system-events.ts) is not this function object, so it is
 * treated as mode-changing: a new handler is safe by default.
 */
const MODE_KEEPING: ReadonlySet<Handler> = (() => {
  const keep = new Set<Handler>();
  const groups = [ALU_HANDLERS, ATOMIC_HANDLERS, BCD_HANDLERS, BITOP_HANDLERS, MULDIV_HANDLERS, SHIFT_HANDLERS, X87_HANDLERS, FLAG_HANDLERS];
  for (const g of groups) for (const h of Object.values(g)) keep.add(h);
  const except = /^(ins_|outs_|mov_Sw_Rv_Mw$|pop_(ES|SS|DS|FS|GS)$|popf$)/;
  for (const g of [DATA_HANDLERS, STACK_HANDLERS, STRING_HANDLERS]) {
    for (const [key, h] of Object.entries(g)) if (!except.test(key)) keep.add(h);
  }
  const nearControl = /^(jmp_(Jb|Jz|Ev)|call_(Jz|Ev)|ret|ret_Iw|loop(e|ne)?_Jb|jcxz_Jb|j(n?[obeslp]|ae|be|a|ge|le|g|l)_J[bz]|set[a-z]+_Eb|cmov[a-z]+_Gv_Ev)$/;
  for (const [key, h] of Object.entries(CONTROL_HANDLERS)) if (nearControl.test(key)) keep.add(h);
  // A mode-changing key that shares its function with a kept key would be wrongly kept.
  for (const [key, h] of Object.entries(CONTROL_HANDLERS)) if (!nearControl.test(key)) keep.delete(h);
  return keep;
})();

/** Raises SoftCpu.modeChanged after `h`: the run loop then ends and re-reads the mode. */
function modeChanging(h: Handler): Handler {
  return (cpu, insn) => {
    h(cpu, insn);
    cpu.modeChanged = true;
  };
}

/**
 * What the run loops call per table entry: DISPATCH's handler, wrapped by modeChanging unless
 * it is in MODE_KEEPING. (Built once; the wrappers are the only closures, one per entry.)
 */
const LOOP_DISPATCH: readonly Handler[] = OPCODE_TABLE.map((_entry, i) =>
  MODE_KEEPING.has(DISPATCH[i]) ? DISPATCH[i] : modeChanging(DISPATCH[i]));

/**
 * Per table entry, the variants of its v-form handler fixed to one size and operand kind (ALU
 * forms: generated/alu-forms.ts; MOV: handlers/data.ts), when the entry still runs that
 * handler (not replaced by a later group); else undefined.
 */
const VARIANTS: readonly (readonly Handler[] | undefined)[] = OPCODE_TABLE.map((entry, i) => {
  const key = entry.key;
  if (ALU_FORM_VARIANTS[key] !== undefined && DISPATCH[i] === ALU_HANDLERS[key]) return ALU_FORM_VARIANTS[key];
  if (MOV_VARIANTS[key] !== undefined && DISPATCH[i] === DATA_HANDLERS[key]) return MOV_VARIANTS[key];
  if (key === 'lea_Gv_M' && DISPATCH[i] === DATA_HANDLERS[key]) return LEA_VARIANTS;
  return undefined;
});

/** The handler the run loops call for a decoded instruction (picked once per decode). */
export function loopHandler(insn: Instruction): Handler {
  const v = VARIANTS[insn.entryIndex];
  if (v !== undefined && insn.opSize !== 8) return v[(insn.opSize === 4 ? 1 : 0) | (insn.isMem ? 2 : 0)];
  return LOOP_DISPATCH[insn.entryIndex];
}
