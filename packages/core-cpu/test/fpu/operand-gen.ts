// Seeded generator of x87 extended operands that stress rounding and the exponent edges:
// zeros, denormals and pseudo-denormals, values near underflow and overflow, infinities,
// quiet and signalling NaNs, invalid encodings, significands with long runs of ones or zeros
// (ties and carries), and second operands placed a few exponents from the first.
import { Float80 } from '../../src/fpu/float80.js';

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** xorshift32 */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
}

function significand(r: Rng): [number, number] {
  switch (r.below(8)) {
    case 0: return [0x80000000, 0];
    case 1: return [0xffffffff, 0xffffffff];
    case 2: return [(0x80000000 | r.u32()) >>> 0, 0]; // low half zero: exact products, ties
    case 3: return [(0x80000000 | (r.u32() & 0xffffff00)) >>> 0, 0]; // fits float32
    case 4: return [(0x80000000 | r.u32()) >>> 0, (r.u32() & 0xfffff800) >>> 0]; // fits float64
    case 5: return [0xffffffff, (r.u32() | 0xffff0000) >>> 0];
    default: return [(0x80000000 | r.u32()) >>> 0, r.u32()];
  }
}

function exponent(r: Rng): number {
  switch (r.below(6)) {
    case 0: return 0x3fff - 40 + r.below(80);
    case 1: return 1 + r.below(0x7ffe);
    case 2: return 1 + r.below(80);
    case 3: return 0x7ffe - r.below(80);
    case 4: return 0x3fff + (r.chance(0.5) ? 1 : -1) * (0x1f00 + r.below(0x200));
    default: return 0x3fff - 2 + r.below(5);
  }
}

export interface OperandOptions {
  /** Probability of a special (zero, infinity, NaN, denormal, invalid) operand. */
  special?: number;
  /** Include unnormals / pseudo-NaNs / pseudo-infinities / pseudo-denormals. */
  invalid?: boolean;
  /** Draw the biased exponent from [lo, hi] instead of the mixed distribution. */
  exponents?: [number, number];
}

/** One random operand; `near` (if given) pulls the exponent within a few of it. */
export function randomOperand(r: Rng, opts: OperandOptions = {}, near?: Float80): Float80 {
  const sign = r.chance(0.5) ? 0x8000 : 0;
  const special = opts.special ?? 0.15;
  if (r.chance(special)) {
    const kinds = opts.invalid ? 9 : 6;
    switch (r.below(kinds)) {
      case 0: return new Float80(sign, 0, 0);
      case 1: return new Float80(sign | 0x7fff, 0x80000000, 0);
      case 2: return new Float80(sign | 0x7fff, (0xc0000000 | r.u32()) >>> 0, r.chance(0.5) ? 0 : r.u32()); // QNaN
      case 3: return new Float80(sign | 0x7fff, (0x80000000 | (r.u32() & 0x3fffffff) | 1) >>> 0, r.u32()); // SNaN
      case 4: return new Float80(sign, r.u32() & 0x7fffffff, r.u32()); // denormal
      case 5: return new Float80(sign, 0, r.below(16)); // tiny denormal
      case 6: return new Float80(sign, (0x80000000 | r.u32()) >>> 0, r.u32()); // pseudo-denormal
      case 7: return new Float80(sign | (1 + r.below(0x7ffe)), r.u32() & 0x7fffffff, r.u32()); // unnormal
      default: return new Float80(sign | 0x7fff, r.u32() & 0x7fffffff, r.u32()); // pseudo-NaN/infinity
    }
  }
  const [hi, lo] = significand(r);
  let e = opts.exponents ? opts.exponents[0] + r.below(opts.exponents[1] - opts.exponents[0] + 1) : exponent(r);
  if (near && (near.se & 0x7fff) !== 0x7fff && r.chance(0.5)) {
    const ne = near.se & 0x7fff || 1;
    e = Math.min(0x7ffe, Math.max(1, ne + r.below(140) - 70));
    if (r.chance(0.3)) e = Math.min(0x7ffe, Math.max(1, ne + r.below(5) - 2));
  }
  return new Float80(sign | e, hi, lo);
}
