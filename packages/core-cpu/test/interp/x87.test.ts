// x87 instructions on the software CPU: arithmetic through the register stack, loads and stores
// in every memory format, comparisons into FSW and EFLAGS, and the masked stack-fault responses.
import { describe, expect, it } from 'vitest';
import { CF, PF, ZF } from '../../src/alu/lazy-flags.js';
import { FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_IE, FSW_PE, FSW_SF } from '../../src/fpu/round.js';
import {
  DATA, FLD1, FLDPI, FLDZ, FNINIT, FNSTSW_AX, bytes80, m16, m32, read80, runX87,
} from './x87-support.js';

const FADDP = [0xde, 0xc1];
const FMULP = [0xde, 0xc9];
const FDIVRP = [0xde, 0xf1]; // ST(1) = ST(0) / ST(1), pop
const FSQRT = [0xd9, 0xfa];
const FCHS = [0xd9, 0xe0];
const FXCH = [0xd9, 0xc9];

describe('x87 arithmetic on the register stack', () => {
  it('adds, multiplies and divides in extended precision and stores m80', () => {
    // (1 + 1) * pi, then pi*2 / 1 ... stored as an 80-bit value.
    const t = runX87([...FNINIT, ...FLD1, ...FLD1, ...FADDP, ...FLDPI, ...FMULP, ...m32(0xdb, 7, 0)], { flat32: true });
    expect(read80(t, DATA)).toBe(2 * Math.PI);
    // The exact 80-bit pattern: pi rounded to 64 bits, times 2 (exponent + 1).
    expect(Array.from(t.memory.bytes.subarray(DATA, DATA + 10))).toEqual([0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x01, 0x40]);
    expect(t.cpu.regs.fpu.valid).toBe(0);
  });

  it('FDIVRP divides ST(0) by ST(1) into ST(1) and pops', () => {
    const t = runX87([...FNINIT, ...m32(0xdb, 5, 0x10), ...m32(0xdb, 5, 0x20), ...FDIVRP, ...m32(0xdb, 7, 0)], {
      flat32: true, data: [...new Array(16).fill(0), ...bytes80(4), 0, 0, 0, 0, 0, 0, ...bytes80(10)],
    });
    expect(read80(t, DATA)).toBe(2.5);
  });

  it('FSQRT of 2 is correctly rounded to 64 bits and sets PE', () => {
    const t = runX87([...FNINIT, ...FLD1, ...FLD1, ...FADDP, ...FSQRT, ...m32(0xdb, 7, 0)], { flat32: true });
    expect(Array.from(t.memory.bytes.subarray(DATA, DATA + 10))).toEqual([0x84, 0x64, 0xde, 0xf9, 0x33, 0xf3, 0x04, 0xb5, 0xff, 0x3f]);
    expect(t.sw & FSW_PE).toBe(FSW_PE);
  });

  it('FCHS and FXCH rearrange the stack', () => {
    const t = runX87([...FNINIT, ...FLD1, ...FLDPI, ...FCHS, ...FXCH, ...m32(0xdb, 7, 0), ...m32(0xdb, 7, 16)], { flat32: true });
    expect(read80(t, DATA)).toBe(1);
    expect(read80(t, DATA + 16)).toBe(-Math.PI);
  });
});

describe('x87 loads and stores', () => {
  it('converts m32fp, m64fp, m16int, m32int and m64int on load and store', () => {
    const data = new Uint8Array(64);
    const dv = new DataView(data.buffer);
    dv.setFloat32(0, 1.5, true);
    dv.setFloat64(8, -0.1, true);
    dv.setInt16(16, -300, true);
    dv.setInt32(20, 123456789, true);
    dv.setInt32(24, 1, true); // m64int = 2^32 + 1
    dv.setInt32(28, 1, true);
    const code = [
      ...FNINIT,
      ...m32(0xd9, 0, 0), ...m32(0xd9, 3, 32), // fld m32; fstp m32 -> +32
      ...m32(0xdd, 0, 8), ...m32(0xdd, 3, 40), // fld m64; fstp m64 -> +40
      ...m32(0xdf, 0, 16), ...m32(0xdf, 3, 48), // fild m16; fistp m16 -> +48
      ...m32(0xdb, 0, 20), ...m32(0xdb, 3, 52), // fild m32; fistp m32 -> +52
      ...m32(0xdf, 5, 24), ...m32(0xdf, 7, 56), // fild m64; fistp m64 -> +56
    ];
    const t = runX87(code, { flat32: true, data: [...data] });
    const out = new DataView(t.memory.bytes.buffer, t.memory.bytes.byteOffset + DATA);
    expect(out.getFloat32(32, true)).toBe(1.5);
    expect(out.getFloat64(40, true)).toBe(-0.1);
    expect(out.getInt16(48, true)).toBe(-300);
    expect(out.getInt32(52, true)).toBe(123456789);
    expect(out.getUint32(56, true)).toBe(1);
    expect(out.getUint32(60, true)).toBe(1);
    expect(t.cpu.regs.fpu.valid).toBe(0);
  });

  it('FBLD and FBSTP round-trip packed BCD', () => {
    const bcd = [0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80]; // -123456789
    const t = runX87([...FNINIT, ...m32(0xdf, 4, 0), ...m32(0xdf, 6, 16)], { flat32: true, data: bcd });
    expect(Array.from(t.memory.bytes.subarray(DATA + 16, DATA + 26))).toEqual(bcd);
  });

  it('FIST rounds with RC and an out-of-range value stores the integer indefinite with IE', () => {
    const cwDown = [0x7f, 0x07]; // RC = down
    const t = runX87([...FNINIT, ...m32(0xd9, 5, 0), ...FLDPI, ...m32(0xdf, 2, 16), ...FLD1, ...FLDPI, ...FMULP, ...m32(0xdf, 2, 18)], {
      flat32: true, data: cwDown,
    });
    expect(t.memory.read16(DATA + 16)).toBe(3);
    // A finite in-range product does not raise IE: 3.14 still fits.
    expect(t.sw & FSW_IE).toBe(0);
    const big = runX87([...FNINIT, ...m32(0xdb, 5, 0), ...m32(0xdf, 2, 16)], { flat32: true, data: bytes80(40000) });
    expect(big.memory.read16(DATA + 16)).toBe(0x8000);
    expect(big.sw & FSW_IE).toBe(FSW_IE);
  });

  it('FLDZ, FLD1 and FLDPI push constants and FLD ST(i) duplicates a register', () => {
    const t = runX87([...FNINIT, ...FLDZ, ...FLD1, ...[0xd9, 0xc1], ...m32(0xdb, 7, 0), ...m32(0xdb, 7, 16), ...m32(0xdb, 7, 32)], { flat32: true });
    expect([read80(t, DATA), read80(t, DATA + 16), read80(t, DATA + 32)]).toEqual([0, 1, 0]);
  });
});

describe('x87 stack faults (masked responses)', () => {
  it('a ninth push overflows: IE, SF, C1 = 1 and the indefinite on top', () => {
    const t = runX87([...FNINIT, ...Array(9).fill(FLD1).flat(), ...FNSTSW_AX, ...m32(0xdb, 7, 0)], { flat32: true });
    expect(t.cpu.regs.gpr.r16[0] & (FSW_IE | FSW_SF | FSW_C1)).toBe(FSW_IE | FSW_SF | FSW_C1);
    expect(Array.from(t.memory.bytes.subarray(DATA, DATA + 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
  });

  it('an operation on an empty register underflows: IE, SF, C1 = 0, the indefinite as result', () => {
    const t = runX87([...FNINIT, ...FLD1, ...[0xd8, 0xc1], ...m32(0xdb, 7, 0)], { flat32: true });
    expect(t.sw & (FSW_IE | FSW_SF | FSW_C1)).toBe(FSW_IE | FSW_SF);
    expect(t.memory.read16(DATA + 8)).toBe(0xffff);
  });

  it('FSTP m32 of an empty register stores the single-precision indefinite', () => {
    const t = runX87([...FNINIT, ...m32(0xd9, 3, 0)], { flat32: true });
    expect(t.memory.read32(DATA)).toBe(0xffc00000);
  });
});

describe('x87 comparisons', () => {
  it('FCOM sets C3 C2 C0 for less, equal, greater and unordered', () => {
    const cc = (code: number[]) => runX87([...FNINIT, ...code, ...[0xd8, 0xd1]], { flat32: true }).sw & (FSW_C0 | FSW_C2 | FSW_C3);
    expect(cc([...FLDPI, ...FLD1])).toBe(FSW_C0); // 1 < pi
    expect(cc([...FLD1, ...FLD1])).toBe(FSW_C3);
    expect(cc([...FLD1, ...FLDPI])).toBe(0);
    expect(cc([...FLD1])).toBe(FSW_C0 | FSW_C2 | FSW_C3); // ST(1) empty
  });

  it('FCOMPP pops twice and FNSTSW AX reads the result', () => {
    const t = runX87([...FNINIT, ...FLD1, ...FLD1, ...[0xde, 0xd9], ...FNSTSW_AX], { flat32: true });
    expect(t.cpu.regs.fpu.valid).toBe(0);
    expect(t.cpu.regs.gpr.r16[0] & FSW_C3).toBe(FSW_C3);
  });

  it('FCOMI writes ZF PF CF and FCMOVB moves on CF', () => {
    // 1 < pi: CF = 1, so FCMOVB ST(0), ST(1) copies pi over 1.
    const t = runX87([...FNINIT, ...FLDPI, ...FLD1, ...[0xdb, 0xf1], ...[0xda, 0xc1], ...m32(0xdb, 7, 0)], { flat32: true });
    expect(t.cpu.regs.flags.get() & (ZF | PF | CF)).toBe(CF);
    expect(read80(t, DATA)).toBe(Math.PI);
  });

  it('FXAM classifies an empty register and a negative zero', () => {
    const empty = runX87([...FNINIT, ...[0xd9, 0xe5]], { flat32: true });
    expect(empty.sw & (FSW_C0 | FSW_C2 | FSW_C3)).toBe(FSW_C3 | FSW_C0);
    const negZero = runX87([...FNINIT, ...FLDZ, ...FCHS, ...[0xd9, 0xe5]], { flat32: true });
    expect(negZero.sw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)).toBe(FSW_C3 | FSW_C1);
  });
});

describe('x87 in real mode', () => {
  it('works with 16-bit addressing', () => {
    const t = runX87([...FNINIT, ...FLD1, ...FLD1, ...FADDP, ...m16(0xdb, 7, 0)]);
    expect(read80(t, DATA)).toBe(2);
  });
});
