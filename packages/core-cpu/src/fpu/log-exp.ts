/**
 * F2XM1, FYL2X, FYL2XP1 and FPATAN (SDM Vol. 2). Special operands and their flags follow the
 * hardware exactly; the kernels run in doubles around exact exponent handling (see the accuracy
 * gap documented in transcendental.ts).
 */
import { div, mul } from './arith.js';
import { fromInt32, fromNumber, toNumber } from './convert.js';
import { EXP_BIAS, F80Class, Float80, setIndefinite, setInfinity, setZero } from './float80.js';
import { denormalFlag, screenBinary, screenUnary, screened, unpack, Unpacked } from './operands.js';
import { EXTENDED_RANGE, FSW_IE, FSW_ZE, ROUND_W, packExtended, roundSignificand, roundingOf } from './round.js';
import { fullPrecision, inexact, scaled } from './transcendental.js';

const T = new Float80();
const T2 = new Float80();
const U = new Unpacked();

/** F2XM1: 2^a - 1 (defined by the SDM for -1 <= a <= +1). */
export function f2xm1(a: Float80, cw: number, out: Float80): number {
  const s = screenUnary(a, out);
  if (s >= 0) return s;
  const c = screened.a;
  if (c === F80Class.Zero) {
    out.copyFrom(a);
    return 0;
  }
  if (c === F80Class.Infinity) {
    if (a.se & 0x8000) fromInt32(-1, out);
    else out.copyFrom(a);
    return 0;
  }
  const de = denormalFlag(c, F80Class.Zero);
  const x = toNumber(a);
  return inexact(out, scaled(a, x === 0 ? Math.LN2 : Math.expm1(x * Math.LN2) / x, cw, out) | de);
}

/** log2(v) of a positive finite v as a double, exponent split off so values near 1 keep precision. */
function log2Of(v: Float80): number {
  unpack(v, U);
  let e = U.exp;
  // m = significand / 2^63 in [1, 2); fold to [sqrt(2)/2, sqrt(2)) so log2(m) never cancels
  // against e, and form m - 1 from the integer so it is rounded only once.
  let mMinus1: number;
  if (U.hi > 0xb504f333) {
    mMinus1 = -((0xffffffff - U.hi) * 0x100000000 + (0x100000000 - U.lo)) / 2 ** 64;
    e += 1;
  } else {
    mMinus1 = ((U.hi & 0x7fffffff) * 0x100000000 + U.lo) / 2 ** 63;
  }
  return e + Math.log1p(mMinus1) / Math.LN2;
}

const UX = new Unpacked();
const UY = new Unpacked();

/**
 * a * b * ratio for finite nonzero a, b with one final rounding into the extended range: the
 * significands are multiplied at exponent 0 so no intermediate underflows or overflows.
 */
function scaledProduct(a: Float80, b: Float80, ratio: number, cw: number, out: Float80): number {
  const rn = 0x037f;
  unpack(a, UX);
  const ea = UX.exp;
  const sa = UX.sign;
  T.set(EXP_BIAS, UX.hi, UX.lo);
  unpack(b, UY);
  T2.set(EXP_BIAS, UY.hi, UY.lo);
  mul(T, T2, rn, T);
  fromNumber(ratio, T2);
  mul(T, T2, rn, T);
  unpack(T, UX);
  const sign = sa ^ UY.sign ^ UX.sign;
  const w = ROUND_W;
  w[0] = UX.hi;
  w[1] = UX.lo;
  w[2] = 0;
  w[3] = 0;
  const flags = roundSignificand(sign, UX.exp + ea + UY.exp, 64, EXTENDED_RANGE, roundingOf(cw));
  packExtended(sign, out);
  return flags;
}

/** FYL2X: y * log2(x). */
export function fyl2x(y: Float80, x: Float80, cw: number, out: Float80): number {
  const s = screenBinary(x, y, out);
  if (s >= 0) return s;
  const cx = screened.a;
  const cy = screened.b;
  const de = denormalFlag(cx, cy);
  const xs = x.se >>> 15;
  const ys = y.se >>> 15;
  if (xs && cx !== F80Class.Zero) {
    setIndefinite(out);
    return FSW_IE; // no DE alongside (measured)
  }
  if (cx === F80Class.Zero) {
    if (cy === F80Class.Zero) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, ys ^ 1);
    return cy === F80Class.Infinity ? de : FSW_ZE; // ZE alone, without DE (measured)
  }
  const isOne = cx === F80Class.Normal && (x.se & 0x7fff) === EXP_BIAS && x.hi === 0x80000000 && x.lo === 0;
  if (cx === F80Class.Infinity) {
    if (cy === F80Class.Zero) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, ys);
    return de;
  }
  if (isOne) {
    if (cy === F80Class.Infinity) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setZero(out, ys);
    return de;
  }
  const l = log2Of(x);
  if (cy === F80Class.Infinity) {
    setInfinity(out, ys ^ (l < 0 ? 1 : 0));
    return de;
  }
  if (cy === F80Class.Zero) {
    setZero(out, ys ^ (l < 0 ? 1 : 0));
    return de;
  }
  fromNumber(l, T);
  return inexact(out, mul(y, T, fullPrecision(cw), out) | de);
}

/** FYL2XP1: y * log2(x + 1) (defined for |x| < 1 - sqrt(2)/2). */
export function fyl2xp1(y: Float80, x: Float80, cw: number, out: Float80): number {
  const s = screenBinary(x, y, out);
  if (s >= 0) return s;
  const cx = screened.a;
  const cy = screened.b;
  const de = denormalFlag(cx, cy);
  // Invalid combinations report IE alone, without DE (measured).
  if (cx === F80Class.Infinity && x.se & 0x8000) {
    setIndefinite(out); // log2(1 + x) of x = -infinity
    return FSW_IE;
  }
  if ((cx === F80Class.Infinity && cy === F80Class.Zero) || (cx === F80Class.Zero && cy === F80Class.Infinity)) {
    setIndefinite(out);
    return FSW_IE;
  }
  if (cx === F80Class.Zero || cy === F80Class.Zero) {
    setZero(out, (x.se ^ y.se) >>> 15);
    return de;
  }
  if (cx === F80Class.Infinity || cy === F80Class.Infinity) {
    setInfinity(out, (x.se ^ y.se) >>> 15);
    return de;
  }
  const xd = toNumber(x);
  // log2(1 + x) / x in doubles (1/ln 2 when x is below double range), then times x and y.
  return inexact(out, scaledProduct(x, y, xd === 0 ? 1 / Math.LN2 : Math.log1p(xd) / (Math.LN2 * xd), cw, out) | de);
}

/** pi/4, pi/2, 3pi/4 and pi to 128 bits (exponent of the top bit), rounded per RC on use. */
const PI_WORDS = [
  [0xc90fdaa2, 0x2168c234, 0xc4c6628b, 0x80dc1cd1, -1],
  [0xc90fdaa2, 0x2168c234, 0xc4c6628b, 0x80dc1cd1, 0],
  [0x96cbe3f9, 0x990e91a7, 0x9394c9e8, 0xa0a5159d, 1],
  [0xc90fdaa2, 0x2168c234, 0xc4c6628b, 0x80dc1cd1, 1],
];

function setPiMultiple(k: number, sign: number, rc: number, out: Float80): number {
  const c = PI_WORDS[k];
  const w = ROUND_W;
  w[0] = c[0];
  w[1] = c[1];
  w[2] = c[2];
  w[3] = c[3] | 1; // irrational: never exact
  const flags = roundSignificand(sign, c[4], 64, EXTENDED_RANGE, rc);
  packExtended(sign, out);
  return flags;
}

/** FPATAN: atan2(y, x), y = ST(1), x = ST(0). */
export function fpatan(y: Float80, x: Float80, cw: number, out: Float80): number {
  const s = screenBinary(y, x, out);
  if (s >= 0) return s;
  const cy = screened.a;
  const cx = screened.b;
  const de = denormalFlag(cx, cy);
  // Special operands: exact by IEEE atan2 rules on doubles (zeros and infinities survive toNumber).
  if (cy === F80Class.Zero || cx === F80Class.Zero || cy === F80Class.Infinity || cx === F80Class.Infinity) {
    // The result depends only on the signs and classes: finite nonzero values act as +-1.
    const rep = (v: Float80, c: F80Class) => (c === F80Class.Zero ? 0 : c === F80Class.Infinity ? Infinity : 1) * (v.se & 0x8000 ? -1 : 1);
    const r = Math.atan2(rep(y, cy), rep(x, cx));
    const sign = r < 0 || Object.is(r, -0) ? 1 : 0;
    const m = Math.abs(r);
    if (m === 0) {
      setZero(out, sign);
      return de;
    }
    const k = m === Math.PI / 4 ? 0 : m === Math.PI / 2 ? 1 : m === (3 * Math.PI) / 4 ? 2 : 3;
    return setPiMultiple(k, sign, roundingOf(cw), out) | de;
  }
  unpack(y, U);
  const ey = U.exp;
  const my = (U.hi * 0x100000000 + U.lo) / 2 ** 63;
  unpack(x, U);
  const ex = U.exp;
  const mx = (U.hi * 0x100000000 + U.lo) / 2 ** 63;
  const ys = y.se >>> 15;
  const xs = x.se >>> 15;
  if (ey - ex < -64 && !xs) {
    // |y/x| < 2^-63: atan(t) = t to within far less than an ulp.
    return inexact(out, div(y, x, fullPrecision(cw), out) | de);
  }
  const d = Math.max(-1100, Math.min(1100, ey - ex));
  const r = Math.atan2((ys ? -my : my) * 2 ** d, xs ? -mx : mx);
  fromNumber(r, out);
  return inexact(out, de);
}
