/**
 * The exact x87 arithmetic operations: FADD/FSUB, FMUL, FDIV and FSQRT (SDM Vol. 2, and
 * Vol. 1 4.8 / 8.5.1). Each computes the exact result as a 128-bit significand plus sticky bit,
 * then rounds it once with the control word's PC and RC (round.ts).
 *
 * All take operands as Float80 and write `out` (which may alias an operand); they return the
 * FSW bits to merge into the status word: exception flags (accumulate) and C1 (replaces).
 * Only the masked responses are produced; the interpreter decides whether an unmasked
 * exception traps before it writes `out` back (SDM Vol. 1, 8.7).
 *
 * Division and square root are computed bit by bit (restoring long division and the
 * digit-by-digit root): simple and exact; a faster estimate-and-correct scheme can replace
 * them later with the differential test as the check.
 */
import { F80Class, Float80, setIndefinite, setInfinity, setZero } from './float80.js';
import { denormalFlag, screenBinary, screenUnary, screened, unpack, Unpacked } from './operands.js';
import { FSW_IE, FSW_ZE, RC_DOWN, ROUND_W, roundingOf, roundToExtended } from './round.js';
import { MUL_HI, mul32, wAdd, wClear, wClz, wCmp, wIsZero, wShl, wShrJam, wSub } from './wide.js';

const UA = new Unpacked();
const UB = new Unpacked();
const T = new Uint32Array(4);
const R3 = new Uint32Array(3);
const D3 = new Uint32Array(3);
const ROOT = new Uint32Array(3);
const TRIAL = new Uint32Array(3);

/** a + b (negateB = 0) or a - b (negateB = 1). */
export function addSub(a: Float80, b: Float80, negateB: number, cw: number, out: Float80): number {
  const s = screenBinary(a, b, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const cb = screened.b;
  const de = denormalFlag(ca, cb);
  const sa = a.se >>> 15;
  const sb = (b.se >>> 15) ^ negateB;
  if (ca === F80Class.Infinity || cb === F80Class.Infinity) {
    if (ca === F80Class.Infinity && cb === F80Class.Infinity && sa !== sb) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, ca === F80Class.Infinity ? sa : sb);
    return de;
  }
  unpack(a, UA);
  unpack(b, UB);
  UA.sign = sa;
  UB.sign = sb;
  const aZero = ca === F80Class.Zero;
  const bZero = cb === F80Class.Zero;
  if (aZero && bZero) {
    setZero(out, sa === sb ? sa : roundingOf(cw) === RC_DOWN ? 1 : 0);
    return de;
  }
  // X: the operand of larger magnitude; Y: the other.
  let x = UA;
  let y = UB;
  if (aZero || (!bZero && (UB.exp > UA.exp || (UB.exp === UA.exp && (UB.hi > UA.hi || (UB.hi === UA.hi && UB.lo > UA.lo)))))) {
    x = UB;
    y = UA;
  }
  const w = ROUND_W;
  w[0] = x.hi;
  w[1] = x.lo;
  w[2] = 0;
  w[3] = 0;
  let exp = x.exp;
  if (!(aZero || bZero)) {
    T[0] = y.hi;
    T[1] = y.lo;
    T[2] = 0;
    T[3] = 0;
    wShrJam(T, x.exp - y.exp);
    if (x.sign === y.sign) {
      if (wAdd(w, T)) {
        wShrJam(w, 1);
        w[0] |= 0x80000000;
        exp++;
      }
    } else {
      wSub(w, T);
      if (wIsZero(w)) {
        setZero(out, roundingOf(cw) === RC_DOWN ? 1 : 0);
        return de;
      }
      const lz = wClz(w);
      wShl(w, lz);
      exp -= lz;
    }
  }
  return roundToExtended(x.sign, exp, cw, out) | de;
}

/** 64x64 -> 128-bit product of two significands into w. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number, w: Uint32Array): void {
  const llLo = mul32(aLo, bLo);
  const llHi = MUL_HI;
  const hlLo = mul32(aHi, bLo);
  const hlHi = MUL_HI;
  const lhLo = mul32(aLo, bHi);
  const lhHi = MUL_HI;
  const hhLo = mul32(aHi, bHi);
  const hhHi = MUL_HI;
  w[3] = llLo;
  const x = llHi + hlLo + lhLo;
  w[2] = x % 0x100000000;
  const y = hlHi + lhHi + hhLo + Math.floor(x / 0x100000000);
  w[1] = y % 0x100000000;
  w[0] = hhHi + Math.floor(y / 0x100000000);
}

export function mul(a: Float80, b: Float80, cw: number, out: Float80): number {
  const s = screenBinary(a, b, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const cb = screened.b;
  const de = denormalFlag(ca, cb);
  const sign = (a.se ^ b.se) >>> 15;
  if (ca === F80Class.Infinity || cb === F80Class.Infinity) {
    if (ca === F80Class.Zero || cb === F80Class.Zero) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, sign);
    return de;
  }
  if (ca === F80Class.Zero || cb === F80Class.Zero) {
    setZero(out, sign);
    return de;
  }
  unpack(a, UA);
  unpack(b, UB);
  const w = ROUND_W;
  mul64(UA.hi, UA.lo, UB.hi, UB.lo, w);
  let exp = UA.exp + UB.exp;
  if (w[0] & 0x80000000) exp++;
  else wShl(w, 1);
  return roundToExtended(sign, exp, cw, out) | de;
}

export function div(a: Float80, b: Float80, cw: number, out: Float80): number {
  const s = screenBinary(a, b, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const cb = screened.b;
  const de = denormalFlag(ca, cb);
  const sign = (a.se ^ b.se) >>> 15;
  if (ca === F80Class.Infinity) {
    if (cb === F80Class.Infinity) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    setInfinity(out, sign);
    return de;
  }
  if (cb === F80Class.Infinity) {
    setZero(out, sign);
    return de;
  }
  if (cb === F80Class.Zero) {
    if (ca === F80Class.Zero) {
      setIndefinite(out);
      return FSW_IE | de;
    }
    // The hardware reports only ZE here, even for a denormal dividend.
    setInfinity(out, sign);
    return FSW_ZE;
  }
  if (ca === F80Class.Zero) {
    setZero(out, sign);
    return de;
  }
  unpack(a, UA);
  unpack(b, UB);
  let exp = UA.exp - UB.exp;
  R3[0] = 0;
  R3[1] = UA.hi;
  R3[2] = UA.lo;
  D3[0] = 0;
  D3[1] = UB.hi;
  D3[2] = UB.lo;
  if (wCmp(R3, D3) < 0) {
    wShl(R3, 1);
    exp--;
  }
  const w = ROUND_W;
  wClear(w);
  // 66 quotient bits: 64 significand bits, then guard and round; the remainder is the sticky.
  for (let i = 0; i < 66; i++) {
    if (wCmp(R3, D3) >= 0) {
      wSub(R3, D3);
      w[i >>> 5] |= 0x80000000 >>> (i & 31);
    }
    wShl(R3, 1);
  }
  if (!wIsZero(R3)) w[3] |= 1;
  return roundToExtended(sign, exp, cw, out) | de;
}

function sigBit(hi: number, lo: number, i: number): number {
  if (i < 0 || i > 63) return 0;
  return i >= 32 ? (hi >>> (i - 32)) & 1 : (lo >>> i) & 1;
}

export function sqrt(a: Float80, cw: number, out: Float80): number {
  const s = screenUnary(a, out);
  if (s >= 0) return s;
  const ca = screened.a;
  const de = denormalFlag(ca, F80Class.Zero);
  const sign = a.se >>> 15;
  if (ca === F80Class.Zero) {
    setZero(out, sign);
    return 0;
  }
  if (sign) {
    // Negative operand: invalid; the hardware does not add DE for a negative denormal.
    setIndefinite(out);
    return FSW_IE;
  }
  if (ca === F80Class.Infinity) {
    setInfinity(out, 0);
    return 0;
  }
  unpack(a, UA);
  const half = Math.floor(UA.exp / 2);
  // Radicand = significand << shift (132 bits); its root has 66 bits, the top one at bit 65.
  const shift = UA.exp - 2 * half === 1 ? 68 : 67;
  wClear(R3);
  wClear(ROOT);
  for (let k = 65; k >= 0; k--) {
    wShl(R3, 2);
    R3[2] |= (sigBit(UA.hi, UA.lo, 2 * k + 1 - shift) << 1) | sigBit(UA.hi, UA.lo, 2 * k - shift);
    TRIAL.set(ROOT);
    wShl(TRIAL, 2);
    TRIAL[2] |= 1;
    wShl(ROOT, 1);
    if (wCmp(R3, TRIAL) >= 0) {
      wSub(R3, TRIAL);
      ROOT[2] |= 1;
    }
  }
  const w = ROUND_W;
  w[0] = 0;
  w[1] = ROOT[0];
  w[2] = ROOT[1];
  w[3] = ROOT[2];
  wShl(w, 62);
  if (!wIsZero(R3)) w[3] |= 1;
  return roundToExtended(0, half, cw, out) | de;
}
