/**
 * 80-bit packed BCD (SDM Vol. 1, 4.7; FBLD/FBSTP): bytes 0-8 hold 18 decimal digits, two per
 * byte, least significant first; bit 7 of byte 9 is the sign. FBSTP rounds with RC, and a
 * value whose magnitude exceeds 999 999 999 999 999 999 (or a NaN, infinity, invalid encoding)
 * stores the packed BCD indefinite (FFFF C000 0000 0000 0000h) with IE.
 *
 * The 60-bit magnitude is split into two 9-digit halves with exact double arithmetic (every
 * intermediate stays below 2^53), so no BigInt is needed.
 */
import { F80Class, Float80, classify } from './float80.js';
import { fromInt64 } from './convert.js';
import { unpack, Unpacked } from './operands.js';
import { integerMagnitude, roundToIntegerMagnitude } from './integer.js';
import { FSW_IE } from './round.js';
import { MUL_HI, mul32 } from './wide.js';

const BILLION = 1_000_000_000;
const U = new Unpacked();

/** FBLD: loads packed BCD exactly (invalid digit nibbles give an undefined but finite value). */
export function fromBcd(bytes: Uint8Array, offset: number, out: Float80): number {
  // Digits d0..d17, d(2i) = low nibble of byte i, d(2i+1) = high nibble.
  let low = 0;
  let high = 0;
  for (let i = 17; i >= 0; i--) {
    const b = bytes[offset + (i >>> 1)];
    const digit = i & 1 ? b >>> 4 : b & 0x0f;
    if (i >= 9) high = high * 10 + digit;
    else low = low * 10 + digit;
  }
  // value = high * 10^9 + low < 10^18 < 2^60
  const pLo = mul32(high, BILLION);
  let hi = MUL_HI;
  let lo = pLo + low;
  if (lo > 0xffffffff) {
    lo -= 0x100000000;
    hi += 1;
  }
  const negative = (bytes[offset + 9] & 0x80) !== 0;
  if (negative) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  fromInt64(hi, lo, out);
  if (negative) out.se |= 0x8000; // -0 stays negative
  return 0;
}

function storeIndefinite(bytes: Uint8Array, offset: number): number {
  bytes.fill(0, offset, offset + 7);
  bytes[offset + 7] = 0xc0;
  bytes[offset + 8] = 0xff;
  bytes[offset + 9] = 0xff;
  return FSW_IE;
}

/** FBSTP: rounds with `rc` and stores packed BCD; returns FSW bits (IE, PE, C1). */
export function toBcd(a: Float80, rc: number, bytes: Uint8Array, offset: number): number {
  const c = classify(a);
  if (c === F80Class.Unsupported || c === F80Class.Infinity || c === F80Class.QuietNaN || c === F80Class.SignalingNaN) {
    return storeIndefinite(bytes, offset);
  }
  const sign = a.se >>> 15;
  let hi = 0;
  let lo = 0;
  let flags = 0;
  if (c !== F80Class.Zero) {
    unpack(a, U);
    if (U.exp > 59) return storeIndefinite(bytes, offset);
    flags = roundToIntegerMagnitude(U, rc);
    hi = integerMagnitude.hi;
    lo = integerMagnitude.lo;
  }
  // Split into two 9-digit halves: hi:lo = q * 10^9 + r, with 16-bit steps to stay exact.
  const t1 = (hi % BILLION) * 0x10000 + (lo >>> 16);
  const t2 = (t1 % BILLION) * 0x10000 + (lo & 0xffff);
  const q = Math.floor(hi / BILLION) * 0x100000000 + Math.floor(t1 / BILLION) * 0x10000 + Math.floor(t2 / BILLION);
  let r = t2 % BILLION;
  if (q >= BILLION) return storeIndefinite(bytes, offset);
  let upper = q;
  for (let i = 0; i < 18; i++) {
    const part = i < 9 ? r : upper;
    const digit = part % 10;
    if (i < 9) r = Math.floor(r / 10);
    else upper = Math.floor(upper / 10);
    const at = offset + (i >>> 1);
    if (i & 1) bytes[at] |= digit << 4;
    else bytes[at] = digit;
  }
  bytes[offset + 9] = sign ? 0x80 : 0;
  return flags;
}
