// Transcendentals: exact special cases (zeros, infinities, out-of-range arguments, exactly
// representable pi multiples per rounding mode) and values within the documented double gap.
import { describe, expect, it } from 'vitest';
import { fromInt32, fromNumber, toNumber } from '../../src/fpu/convert.js';
import { Float80 } from '../../src/fpu/float80.js';
import { f2xm1, fpatan, fyl2x, fyl2xp1 } from '../../src/fpu/log-exp.js';
import { FSW_C2, FSW_IE, FSW_PE, FSW_ZE } from '../../src/fpu/round.js';
import { fcos, fptan, fsin, fsincos } from '../../src/fpu/trig.js';

const f = (hex: string) => Float80.fromHex(hex);
const int = (v: number) => {
  const x = new Float80();
  fromInt32(v, x);
  return x;
};
const num = (v: number) => fromNumber(v, new Float80());
const CW = 0x037f;
const CW_ZERO = 0x0f7f;

describe('trigonometric functions', () => {
  it('sin(+-0) and cos(0) are exact', () => {
    const out = new Float80();
    expect(fsin(f('80000000000000000000'), CW, out)).toBe(0);
    expect(out.toHex()).toBe('80000000000000000000');
    expect(fcos(int(0), CW, out)).toBe(0);
    expect(out.toHex()).toBe('3fff8000000000000000');
  });
  it('leaves an argument of 2^63 unchanged and sets C2', () => {
    const out = new Float80();
    const big = f('403e8000000000000000');
    expect(fsin(big, CW, out)).toBe(FSW_C2);
    expect(out.equals(big)).toBe(true);
    expect(fptan(big, CW, out)).toBe(FSW_C2);
  });
  it('sin of infinity is invalid', () => {
    const out = new Float80();
    expect(fsin(f('7fff8000000000000000'), CW, out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
  it('computes sin, cos and tan to double accuracy across quadrants', () => {
    const s = new Float80();
    const c = new Float80();
    for (const x of [0.5, 1, 2, 3, -4, 10, 1000.25, -123456.75]) {
      expect(fsincos(num(x), CW, s, c) & FSW_PE).toBe(FSW_PE);
      expect(toNumber(s)).toBeCloseTo(Math.sin(x), 14);
      expect(toNumber(c)).toBeCloseTo(Math.cos(x), 14);
      fptan(num(x), CW, s);
      expect(Math.abs(toNumber(s) / Math.tan(x) - 1)).toBeLessThan(1e-13);
    }
  });
  it('keeps all 64 bits of a tiny argument: sin(x) = x', () => {
    const out = new Float80();
    const x = f('3fd0abcdef0123456789');
    fsin(x, CW, out);
    expect(out.toHex()).toBe('3fd0abcdef0123456789');
  });
});

describe('FPATAN, F2XM1, FYL2X, FYL2XP1', () => {
  it('atan2(+inf, +inf) is pi/4 rounded per RC to all 64 bits', () => {
    const out = new Float80();
    const inf = f('7fff8000000000000000');
    expect(fpatan(inf, inf, CW, out) & FSW_PE).toBe(FSW_PE);
    expect(out.toHex()).toBe('3ffec90fdaa22168c235');
    fpatan(inf, inf, CW_ZERO, out);
    expect(out.toHex()).toBe('3ffec90fdaa22168c234');
  });
  it('atan2(1, 1) is pi/4 to double accuracy (the documented gap)', () => {
    const out = new Float80();
    fpatan(int(1), int(1), CW, out);
    expect(toNumber(out)).toBe(Math.PI / 4);
  });
  it('atan2(+0, -1) is pi and atan2(-1, 0) is -pi/2', () => {
    const out = new Float80();
    fpatan(int(0), int(-1), CW, out);
    expect(out.toHex()).toBe('4000c90fdaa22168c235');
    fpatan(int(-1), int(0), CW, out);
    expect(out.toHex()).toBe('bfffc90fdaa22168c235');
  });
  it('2^1 - 1 = 1 and 2^-1 - 1 = -0.5', () => {
    const out = new Float80();
    f2xm1(int(1), CW, out);
    expect(toNumber(out)).toBeCloseTo(1, 15);
    f2xm1(num(-1), CW, out);
    expect(toNumber(out)).toBeCloseTo(-0.5, 15);
  });
  it('y * log2(x): 5 * log2(8) = 15, log2(0) raises ZE, log2(-1) is invalid', () => {
    const out = new Float80();
    fyl2x(int(5), int(8), CW, out);
    expect(toNumber(out)).toBe(15);
    expect(fyl2x(int(1), int(0), CW, out)).toBe(FSW_ZE);
    expect(out.toHex()).toBe('ffff8000000000000000');
    expect(fyl2x(int(1), int(-1), CW, out)).toBe(FSW_IE);
  });
  it('y * log2(1 + x) for small x', () => {
    const out = new Float80();
    fyl2xp1(int(3), num(0.25), CW, out);
    expect(toNumber(out)).toBeCloseTo(3 * Math.log2(1.25), 14);
  });
});
