/**
 * Lazy flags inside a translated block. An ALU instruction the JIT writes itself keeps its
 * flag record in JS locals (fk, fo, fz, fa, fb, fr, fc) instead of the LazyFlags object, and a
 * Jcc/SETcc/CMOVcc/ADC that follows in the same block tests the condition straight from those
 * locals, with the operation known at translation time (`cmp eax,ebx; jb` becomes
 * `(fa >>> 0) < (fb >>> 0)`). The record reaches LazyFlags only when something else may read
 * it: an exit, a handler call, a fault. What it then holds is exactly what the interpreter's
 * handler would have recorded, so `--jit=on` and `--jit=off` give the same EFLAGS.
 *
 * Runtime kinds in `fk`: 0 the flags are in LazyFlags; 1 record(fo, fz, fa, fb, fr); 2 the same
 * with CF kept from before (INC/DEC: CF in fc); 3 recordResultOnly(fz, fr, 0, fa, fb) (shifts
 * and multiplies: fa holds the eagerly computed flags, fb the mask of those).
 */
import { ARITH_FLAGS, CF, FlagOp, OF, ZF, type LazyFlags } from '../alu/lazy-flags.js';

export const FLAGS_IN_MEMORY = 0;
export const FLAGS_RECORD = 1;
export const FLAGS_KEEP_CARRY = 2;
export const FLAGS_RESULT = 3;

/** What the translation knows at one point about where the flags are. */
export type StaticFlags =
  | { kind: 'memory' }
  /** At a loop head: whatever the locals say at run time. */
  | { kind: 'runtime' }
  /** `plain`: no carry-in (ADD/SUB/CMP, not ADC/SBB), so CF is an unsigned compare. */
  | { kind: 'record'; op: FlagOp; bits: number; plain: boolean; keepCarry: boolean }
  | { kind: 'result'; bits: number; mask: number };

const MEMORY: StaticFlags = { kind: 'memory' };
export const RUNTIME_FLAGS: StaticFlags = { kind: 'runtime' };
export const MEMORY_FLAGS = MEMORY;

/** Statement writing the runtime record into LazyFlags, whatever its kind. */
export const MATERIALIZE_RUNTIME =
  'if (fk !== 0) { if (fk === 3) f.recordResultOnly(fz, fr, 0, fa, fb); else { f.record(fo, fz, fa, fb, fr); ' +
  `if (fk === 2) { f.raw = (f.raw & ${~CF}) | fc; f.lazy = ${ARITH_FLAGS & ~CF}; } } fk = 0; }`;

/**
 * MATERIALIZE_RUNTIME as a function, for the WebAssembly backend's host side (jit/wasm/), which
 * gets the seven locals' values rather than writing code over them.
 */
export function materializeRecord(f: LazyFlags, fk: number, fo: number, fz: number, fa: number, fb: number, fr: number, fc: number): void {
  if (fk === 0) return;
  if (fk === FLAGS_RESULT) {
    f.recordResultOnly(fz, fr, 0, fa, fb);
    return;
  }
  f.record(fo as FlagOp, fz, fa, fb, fr);
  if (fk === FLAGS_KEEP_CARRY) {
    f.raw = (f.raw & ~CF) | fc;
    f.lazy = ARITH_FLAGS & ~CF;
  }
}

/** Statement writing the record described by `s` into LazyFlags ('' when there is none). */
export function materialize(s: StaticFlags): string {
  switch (s.kind) {
    case 'memory':
      return '';
    case 'runtime':
      return MATERIALIZE_RUNTIME;
    case 'result':
      return `f.recordResultOnly(${s.bits}, fr, 0, fa, fb); fk = 0;`;
    case 'record':
      return s.keepCarry
        ? `f.record(${s.op}, ${s.bits}, fa, fb, fr); f.raw = (f.raw & ${~CF}) | fc; f.lazy = ${ARITH_FLAGS & ~CF}; fk = 0;`
        : `f.record(${s.op}, ${s.bits}, fa, fb, fr); fk = 0;`;
  }
}

/** The low `bits` bits set (an operand size's mask). */
export function mask(bits: number): number {
  return bits === 32 ? -1 : (1 << bits) - 1;
}

/** `x`'s sign bit at operand size `bits` is set. */
function signOf(x: string, bits: number): string {
  return bits === 32 ? `(${x} < 0)` : `((${x} << ${32 - bits}) < 0)`;
}

function zeroOf(x: string, bits: number): string {
  return bits === 32 ? `(${x} === 0)` : `((${x} & ${mask(bits)}) === 0)`;
}

/** CF as a boolean expression, or null when only LazyFlags can tell. */
function carryOf(s: StaticFlags): string | null {
  if (s.kind === 'result') return s.mask & CF ? '((fa & 1) !== 0)' : null;
  if (s.kind !== 'record') return null;
  if (s.keepCarry) return '(fc !== 0)';
  const top = s.bits - 1;
  const m = mask(s.bits);
  switch (s.op) {
    case FlagOp.LOGIC:
      return 'false';
    case FlagOp.NEG:
      return `((fb & ${m}) !== 0)`;
    case FlagOp.ADD:
      if (s.plain) return s.bits === 32 ? '((fr >>> 0) < (fa >>> 0))' : `(((fa & ${m}) + (fb & ${m})) > ${m})`;
      return `((((fa & fb) | ((fa | fb) & ~fr)) >>> ${top} & 1) !== 0)`;
    case FlagOp.SUB:
      if (s.plain) return s.bits === 32 ? '((fa >>> 0) < (fb >>> 0))' : `((fa & ${m}) < (fb & ${m}))`;
      return `((((~fa & fb) | ((~fa | fb) & fr)) >>> ${top} & 1) !== 0)`;
  }
  return null;
}

function overflowOf(s: StaticFlags): string | null {
  if (s.kind === 'result') return s.mask & OF ? '((fa & 2048) !== 0)' : null;
  if (s.kind !== 'record') return null;
  switch (s.op) {
    case FlagOp.LOGIC:
      return 'false';
    case FlagOp.ADD:
      return signOf('((fa ^ fr) & (fb ^ fr))', s.bits);
    default:
      return signOf('((fa ^ fb) & (fa ^ fr))', s.bits);
  }
}

function zeroFlag(s: StaticFlags): string | null {
  if (s.kind === 'result') return s.mask & ZF ? '((fa & 64) !== 0)' : zeroOf('fr', s.bits);
  if (s.kind === 'record') return zeroOf('fr', s.bits);
  return null;
}

function signFlag(s: StaticFlags): string | null {
  if (s.kind === 'result' || s.kind === 'record') return signOf('fr', s.bits);
  return null;
}

/**
 * Condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc) as a boolean expression over the
 * flag locals, or null when it must be read from LazyFlags (PF, or nothing known).
 */
export function conditionExpression(s: StaticFlags, cc: number): string | null {
  const positive = conditionTrue(s, cc >> 1);
  if (positive === null) return null;
  return cc & 1 ? `!${positive}` : positive;
}

function conditionTrue(s: StaticFlags, pair: number): string | null {
  const plainSub = s.kind === 'record' && s.plain && !s.keepCarry && s.op === FlagOp.SUB;
  const logic = s.kind === 'record' && s.op === FlagOp.LOGIC;
  switch (pair) {
    case 0:
      return overflowOf(s);
    case 1:
      return carryOf(s);
    case 2:
      return zeroFlag(s);
    case 3: {
      if (plainSub && s.kind === 'record') {
        const m = mask(s.bits);
        return s.bits === 32 ? '((fa >>> 0) <= (fb >>> 0))' : `((fa & ${m}) <= (fb & ${m}))`;
      }
      const c = carryOf(s);
      const z = zeroFlag(s);
      return c === null || z === null ? null : `(${c} || ${z})`;
    }
    case 4:
      return signFlag(s);
    case 5:
      return null;
    case 6: {
      if (plainSub && s.kind === 'record') return lessSigned(s.bits, '<');
      if (logic) return signFlag(s);
      const sf = signFlag(s);
      const of = overflowOf(s);
      return sf === null || of === null ? null : `(${sf} !== ${of})`;
    }
    default: {
      if (plainSub && s.kind === 'record') return lessSigned(s.bits, '<=');
      const z = zeroFlag(s);
      const sf = signFlag(s);
      if (logic) return z === null || sf === null ? null : `(${z} || ${sf})`;
      const of = overflowOf(s);
      return z === null || sf === null || of === null ? null : `(${z} || ${sf} !== ${of})`;
    }
  }
}

/** a < b (or <=) as signed operands of `bits` (what SF != OF means after a plain CMP). */
function lessSigned(bits: number, op: '<' | '<='): string {
  if (bits === 32) return `((fa | 0) ${op} (fb | 0))`;
  const sh = 32 - bits;
  return `((fa << ${sh}) ${op} (fb << ${sh}))`;
}

/** The current CF as a 0/1 expression (for ADC, SBB, INC, DEC). */
export function carryValue(s: StaticFlags): string | null {
  const c = carryOf(s);
  return c === null ? null : `(${c} ? 1 : 0)`;
}
