/**
 * Operand screening shared by the x87 arithmetic operations: invalid encodings, NaN
 * propagation and denormal detection (SDM Vol. 1, 4.8.3.5 and Table 4-7; 8.2.2), and
 * unpacking of finite values to (unbiased exponent, normalized 64-bit significand).
 *
 * NaN rule for two operands (Table 4-7, x87 column): an SNaN with a QNaN gives the QNaN; two
 * SNaNs or two QNaNs give the one with the larger significand (quieted), on a tie the one with
 * the positive sign. One NaN gives that NaN, quieted. Unsupported encodings (unnormal,
 * pseudo-NaN, pseudo-infinity) are invalid and give the real indefinite.
 */
import { EXP_BIAS, EXP_MAX, F80Class, Float80, QUIET_BIT, classify, setIndefinite } from './float80.js';
import { FSW_DE, FSW_IE } from './round.js';

/** Unpacked finite operand: unbiased exponent and significand with bit 63 set (zero: all 0). */
export class Unpacked {
  sign = 0;
  exp = 0;
  hi = 0;
  lo = 0;
}

/** Unpacks a zero, denormal, pseudo-denormal or normal value, normalizing the significand. */
export function unpack(v: Float80, u: Unpacked): Unpacked {
  u.sign = v.se >>> 15;
  let e = v.se & EXP_MAX;
  let hi = v.hi;
  let lo = v.lo;
  if (e === 0) e = 1; // denormals and pseudo-denormals scale as exponent 1
  if (hi === 0 && lo === 0) {
    u.exp = 0;
    u.hi = 0;
    u.lo = 0;
    return u;
  }
  if ((hi & 0x80000000) === 0) {
    if (hi === 0) {
      const s = Math.clz32(lo);
      hi = (lo << s) >>> 0;
      lo = 0;
      e -= 32 + s;
    } else {
      const s = Math.clz32(hi);
      hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
      lo = (lo << s) >>> 0;
      e -= s;
    }
  }
  u.exp = e - EXP_BIAS;
  u.hi = hi;
  u.lo = lo;
  return u;
}

function quiet(v: Float80, out: Float80): void {
  out.se = v.se;
  out.hi = (v.hi | QUIET_BIT) >>> 0;
  out.lo = v.lo;
}

/** Writes the NaN result for operands of which at least one is a NaN; returns IE or 0. */
export function propagateNaN(a: Float80, b: Float80, ca: F80Class, cb: F80Class, out: Float80): number {
  const aSignaling = ca === F80Class.SignalingNaN;
  const bSignaling = cb === F80Class.SignalingNaN;
  const aNaN = aSignaling || ca === F80Class.QuietNaN;
  const bNaN = bSignaling || cb === F80Class.QuietNaN;
  const flags = aSignaling || bSignaling ? FSW_IE : 0;
  if (aNaN && bNaN && aSignaling === bSignaling) {
    // Larger significand wins; on a tie the positive one (smaller sign/exponent word).
    const aHi = (a.hi | QUIET_BIT) >>> 0;
    const bHi = (b.hi | QUIET_BIT) >>> 0;
    let pickA: boolean;
    if (aHi !== bHi) pickA = aHi > bHi;
    else if (a.lo !== b.lo) pickA = a.lo > b.lo;
    else pickA = a.se <= b.se;
    quiet(pickA ? a : b, out);
  } else if (aNaN && bNaN) {
    quiet(aSignaling ? b : a, out);
  } else {
    quiet(aNaN ? a : b, out);
  }
  return flags;
}

export function isNaNClass(c: F80Class): boolean {
  return c === F80Class.QuietNaN || c === F80Class.SignalingNaN;
}

export function isDenormalClass(c: F80Class): boolean {
  return c === F80Class.Denormal || c === F80Class.PseudoDenormal;
}

/** Class of the last screened operands (valid after screenBinary returned -1). */
export const screened = { a: F80Class.Zero, b: F80Class.Zero };

/**
 * Screens two operands. Returns FSW bits when the result has been written (invalid encoding or
 * NaN), or -1 when both are numbers (zero, denormal, normal or infinity) and the caller proceeds.
 */
export function screenBinary(a: Float80, b: Float80, out: Float80): number {
  const ca = classify(a);
  const cb = classify(b);
  screened.a = ca;
  screened.b = cb;
  if (ca === F80Class.Unsupported || cb === F80Class.Unsupported) {
    setIndefinite(out);
    return FSW_IE;
  }
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(a, b, ca, cb, out);
  return -1;
}

/** Screens one operand; same contract as screenBinary. */
export function screenUnary(a: Float80, out: Float80): number {
  const ca = classify(a);
  screened.a = ca;
  if (ca === F80Class.Unsupported) {
    setIndefinite(out);
    return FSW_IE;
  }
  if (isNaNClass(ca)) return propagateNaN(a, a, ca, F80Class.Zero, out);
  return -1;
}

/** DE when either screened operand is a denormal or pseudo-denormal. */
export function denormalFlag(ca: F80Class, cb: F80Class): number {
  return isDenormalClass(ca) || isDenormalClass(cb) ? FSW_DE : 0;
}
