/**
 * FSCALE and FXTRACT (SDM Vol. 2): scaling by a power of two and splitting a value into
 * exponent and significand. Both are exact apart from FSCALE's final rounding (overflow,
 * underflow, and precision control when the scaled value is narrowed).
 */
import { EXP_BIAS, F80Class, Float80, setIndefinite, setInfinity, setZero } from './float80.js';
import { fromInt32 } from './convert.js';
import { denormalFlag, screenBinary, screenUnary, screened, unpack, Unpacked } from './operands.js';
import { EXTENDED_RANGE, FSW_IE, FSW_ZE, ROUND_W, packExtended, roundSignificand, roundingOf } from './round.js';

const UA = new Unpacked();
const UB = new Unpacked();

/** Beyond this |scale| every finite nonzero value overflows or underflows completely. */
const SCALE_LIMIT = 0x10000;

/** FSCALE: a * 2^trunc(b), rounded with the control word. */
export function scale(a: Float80, b: Float80, cw: number, out: Float80): number {
  const s = screenBinary(a, b, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const cb = screened.b;
  const de = denormalFlag(ca, cb);
  const sa = a.se >>> 15;
  const sb = b.se >>> 15;
  if (cb === F80Class.Infinity) {
    if (sb) {
      if (ca === F80Class.Infinity) {
        setIndefinite(out);
        return FSW_IE | de;
      }
      setZero(out, sa);
      return de;
    }
    if (ca === F80Class.Zero) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, sa);
    return de;
  }
  if (ca === F80Class.Infinity || ca === F80Class.Zero) {
    out.copyFrom(a);
    return de;
  }
  unpack(b, UB);
  let n = 0;
  if (cb !== F80Class.Zero && UB.exp >= 0) {
    n = UB.exp >= 16 ? SCALE_LIMIT : UB.hi >>> (31 - UB.exp);
    if (UB.sign) n = -n;
  }
  unpack(a, UA);
  const w = ROUND_W;
  w[0] = UA.hi;
  w[1] = UA.lo;
  w[2] = 0;
  w[3] = 0;
  // FSCALE rounds with RC but always to 64 bits: precision control does not apply (measured).
  const flags = roundSignificand(sa, UA.exp + n, 64, EXTENDED_RANGE, roundingOf(cw), cw);
  packExtended(sa, out);
  return flags | de;
}

/**
 * FXTRACT: `sig` receives the significand (exponent forced to the bias, same sign) and `exp`
 * the unbiased exponent as a value. Zero gives ZE, exponent -infinity and the zero.
 */
export function extract(a: Float80, sig: Float80, exp: Float80): number {
  const s = screenUnary(a, sig);
  if (s >= 0) {
    exp.copyFrom(sig);
    return s;
  }
  const c = screened.a;
  const sign = a.se >>> 15;
  if (c === F80Class.Zero) {
    setInfinity(exp, 1);
    setZero(sig, sign);
    return FSW_ZE;
  }
  if (c === F80Class.Infinity) {
    setInfinity(exp, 0);
    setInfinity(sig, sign);
    return 0;
  }
  const de = denormalFlag(c, F80Class.Zero);
  unpack(a, UA);
  fromInt32(UA.exp, exp);
  sig.se = (sign << 15) | EXP_BIAS;
  sig.hi = UA.hi;
  sig.lo = UA.lo;
  return de;
}

