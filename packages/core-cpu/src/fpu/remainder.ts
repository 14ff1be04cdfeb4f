/**
 * FPREM and FPREM1 (SDM Vol. 2): partial remainder. FPREM truncates the quotient (like C's
 * fmod), FPREM1 rounds it to nearest-even (IEEE remainder). When the exponents differ by 64 or
 * more, only a partial reduction is done: the dividend is reduced by the divisor scaled by
 * 2^(d - N), N = 32 + d mod 32, and C2 is set so software loops. A complete result sets C2 = 0
 * and reports the quotient's low three bits in C0 (q2), C3 (q1) and C1 (q0).
 * The remainder is always exact.
 */
import { EXP_BIAS, F80Class, Float80, setIndefinite, setZero } from './float80.js';
import { denormalFlag, screenBinary, screened, unpack, Unpacked } from './operands.js';
import { FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_IE } from './round.js';
import { wCmp, wShl, wSub } from './wide.js';

const UA = new Unpacked();
const UB = new Unpacked();
const R = new Uint32Array(3);
const D = new Uint32Array(3);
const T = new Uint32Array(3);

function quotientBits(q: number): number {
  return (q & 4 ? FSW_C0 : 0) | (q & 2 ? FSW_C3 : 0) | (q & 1 ? FSW_C1 : 0);
}

/** The dividend returned unchanged, except that a pseudo-denormal comes back with exponent 1. */
function copyOperand(a: Float80, ca: F80Class, out: Float80): void {
  out.copyFrom(a);
  if (ca === F80Class.PseudoDenormal) out.se |= 1;
}

/** a rem b into out; `nearest` selects FPREM1. Returns FSW bits (IE, DE, C0-C3). */
export function partialRemainder(a: Float80, b: Float80, nearest: boolean, out: Float80): number {
  const s = screenBinary(a, b, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const cb = screened.b;
  const de = denormalFlag(ca, cb);
  if (ca === F80Class.Infinity || cb === F80Class.Zero) {
    // Invalid: the hardware reports IE alone, without DE for a denormal other operand.
    setIndefinite(out);
    return FSW_IE;
  }
  if (ca === F80Class.Zero || cb === F80Class.Infinity) {
    copyOperand(a, ca, out);
    return de;
  }
  unpack(a, UA);
  unpack(b, UB);
  let sign = UA.sign;
  let d = UA.exp - UB.exp;
  if (d < (nearest ? -1 : 0)) {
    copyOperand(a, ca, out);
    return de;
  }
  let partial = false;
  let unitExp = UB.exp; // the remainder R counts units of 2^(unitExp - 63)
  if (d >= 64) {
    partial = true;
    const n = 32 + (d % 32);
    unitExp += d - n;
    d = n;
  }
  R[0] = 0;
  R[1] = UA.hi;
  R[2] = UA.lo;
  D[0] = 0;
  D[1] = UB.hi;
  D[2] = UB.lo;
  let q = 0;
  if (d === -1) {
    // |a| < |b| with a one exponent below: units of 2^(unitExp - 64), divisor 2*sigB.
    unitExp -= 1;
    wShl(D, 1);
  } else {
    for (let i = 0; i <= d; i++) {
      q = (q << 1) & 7;
      if (wCmp(R, D) >= 0) {
        wSub(R, D);
        q |= 1;
      }
      if (i < d) wShl(R, 1);
    }
  }
  if (nearest && !partial) {
    // Round the quotient to nearest-even: compare 2R with D.
    T.set(R);
    wShl(T, 1);
    const c = wCmp(T, D);
    if (c > 0 || (c === 0 && (q & 1) !== 0)) {
      T.set(D);
      wSub(T, R);
      R.set(T);
      q = (q + 1) & 7;
      sign ^= 1;
    }
  }
  const flags = de | (partial ? FSW_C2 : quotientBits(q));
  let hi = R[1];
  let lo = R[2];
  let e = unitExp;
  if (hi === 0 && lo === 0) {
    setZero(out, UA.sign);
    return flags;
  }
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
  e -= sft;
  let be = e + EXP_BIAS;
  if (be <= 0) {
    // Exact denormal result: shift into the denormal encoding (no bits are lost).
    const k = 1 - be;
    if (k >= 32) {
      lo = k >= 64 ? 0 : hi >>> (k - 32);
      hi = 0;
    } else {
      lo = ((lo >>> k) | (hi << (32 - k))) >>> 0;
      hi = hi >>> k;
    }
    be = 0;
  }
  out.se = (sign << 15) | be;
  out.hi = hi >>> 0;
  out.lo = lo >>> 0;
  return flags;
}
