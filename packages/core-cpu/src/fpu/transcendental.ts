/**
 * Shared pieces of the x87 transcendental instructions FSIN, FCOS, FSINCOS, FPTAN (trig.ts)
 * and FPATAN, F2XM1, FYL2X, FYL2XP1 (log-exp.ts); SDM Vol. 2 and Vol. 1, 8.3.10.
 *
 * ACCURACY GAP (documented, deliberate for now): the hardware computes these to about one
 * unit in the last place of the 64-bit significand; here the core function is evaluated in JS
 * doubles (53 bits), so results agree with the hardware to roughly 2^-52 relative (the
 * differential test measured at most ~4100 ulps of the 64-bit significand), not bit for bit, and C1 (round-up) is not meaningful. What is exact: the special cases (zeros, infinities,
 * NaNs, invalid encodings, out-of-range arguments with C2), the exception flags IE/DE/ZE, and
 * the steps around the double evaluation that would otherwise lose accuracy:
 * - trigonometric arguments are reduced exactly by the CPU's 66-bit pi/2, and only the reduced
 *   argument (|r| <= pi/4) is rounded to a double;
 * - sin and tan are evaluated as r * (f(r)/r), so small arguments keep all 64 bits;
 * - logarithms split off the binary exponent first, and FPATAN divides in extended precision
 *   when the ratio is far beyond double range.
 * A 64-bit-accurate implementation (e.g. double-double or table-driven) can replace the
 * double kernels behind the same functions.
 */
import { mul } from './arith.js';
import { fromNumber } from './convert.js';
import { F80Class, Float80, classify } from './float80.js';
import { FSW_C1, FSW_PE, FSW_UE } from './round.js';

const RATIO = new Float80();

/** The control word's RC with 64-bit precision: transcendentals ignore PC. */
export function fullPrecision(cw: number): number {
  return (cw & 0x0c00) | 0x037f;
}

/** Flags every inexact transcendental result gets: PE, and UE when it came out tiny. */
export function inexact(out: Float80, flags: number): number {
  flags &= ~FSW_C1;
  const c = classify(out);
  if (c === F80Class.Zero) return flags;
  if (c === F80Class.Denormal) flags |= FSW_UE;
  return flags | FSW_PE;
}

/** out = r * ratio where ratio = f(r)/r evaluated in doubles. */
export function scaled(r: Float80, ratio: number, cw: number, out: Float80): number {
  fromNumber(ratio, RATIO);
  return mul(r, RATIO, fullPrecision(cw), out);
}
