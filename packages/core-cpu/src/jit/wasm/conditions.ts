/**
 * Conditions over the flag locals in WebAssembly: flag-state.ts's expressions, written as code
 * that leaves 0 or 1 on the stack. Null where only LazyFlags can tell (PF, or a record the
 * translation does not know), as there.
 */
import { CF, FlagOp, OF, ZF } from '../../alu/lazy-flags.js';
import { mask, type StaticFlags } from '../flag-state.js';
import { Code, L } from './code.js';
import { Op } from './encoder.js';

type Emit = (c: Code) => void;


/** Pushes `x`'s sign bit at `bits` as 0/1 (x already on the stack). */
function signOfTop(c: Code, bits: number): void {
  if (bits !== 32) c.i32(32 - bits).op(Op.i32Shl);
  c.i32(0).op(Op.i32LtS);
}

function zeroOfLocal(c: Code, local: number, bits: number): void {
  c.get(local);
  if (bits !== 32) c.i32(mask(bits)).op(Op.i32And);
  c.op(Op.i32Eqz);
}

/** CF as code leaving 0/1, or null when only LazyFlags can tell (for ADC, SBB, INC, DEC). */
export function carryOf(s: StaticFlags): Emit | null {
  if (s.kind === 'result') return s.mask & CF ? (c) => c.get(L.fa).i32(1).op(Op.i32And) : null;
  if (s.kind !== 'record') return null;
  if (s.keepCarry) return (c) => c.get(L.fc).i32(0).op(Op.i32Ne);
  const top = s.bits - 1;
  const m = mask(s.bits);
  switch (s.op) {
    case FlagOp.LOGIC:
      return (c) => c.i32(0);
    case FlagOp.NEG:
      return (c) => c.get(L.fb).i32(m).op(Op.i32And, Op.i32Const, 0, Op.i32Ne);
    case FlagOp.ADD:
      if (s.plain) {
        if (s.bits === 32) return (c) => c.get(L.fr).get(L.fa).op(Op.i32LtU);
        return (c) => c.get(L.fa).i32(m).op(Op.i32And).get(L.fb).i32(m).op(Op.i32And, Op.i32Add).i32(m).op(Op.i32GtU);
      }
      // ((fa & fb) | ((fa | fb) & ~fr)) >>> top & 1
      return (c) => c.get(L.fa).get(L.fb).op(Op.i32And).get(L.fa).get(L.fb).op(Op.i32Or).get(L.fr).i32(-1).op(Op.i32Xor, Op.i32And, Op.i32Or).i32(top).op(Op.i32ShrU).i32(1).op(Op.i32And);
    case FlagOp.SUB:
      if (s.plain) {
        if (s.bits === 32) return (c) => c.get(L.fa).get(L.fb).op(Op.i32LtU);
        return (c) => c.get(L.fa).i32(m).op(Op.i32And).get(L.fb).i32(m).op(Op.i32And, Op.i32LtU);
      }
      // ((~fa & fb) | ((~fa | fb) & fr)) >>> top & 1
      return (c) => c.get(L.fa).i32(-1).op(Op.i32Xor).get(L.fb).op(Op.i32And).get(L.fa).i32(-1).op(Op.i32Xor).get(L.fb).op(Op.i32Or).get(L.fr).op(Op.i32And, Op.i32Or).i32(top).op(Op.i32ShrU).i32(1).op(Op.i32And);
  }
  return null;
}

function overflowOf(s: StaticFlags): Emit | null {
  if (s.kind === 'result') return s.mask & OF ? (c) => c.get(L.fa).i32(2048).op(Op.i32And, Op.i32Const, 0, Op.i32Ne) : null;
  if (s.kind !== 'record') return null;
  if (s.op === FlagOp.LOGIC) return (c) => c.i32(0);
  if (s.op === FlagOp.ADD) return (c) => { c.get(L.fa).get(L.fr).op(Op.i32Xor).get(L.fb).get(L.fr).op(Op.i32Xor, Op.i32And); signOfTop(c, s.bits); };
  return (c) => { c.get(L.fa).get(L.fb).op(Op.i32Xor).get(L.fa).get(L.fr).op(Op.i32Xor, Op.i32And); signOfTop(c, s.bits); };
}

function zeroFlag(s: StaticFlags): Emit | null {
  if (s.kind === 'result') return s.mask & ZF ? (c) => c.get(L.fa).i32(64).op(Op.i32And, Op.i32Const, 0, Op.i32Ne) : (c) => zeroOfLocal(c, L.fr, s.bits);
  if (s.kind === 'record') return (c) => zeroOfLocal(c, L.fr, s.bits);
  return null;
}

function signFlag(s: StaticFlags): Emit | null {
  if (s.kind === 'result' || s.kind === 'record') return (c) => { c.get(L.fr); signOfTop(c, s.bits); };
  return null;
}

/** fa < fb (or <=) as signed operands of `bits`. */
function lessSigned(bits: number, orEqual: boolean): Emit {
  return (c) => {
    c.get(L.fa);
    if (bits !== 32) c.i32(32 - bits).op(Op.i32Shl);
    c.get(L.fb);
    if (bits !== 32) c.i32(32 - bits).op(Op.i32Shl);
    c.op(orEqual ? Op.i32LeS : Op.i32LtS);
  };
}

function both(x: Emit | null, y: Emit | null, combine: number): Emit | null {
  return x === null || y === null ? null : (c) => { x(c); y(c); c.op(combine); };
}

function conditionTrue(s: StaticFlags, pair: number): Emit | null {
  const plainSub = s.kind === 'record' && s.plain && !s.keepCarry && s.op === FlagOp.SUB;
  const logic = s.kind === 'record' && s.op === FlagOp.LOGIC;
  switch (pair) {
    case 0:
      return overflowOf(s);
    case 1:
      return carryOf(s);
    case 2:
      return zeroFlag(s);
    case 3:
      if (plainSub && s.kind === 'record') {
        const m = mask(s.bits);
        return (c) => c.get(L.fa).i32(m).op(Op.i32And).get(L.fb).i32(m).op(Op.i32And, Op.i32LeU);
      }
      return both(carryOf(s), zeroFlag(s), Op.i32Or);
    case 4:
      return signFlag(s);
    case 5:
      return null;
    case 6:
      if (plainSub && s.kind === 'record') return lessSigned(s.bits, false);
      if (logic) return signFlag(s);
      return both(signFlag(s), overflowOf(s), Op.i32Ne);
    default: {
      if (plainSub && s.kind === 'record') return lessSigned(s.bits, true);
      if (logic) return both(zeroFlag(s), signFlag(s), Op.i32Or);
      const lt = both(signFlag(s), overflowOf(s), Op.i32Ne);
      return both(zeroFlag(s), lt, Op.i32Or);
    }
  }
}

/** Condition code `cc` as code leaving 0/1, or null when LazyFlags must answer. */
export function conditionCode(s: StaticFlags, cc: number): Emit | null {
  const positive = conditionTrue(s, cc >> 1);
  if (positive === null) return null;
  return cc & 1 ? (c) => { positive(c); c.op(Op.i32Eqz); } : positive;
}


// ---- flags known only at run time (at a case label): the kind, operation and size are in
// fk, fo and fz (flag-state.ts), and fk = 0 means LazyFlags holds them.

const RESULT = 3;
const KEEP_CARRY = 2;

/** Pushes the operand-size mask (fz bits of ones). */
function sizeMask(c: Code): void {
  c.i32(-1).i32(32).flagBits().op(Op.i32Sub, Op.i32ShrU);
}

/** Pushes x's sign bit at fz bits as 0/1 (`x` pushes it). */
function signAtSize(c: Code, x: () => void): void {
  x();
  c.i32(32).flagBits().op(Op.i32Sub, Op.i32Shl).i32(0).op(Op.i32LtS);
}

/** CF of a record or result in the locals whatever their kind at run time (fk != 0). */
export function runtimeCarry(c: Code): void {
  c.flagKind().i32(KEEP_CARRY).op(Op.i32Eq).ifValue(() => c.get(L.fc), () => {
    c.flagKind().i32(RESULT).op(Op.i32Eq).ifValue(() => c.get(L.fa).i32(1).op(Op.i32And), () => {
      const top = (): void => { c.flagBits().i32(1).op(Op.i32Sub); };
      c.flagOp().i32(FlagOp.ADD).op(Op.i32Eq).ifValue(() => {
        c.get(L.fa).get(L.fb).op(Op.i32And).get(L.fa).get(L.fb).op(Op.i32Or).get(L.fr).i32(-1).op(Op.i32Xor, Op.i32And, Op.i32Or);
        top();
        c.op(Op.i32ShrU).i32(1).op(Op.i32And);
      }, () => {
        c.flagOp().i32(FlagOp.SUB).op(Op.i32Eq).ifValue(() => {
          c.get(L.fa).i32(-1).op(Op.i32Xor).get(L.fb).op(Op.i32And).get(L.fa).i32(-1).op(Op.i32Xor).get(L.fb).op(Op.i32Or).get(L.fr).op(Op.i32And, Op.i32Or);
          top();
          c.op(Op.i32ShrU).i32(1).op(Op.i32And);
        }, () => {
          // NEG: CF = the operand was not 0; LOGIC: 0.
          c.flagOp().i32(FlagOp.NEG).op(Op.i32Eq).ifValue(() => {
            c.get(L.fb);
            sizeMask(c);
            c.op(Op.i32And, Op.i32Const, 0, Op.i32Ne);
          }, () => c.i32(0));
        });
      });
    });
  });
}

function runtimeZero(c: Code): void {
  // A result record whose eager flags include ZF (multiplies) has it there.
  c.flagKind().i32(RESULT).op(Op.i32Eq).get(L.fb).i32(6).op(Op.i32ShrU, Op.i32And).ifValue(
    () => c.get(L.fa).i32(6).op(Op.i32ShrU).i32(1).op(Op.i32And),
    () => {
      c.get(L.fr);
      sizeMask(c);
      c.op(Op.i32And, Op.i32Eqz);
    },
  );
}

function runtimeSign(c: Code): void {
  signAtSize(c, () => c.get(L.fr));
}

function runtimeOverflow(c: Code): void {
  c.flagKind().i32(RESULT).op(Op.i32Eq).ifValue(() => c.get(L.fa).i32(11).op(Op.i32ShrU).i32(1).op(Op.i32And), () => {
    c.flagOp().i32(FlagOp.LOGIC).op(Op.i32Eq).ifValue(() => c.i32(0), () => {
      c.flagOp().i32(FlagOp.ADD).op(Op.i32Eq).ifValue(
        () => signAtSize(c, () => c.get(L.fa).get(L.fr).op(Op.i32Xor).get(L.fb).get(L.fr).op(Op.i32Xor, Op.i32And)),
        () => signAtSize(c, () => c.get(L.fa).get(L.fb).op(Op.i32Xor).get(L.fa).get(L.fr).op(Op.i32Xor, Op.i32And)),
      );
    });
  });
}

/**
 * Condition `cc` from the flag locals whatever their kind at run time (fk != 0), or null for
 * PF (only LazyFlags has it).
 */
export function runtimeConditionCode(cc: number): Emit | null {
  let positive: Emit;
  switch (cc >> 1) {
    case 0: positive = runtimeOverflow; break;
    case 1: positive = runtimeCarry; break;
    case 2: positive = runtimeZero; break;
    case 3: positive = (c) => { runtimeCarry(c); runtimeZero(c); c.op(Op.i32Or); }; break;
    case 4: positive = runtimeSign; break;
    case 5: return null;
    case 6: positive = (c) => { runtimeSign(c); runtimeOverflow(c); c.op(Op.i32Ne); }; break;
    default: positive = (c) => { runtimeZero(c); runtimeSign(c); runtimeOverflow(c); c.op(Op.i32Ne, Op.i32Or); }; break;
  }
  return cc & 1 ? (c) => { positive(c); c.op(Op.i32Eqz); } : positive;
}

