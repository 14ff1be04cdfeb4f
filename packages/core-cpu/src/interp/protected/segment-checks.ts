/**
 * Data-access segment checks in protected mode (SDM Vol. 3, 5.3 "Limit Checking", 5.4 "Type
 * Checking", 3.4.5.1 expand-down segments): the slow path behind addressing.ts's
 * segmentLinear, reached only when the segment is not a plain expand-up data segment.
 *
 * - an unusable (null) segment register: #GP(0) (#SS(0) for SS);
 * - execute-only code: #GP(0), as neither a read nor a write is allowed;
 * - expand-down data: valid offsets are limit+1 .. 0xFFFF (B = 0) or 0xFFFFFFFF (B = 1);
 * - real mode and virtual-8086 mode: the plain limit check (attributes are not consulted).
 *
 * Writes into read-only data or code segments: memoryLinear sends every access through a
 * segment that is not writable data here, and checkedMemoryLinear faults when the instruction
 * stores to its ModRM operand (STORES_MODRM, from the opcode table). Stores outside ModRM
 * (string destinations through ES, moffs) call checkSegmentWrite themselves.
 */
import { OPCODE_TABLE } from '../../decoder/opcode-table.js';
import type { Instruction } from '../../decoder/instruction.js';
import { Attr, type SegmentCache } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';

const SS = 2;
const FLAG_VM = 0x20000;
const EFER_LMA = 0x400;

/**
 * The attribute tests of the interpreter's memory fast paths, a const enum like Attr (tsc
 * writes the numbers in; bundled interpreter bench, paging row: 200.0 host instructions per
 * guest instruction with them as module variables, 196.0 without, under cachegrind).
 * - Simple: a usable expand-up data segment (S = 1, code = 0, expand-down = 0), for which the
 *   plain limit check is complete (segmentLinear's first test).
 * - WritableSimple: the simple case, and writable as well (memoryLinear's).
 */
export const enum SegmentTest {
  SimpleMask = Attr.Unusable | Attr.S | Attr.Code | Attr.ExpandDown,
  SimpleValue = Attr.S,
  WritableSimpleMask = SimpleMask | Attr.Writable,
  WritableSimpleValue = SimpleValue | Attr.Writable,
}
export const SIMPLE_MASK: number = SegmentTest.SimpleMask;
export const SIMPLE_VALUE: number = SegmentTest.SimpleValue;
export const WRITABLE_SIMPLE_MASK: number = SegmentTest.WritableSimpleMask;
export const WRITABLE_SIMPLE_VALUE: number = SegmentTest.WritableSimpleValue;

/**
 * Bit n set: segment n (ES..GS) is flat, a writable simple data segment with base 0 and limit
 * 4 GiB, so an offset is its linear address and no access that stays within 4 GiB faults.
 */
export function flatSegments(seg: SegmentCache): number {
  let mask = wideSegments(seg);
  for (let n = 0; n < 6; n++) if (seg.base[n] !== 0) mask &= ~(1 << n);
  return mask;
}

/** Bit n set: segment n is plain writable data with a 4 GiB limit, at any base (the WebAssembly JIT adds it). */
export function wideSegments(seg: SegmentCache): number {
  let mask = 0;
  for (let n = 0; n < 6; n++) {
    if ((seg.attr[n] & WRITABLE_SIMPLE_MASK) === WRITABLE_SIMPLE_VALUE && seg.limit[n] === -1) mask |= 1 << n;
  }
  return mask;
}

/**
 * Mnemonics whose first operand is a ModRM memory destination they store to. Everything else
 * with an E/M first operand only reads it (CMP, TEST, BT, PUSH, JMP/CALL, LGDT, x87 loads ...).
 * ARPL stores only when it changes the RPL, and checks for itself.
 */
const STORING = new Set([
  'add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'xchg', 'mov', 'pop', 'rol', 'ror', 'rcl', 'rcr', 'shl',
  'shr', 'sar', 'not', 'neg', 'inc', 'dec', 'sgdt', 'sidt', 'shld', 'shrd', 'bts', 'btr', 'btc', 'cmpxchg', 'xadd',
  'fxsave', 'cmpxchg8b', 'fst', 'fstp', 'fnstenv', 'fnstcw', 'fist', 'fistp', 'fnsave', 'fnstsw', 'fbstp',
]);

/** By opcode-table index: 1 when the instruction stores to its ModRM memory operand. */
export const STORES_MODRM = Uint8Array.from(OPCODE_TABLE, (e) => {
  const [mnemonic, first] = e.key.split('_');
  if (first === undefined || !/^[EM]/.test(first)) return 0;
  return STORING.has(mnemonic) || mnemonic.startsWith('set') ? 1 : 0;
});

/** Linear address of `size` bytes at `offset` in `seg` after the full checks (slow path). */
export function checkedSegmentLinear(cpu: SoftCpu, seg: number, offset: number, size: number): number {
  const r = cpu.regs;
  const s = r.seg;
  const vector = seg === SS ? Vector.SS : Vector.GP;
  const end = offset + size - 1;
  if (!(r.cr0 & 1) || r.flags.raw & FLAG_VM) {
    if (end > s.limit[seg] >>> 0) raise(vector, 0);
    return (s.base[seg] + offset) >>> 0;
  }
  const a = s.attr[seg];
  if (a & Attr.Unusable) raise(vector, 0);
  if (a & Attr.S && a & Attr.Code) {
    if (!(a & Attr.Readable)) raise(vector, 0);
  } else if (a & Attr.S && a & Attr.ExpandDown) {
    const upper = a & Attr.Db ? 0xffffffff : 0xffff;
    if (offset <= s.limit[seg] >>> 0 || end > upper) raise(vector, 0);
    return (s.base[seg] + offset) >>> 0;
  }
  if (end > s.limit[seg] >>> 0) raise(vector, 0);
  return (s.base[seg] + offset) >>> 0;
}

/**
 * The write-side check (SDM Vol. 3, 5.4): in protected mode a write through a code segment
 * or a read-only data segment is #GP(0) (#SS(0) for SS). Called by checkedMemoryLinear for
 * ModRM stores, and by the string and moffs stores, whose segment is known there.
 */
export function checkSegmentWrite(cpu: SoftCpu, seg: number): void {
  const r = cpu.regs;
  if (!(r.cr0 & 1) || r.flags.raw & FLAG_VM) return;
  const a = r.seg.attr[seg];
  // 64-bit mode ignores segment types (and data registers may hold null selectors).
  if (r.efer & EFER_LMA && r.seg.attr[1] & Attr.L) return;
  if ((a & (Attr.S | Attr.Code | Attr.Writable)) !== (Attr.S | Attr.Writable)) raise(seg === SS ? Vector.SS : Vector.GP, 0);
}

/** Stores that do not read their destination first (everything else in STORING does). */
const WRITE_ONLY = new Set([
  'mov', 'pop', 'sgdt', 'sidt', 'fxsave', 'fst', 'fstp', 'fnstenv', 'fnstcw', 'fist', 'fistp', 'fnsave', 'fnstsw', 'fbstp',
]);

/**
 * By opcode-table index: 1 for read-modify-write instructions (ADD [m], XCHG, BTS, CMPXCHG ...).
 * The CPU reads their destination with write intent, so a #PF on that read reports W = 1
 * (measured against the host CPU by the random-sequence differential test).
 */
export const READS_FOR_WRITE = Uint8Array.from(OPCODE_TABLE, (e, i) => {
  const mnemonic = e.key.split('_')[0];
  return STORES_MODRM[i] !== 0 && !WRITE_ONLY.has(mnemonic) && !mnemonic.startsWith('set') ? 1 : 0;
});

/** memoryLinear's slow path: the full checks, then the write check for storing instructions. */
export function checkedMemoryLinear(cpu: SoftCpu, insn: Instruction, offset: number, size: number): number {
  const linear = checkedSegmentLinear(cpu, insn.segment, offset, size);
  if (STORES_MODRM[insn.entry.index] !== 0) checkSegmentWrite(cpu, insn.segment);
  return linear;
}
