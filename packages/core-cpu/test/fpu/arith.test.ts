// Hand-checked x87 arithmetic: rounding of 1/3 in every precision and rounding mode, overflow
// and underflow responses, invalid operations and zero divide, signed zeros, square roots.
import { describe, expect, it } from 'vitest';
import { addSub, div, mul, sqrt } from '../../src/fpu/arith.js';
import { fromInt32 } from '../../src/fpu/convert.js';
import { Float80 } from '../../src/fpu/float80.js';
import { FSW_C1, FSW_DE, FSW_IE, FSW_OE, FSW_PE, FSW_UE, FSW_ZE } from '../../src/fpu/round.js';

const f = (hex: string) => Float80.fromHex(hex);
const int = (v: number) => {
  const x = new Float80();
  fromInt32(v, x);
  return x;
};
/** Control word with all exceptions masked, precision pc (0, 2, 3) and rounding rc. */
const cw = (pc: number, rc: number) => 0x7f | (pc << 8) | (rc << 10);
const EXT = 3, DBL = 2, SGL = 0;
const NEAR = 0, DOWN = 1, UP = 2, ZERO = 3;

describe('division rounding', () => {
  const cases: [number, number, string, number][] = [
    [EXT, NEAR, '3ffdaaaaaaaaaaaaaaab', FSW_PE | FSW_C1],
    [EXT, DOWN, '3ffdaaaaaaaaaaaaaaaa', FSW_PE],
    [EXT, UP, '3ffdaaaaaaaaaaaaaaab', FSW_PE | FSW_C1],
    [EXT, ZERO, '3ffdaaaaaaaaaaaaaaaa', FSW_PE],
    [DBL, NEAR, '3ffdaaaaaaaaaaaaa800', FSW_PE],
    [DBL, DOWN, '3ffdaaaaaaaaaaaaa800', FSW_PE],
    [DBL, UP, '3ffdaaaaaaaaaaaab000', FSW_PE | FSW_C1],
    [DBL, ZERO, '3ffdaaaaaaaaaaaaa800', FSW_PE],
    [SGL, NEAR, '3ffdaaaaab0000000000', FSW_PE | FSW_C1],
    [SGL, DOWN, '3ffdaaaaaa0000000000', FSW_PE],
    [SGL, UP, '3ffdaaaaab0000000000', FSW_PE | FSW_C1],
    [SGL, ZERO, '3ffdaaaaaa0000000000', FSW_PE],
  ];
  for (const [pc, rc, want, flags] of cases) {
    it(`rounds 1/3 to ${want} with PC=${pc} RC=${rc}`, () => {
      const out = new Float80();
      expect(div(int(1), int(3), cw(pc, rc), out)).toBe(flags);
      expect(out.toHex()).toBe(want);
    });
  }

  it('rounds -1/3 toward minus infinity away from zero', () => {
    const out = new Float80();
    expect(div(int(-1), int(3), cw(EXT, DOWN), out)).toBe(FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('bffdaaaaaaaaaaaaaaab');
  });
});

describe('exceptions and masked responses', () => {
  const max = f('7ffe8000000000000000'); // 2^16383
  it('overflows 2^16383 * 2 to infinity when rounding to nearest', () => {
    const out = new Float80();
    expect(mul(max, int(2), cw(EXT, NEAR), out)).toBe(FSW_OE | FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('7fff8000000000000000');
  });
  it('overflows to the largest finite value when rounding toward zero', () => {
    const out = new Float80();
    expect(mul(max, int(2), cw(EXT, ZERO), out)).toBe(FSW_OE | FSW_PE);
    expect(out.toHex()).toBe('7ffeffffffffffffffff');
    expect(mul(max, int(-2), cw(SGL, UP), out)).toBe(FSW_OE | FSW_PE);
    expect(out.toHex()).toBe('fffeffffff0000000000');
  });
  it('delivers an exact denormal without underflow', () => {
    const out = new Float80();
    expect(div(f('00018000000000000000'), int(2), cw(EXT, NEAR), out)).toBe(0);
    expect(out.toHex()).toBe('00004000000000000000');
  });
  it('raises UE and PE for an inexact denormal result (tie to even)', () => {
    const out = new Float80();
    expect(div(f('00018000000000000001'), int(2), cw(EXT, NEAR), out)).toBe(FSW_UE | FSW_PE);
    expect(out.toHex()).toBe('00004000000000000000');
  });
  it('flushes below the smallest denormal to zero or rounds up to it', () => {
    const out = new Float80();
    const tiny = f('00000000000000000001');
    expect(mul(tiny, f('3ffe8000000000000000'), cw(EXT, NEAR), out)).toBe(FSW_DE | FSW_UE | FSW_PE);
    expect(out.toHex()).toBe('00000000000000000000');
    expect(mul(tiny, f('3ffe8000000000000000'), cw(EXT, UP), out)).toBe(FSW_DE | FSW_UE | FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('00000000000000000001');
  });
  it('judges tininess after rounding: a result that rounds up to 2^-16382 is not tiny', () => {
    // 12 * 2^-16445 - 2^-16382 at 24-bit precision rounds to -2^-16382 (hardware: DE PE C1, no UE).
    const out = new Float80();
    expect(addSub(f('0000000000000000000c'), f('00018000000000000000'), 1, cw(SGL, NEAR), out)).toBe(FSW_DE | FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('80018000000000000000');
  });
  it('with overflow unmasked delivers the result with the exponent wrapped by 24576', () => {
    const out = new Float80();
    expect(mul(max, int(2), cw(EXT, NEAR) & ~0x08, out)).toBe(FSW_OE);
    expect(out.toHex()).toBe('1fff8000000000000000');
  });
  it('with underflow unmasked raises UE even for an exact tiny result', () => {
    const out = new Float80();
    expect(div(f('00018000000000000000'), int(2), cw(EXT, NEAR) & ~0x10, out)).toBe(FSW_UE);
    expect(out.toHex()).toBe('60008000000000000000');
  });
  it('0/0 is invalid and gives the real indefinite', () => {
    const out = new Float80();
    expect(div(int(0), int(0), cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
  it('1/0 raises ZE and gives a signed infinity', () => {
    const out = new Float80();
    expect(div(int(1), f('80000000000000000000'), cw(EXT, NEAR), out)).toBe(FSW_ZE);
    expect(out.toHex()).toBe('ffff8000000000000000');
  });
  it('infinity minus infinity is invalid', () => {
    const out = new Float80();
    const inf = f('7fff8000000000000000');
    expect(addSub(inf, inf, 1, cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
  it('an unnormal operand is invalid', () => {
    const out = new Float80();
    expect(addSub(f('3fff4000000000000000'), int(1), 0, cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
  it('quiets a signalling NaN and prefers a quiet NaN over it', () => {
    const out = new Float80();
    const snan = f('7fff8000000000000001');
    const qnan = f('ffffc000000000000005');
    expect(addSub(snan, int(1), 0, cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('7fffc000000000000001');
    expect(mul(snan, qnan, cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000005');
  });
});

describe('addition and subtraction', () => {
  it('x - x is +0, or -0 when rounding down', () => {
    const out = new Float80();
    expect(addSub(int(5), int(5), 1, cw(EXT, NEAR), out)).toBe(0);
    expect(out.toHex()).toBe('00000000000000000000');
    addSub(int(5), int(5), 1, cw(EXT, DOWN), out);
    expect(out.toHex()).toBe('80000000000000000000');
  });
  it('1 + 2^-64 rounds to 1 (tie to even) and is inexact', () => {
    const out = new Float80();
    expect(addSub(int(1), f('3fbf8000000000000000'), 0, cw(EXT, NEAR), out)).toBe(FSW_PE);
    expect(out.toHex()).toBe('3fff8000000000000000');
    expect(addSub(int(1), f('3fbf8000000000000000'), 0, cw(EXT, UP), out)).toBe(FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('3fff8000000000000001');
  });
  it('precision control rounds even an addition of zero', () => {
    const out = new Float80();
    expect(addSub(f('3fffffffffffffffffff'), int(0), 0, cw(SGL, NEAR), out)).toBe(FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('40008000000000000000');
  });
  it('a denormal operand raises DE', () => {
    const out = new Float80();
    expect(addSub(f('00000000000000000001'), f('00000000000000000001'), 0, cw(EXT, NEAR), out)).toBe(FSW_DE);
    expect(out.toHex()).toBe('00000000000000000002');
  });
});

describe('square root', () => {
  it('sqrt(4) = 2 exactly and sqrt(2) rounds per mode', () => {
    const out = new Float80();
    expect(sqrt(int(4), cw(EXT, NEAR), out)).toBe(0);
    expect(out.toHex()).toBe('40008000000000000000');
    // sqrt(2): significand B504F333F9DE6484 597D89B3...: the discarded part is below one half.
    expect(sqrt(int(2), cw(EXT, NEAR), out)).toBe(FSW_PE);
    expect(out.toHex()).toBe('3fffb504f333f9de6484');
    expect(sqrt(int(2), cw(EXT, UP), out)).toBe(FSW_PE | FSW_C1);
    expect(out.toHex()).toBe('3fffb504f333f9de6485');
  });
  it('sqrt(-0) = -0 and sqrt(-1) is invalid', () => {
    const out = new Float80();
    expect(sqrt(f('80000000000000000000'), cw(EXT, NEAR), out)).toBe(0);
    expect(out.toHex()).toBe('80000000000000000000');
    expect(sqrt(int(-1), cw(EXT, NEAR), out)).toBe(FSW_IE);
    expect(out.toHex()).toBe('ffffc000000000000000');
  });
});
