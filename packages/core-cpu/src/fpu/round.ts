/**
 * Rounding of an exact intermediate result to a destination format (SDM Vol. 1, 4.8.4 and
 * 8.1.5): the x87 precision-control field (PC: 24, 53 or 64 significand bits) and rounding-
 * control field (RC) of the control word, the masked overflow and underflow responses (4.9.1.4,
 * 4.9.1.5) and the C1 round-up indicator (8.1.3.1).
 *
 * Facts the hardware shows (checked by test/differential/x87-vs-cpu.test.ts):
 * - Tininess is detected after rounding: a result is tiny when, rounded to the precision with
 *   an unbounded exponent, it is below the smallest normal; with the underflow exception masked
 *   UE is raised only if it is also inexact (after denormalization).
 * - PC narrows only the significand; the exponent range stays the extended one, so a result
 *   rounded to 24 bits can still be an extended denormal, rounded at the same bit position.
 *
 * The intermediate is a 128-bit significand (ROUND_W, integer bit at bit 127, sticky bits
 * ORed into the low bits) with an unbiased exponent of bit 127.
 */
import { EXP_BIAS, EXP_MAX, Float80, SIGN_BIT } from './float80.js';
import { wAddBit, wAnyBelow, wClear, wClearBelow, wGetBit, wIsZero, wShrJam } from './wide.js';

// Status-word bits (SDM Vol. 1, Figure 8-4). Operations return these; C1 replaces, the rest accumulate.
export const FSW_IE = 0x0001;
export const FSW_DE = 0x0002;
export const FSW_ZE = 0x0004;
export const FSW_OE = 0x0008;
export const FSW_UE = 0x0010;
export const FSW_PE = 0x0020;
export const FSW_SF = 0x0040;
export const FSW_C0 = 0x0100;
export const FSW_C1 = 0x0200;
export const FSW_C2 = 0x0400;
export const FSW_C3 = 0x4000;
export const FSW_EXCEPTIONS = 0x003f;

// Control-word fields (SDM Vol. 1, Figure 8-6).
export const FCW_PC_SHIFT = 8;
export const FCW_RC_SHIFT = 10;
export const FCW_DEFAULT = 0x037f;
export const FCW_OM = 0x0008;
export const FCW_UM = 0x0010;
/** Exponent wrap applied to a result delivered to an unmasked OE/UE handler (SDM Vol. 1, 8.5.4). */
export const BIAS_ADJUST = 24576;

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

/** Significand bits for PC = 00, 01 (reserved: behaves as 64 here), 10, 11. */
const PC_BITS = [24, 64, 53, 64];

export function precisionOf(cw: number): number {
  return PC_BITS[(cw >>> FCW_PC_SHIFT) & 3];
}

export function roundingOf(cw: number): number {
  return (cw >>> FCW_RC_SHIFT) & 3;
}

/** A destination format: significand bits and the unbiased exponent range of normal numbers. */
export interface FormatRange {
  emin: number;
  emax: number;
}
export const EXTENDED_RANGE: FormatRange = { emin: 1 - EXP_BIAS, emax: EXP_BIAS };
export const DOUBLE_RANGE: FormatRange = { emin: -1022, emax: 1023 };
export const SINGLE_RANGE: FormatRange = { emin: -126, emax: 127 };

/** The 128-bit intermediate significand shared by all operations (never held across calls). */
export const ROUND_W = new Uint32Array(4);

/** Outputs of roundSignificand. */
export const rounded = {
  /** Unbiased exponent of bit 127 (emin for a denormal or zero). */
  exp: 0,
  /** True when the result became an infinity (overflow). */
  infinite: false,
  /** True when bit 127 is clear after rounding: a denormal or zero. */
  subnormal: false,
};

/** True when rounding ROUND_W (normalized) to `bits` bits carries out of the top bit. */
function carriesOut(sign: number, bits: number, rc: number): boolean {
  const w = ROUND_W;
  const ulp = 128 - bits;
  for (let i = 127; i >= ulp; i--) if (wGetBit(w, i) === 0) return false;
  const half = wGetBit(w, ulp - 1) !== 0;
  const sticky = wAnyBelow(w, ulp - 1);
  switch (rc) {
    case RC_NEAREST: return half; // the kept lsb is 1, so a tie rounds up too
    case RC_DOWN: return sign !== 0 && (half || sticky);
    case RC_UP: return sign === 0 && (half || sticky);
    default: return false;
  }
}

/**
 * Rounds ROUND_W (nonzero, normalized: bit 127 set) with exponent `exp` to `bits` significand
 * bits in `range`, in rounding mode `rc`. Leaves the rounded significand in ROUND_W (bits below
 * the precision cleared) and returns the FSW exception bits (PE UE OE) plus C1.
 */
export function roundSignificand(sign: number, exp: number, bits: number, range: FormatRange, rc: number, cw = FCW_DEFAULT): number {
  const w = ROUND_W;
  let flags = 0;
  let tiny = false;
  // Unmasked UE/OE with a register destination: no denormalization or overflow response;
  // the rounded result is delivered with its exponent wrapped by the bias adjust (SDM Vol. 1,
  // 8.5.4 and 8.5.5) for the trap handler. Callers with a memory destination pass no cw.
  const ueUnmasked = (cw & FCW_UM) === 0;
  const oeUnmasked = (cw & FCW_OM) === 0;
  // Tininess is judged after rounding (to `bits` with an unbounded exponent): a value just
  // below the smallest normal that rounds up to it is not tiny (measured on the hardware).
  const tinyAfterRounding = exp < range.emin && !(exp === range.emin - 1 && carriesOut(sign, bits, rc));
  if (tinyAfterRounding && ueUnmasked) {
    flags |= FSW_UE;
  } else if (exp < range.emin) {
    tiny = tinyAfterRounding;
    const shift = range.emin - exp;
    if (shift >= 128) {
      const any = !wIsZero(w);
      wClear(w);
      if (any) w[3] = 1;
    } else {
      wShrJam(w, shift);
    }
    exp = range.emin;
  }
  const ulp = 128 - bits;
  const half = wGetBit(w, ulp - 1);
  const sticky = wAnyBelow(w, ulp - 1);
  const inexact = half !== 0 || sticky;
  let up = false;
  if (inexact) {
    flags |= FSW_PE;
    if (tiny) flags |= FSW_UE;
    switch (rc) {
      case RC_NEAREST: up = half !== 0 && (sticky || wGetBit(w, ulp) !== 0); break;
      case RC_DOWN: up = sign !== 0; break;
      case RC_UP: up = sign === 0; break;
      default: break;
    }
  }
  wClearBelow(w, ulp);
  if (up) {
    flags |= FSW_C1;
    if (wAddBit(w, ulp)) {
      w[0] = 0x80000000;
      exp++;
    }
  }
  rounded.infinite = false;
  if (flags & FSW_UE && ueUnmasked) {
    exp += BIAS_ADJUST;
  } else if (exp > range.emax && oeUnmasked) {
    flags |= FSW_OE;
    exp -= BIAS_ADJUST;
  } else if (exp > range.emax) {
    flags = FSW_OE | FSW_PE;
    // Masked overflow: infinity, or the largest finite value when rounding goes toward zero.
    const toInfinity = rc === RC_NEAREST || (rc === RC_UP && sign === 0) || (rc === RC_DOWN && sign !== 0);
    if (toInfinity) {
      flags |= FSW_C1;
      rounded.infinite = true;
      wClear(w);
      w[0] = 0x80000000;
    } else {
      wClear(w);
      for (let i = 0; i < bits; i++) w[i >>> 5] |= 0x80000000 >>> (i & 31);
    }
    exp = range.emax;
  }
  rounded.exp = exp;
  rounded.subnormal = (w[0] & 0x80000000) === 0;
  return flags;
}

/** Writes the rounded ROUND_W as an extended value. */
export function packExtended(sign: number, out: Float80): void {
  const w = ROUND_W;
  let e: number;
  if (rounded.infinite) e = EXP_MAX;
  else if (rounded.subnormal) e = 0;
  else e = rounded.exp + EXP_BIAS;
  out.se = (sign ? SIGN_BIT : 0) | e;
  out.hi = w[0];
  out.lo = w[1];
  if (rounded.infinite) {
    out.hi = 0x80000000;
    out.lo = 0;
  }
}

/**
 * Rounds ROUND_W with the control word's PC and RC to extended format (a register destination,
 * so unmasked OE/UE deliver the bias-adjusted result); returns FSW bits.
 */
export function roundToExtended(sign: number, exp: number, cw: number, out: Float80): number {
  const flags = roundSignificand(sign, exp, precisionOf(cw), EXTENDED_RANGE, roundingOf(cw), cw);
  packExtended(sign, out);
  return flags;
}
