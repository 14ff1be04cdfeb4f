import { describe, expect, it } from 'vitest';
import { AF, CF, EFLAGS_FIXED, LazyFlags, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { applyOp } from './flag-model.js';

function flagsAfter(op: Parameters<typeof applyOp>[1], bits: number, a: bigint, b: bigint, carryIn = 0): number {
  const f = new LazyFlags();
  f.set(EFLAGS_FIXED | carryIn);
  applyOp(f, op, bits, a, b, carryIn);
  return f.get() & (CF | PF | AF | ZF | SF | OF);
}

describe('LazyFlags', () => {
  it('computes the flags of textbook additions at every size', () => {
    expect(flagsAfter('add', 8, 0x7fn, 1n)).toBe(OF | SF | AF);
    expect(flagsAfter('add', 8, 0xffn, 1n)).toBe(CF | ZF | PF | AF);
    expect(flagsAfter('add', 16, 0x8000n, 0x8000n)).toBe(CF | OF | ZF | PF);
    expect(flagsAfter('add', 32, 0xffffffffn, 0xffffffffn)).toBe(CF | SF | AF);
    expect(flagsAfter('add', 64, 0x7fffffffffffffffn, 1n)).toBe(OF | SF | AF | PF);
    expect(flagsAfter('add', 64, 0xffffffff00000000n, 0x100000000n)).toBe(CF | ZF | PF);
  });

  it('computes borrows and overflow of subtractions, with and without borrow-in', () => {
    expect(flagsAfter('sub', 8, 0n, 1n)).toBe(CF | SF | AF | PF);
    expect(flagsAfter('sub', 32, 0x80000000n, 1n)).toBe(OF | AF | PF);
    expect(flagsAfter('sbb', 32, 5n, 5n, 1)).toBe(CF | SF | AF | PF);
    expect(flagsAfter('sbb', 64, 0n, 0xffffffffffffffffn, 1)).toBe(CF | ZF | PF | AF);
    expect(flagsAfter('adc', 16, 0xffffn, 0n, 1)).toBe(CF | ZF | PF | AF);
  });

  it('clears CF and OF for logic results and keeps CF across INC and DEC', () => {
    expect(flagsAfter('xor', 32, 0x1234n, 0x1234n)).toBe(ZF | PF);
    expect(flagsAfter('inc', 8, 0xffn, 0n, 1)).toBe(CF | ZF | PF | AF);
    expect(flagsAfter('dec', 64, 0n, 0n, 0)).toBe(SF | AF | PF);
  });

  it('sets CF for NEG of anything but zero', () => {
    expect(flagsAfter('neg', 32, 0n, 0n)).toBe(ZF | PF);
    expect(flagsAfter('neg', 8, 0x80n, 0n)).toBe(CF | OF | SF);
    expect(flagsAfter('neg', 64, 1n, 0n)).toBe(CF | SF | AF | PF);
  });

  it('returns raw bits untouched and drops laziness on set()', () => {
    const f = new LazyFlags();
    f.set(0x246 | 0x400);
    expect(f.get()).toBe(0x646);
    f.record(0, 32, 1, 1, 2);
    expect(f.get() & 0x400).toBe(0x400);
    f.set(0);
    expect(f.get()).toBe(EFLAGS_FIXED);
  });
});
