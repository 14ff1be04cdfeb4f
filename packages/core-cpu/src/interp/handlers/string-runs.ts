/**
 * REP STOS and REP MOVS through RAM a run of elements at a time: one fill or one copy where
 * the element loop of string.ts would go through the TLB, the segment checks and the index
 * updates once per element. Kernels clear and copy pages this way all the time. REPE/REPNE
 * SCAS (the i386 kernel's strlen and memchr) scans a run straight from RAM in one loop, and
 * stops at the element that ends the REP, as the element loop does.
 *
 * A run is taken only where the element loop would come to the same result with no fault and
 * no side effect on the way, so the two cannot be told apart (registers, memory, flags, and
 * where a REP_CHUNK step ends):
 * - outside IA-32e mode, 16- or 32-bit addressing; STOS and MOVS in either direction (DF), SCAS
 *   upwards only;
 * - the segments are usable expand-up data segments (ES writable), the run lies inside their
 *   limits, and a 16-bit offset does not wrap;
 * - the run stays inside one page of each operand, and the TLB's fast-path test passes for
 *   those pages: RAM, present, writable (the destination) at this privilege, dirty already.
 *   A destination page holding decoded or translated code is written too: the code-write hook
 *   hears of the whole run first (the blocks and translations it overlaps go, as they would
 *   element by element). Linux poisons its freed init text with REP STOSL: page by page, each
 *   of 1,024 elements had gone through the slow path and the hook;
 * - MOVS: the copy does not run into source elements it has not read yet: upwards the
 *   destination must not start inside the source's run after its start, downwards (DF = 1) not
 *   end inside it before its end. Copied one element after another, such a copy repeats a
 *   pattern; one block copy would not. (Linux's decompressor moves itself up with STD; REP
 *   MOVSL, the case downward runs are for.)
 * Otherwise a run function returns 0 and the element loop takes the next element itself,
 * faults included. Each returns how many elements it did, after committing rSI/rDI/rCX.
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import { PREFIX_REPNE, type Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { SIMPLE_MASK, SIMPLE_VALUE, WRITABLE_SIMPLE_MASK, WRITABLE_SIMPLE_VALUE } from '../protected/segment-checks.js';
import type { SoftCpu } from '../soft-cpu.js';
import { ADDR16, index, setIndex } from './string-index.js';
import { PagedLinearMemory } from '../paged-memory.js';
import { TLB_HAS_CODE } from '../../mmu/tlb.js';

const RCX = 1;
const RSI = 6;
const RDI = 7;
const EFER_LMA = 0x400;
const PAGE = 4096;

/**
 * A run of `max` elements or fewer: the caller's address mode (ADDR16 or ADDR32), element size
 * and limit, and the direction (`down`: DF = 1, each element `size` bytes below the one before).
 */
export type StringRun = (cpu: SoftCpu, insn: Instruction, am: number, size: number, max: number, down: boolean) => number;

/** Elements of `size` from linear `lin` to the end of its page (`down`: to its start; 0 when the element at `lin` crosses into the next page). */
function roomInPage(lin: number, size: number, down: boolean): number {
  const inPage = lin & (PAGE - 1);
  if (!down) return Math.floor((PAGE - inPage) / size);
  return inPage + size > PAGE ? 0 : Math.floor(inPage / size) + 1;
}

/** True when `bytes` bytes at `offset` lie inside segment `seg`, a usable expand-up data segment (writable if asked). */
function insideSegment(cpu: SoftCpu, seg: number, offset: number, bytes: number, writable: boolean, am: number): boolean {
  const s = cpu.regs.seg;
  const attr = s.attr[seg];
  if (writable ? (attr & WRITABLE_SIMPLE_MASK) !== WRITABLE_SIMPLE_VALUE : (attr & SIMPLE_MASK) !== SIMPLE_VALUE) return false;
  if (am === ADDR16 && offset + bytes > 0x10000) return false;
  return offset + bytes - 1 <= s.limit[seg] >>> 0;
}

/**
 * Whether runs may be taken at all: legacy paging (TLB tags all 0) and the CPU's memory is the
 * MMU's own fast path, which a run stands in for (a test's recording wrapper keeps the element
 * loop and sees every element).
 */
function runsPossible(cpu: SoftCpu): boolean {
  return cpu.mmu !== null && (cpu.regs.efer & EFER_LMA) === 0 && cpu.mem instanceof PagedLinearMemory;
}

/** Fills `n` elements of `size` bytes of value `v` at backing offset `at`. */
function fill(cpu: SoftCpu, at: number, size: number, v: number, n: number): void {
  const mmu = cpu.mmu!;
  const bytes = mmu.bytes;
  const b0 = v & 0xff;
  if (size === 1 || (b0 === ((v >>> 8) & 0xff) && (size === 2 || v === Math.imul(b0, 0x01010101)))) {
    bytes.fill(b0, at, at + n * size);
  } else if (size === 4 && (at & 3) === 0) {
    mmu.words.fill(v, at >> 2, (at >> 2) + n);
  } else {
    for (let k = 0, p = at; k < n; k++) for (let i = 0; i < size; i++, p++) bytes[p] = v >>> (i * 8);
  }
}

/**
 * Whether the destination run of `length` bytes from linear `lin` (TLB entry `e`, one page) may
 * be written at once: the entry passes the write fast path's test, or fails it only for the code
 * on the page, and then the code-write hook has heard of the run (Mmu.codeWritten).
 */
function writableRun(cpu: SoftCpu, e: number, lin: number, length: number): boolean {
  const mmu = cpu.mmu!;
  if ((e & mmu.writeMask) === mmu.writeExpect) return true;
  if ((e & mmu.writeMask & ~TLB_HAS_CODE) !== mmu.writeExpect) return false;
  mmu.codeWritten(mmu.tlb.frames[lin >>> 12] * PAGE + (lin & (PAGE - 1)), length);
  return true;
}

/** The run esRun found: its element count, rDI's offset at its start and the backing offset of its lowest element. */
const found = { count: 0, offset: 0, at: 0 };

/**
 * The run of STOS or SCAS at ES:rDI (at most `max` elements, rCX's and the page's; `down`: the
 * elements at and below rDI): sets `found` and returns its count, or 0 where the element loop
 * must go on (see the file comment).
 */
function esRun(cpu: SoftCpu, am: number, size: number, max: number, write: boolean, down: boolean): number {
  if (!runsPossible(cpu)) return 0;
  const mmu = cpu.mmu!;
  const g = cpu.regs.gpr;
  const offset = index(g, am, RDI);
  const lin = (cpu.regs.seg.base[Seg.ES] + offset) >>> 0;
  const n = Math.min(max, index(g, am, RCX), roomInPage(lin, size, down));
  const span = (n - 1) * size;
  if (n <= 0 || (down && offset < span) || !insideSegment(cpu, Seg.ES, down ? offset - span : offset, n * size, write, am)) return 0;
  const e = mmu.entries[lin >>> 12];
  const low = down ? lin - span : lin;
  if (write ? !writableRun(cpu, e, low, n * size) : (e & mmu.readMask) !== mmu.readExpect) return 0;
  found.count = n;
  found.offset = offset;
  found.at = (e & ~0xfff) | (low & 0xfff);
  return n;
}

export const stosRun: StringRun = (cpu, _insn, am, size, max, down) => {
  const n = esRun(cpu, am, size, max, true, down);
  if (n === 0) return 0;
  const g = cpu.regs.gpr;
  const value = size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0];
  fill(cpu, found.at, size, value, n);
  setIndex(g, am, RDI, found.offset + (down ? -n : n) * size);
  setIndex(g, am, RCX, index(g, am, RCX) - n);
  return n;
};

export const movsRun: StringRun = (cpu, insn, am, size, max, down) => {
  if (!runsPossible(cpu)) return 0;
  const mmu = cpu.mmu!;
  const g = cpu.regs.gpr;
  const base = cpu.regs.seg.base;
  const from = index(g, am, RSI);
  const to = index(g, am, RDI);
  const source = (base[insn.segment] + from) >>> 0;
  const dest = (base[Seg.ES] + to) >>> 0;
  const n = Math.min(max, index(g, am, RCX), roomInPage(source, size, down), roomInPage(dest, size, down));
  const length = n * size;
  // The run's lowest element: the first one upwards, the last one downwards.
  const span = down ? length - size : 0;
  if (n <= 0 || from < span || to < span || !insideSegment(cpu, insn.segment, from - span, length, false, am)) return 0;
  if (!insideSegment(cpu, Seg.ES, to - span, length, true, am)) return 0;
  const es = mmu.entries[source >>> 12];
  const ed = mmu.entries[dest >>> 12];
  if ((es & mmu.readMask) !== mmu.readExpect) return 0;
  const at = (es & ~0xfff) | ((source - span) & 0xfff);
  const into = (ed & ~0xfff) | ((dest - span) & 0xfff);
  if (down ? into < at && into + length > at : into > at && into < at + length) return 0;
  if (!writableRun(cpu, ed, dest - span, length)) return 0;
  mmu.bytes.copyWithin(into, at, at + length);
  const step = down ? -length : length;
  setIndex(g, am, RSI, from + step);
  setIndex(g, am, RDI, to + step);
  setIndex(g, am, RCX, index(g, am, RCX) - n);
  return n;
};

/** The element of `size` bytes (1, 2 or 4) at backing offset `at`, unsigned, as the MMU reads it. */
function elementAt(bytes: Uint8Array, at: number, size: number): number {
  if (size === 1) return bytes[at];
  if (size === 2) return bytes[at] | (bytes[at + 1] << 8);
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * REPE/REPNE SCAS: compares the accumulator with the elements at ES:rDI up to the one that ends
 * the REP (REPNE: equal, REPE: not equal), that one included, and records the flags of the last
 * comparison, as the element loop's last scasOne does.
 */
export const scasRun: StringRun = (cpu, insn, am, size, max, down) => {
  if (down) return 0;
  const n = esRun(cpu, am, size, max, false, false);
  if (n === 0) return 0;
  const g = cpu.regs.gpr;
  const offset = found.offset;
  const a = size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0] >>> 0;
  const endsOnEqual = (insn.prefixes & PREFIX_REPNE) !== 0;
  const bytes = cpu.mmu!.bytes;
  let at = found.at;
  let done = 0;
  let b = 0;
  while (done < n) {
    b = elementAt(bytes, at, size);
    at += size;
    done++;
    if ((a === b) === endsOnEqual) break;
  }
  cpu.regs.flags.record(FlagOp.SUB, size << 3, a, b, a - b);
  setIndex(g, am, RDI, offset + done * size);
  setIndex(g, am, RCX, index(g, am, RCX) - done);
  return done;
};
