/**
 * 64-bit arithmetic on 32-bit halves for the interpreter's REX.W instructions: shifts by 0-64,
 * the 64x64 -> 128-bit products of MUL/IMUL, and the 128/64 division of DIV/IDIV.
 *
 * Values travel as (lo, hi) int32/uint32 pairs and results land in the module-level `wide`
 * record (no allocation per instruction). Products use 16-bit limbs, whose partial sums stay
 * below 2^53 so doubles are exact. Division by a divisor below 2^32 is a base-2^16 long
 * division (partial dividends below 2^48); a larger divisor, rare in practice, goes through
 * BigInt (under a microsecond on this host, against about 15 ns for the small-divisor path;
 * bounded in test/interp/muldiv64.test.ts).
 */

/** Results of the functions below: `lo`/`hi` for 64-bit results, `w0`-`w3` for 128-bit ones (uint32 each). */
export const wide = {
  lo: 0,
  hi: 0,
  w0: 0,
  w1: 0,
  w2: 0,
  w3: 0,
  /** Division: the remainder's halves. */
  remLo: 0,
  remHi: 0,
};

/** (hi:lo) << count for count 0-64; result in wide.lo / wide.hi (int32). */
export function shl64(lo: number, hi: number, count: number): void {
  if (count === 0) {
    wide.lo = lo | 0;
    wide.hi = hi | 0;
  } else if (count < 32) {
    wide.hi = (hi << count) | (lo >>> (32 - count));
    wide.lo = lo << count;
  } else if (count < 64) {
    wide.hi = lo << (count - 32);
    wide.lo = 0;
  } else {
    wide.hi = 0;
    wide.lo = 0;
  }
}

/** (hi:lo) >>> count (logical) for count 0-64; result in wide.lo / wide.hi (int32). */
export function shr64(lo: number, hi: number, count: number): void {
  if (count === 0) {
    wide.lo = lo | 0;
    wide.hi = hi | 0;
  } else if (count < 32) {
    wide.lo = (lo >>> count) | (hi << (32 - count));
    wide.hi = hi >>> count | 0;
  } else if (count < 64) {
    wide.lo = hi >>> (count - 32) | 0;
    wide.hi = 0;
  } else {
    wide.lo = 0;
    wide.hi = 0;
  }
}

/** (hi:lo) >> count (arithmetic) for count 0-63; result in wide.lo / wide.hi (int32). */
export function sar64(lo: number, hi: number, count: number): void {
  if (count === 0) {
    wide.lo = lo | 0;
    wide.hi = hi | 0;
  } else if (count < 32) {
    wide.lo = (lo >>> count) | (hi << (32 - count));
    wide.hi = hi >> count;
  } else {
    wide.lo = hi >> (count - 32);
    wide.hi = hi >> 31;
  }
}

/** Bit `n` (0-63) of (hi:lo). */
export function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

const A = new Float64Array(4);
const B = new Float64Array(4);

/** The unsigned 128-bit product of two 64-bit values; result in wide.w0 (low) .. wide.w3 (uint32). */
export function mulU64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  A[0] = aLo & 0xffff;
  A[1] = aLo >>> 16;
  A[2] = aHi & 0xffff;
  A[3] = aHi >>> 16;
  B[0] = bLo & 0xffff;
  B[1] = bLo >>> 16;
  B[2] = bHi & 0xffff;
  B[3] = bHi >>> 16;
  // Columns of 16-bit digits: at most 4 products below 2^32 plus a carry, exact in a double.
  let carry = 0;
  let d0 = 0;
  let d1 = 0;
  for (let k = 0; k < 8; k++) {
    let col = carry;
    const from = k > 3 ? k - 3 : 0;
    const to = k < 3 ? k : 3;
    for (let i = from; i <= to; i++) col += A[i] * B[k - i];
    const digit = col % 65536;
    carry = (col - digit) / 65536;
    if ((k & 1) === 0) d0 = digit;
    else d1 = digit;
    if (k & 1) {
      const word = d0 + d1 * 65536;
      if (k === 1) wide.w0 = word;
      else if (k === 3) wide.w1 = word;
      else if (k === 5) wide.w2 = word;
      else wide.w3 = word;
    }
  }
}

/**
 * The signed 128-bit product of two 64-bit values (two's complement, as uint32 words in
 * wide.w0 .. wide.w3): the unsigned product, less b * 2^64 when a is negative and a * 2^64
 * when b is negative.
 */
export function mulS64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulU64(aLo, aHi, bLo, bHi);
  if (aHi < 0) subHigh(bLo, bHi);
  if (bHi < 0) subHigh(aLo, aHi);
}

/** (w3:w2) -= (hi:lo), modulo 2^64. */
function subHigh(lo: number, hi: number): void {
  const d = wide.w2 - (lo >>> 0);
  wide.w2 = d >>> 0;
  wide.w3 = (wide.w3 - (hi >>> 0) - (d < 0 ? 1 : 0)) >>> 0;
}

/**
 * Unsigned (n3:n2:n1:n0) / (dHi:dLo), all uint32 words, for a quotient that fits in 64 bits
 * (the caller checked (n3:n2) < divisor, so the divisor is not zero). Quotient in wide.lo /
 * wide.hi, remainder in wide.remLo / wide.remHi (uint32).
 */
export function divU128(n3: number, n2: number, n1: number, n0: number, dLo: number, dHi: number): void {
  dLo >>>= 0;
  dHi >>>= 0;
  if (dHi === 0) {
    // (n3:n2) < d < 2^32 leaves n3 = 0 and a first partial remainder n2 < d.
    let r = n2 >>> 0;
    let t = r * 65536 + (n1 >>> 16);
    const q3 = Math.floor(t / dLo);
    r = t - q3 * dLo;
    t = r * 65536 + (n1 & 0xffff);
    const q2 = Math.floor(t / dLo);
    r = t - q2 * dLo;
    t = r * 65536 + (n0 >>> 16);
    const q1 = Math.floor(t / dLo);
    r = t - q1 * dLo;
    t = r * 65536 + (n0 & 0xffff);
    const q0 = Math.floor(t / dLo);
    r = t - q0 * dLo;
    wide.hi = q3 * 65536 + q2;
    wide.lo = q1 * 65536 + q0;
    wide.remLo = r;
    wide.remHi = 0;
    return;
  }
  divU128Big(n3, n2, n1, n0, dLo, dHi);
}

/** The rare case of a divisor of 2^32 or more, through BigInt. */
function divU128Big(n3: number, n2: number, n1: number, n0: number, dLo: number, dHi: number): void {
  const n = (BigInt(n3 >>> 0) << 96n) | (BigInt(n2 >>> 0) << 64n) | (BigInt(n1 >>> 0) << 32n) | BigInt(n0 >>> 0);
  const d = (BigInt(dHi) << 32n) | BigInt(dLo);
  const q = n / d;
  const r = n - q * d;
  wide.lo = Number(q & 0xffffffffn);
  wide.hi = Number(q >> 32n);
  wide.remLo = Number(r & 0xffffffffn);
  wide.remHi = Number(r >> 32n);
}

/** True when the unsigned 64-bit (aHi:aLo) >= (bHi:bLo). */
export function geU64(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ah = aHi >>> 0;
  const bh = bHi >>> 0;
  return ah > bh || (ah === bh && aLo >>> 0 >= bLo >>> 0);
}

/** Two's complement negation of (hi:lo); result in wide.lo / wide.hi (int32). */
export function neg64(lo: number, hi: number): void {
  wide.lo = -lo | 0;
  wide.hi = (~hi + ((lo | 0) === 0 ? 1 : 0)) | 0;
}
