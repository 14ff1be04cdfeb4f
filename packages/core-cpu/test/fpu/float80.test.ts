// The extended-precision representation: classification of every encoding class, the
// 10-byte memory image, and the typed-array register file.
import { describe, expect, it } from 'vitest';
import {
  F80Class, Float80, Float80RegisterFile, classify, isNaN80, isSignalingNaN80, isUnsupported80, loadFloat80, storeFloat80,
} from '../../src/fpu/float80.js';

const f = (hex: string) => Float80.fromHex(hex);

describe('classification', () => {
  const cases: [string, F80Class][] = [
    ['00000000000000000000', F80Class.Zero],
    ['80000000000000000000', F80Class.Zero],
    ['00000000000000000001', F80Class.Denormal],
    ['00007fffffffffffffff', F80Class.Denormal],
    ['00008000000000000000', F80Class.PseudoDenormal],
    ['3fff8000000000000000', F80Class.Normal],
    ['7ffeffffffffffffffff', F80Class.Normal],
    ['3fff4000000000000000', F80Class.Unsupported], // unnormal
    ['7fff8000000000000000', F80Class.Infinity],
    ['ffff8000000000000000', F80Class.Infinity],
    ['7fff0000000000000000', F80Class.Unsupported], // pseudo-infinity
    ['7fff4000000000000000', F80Class.Unsupported], // pseudo-NaN
    ['7fffc000000000000000', F80Class.QuietNaN],
    ['ffffc000000000000000', F80Class.QuietNaN], // the real indefinite
    ['7fff8000000000000001', F80Class.SignalingNaN],
  ];
  for (const [hex, cls] of cases) {
    it(`classifies ${hex} as ${F80Class[cls]}`, () => {
      expect(classify(f(hex))).toBe(cls);
    });
  }
  it('answers the NaN and unsupported predicates', () => {
    expect(isNaN80(f('7fffc000000000000000'))).toBe(true);
    expect(isNaN80(f('7fff8000000000000000'))).toBe(false);
    expect(isSignalingNaN80(f('7fff8000000000000001'))).toBe(true);
    expect(isSignalingNaN80(f('7fffc000000000000001'))).toBe(false);
    expect(isUnsupported80(f('40000000000000000001'))).toBe(true);
    expect(isUnsupported80(f('00000000000000000001'))).toBe(false);
  });
});

describe('memory image and registers', () => {
  it('reads and writes the little-endian tword', () => {
    const bytes = new Uint8Array(12);
    storeFloat80(f('c03e8000000000000001'), bytes, 1);
    expect(Array.from(bytes)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0x80, 0x3e, 0xc0, 0]);
    expect(loadFloat80(bytes, 1, new Float80()).toHex()).toBe('c03e8000000000000001');
  });
  it('keeps eight independent registers, indexed modulo 8', () => {
    const regs = new Float80RegisterFile();
    for (let i = 0; i < 8; i++) regs.store(i, new Float80(0x3fff + i, 0x80000000 + i, i));
    const v = new Float80();
    expect(regs.load(3, v).toHex()).toBe('40028000000300000003');
    expect(regs.load(8 + 5, v).toHex()).toBe('40048000000500000005');
  });
  it('parses hex with separators', () => {
    expect(Float80.fromHex('3fff_80000000_00000000').equals(new Float80(0x3fff, 0x80000000, 0))).toBe(true);
  });
});
