/**
 * Conversions between extended precision and the x87 memory formats (SDM Vol. 1, 4.2, 8.2):
 * - integers (FILD/FIST/FISTP/FISTTP): int16/32/64 to extended is exact; extended to integer
 *   rounds with RC (or truncates, FISTTP) and gives the integer indefinite (0x8000...) with IE
 *   when the value is out of range, a NaN, an infinity or an invalid encoding.
 * - single and double (FLD/FST m32/m64): loads are exact (a denormal source raises DE, an SNaN
 *   raises IE and is quieted); stores round to the destination's precision and exponent range
 *   with RC, ignoring PC, and keep the top of a NaN's payload.
 * - JS numbers, for tests and the disassembler (a double through the float64 path).
 *
 * 64-bit integers travel as two 32-bit halves (Int64Halves), never as BigInt.
 */
import { EXP_BIAS, EXP_MAX, F80Class, Float80, INT_BIT, QUIET_BIT, classify, setZero } from './float80.js';
import { unpack, Unpacked } from './operands.js';
import {
  DOUBLE_RANGE, FSW_DE, FSW_IE, RC_NEAREST, ROUND_W, SINGLE_RANGE, rounded,
  roundSignificand, type FormatRange,
} from './round.js';
import { integerMagnitude, roundToIntegerMagnitude } from './integer.js';
import { wClear } from './wide.js';

/** A 64-bit integer as halves: `hi` and `lo` unsigned 32-bit. */
export class Int64Halves {
  hi = 0;
  lo = 0;
}

const U = new Unpacked();

/** Loads a two's-complement 64-bit integer (halves) exactly. */
export function fromInt64(hi: number, lo: number, out: Float80): void {
  let sign = 0;
  hi >>>= 0;
  lo >>>= 0;
  if (hi & 0x80000000) {
    sign = 1;
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  if (hi === 0 && lo === 0) {
    setZero(out, 0);
    return;
  }
  let e = EXP_BIAS + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    e -= 32;
  }
  const s = Math.clz32(hi);
  if (s !== 0) {
    hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    lo = (lo << s) >>> 0;
  }
  out.se = (sign << 15) | (e - s);
  out.hi = hi;
  out.lo = lo;
}

/** Loads a signed 32-bit (or 16-bit, sign-extended) integer exactly. */
export function fromInt32(v: number, out: Float80): void {
  fromInt64(v < 0 ? 0xffffffff : 0, v >>> 0, out);
}

/**
 * Converts to a signed integer of `bits` (16, 32 or 64) with rounding mode `rc` (FISTTP: RC_ZERO).
 * The result goes to `out` (for 16/32 bits in out.lo, sign-extended to 32, out.hi the sign fill).
 * Returns FSW bits: IE (result is the integer indefinite), PE, C1.
 */
export function toInt(a: Float80, bits: number, rc: number, out: Int64Halves): number {
  const c = classify(a);
  if (c === F80Class.Zero) {
    out.hi = 0;
    out.lo = 0;
    return 0;
  }
  if (c === F80Class.Unsupported || c === F80Class.Infinity || c === F80Class.QuietNaN || c === F80Class.SignalingNaN) {
    return indefiniteInt(bits, out);
  }
  unpack(a, U);
  const sign = U.sign;
  if (U.exp > 63) return indefiniteInt(bits, out);
  const flags = roundToIntegerMagnitude(U, rc);
  let hi = integerMagnitude.hi;
  let lo = integerMagnitude.lo;
  if (integerMagnitude.carry) return indefiniteInt(bits, out); // 2^64
  // Range: magnitude up to 2^(bits-1) - 1, or 2^(bits-1) when negative.
  const limitHi = bits === 64 ? 0x80000000 : 0;
  const limitLo = bits === 64 ? 0 : 2 ** (bits - 1);
  const over = hi > limitHi || (hi === limitHi && lo > limitLo) || (hi === limitHi && lo === limitLo && sign === 0);
  if (over) return indefiniteInt(bits, out);
  if (sign) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  out.hi = hi;
  out.lo = lo;
  if (bits < 64) out.hi = lo & 0x80000000 ? 0xffffffff : 0;
  if (bits === 16) {
    out.lo = ((lo << 16) >> 16) >>> 0;
  }
  return flags;
}

function indefiniteInt(bits: number, out: Int64Halves): number {
  if (bits === 64) {
    out.hi = 0x80000000;
    out.lo = 0;
  } else {
    out.hi = 0xffffffff;
    out.lo = bits === 32 ? 0x80000000 : 0xffff8000;
  }
  return FSW_IE;
}

/** Loads a float32 bit pattern exactly; returns FSW bits (DE for a denormal, IE for an SNaN). */
export function fromFloat32(bits: number, out: Float80): number {
  bits >>>= 0;
  const sign = bits >>> 31;
  const e = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  return fromBinary(sign, e, 0xff, 127, frac << 8, 0, out);
}

/** Loads a float64 given as halves exactly; returns FSW bits. */
export function fromFloat64(hi: number, lo: number, out: Float80): number {
  hi >>>= 0;
  lo >>>= 0;
  const sign = hi >>> 31;
  const e = (hi >>> 20) & 0x7ff;
  // The 52-bit fraction aligned to start just below the integer-bit position.
  const fHi = ((hi & 0xfffff) << 11) | (lo >>> 21);
  const fLo = lo << 11;
  return fromBinary(sign, e, 0x7ff, 1023, fHi >>> 0, fLo >>> 0, out);
}

/** Shared load: fraction (fHi:fLo) holds the fraction bits left-aligned below bit 63. */
function fromBinary(sign: number, e: number, eMax: number, bias: number, fHi: number, fLo: number, out: Float80): number {
  const s15 = sign << 15;
  if (e === eMax) {
    out.se = s15 | EXP_MAX;
    out.hi = (INT_BIT | fHi) >>> 0;
    out.lo = fLo;
    if (fHi === 0 && fLo === 0) return 0;
    if (fHi & QUIET_BIT) return 0;
    out.hi = (out.hi | QUIET_BIT) >>> 0;
    return FSW_IE;
  }
  if (e === 0) {
    if (fHi === 0 && fLo === 0) {
      setZero(out, sign);
      return 0;
    }
    // Denormal: value = 0.fraction * 2^(1-bias); normalize into extended.
    let exp = 1 - bias + EXP_BIAS;
    let hi = fHi;
    let lo = fLo;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      exp -= 32;
    }
    const sft = Math.clz32(hi);
    if (sft !== 0) {
      hi = ((hi << sft) | (lo >>> (32 - sft))) >>> 0;
      lo = (lo << sft) >>> 0;
    }
    out.se = s15 | (exp - sft);
    out.hi = hi;
    out.lo = lo;
    return FSW_DE;
  }
  out.se = s15 | (e - bias + EXP_BIAS);
  out.hi = (INT_BIT | fHi) >>> 0;
  out.lo = fLo;
  return 0;
}

/** Result of a narrowing store: float32 bits in `lo`, or float64 halves. */
export const narrowed = new Int64Halves();

/** Rounds to float32 (result in narrowed.lo); returns FSW bits. */
export function toFloat32(a: Float80, rc: number): number {
  const flags = narrow(a, rc, 24, SINGLE_RANGE);
  const w = ROUND_W;
  const sign = narrowSign;
  if (narrowKind === NarrowKind.Special) {
    narrowed.lo = ((sign << 31) | 0x7f800000 | (specialHi >>> 9)) >>> 0;
    return flags;
  }
  if (narrowKind === NarrowKind.Zero) {
    narrowed.lo = (sign << 31) >>> 0;
    return flags;
  }
  const e = rounded.infinite ? 0xff : rounded.subnormal ? 0 : rounded.exp + 127;
  const frac = rounded.infinite ? 0 : (w[0] >>> 8) & 0x7fffff;
  narrowed.lo = ((sign << 31) | (e << 23) | frac) >>> 0;
  return flags;
}

/** Rounds to float64 (result in narrowed.hi/lo); returns FSW bits. */
export function toFloat64(a: Float80, rc: number): number {
  const flags = narrow(a, rc, 53, DOUBLE_RANGE);
  const w = ROUND_W;
  const sign = narrowSign;
  if (narrowKind === NarrowKind.Special) {
    narrowed.hi = ((sign << 31) | 0x7ff00000 | (specialHi >>> 12)) >>> 0;
    narrowed.lo = ((specialHi << 20) | (specialLo >>> 12)) >>> 0;
    return flags;
  }
  if (narrowKind === NarrowKind.Zero) {
    narrowed.hi = (sign << 31) >>> 0;
    narrowed.lo = 0;
    return flags;
  }
  const e = rounded.infinite ? 0x7ff : rounded.subnormal ? 0 : rounded.exp + 1023;
  const hi = rounded.infinite ? 0 : (w[0] >>> 11) & 0xfffff;
  const lo = rounded.infinite ? 0 : ((w[0] << 21) | (w[1] >>> 11)) >>> 0;
  narrowed.hi = ((sign << 31) | (e << 20) | hi) >>> 0;
  narrowed.lo = lo;
  return flags;
}

enum NarrowKind {
  Zero,
  Finite,
  /** Infinity or NaN: exponent all ones; specialHi:specialLo is the fraction, left-aligned. */
  Special,
}
let narrowKind = NarrowKind.Zero;
let narrowSign = 0;
let specialHi = 0;
let specialLo = 0;

function narrow(a: Float80, rc: number, bits: number, range: FormatRange): number {
  const c = classify(a);
  narrowSign = a.se >>> 15;
  if (c === F80Class.Zero) {
    narrowKind = NarrowKind.Zero;
    return 0;
  }
  if (c === F80Class.Infinity) {
    narrowKind = NarrowKind.Special;
    specialHi = 0;
    specialLo = 0;
    return 0;
  }
  if (c === F80Class.Unsupported || c === F80Class.QuietNaN || c === F80Class.SignalingNaN) {
    narrowKind = NarrowKind.Special;
    if (c === F80Class.Unsupported) {
      narrowSign = 1;
      specialHi = 0x80000000;
      specialLo = 0;
      return FSW_IE;
    }
    // Fraction bits below the integer bit, left-aligned, with the quiet bit set.
    specialHi = ((a.hi << 1) | (a.lo >>> 31) | (QUIET_BIT << 1)) >>> 0;
    specialLo = (a.lo << 1) >>> 0;
    return c === F80Class.SignalingNaN ? FSW_IE : 0;
  }
  narrowKind = NarrowKind.Finite;
  // A denormal extended source raises no DE on a store (measured on the hardware).
  unpack(a, U);
  const w = ROUND_W;
  wClear(w);
  w[0] = U.hi;
  w[1] = U.lo;
  return roundSignificand(U.sign, U.exp, bits, range, rc);
}

const SCRATCH = new DataView(new ArrayBuffer(8));

/** Exact conversion of a JS number (a double) to extended. */
export function fromNumber(x: number, out: Float80): Float80 {
  SCRATCH.setFloat64(0, x);
  fromFloat64(SCRATCH.getUint32(0), SCRATCH.getUint32(4), out);
  return out;
}

/** Extended to the nearest JS number (round to nearest even; NaN payloads are not kept). */
export function toNumber(a: Float80): number {
  toFloat64(a, RC_NEAREST);
  SCRATCH.setUint32(0, narrowed.hi);
  SCRATCH.setUint32(4, narrowed.lo);
  return SCRATCH.getFloat64(0);
}
