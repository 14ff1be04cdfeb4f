/**
 * Fixed-width unsigned integers as arrays of uint32 words, most significant word first.
 *
 * The x87 significand is 64 bits; products, quotients and square roots need 128 bits plus a
 * sticky bit before rounding. JS numbers are exact only to 2^53, and BigInt allocates, so the
 * arithmetic core works on small preallocated Uint32Arrays with these word-level helpers.
 * Bit i counts from the least significant bit of the last word.
 */

/** Full 32x32 -> 64-bit product; the high word goes to MUL_HI, the low word is returned. */
export let MUL_HI = 0;
export function mul32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const p1 = al * b; // < 2^48, exact
  const p2 = ah * b; // < 2^48, exact
  const t = (p2 % 0x10000) * 0x10000 + p1; // < 2^49, exact
  const lo = t % 0x100000000;
  MUL_HI = (Math.floor(p2 / 0x10000) + Math.floor(t / 0x100000000)) >>> 0;
  return lo >>> 0;
}

export function wClear(w: Uint32Array): void {
  w.fill(0);
}

export function wIsZero(w: Uint32Array): boolean {
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

export function wCopy(dst: Uint32Array, src: Uint32Array): void {
  dst.set(src);
}

export function wGetBit(w: Uint32Array, i: number): number {
  const word = w.length - 1 - (i >>> 5);
  if (word < 0) return 0;
  return (w[word] >>> (i & 31)) & 1;
}

export function wSetBit(w: Uint32Array, i: number): void {
  const word = w.length - 1 - (i >>> 5);
  w[word] |= 1 << (i & 31);
}

/** True when any bit strictly below bit i is set. */
export function wAnyBelow(w: Uint32Array, i: number): boolean {
  if (i <= 0) return false;
  const n = w.length;
  const full = i >>> 5;
  for (let k = 0; k < full && k < n; k++) if (w[n - 1 - k] !== 0) return true;
  const rem = i & 31;
  if (rem !== 0 && full < n) {
    const mask = (1 << rem) - 1;
    if ((w[n - 1 - full] & mask) !== 0) return true;
  }
  return false;
}

/** Clears every bit strictly below bit i. */
export function wClearBelow(w: Uint32Array, i: number): void {
  const n = w.length;
  const full = i >>> 5;
  for (let k = 0; k < full && k < n; k++) w[n - 1 - k] = 0;
  const rem = i & 31;
  if (rem !== 0 && full < n) w[n - 1 - full] &= ~((1 << rem) - 1);
}

/** Adds 2^i; returns the carry out of the top word. */
export function wAddBit(w: Uint32Array, i: number): number {
  let k = w.length - 1 - (i >>> 5);
  let add = (1 << (i & 31)) >>> 0;
  while (k >= 0 && add !== 0) {
    const s = w[k] + add;
    w[k] = s >>> 0;
    add = s > 0xffffffff ? 1 : 0;
    k--;
  }
  return add;
}

/** a += b (same length); returns the carry out. */
export function wAdd(a: Uint32Array, b: Uint32Array): number {
  let carry = 0;
  for (let k = a.length - 1; k >= 0; k--) {
    const s = a[k] + b[k] + carry;
    a[k] = s >>> 0;
    carry = s > 0xffffffff ? 1 : 0;
  }
  return carry;
}

/** a -= b (same length); returns the borrow out. */
export function wSub(a: Uint32Array, b: Uint32Array): number {
  let borrow = 0;
  for (let k = a.length - 1; k >= 0; k--) {
    const d = a[k] - b[k] - borrow;
    borrow = d < 0 ? 1 : 0;
    a[k] = d >>> 0;
  }
  return borrow;
}

export function wCmp(a: Uint32Array, b: Uint32Array): number {
  for (let k = 0; k < a.length; k++) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
}

/** Shift left by n bits (any n >= 0); bits shifted out are lost. */
export function wShl(w: Uint32Array, n: number): void {
  const len = w.length;
  const words = n >>> 5;
  const bits = n & 31;
  for (let k = 0; k < len; k++) {
    const src = k + words;
    let v = src < len ? w[src] << bits : 0;
    if (bits !== 0 && src + 1 < len) v |= w[src + 1] >>> (32 - bits);
    w[k] = v >>> 0;
  }
}

/** Shift right by n bits; any nonzero bit shifted out is ORed into bit 0 (sticky "jamming"). */
export function wShrJam(w: Uint32Array, n: number): void {
  if (n === 0) return;
  const sticky = wAnyBelow(w, n);
  const len = w.length;
  const words = n >>> 5;
  const bits = n & 31;
  for (let k = len - 1; k >= 0; k--) {
    const src = k - words;
    let v = src >= 0 ? w[src] >>> bits : 0;
    if (bits !== 0 && src - 1 >= 0) v |= w[src - 1] << (32 - bits);
    w[k] = v >>> 0;
  }
  if (sticky) w[len - 1] |= 1;
}

/** Number of leading zero bits (w.length * 32 for zero). */
export function wClz(w: Uint32Array): number {
  for (let k = 0; k < w.length; k++) {
    if (w[k] !== 0) return k * 32 + Math.clz32(w[k]);
  }
  return w.length * 32;
}
