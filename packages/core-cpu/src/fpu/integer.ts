/**
 * Rounding to an integer (SDM Vol. 2, FRNDINT and FIST): the shared step that turns an
 * unpacked value into a 64-bit integer magnitude under a rounding mode, with PE and the C1
 * round-up indicator, and FRNDINT itself (which rounds with RC and ignores PC).
 */
import { EXP_BIAS, F80Class, Float80, setZero } from './float80.js';
import { denormalFlag, screenUnary, screened, unpack, Unpacked } from './operands.js';
import { FSW_C1, FSW_PE, RC_DOWN, RC_NEAREST, RC_UP } from './round.js';
import { wShrJam } from './wide.js';

const W = new Uint32Array(4);
const U = new Unpacked();

/** Output of roundToIntegerMagnitude: |value| rounded, as halves, and a carry out to 2^64. */
export const integerMagnitude = { hi: 0, lo: 0, carry: false };

/** Rounds |u| (exponent <= 63) to an integer with `rc` applied to the signed value. */
export function roundToIntegerMagnitude(u: Unpacked, rc: number): number {
  const w = W;
  w[0] = u.hi;
  w[1] = u.lo;
  w[2] = 0;
  w[3] = 0;
  wShrJam(w, 63 - u.exp);
  const half = w[2] >>> 31;
  const sticky = (w[2] & 0x7fffffff) !== 0 || w[3] !== 0;
  let flags = 0;
  let up = false;
  if (half || sticky) {
    flags |= FSW_PE;
    if (rc === RC_NEAREST) up = half !== 0 && (sticky || (w[1] & 1) !== 0);
    else if (rc === RC_DOWN) up = u.sign === 1;
    else if (rc === RC_UP) up = u.sign === 0;
  }
  let hi = w[0];
  let lo = w[1];
  integerMagnitude.carry = false;
  if (up) {
    flags |= FSW_C1;
    lo = (lo + 1) >>> 0;
    if (lo === 0) {
      hi = (hi + 1) >>> 0;
      if (hi === 0) integerMagnitude.carry = true;
    }
  }
  integerMagnitude.hi = hi;
  integerMagnitude.lo = lo;
  return flags;
}

/** FRNDINT: rounds to an integral value with the control word's RC. */
export function roundToInteger(a: Float80, rc: number, out: Float80): number {
  const s = screenUnary(a, out);
  if (s >= 0) return s;
  const c = screened.a;
  const de = denormalFlag(c, F80Class.Zero);
  if (c === F80Class.Zero || c === F80Class.Infinity) {
    out.copyFrom(a);
    return 0;
  }
  unpack(a, U);
  if (U.exp >= 63) {
    out.copyFrom(a);
    return de;
  }
  const flags = roundToIntegerMagnitude(U, rc) | de;
  let hi = integerMagnitude.hi;
  let lo = integerMagnitude.lo;
  if (hi === 0 && lo === 0) {
    setZero(out, U.sign);
    return flags;
  }
  let e = EXP_BIAS + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    e -= 32;
  }
  const sft = Math.clz32(hi);
  if (sft !== 0) {
    hi = ((hi << sft) | (lo >>> (32 - sft))) >>> 0;
    lo = (lo << sft) >>> 0;
  }
  out.se = (U.sign << 15) | (e - sft);
  out.hi = hi;
  out.lo = lo;
  return flags;
}

