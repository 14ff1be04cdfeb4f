/**
 * FCOM/FUCOM (and FCOMI/FUCOMI, FTST via the same result): comparison of two extended values
 * (SDM Vol. 2, FCOM), and FXAM's classification. The result is the condition codes C3 C2 C0: greater 000,
 * less 001, equal 100, unordered 111. FCOM raises IE for any NaN operand, FUCOM only for a
 * signalling NaN; both raise IE for invalid encodings and DE for denormal operands.
 */
import { F80Class, Float80, classify } from './float80.js';
import { isDenormalClass, isNaNClass, unpack, Unpacked } from './operands.js';
import { FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_DE, FSW_IE } from './round.js';

const UA = new Unpacked();
const UB = new Unpacked();

export const CC_GREATER = 0;
export const CC_LESS = FSW_C0;
export const CC_EQUAL = FSW_C3;
export const CC_UNORDERED = FSW_C3 | FSW_C2 | FSW_C0;

/** -1, 0, 1 for a < b, a == b, a > b (both numbers: zero, denormal, normal or infinity). */
export function compareNumbers(a: Float80, b: Float80, ca: F80Class, cb: F80Class): number {
  const aZero = ca === F80Class.Zero;
  const bZero = cb === F80Class.Zero;
  if (aZero && bZero) return 0;
  const sa = a.se >>> 15;
  const sb = b.se >>> 15;
  if (aZero) return sb ? 1 : -1;
  if (bZero) return sa ? -1 : 1;
  if (sa !== sb) return sa ? -1 : 1;
  const aInf = ca === F80Class.Infinity;
  const bInf = cb === F80Class.Infinity;
  let mag: number;
  if (aInf || bInf) {
    mag = aInf && bInf ? 0 : aInf ? 1 : -1;
  } else {
    unpack(a, UA);
    unpack(b, UB);
    if (UA.exp !== UB.exp) mag = UA.exp > UB.exp ? 1 : -1;
    else if (UA.hi !== UB.hi) mag = UA.hi > UB.hi ? 1 : -1;
    else if (UA.lo !== UB.lo) mag = UA.lo > UB.lo ? 1 : -1;
    else mag = 0;
  }
  return sa ? -mag : mag;
}

/** Compares a with b; `unordered` true for FUCOM semantics. Returns FSW bits (C3 C2 C0, IE, DE). */
export function compare(a: Float80, b: Float80, unordered: boolean): number {
  const ca = classify(a);
  const cb = classify(b);
  if (ca === F80Class.Unsupported || cb === F80Class.Unsupported) return CC_UNORDERED | FSW_IE;
  if (isNaNClass(ca) || isNaNClass(cb)) {
    const signalling = ca === F80Class.SignalingNaN || cb === F80Class.SignalingNaN;
    return CC_UNORDERED | (signalling || !unordered ? FSW_IE : 0);
  }
  const de = isDenormalClass(ca) || isDenormalClass(cb) ? FSW_DE : 0;
  const r = compareNumbers(a, b, ca, cb);
  return (r < 0 ? CC_LESS : r > 0 ? CC_GREATER : CC_EQUAL) | de;
}

/**
 * FXAM: classifies a register. C1 is the sign; C3 C2 C0 give the class: unsupported 000,
 * NaN 001, normal 010, infinity 011, zero 100, empty 101, denormal 110 (pseudo-denormals
 * included). The interpreter passes `empty` from the tag word.
 */
export function examine(a: Float80, empty: boolean): number {
  const sign = a.se & 0x8000 ? FSW_C1 : 0;
  if (empty) return sign | FSW_C3 | FSW_C0;
  switch (classify(a)) {
    case F80Class.Unsupported: return sign;
    case F80Class.QuietNaN:
    case F80Class.SignalingNaN: return sign | FSW_C0;
    case F80Class.Normal: return sign | FSW_C2;
    case F80Class.Infinity: return sign | FSW_C2 | FSW_C0;
    case F80Class.Zero: return sign | FSW_C3;
    default: return sign | FSW_C3 | FSW_C2;
  }
}
