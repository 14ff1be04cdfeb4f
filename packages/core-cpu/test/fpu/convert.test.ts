// Conversions: integers at the edges of their range, float32/float64 loads and stores
// (denormals, NaN quieting, overflow), JS numbers, and packed BCD.
import { describe, expect, it } from 'vitest';
import { fromBcd, toBcd } from '../../src/fpu/bcd.js';
import {
  fromFloat32, fromFloat64, fromInt32, fromInt64, fromNumber, Int64Halves, narrowed, toFloat32, toFloat64, toInt, toNumber,
} from '../../src/fpu/convert.js';
import { Float80 } from '../../src/fpu/float80.js';
import { FSW_C1, FSW_DE, FSW_IE, FSW_OE, FSW_PE, FSW_UE, RC_DOWN, RC_NEAREST, RC_UP, RC_ZERO } from '../../src/fpu/round.js';

const f = (hex: string) => Float80.fromHex(hex);

describe('integer conversions', () => {
  it('loads -2^63 and 2^63 - 1 exactly', () => {
    const out = new Float80();
    fromInt64(0x80000000, 0, out);
    expect(out.toHex()).toBe('c03e8000000000000000');
    fromInt64(0x7fffffff, 0xffffffff, out);
    expect(out.toHex()).toBe('403dfffffffffffffffe');
    fromInt32(-1, out);
    expect(out.toHex()).toBe('bfff8000000000000000');
    fromInt32(0, out);
    expect(out.toHex()).toBe('00000000000000000000');
  });
  it('stores -2^63 but gives the integer indefinite with IE for +2^63', () => {
    const r = new Int64Halves();
    expect(toInt(f('c03e8000000000000000'), 64, RC_NEAREST, r)).toBe(0);
    expect([r.hi, r.lo]).toEqual([0x80000000, 0]);
    r.hi = r.lo = 1;
    expect(toInt(f('403e8000000000000000'), 64, RC_NEAREST, r)).toBe(FSW_IE);
    expect([r.hi, r.lo]).toEqual([0x80000000, 0]);
  });
  it('rounds with RC and reports C1 when the magnitude went up', () => {
    const r = new Int64Halves();
    const twoAndHalf = f('4000a000000000000000');
    expect(toInt(twoAndHalf, 32, RC_NEAREST, r)).toBe(FSW_PE);
    expect(r.lo).toBe(2);
    expect(toInt(twoAndHalf, 32, RC_UP, r)).toBe(FSW_PE | FSW_C1);
    expect(r.lo).toBe(3);
    const minusTwoAndHalf = f('c000a000000000000000');
    expect(toInt(minusTwoAndHalf, 16, RC_DOWN, r)).toBe(FSW_PE | FSW_C1);
    expect(r.lo | 0).toBe(-3);
    expect(toInt(minusTwoAndHalf, 16, RC_ZERO, r)).toBe(FSW_PE);
    expect(r.lo | 0).toBe(-2);
  });
  it('int16 range: -32768 fits, 32767.5 rounded to nearest does not', () => {
    const r = new Int64Halves();
    expect(toInt(f('c00e8000000000000000'), 16, RC_NEAREST, r)).toBe(0);
    expect(r.lo & 0xffff).toBe(0x8000);
    expect(toInt(f('400dffff000000000000'), 16, RC_NEAREST, r)).toBe(FSW_IE);
    expect(r.lo & 0xffff).toBe(0x8000);
  });
});

describe('float32 and float64', () => {
  it('loads a float32 denormal exactly, normalized, with DE', () => {
    const out = new Float80();
    expect(fromFloat32(0x00000001, out)).toBe(FSW_DE);
    expect(out.toHex()).toBe('3f6a8000000000000000'); // 2^-149
  });
  it('quiets a signalling NaN on load with IE and keeps its payload', () => {
    const out = new Float80();
    expect(fromFloat64(0x7ff00000, 1, out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('7fffc000000000000800');
  });
  it('stores 1/3 to float32 and float64 with round to nearest', () => {
    const third = f('3ffdaaaaaaaaaaaaaaab');
    expect(toFloat32(third, RC_NEAREST)).toBe(FSW_PE | FSW_C1);
    expect(narrowed.lo).toBe(0x3eaaaaab);
    expect(toFloat64(third, RC_NEAREST)).toBe(FSW_PE);
    expect([narrowed.hi, narrowed.lo]).toEqual([0x3fd55555, 0x55555555]);
  });
  it('overflows a float32 store to infinity, or the largest float when truncating', () => {
    const big = f('40ff8000000000000000'); // 2^256
    expect(toFloat32(big, RC_NEAREST)).toBe(FSW_OE | FSW_PE | FSW_C1);
    expect(narrowed.lo).toBe(0x7f800000);
    expect(toFloat32(big, RC_ZERO)).toBe(FSW_OE | FSW_PE);
    expect(narrowed.lo).toBe(0x7f7fffff);
  });
  it('stores a float64 denormal with UE when bits are lost', () => {
    // 2^-1074 * 1.5 rounds to 2^-1073 (tie to even) as a denormal.
    expect(toFloat64(f('3bcdc000000000000000'), RC_NEAREST)).toBe(FSW_UE | FSW_PE | FSW_C1);
    expect([narrowed.hi, narrowed.lo]).toEqual([0, 2]);
  });
  it('stores the real indefinite for an unsupported encoding', () => {
    expect(toFloat32(f('3fff0000000000000001'), RC_NEAREST)).toBe(FSW_IE);
    expect(narrowed.lo).toBe(0xffc00000);
  });
  it('round-trips JS numbers', () => {
    const out = new Float80();
    for (const x of [0, -0, 1, -2.5, Math.PI, 5e-324, 1.7976931348623157e308, Infinity, -Infinity]) {
      expect(Object.is(toNumber(fromNumber(x, out)), x)).toBe(true);
    }
    expect(Number.isNaN(toNumber(fromNumber(NaN, out)))).toBe(true);
    expect(fromNumber(1, out).toHex()).toBe('3fff8000000000000000');
  });
});

describe('packed BCD', () => {
  const bcd = (digits: string, negative = false) => {
    const b = new Uint8Array(10);
    const d = digits.padStart(18, '0');
    for (let i = 0; i < 9; i++) b[i] = Number(d[17 - 2 * i]) | (Number(d[16 - 2 * i]) << 4);
    b[9] = negative ? 0x80 : 0;
    return b;
  };
  it('loads and stores 999999999999999999', () => {
    const out = new Float80();
    fromBcd(bcd('999999999999999999'), 0, out);
    expect(out.toHex()).toBe('403ade0b6b3a763ffff0');
    const back = new Uint8Array(10);
    expect(toBcd(out, RC_NEAREST, back, 0)).toBe(0);
    expect(back).toEqual(bcd('999999999999999999'));
  });
  it('loads -1234 and stores -0.5 rounded down as -1', () => {
    const out = new Float80();
    fromBcd(bcd('1234', true), 0, out);
    expect(toNumber(out)).toBe(-1234);
    const b = new Uint8Array(10);
    expect(toBcd(f('bffe8000000000000000'), RC_DOWN, b, 0)).toBe(FSW_PE | FSW_C1);
    expect(b).toEqual(bcd('1', true));
  });
  it('gives the BCD indefinite with IE for 10^18', () => {
    const out = new Float80();
    fromInt64(0x0de0b6b3, 0xa7640000, out); // 10^18
    const b = new Uint8Array(10);
    expect(toBcd(out, RC_NEAREST, b, 0)).toBe(FSW_IE);
    expect(Array.from(b)).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
  });
});
