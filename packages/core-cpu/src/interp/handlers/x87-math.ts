/**
 * x87 operations on the stack top (SDM Vol. 2): FCHS, FABS, FXAM, FSQRT, FRNDINT, FSCALE,
 * FXTRACT, FPREM, FPREM1 and the transcendentals F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN,
 * FCOS, FSINCOS. Values come from the fpu/ library (transcendentals carry its documented
 * double-precision accuracy gap); here: stack faults, FSW merging, pushes and pops.
 */
import { examine } from '../../fpu/compare.js';
import { fromInt32, Int64Halves, toInt } from '../../fpu/convert.js';
import { unpack, Unpacked } from '../../fpu/operands.js';
import { EXP_BIAS, Float80, isNaN80, setIndefinite, setInfinity, setZero } from '../../fpu/float80.js';
import type { FpuState } from '../../fpu/fpu-state.js';
import { f2xm1, fpatan, fyl2x, fyl2xp1 } from '../../fpu/log-exp.js';
import { roundToInteger } from '../../fpu/integer.js';
import { partialRemainder } from '../../fpu/remainder.js';
import {
  BIAS_ADJUST, FCW_UM, FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_DE, FSW_IE, FSW_OE, FSW_PE, FSW_UE, FSW_ZE, RC_ZERO, roundingOf,
} from '../../fpu/round.js';
import { extract, scale } from '../../fpu/scale.js';
import { sqrt } from '../../fpu/arith.js';
import { fcos, fptan, fsin, fsincos } from '../../fpu/trig.js';
import type { Handler, HandlerTable } from './types.js';
import {
  OP_A, OP_B, RES, RES2, commit, enter, getSt, isEmpty, overflow, pop, push, setSt, underflow,
} from './x87-core.js';

/** ST(0) = f(ST(0)); `ccMask` = condition codes the operation defines besides C1. */
function unary(f: (a: Float80, cw: number, out: Float80) => number, ccMask: number): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    if (isEmpty(fpu, 0)) {
      if (underflow(fpu)) return;
      setIndefinite(RES);
    } else if (!commit(fpu, f(getSt(fpu, 0, OP_A), fpu.cw, RES), ccMask)) {
      return;
    }
    setSt(fpu, 0, RES);
  };
}

const chs = (a: Float80, _cw: number, out: Float80): number => {
  out.copyFrom(a);
  out.se ^= 0x8000;
  return 0;
};
const abs = (a: Float80, _cw: number, out: Float80): number => {
  out.copyFrom(a);
  out.se &= 0x7fff;
  return 0;
};
const rndint = (a: Float80, cw: number, out: Float80): number => roundToInteger(a, roundingOf(cw), out);

/** Two operands ST(0), ST(1); `toSt1` writes ST(1) and pops (FYL2X, FPATAN), else ST(0). */
function binary(f: (a: Float80, b: Float80, cw: number, out: Float80) => number, toSt1: boolean, ccMask: number): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    if (isEmpty(fpu, 0) || isEmpty(fpu, 1)) {
      if (underflow(fpu)) return;
      setIndefinite(RES);
    } else {
      getSt(fpu, 0, OP_A);
      getSt(fpu, 1, OP_B);
      // FYL2X/FYL2XP1/FPATAN take (ST(1), ST(0)); FSCALE/FPREM take (ST(0), ST(1)).
      const flags = toSt1 ? f(OP_B, OP_A, fpu.cw, RES) : f(OP_A, OP_B, fpu.cw, RES);
      if (!commit(fpu, flags, ccMask)) return;
    }
    if (toSt1) {
      setSt(fpu, 1, RES);
      pop(fpu);
    } else {
      setSt(fpu, 0, RES);
    }
  };
}

/**
 * FSCALE with OE/UE unmasked: when even the bias-adjusted exponent is out of range the hardware
 * delivers infinity (OE, PE, C1; whatever RC) or zero (UE, PE) rather than a wrapped value
 * (measured). The true exponent is the operand's plus trunc(ST(1)).
 */
const fscale = (a: Float80, b: Float80, cw: number, out: Float80): number => {
  const flags = scale(a, b, cw, out);
  if (!(flags & (FSW_OE | FSW_UE) & ~cw) || flags & (FSW_IE | FSW_DE | FSW_ZE) & ~cw) return flags;
  unpack(a, UNPACKED);
  let n: number;
  if ((b.se & 0x7fff) >= EXP_BIAS + 16) {
    n = b.se & 0x8000 ? -0x10000 : 0x10000;
  } else {
    toInt(b, 32, RC_ZERO, INT);
    n = INT.lo | 0;
  }
  const exp = UNPACKED.exp + n;
  const sign = a.se >>> 15;
  if (flags & FSW_OE) {
    if (exp - BIAS_ADJUST <= EXP_BIAS) return flags;
    setInfinity(out, sign);
    return FSW_OE | FSW_PE | FSW_C1 | (flags & FSW_DE);
  }
  if (exp + BIAS_ADJUST >= 1 - EXP_BIAS) return flags;
  setZero(out, sign);
  return FSW_UE | FSW_PE | (flags & FSW_DE);
};
const UNPACKED = new Unpacked();
const INT = new Int64Halves();

/**
 * FPREM/FPREM1 results are exact, so a denormal result raises no UE while UE is masked; with
 * UE unmasked the hardware reports UE and delivers the value normalized with the exponent
 * bias-adjusted by +24576, as for any tiny result (measured).
 */
function remainderUnderflow(flags: number, cw: number, out: Float80): number {
  if (cw & FCW_UM || (out.se & 0x7fff) !== 0 || (out.hi === 0 && out.lo === 0)) return flags;
  unpack(out, UNPACKED);
  out.se = (out.se & 0x8000) | (UNPACKED.exp + EXP_BIAS + BIAS_ADJUST);
  out.hi = UNPACKED.hi;
  out.lo = UNPACKED.lo;
  return flags | FSW_UE;
}
const prem = (a: Float80, b: Float80, cw: number, out: Float80): number => remainderUnderflow(partialRemainder(a, b, false, out), cw, out);
const prem1 = (a: Float80, b: Float80, cw: number, out: Float80): number => remainderUnderflow(partialRemainder(a, b, true, out), cw, out);

/**
 * Operations that replace ST(0) and push a second result (FXTRACT, FPTAN, FSINCOS): they
 * need ST(7) empty. `f` leaves the new ST(0) in RES and the value to push in RES2. When it
 * reports C2 (argument out of range) nothing is pushed and ST(0) stays. A stack fault's masked
 * response is the indefinite in both places.
 */
function splitPush(f: (fpu: FpuState) => number, ccMask: number): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    if (isEmpty(fpu, 0) || !isEmpty(fpu, 7)) {
      if (isEmpty(fpu, 0) ? underflow(fpu) : overflow(fpu)) return;
      setIndefinite(RES);
      setSt(fpu, 0, RES);
      push(fpu, RES);
      return;
    }
    const flags = f(fpu);
    if (!commit(fpu, flags, ccMask)) return;
    // C2: argument out of range, nothing changes.
    if (flags & FSW_C2) return;
    setSt(fpu, 0, RES);
    push(fpu, RES2);
  };
}

/** FXTRACT: ST(0) <- exponent, then push the significand. */
const fxtract = splitPush((fpu) => extract(getSt(fpu, 0, OP_A), RES2, RES), 0);
/** FPTAN: ST(0) <- tan, then push 1.0 (C2: out of range, nothing changes). */
const fptanHandler = splitPush((fpu) => {
  const flags = fptan(getSt(fpu, 0, OP_A), fpu.cw, RES);
  // A NaN result (NaN operand, or the indefinite for an infinity) is pushed again instead of
  // 1.0, as for FSINCOS (measured).
  if (isNaN80(RES)) RES2.copyFrom(RES);
  else fromInt32(1, RES2);
  return flags;
}, FSW_C2);
/** FSINCOS: ST(0) <- sin, then push cos. */
const fsincosHandler = splitPush((fpu) => fsincos(getSt(fpu, 0, OP_A), fpu.cw, RES, RES2), FSW_C2);

/** FXAM: classifies ST(0) into C3 C2 C0, sign in C1; an empty register reads as empty. */
const fxam: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const cc = examine(getSt(fpu, 0, OP_A), isEmpty(fpu, 0));
  fpu.sw = (fpu.sw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc;
};

export const X87_MATH_HANDLERS: HandlerTable = {
  fchs: unary(chs, 0),
  fabs: unary(abs, 0),
  fsqrt: unary(sqrt, 0),
  frndint: unary(rndint, 0),
  f2xm1: unary(f2xm1, 0),
  fsin: unary(fsin, FSW_C2),
  fcos: unary(fcos, FSW_C2),
  fxam,
  fscale: binary(fscale, false, 0),
  fprem: binary(prem, false, FSW_C0 | FSW_C2 | FSW_C3),
  fprem1: binary(prem1, false, FSW_C0 | FSW_C2 | FSW_C3),
  fyl2x: binary(fyl2x, true, 0),
  fyl2xp1: binary(fyl2xp1, true, 0),
  fpatan: binary(fpatan, true, 0),
  fxtract,
  fptan: fptanHandler,
  fsincos: fsincosHandler,
};
