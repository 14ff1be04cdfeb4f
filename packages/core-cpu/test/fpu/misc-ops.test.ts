// FCOM/FUCOM, FRNDINT, FSCALE, FXTRACT and FPREM/FPREM1 on hand-checked operands.
import { describe, expect, it } from 'vitest';
import { CC_EQUAL, CC_GREATER, CC_LESS, CC_UNORDERED, compare, examine } from '../../src/fpu/compare.js';
import { FpuConstant, loadConstant } from '../../src/fpu/constants.js';
import { fromInt32, toNumber } from '../../src/fpu/convert.js';
import { Float80 } from '../../src/fpu/float80.js';
import { roundToInteger } from '../../src/fpu/integer.js';
import { partialRemainder } from '../../src/fpu/remainder.js';
import {
  FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_DE, FSW_IE, FSW_OE, FSW_PE, FSW_ZE, RC_DOWN, RC_NEAREST, RC_UP,
} from '../../src/fpu/round.js';
import { extract, scale } from '../../src/fpu/scale.js';

const f = (hex: string) => Float80.fromHex(hex);
const int = (v: number) => {
  const x = new Float80();
  fromInt32(v, x);
  return x;
};
const CW = 0x037f;

describe('compare', () => {
  it('orders numbers, treats +0 and -0 as equal', () => {
    expect(compare(int(1), int(2), false)).toBe(CC_LESS);
    expect(compare(int(2), int(-2), false)).toBe(CC_GREATER);
    expect(compare(f('00000000000000000000'), f('80000000000000000000'), false)).toBe(CC_EQUAL);
    expect(compare(f('ffff8000000000000000'), int(-5), false)).toBe(CC_LESS);
  });
  it('FCOM signals on a quiet NaN, FUCOM does not', () => {
    const qnan = f('7fffc000000000000000');
    expect(compare(qnan, int(1), false)).toBe(CC_UNORDERED | FSW_IE);
    expect(compare(qnan, int(1), true)).toBe(CC_UNORDERED);
    expect(compare(f('7fff8000000000000001'), int(1), true)).toBe(CC_UNORDERED | FSW_IE);
  });
  it('raises DE for a denormal operand', () => {
    expect(compare(f('00000000000000000001'), int(0), false)).toBe(CC_GREATER | FSW_DE);
  });
});

describe('FRNDINT', () => {
  it('rounds 2.5 per rounding mode', () => {
    const out = new Float80();
    const x = f('4000a000000000000000');
    expect(roundToInteger(x, RC_NEAREST, out)).toBe(FSW_PE);
    expect(toNumber(out)).toBe(2);
    expect(roundToInteger(x, RC_UP, out)).toBe(FSW_PE | FSW_C1);
    expect(toNumber(out)).toBe(3);
  });
  it('keeps the sign of a result rounded to zero', () => {
    const out = new Float80();
    expect(roundToInteger(f('bffd8000000000000000'), RC_NEAREST, out)).toBe(FSW_PE);
    expect(out.toHex()).toBe('80000000000000000000');
  });
});

describe('FSCALE and FXTRACT', () => {
  it('scales by the truncated power of two', () => {
    const out = new Float80();
    expect(scale(int(3), f('4000f000000000000000'), CW, out)).toBe(0); // 3 * 2^trunc(3.75)
    expect(toNumber(out)).toBe(24);
  });
  it('overflows to infinity with OE', () => {
    const out = new Float80();
    expect(scale(int(1), int(20000), CW, out)).toBe(FSW_OE | FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('7fff8000000000000000');
  });
  it('0 * 2^+inf is invalid', () => {
    const out = new Float80();
    expect(scale(int(0), f('7fff8000000000000000'), CW, out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
  it('splits -12 into -1.5 and 3; zero gives ZE and -infinity', () => {
    const sig = new Float80();
    const exp = new Float80();
    expect(extract(int(-12), sig, exp)).toBe(0);
    expect(toNumber(sig)).toBe(-1.5);
    expect(toNumber(exp)).toBe(3);
    expect(extract(int(0), sig, exp)).toBe(FSW_ZE);
    expect(exp.toHex()).toBe('ffff8000000000000000');
  });
});

describe('FPREM and FPREM1', () => {
  it('FPREM truncates: 7 rem 2 = 1, quotient 3 in C3 C1', () => {
    const out = new Float80();
    expect(partialRemainder(int(7), int(2), false, out)).toBe(FSW_C3 | FSW_C1);
    expect(toNumber(out)).toBe(1);
  });
  it('FPREM1 rounds to nearest: 7 rem1 2 = -1, quotient 4 in C0', () => {
    const out = new Float80();
    expect(partialRemainder(int(7), int(2), true, out)).toBe(FSW_C0);
    expect(toNumber(out)).toBe(-1);
  });
  it('reports a partial remainder with C2 when the exponents are far apart', () => {
    const out = new Float80();
    const flags = partialRemainder(f('40ff8000000000000000'), int(3), false, out);
    expect(flags & FSW_C2).toBe(FSW_C2);
    expect(toNumber(out)).toBeLessThan(2 ** 256);
  });
  it('x rem 0 is invalid', () => {
    const out = new Float80();
    expect(partialRemainder(int(1), int(0), false, out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
});


describe('FXAM and the load-constant instructions', () => {
  it('classifies per the C3 C2 C0 table with the sign in C1', () => {
    expect(examine(int(-3), false)).toBe(FSW_C1 | FSW_C2);
    expect(examine(int(0), false)).toBe(FSW_C3);
    expect(examine(f('00000000000000000001'), false)).toBe(FSW_C3 | FSW_C2);
    expect(examine(f('7fff8000000000000000'), false)).toBe(FSW_C2 | FSW_C0);
    expect(examine(f('ffffc000000000000000'), false)).toBe(FSW_C1 | FSW_C0);
    expect(examine(f('3fff0000000000000000'), false)).toBe(0);
    expect(examine(int(1), true)).toBe(FSW_C3 | FSW_C0);
  });
  it('rounds pi and log10(2) with RC', () => {
    const out = new Float80();
    expect(loadConstant(FpuConstant.Pi, RC_NEAREST, out)).toBe(0);
    expect(out.toHex()).toBe('4000c90fdaa22168c235');
    loadConstant(FpuConstant.Pi, RC_DOWN, out);
    expect(out.toHex()).toBe('4000c90fdaa22168c234');
    loadConstant(FpuConstant.Log10Two, RC_NEAREST, out);
    expect(out.toHex()).toBe('3ffd9a209a84fbcff799');
    loadConstant(FpuConstant.One, RC_UP, out);
    expect(out.toHex()).toBe('3fff8000000000000000');
  });
});
