/**
 * The x87 numeric core: extended-precision values and the operations the interpreter calls.
 * Every operation returns FSW bits (exception flags to OR into the status word, and C0-C3 /
 * C1 where it defines them); results are the masked responses (SDM Vol. 1, 8.5 - 8.7).
 */
export {
  EXP_BIAS, EXP_MAX, F80Class, Float80, Float80RegisterFile, INDEFINITE_HI, INDEFINITE_SE, classify, isNaN80,
  isSignalingNaN80, isUnsupported80, loadFloat80, setIndefinite, setInfinity, setZero, storeFloat80,
} from './float80.js';
export {
  BIAS_ADJUST, FCW_DEFAULT, FCW_OM, FCW_UM, FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_DE, FSW_EXCEPTIONS, FSW_IE, FSW_OE, FSW_PE, FSW_SF, FSW_UE, FSW_ZE,
  RC_DOWN, RC_NEAREST, RC_UP, RC_ZERO, precisionOf, roundingOf,
} from './round.js';
export { addSub, div, mul, sqrt } from './arith.js';
export {
  Int64Halves, fromFloat32, fromFloat64, fromInt32, fromInt64, fromNumber, narrowed, toFloat32, toFloat64, toInt,
  toNumber,
} from './convert.js';
export { roundToInteger } from './integer.js';
export { CC_EQUAL, CC_GREATER, CC_LESS, CC_UNORDERED, compare, examine } from './compare.js';
export { FpuConstant, loadConstant } from './constants.js';
export { partialRemainder } from './remainder.js';
export { extract, scale } from './scale.js';
export { fromBcd, toBcd } from './bcd.js';
export { fcos, fptan, fsin, fsincos } from './trig.js';
export { f2xm1, fpatan, fyl2x, fyl2xp1 } from './log-exp.js';
