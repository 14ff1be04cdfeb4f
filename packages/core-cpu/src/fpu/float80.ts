/**
 * The x87 double-extended-precision format (Intel SDM Vol. 1, 4.2.2 and 8.2): sign, 15-bit
 * biased exponent (bias 16383) and a 64-bit significand whose integer bit (bit 63) is explicit.
 *
 * A value is held as three numbers: `se` (sign << 15 | exponent, i.e. bytes 8-9 of the memory
 * image), `hi` and `lo` (the significand's upper and lower 32 bits, unsigned). No BigInt.
 * The FPU's eight data registers live in typed arrays (Float80RegisterFile) with load/store to
 * a Float80 scratch object, so the interpreter allocates nothing per instruction.
 *
 * Because the integer bit is explicit, some encodings have no IEEE meaning. Since the 387 the
 * CPU treats unnormals (exponent 1..32766 with integer bit 0), pseudo-NaNs and pseudo-infinities
 * (exponent 32767 with integer bit 0) as invalid operands; pseudo-denormals (exponent 0, integer
 * bit 1) are accepted as operands and read as if the exponent were 1 (SDM Vol. 1, 8.2.2).
 */

export const EXP_BIAS = 16383;
export const EXP_MAX = 0x7fff;
export const SIGN_BIT = 0x8000;
export const INT_BIT = 0x80000000;
export const QUIET_BIT = 0x40000000;

export class Float80 {
  constructor(public se = 0, public hi = 0, public lo = 0) {}

  set(se: number, hi: number, lo: number): this {
    this.se = se & 0xffff;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  copyFrom(v: Float80): this {
    this.se = v.se;
    this.hi = v.hi;
    this.lo = v.lo;
    return this;
  }

  get sign(): number {
    return this.se >>> 15;
  }

  get exponent(): number {
    return this.se & EXP_MAX;
  }

  equals(v: Float80): boolean {
    return this.se === v.se && this.hi === v.hi && this.lo === v.lo;
  }

  /** 20 hex digits, sign/exponent first (the tword as a big-endian integer). */
  toHex(): string {
    return this.se.toString(16).padStart(4, '0') + this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  static fromHex(hex: string): Float80 {
    const h = hex.replace(/[_\s]/g, '').padStart(20, '0');
    return new Float80(parseInt(h.slice(0, 4), 16), parseInt(h.slice(4, 12), 16), parseInt(h.slice(12, 20), 16));
  }
}

/** The x87 real indefinite: the QNaN the FPU returns for a masked invalid operation. */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc0000000;

export function setIndefinite(out: Float80): void {
  out.se = INDEFINITE_SE;
  out.hi = INDEFINITE_HI;
  out.lo = 0;
}

export function setZero(out: Float80, sign: number): void {
  out.se = sign ? SIGN_BIT : 0;
  out.hi = 0;
  out.lo = 0;
}

export function setInfinity(out: Float80, sign: number): void {
  out.se = (sign ? SIGN_BIT : 0) | EXP_MAX;
  out.hi = INT_BIT;
  out.lo = 0;
}

export enum F80Class {
  Zero,
  Denormal,
  PseudoDenormal,
  Normal,
  Infinity,
  QuietNaN,
  SignalingNaN,
  /** Unnormal, pseudo-NaN or pseudo-infinity: an invalid operand on the 387 and later. */
  Unsupported,
}

export function classify(v: Float80): F80Class {
  const exp = v.se & EXP_MAX;
  const intBit = v.hi & INT_BIT;
  if (exp === 0) {
    if (intBit) return F80Class.PseudoDenormal;
    return v.hi === 0 && v.lo === 0 ? F80Class.Zero : F80Class.Denormal;
  }
  if (!intBit) return F80Class.Unsupported;
  if (exp === EXP_MAX) {
    if ((v.hi & 0x7fffffff) === 0 && v.lo === 0) return F80Class.Infinity;
    return v.hi & QUIET_BIT ? F80Class.QuietNaN : F80Class.SignalingNaN;
  }
  return F80Class.Normal;
}

export function isNaN80(v: Float80): boolean {
  return (v.se & EXP_MAX) === EXP_MAX && (v.hi & INT_BIT) !== 0 && ((v.hi & 0x7fffffff) !== 0 || v.lo !== 0);
}

export function isSignalingNaN80(v: Float80): boolean {
  return isNaN80(v) && (v.hi & QUIET_BIT) === 0;
}

export function isUnsupported80(v: Float80): boolean {
  return (v.se & EXP_MAX) !== 0 && (v.hi & INT_BIT) === 0;
}

/** Reads the 10-byte little-endian memory image at `offset`. */
export function loadFloat80(bytes: Uint8Array, offset: number, out: Float80): Float80 {
  const b = bytes;
  const o = offset;
  out.lo = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  out.hi = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
  out.se = b[o + 8] | (b[o + 9] << 8);
  return out;
}

export function storeFloat80(v: Float80, bytes: Uint8Array, offset: number): void {
  const b = bytes;
  const o = offset;
  b[o] = v.lo;
  b[o + 1] = v.lo >>> 8;
  b[o + 2] = v.lo >>> 16;
  b[o + 3] = v.lo >>> 24;
  b[o + 4] = v.hi;
  b[o + 5] = v.hi >>> 8;
  b[o + 6] = v.hi >>> 16;
  b[o + 7] = v.hi >>> 24;
  b[o + 8] = v.se;
  b[o + 9] = v.se >>> 8;
}

/**
 * The eight physical data registers R0-R7 (not ST(i): the interpreter maps ST(i) to
 * R((TOP + i) & 7)). Kept in typed arrays so the register file is one stable allocation.
 */
export class Float80RegisterFile {
  readonly se = new Uint16Array(8);
  readonly sig = new Uint32Array(16); // [hi0, lo0, hi1, lo1, ...]

  load(index: number, out: Float80): Float80 {
    const i = index & 7;
    out.se = this.se[i];
    out.hi = this.sig[2 * i];
    out.lo = this.sig[2 * i + 1];
    return out;
  }

  store(index: number, v: Float80): void {
    const i = index & 7;
    this.se[i] = v.se;
    this.sig[2 * i] = v.hi;
    this.sig[2 * i + 1] = v.lo;
  }
}
