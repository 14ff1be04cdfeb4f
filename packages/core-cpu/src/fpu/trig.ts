/**
 * FSIN, FCOS, FSINCOS and FPTAN (SDM Vol. 2). The argument is reduced exactly by the 66-bit
 * pi/2 the CPU uses; the kernel on the reduced argument runs in doubles: see the accuracy gap
 * documented in transcendental.ts. Arguments with |x| >= 2^63 are out of range: C2 is set and
 * the operand is left unchanged.
 */
import { div } from './arith.js';
import { fromInt32, fromNumber, toNumber } from './convert.js';
import { EXP_BIAS, F80Class, Float80, classify, setIndefinite, setZero } from './float80.js';
import { denormalFlag, isNaNClass, screenUnary, screened, unpack, Unpacked } from './operands.js';
import {
  EXTENDED_RANGE, FSW_C2, FSW_DE, FSW_IE, FSW_PE, FSW_UE, RC_NEAREST, ROUND_W, packExtended, roundSignificand,
} from './round.js';
import { fullPrecision, inexact, scaled } from './transcendental.js';
import { wClear, wClz, wCmp, wIsZero, wShl, wSub } from './wide.js';

const PI_OVER_4_EXP = EXP_BIAS - 1;
const R = new Float80();
const T = new Float80();
const T2 = new Float80();
const U = new Unpacked();

/**
 * pi/2 to 66 bits, as the CPU's argument reduction uses it (SDM Vol. 1, 8.3.8: "a 66-bit
 * approximation of pi"), as an integer in units of 2^-65.
 */
const PI_OVER_2_66 = Uint32Array.of(0x3, 0x243f6a88, 0x85a308d3);
const RW = new Uint32Array(3);
const RT = new Uint32Array(3);

/**
 * Reduces a (finite, |a| < 2^63) by pi/2: R = a - k*pi/2 (to nearest k) computed exactly with
 * the 66-bit pi/2, then rounded to 64 bits; returns k mod 4.
 */
function reduce(a: Float80): number {
  if ((a.se & 0x7fff) < PI_OVER_4_EXP) {
    R.copyFrom(a);
    return 0;
  }
  unpack(a, U);
  const shift = U.exp + 2; // a in units of 2^-65 is significand << shift
  wClear(RW);
  let q = 0;
  for (let i = 63 + shift; i >= 0; i--) {
    const j = i - shift;
    const bit = j < 0 ? 0 : j >= 32 ? (U.hi >>> (j - 32)) & 1 : (U.lo >>> j) & 1;
    wShl(RW, 1);
    RW[2] |= bit;
    q = (q << 1) & 3;
    if (wCmp(RW, PI_OVER_2_66) >= 0) {
      wSub(RW, PI_OVER_2_66);
      q |= 1;
    }
  }
  let rsign = 0;
  RT.set(RW);
  wShl(RT, 1);
  const c = wCmp(RT, PI_OVER_2_66);
  if (c > 0 || (c === 0 && (q & 1) !== 0)) {
    RT.set(PI_OVER_2_66);
    wSub(RT, RW);
    RW.set(RT);
    q = (q + 1) & 3;
    rsign = 1;
  }
  if (U.sign) {
    rsign ^= 1;
    q = -q & 3;
  }
  const w = ROUND_W;
  w[0] = RW[0];
  w[1] = RW[1];
  w[2] = RW[2];
  w[3] = 0;
  if (wIsZero(w)) {
    setZero(R, rsign);
    return q;
  }
  const lz = wClz(w);
  wShl(w, lz);
  roundSignificand(rsign, 30 - lz, 64, EXTENDED_RANGE, RC_NEAREST);
  packExtended(rsign, R);
  return q;
}

function sinOf(r: Float80, cw: number, out: Float80): number {
  const x = toNumber(r);
  return scaled(r, x === 0 ? 1 : Math.sin(x) / x, cw, out);
}

function cosOf(r: Float80, out: Float80): void {
  fromNumber(Math.cos(toNumber(r)), out);
}

function negate(v: Float80): void {
  v.se ^= 0x8000;
}

/**
 * Shared prologue of the one-operand trigonometric functions. Returns FSW bits when the result
 * is already decided (written to `out`), or -1 to continue with R reduced and `quadrant` set.
 */
let quadrant = 0;
function trigPrologue(a: Float80, out: Float80): number {
  const s = screenUnary(a, out);
  if (s >= 0) return s;
  const c = screened.a;
  if (c === F80Class.Infinity) {
    setIndefinite(out);
    return FSW_IE;
  }
  if ((a.se & 0x7fff) >= EXP_BIAS + 63) {
    // |a| >= 2^63: out of range, operand unchanged, C2 set.
    out.copyFrom(a);
    return FSW_C2;
  }
  quadrant = reduce(a);
  return -1;
}

export function fsin(a: Float80, cw: number, out: Float80): number {
  const s = trigPrologue(a, out);
  if (s >= 0) return s;
  const de = denormalFlag(screened.a, F80Class.Zero);
  if (screened.a === F80Class.Zero) {
    out.copyFrom(a);
    return 0;
  }
  const q = quadrant;
  if (q & 1) cosOf(R, out);
  else sinOf(R, cw, out);
  if (q & 2) negate(out);
  return inexact(out, de);
}

export function fcos(a: Float80, cw: number, out: Float80): number {
  const s = trigPrologue(a, out);
  if (s >= 0) return s;
  const de = denormalFlag(screened.a, F80Class.Zero);
  if (screened.a === F80Class.Zero) {
    fromInt32(1, out);
    return 0;
  }
  const q = quadrant;
  if (q & 1) sinOf(R, cw, out);
  else cosOf(R, out);
  if (q === 1 || q === 2) negate(out);
  return inexact(out, de);
}

/** FSINCOS: sine to `sinOut` (ST(1) after the push), cosine to `cosOut` (the new ST(0)). */
export function fsincos(a: Float80, cw: number, sinOut: Float80, cosOut: Float80): number {
  const f = fsin(a, cw, sinOut);
  if (f & (FSW_C2 | FSW_IE) || isNaNClass(classify(a))) {
    cosOut.copyFrom(sinOut);
    return f;
  }
  return fcos(a, cw, cosOut) | (f & (FSW_UE | FSW_PE | FSW_DE));
}

/** FPTAN: tan(a) to `out`; on success the interpreter then pushes 1.0. */
export function fptan(a: Float80, cw: number, out: Float80): number {
  const s = trigPrologue(a, out);
  if (s >= 0) return s;
  const de = denormalFlag(screened.a, F80Class.Zero);
  if (screened.a === F80Class.Zero) {
    out.copyFrom(a);
    return 0;
  }
  const x = toNumber(R);
  const ratio = x === 0 ? 1 : Math.tan(x) / x;
  if (quadrant & 1) {
    // tan(r + pi/2) = -1 / tan(r)
    scaled(R, ratio, cw, T2);
    fromInt32(-1, T);
    div(T, T2, fullPrecision(cw), out);
  } else {
    scaled(R, ratio, cw, out);
  }
  return inexact(out, de);
}
