// The x87 register file and its save formats: FpuState reset/init values, the computed tag
// word, the zod-validated snapshot; FNSTENV/FLDENV and FNSAVE/FRSTOR in the 32-bit protected and
// 16-bit real-mode layouts (pointer fields included); FXSAVE/FXRSTOR (called through their
// handlers: the 0F AE rows are not in the decoder table yet) with the abridged tag, alignment
// #GP, #UD with CR0.EM, #NM with CR0.TS, and FXSAVE64's 64-bit pointers.
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { Float80 } from '../../src/fpu/float80.js';
import { FCW_RESET, FpuState, fpuStateSchema, TAG_EMPTY, TAG_SPECIAL, TAG_VALID, TAG_ZERO } from '../../src/fpu/fpu-state.js';
import { FCW_DEFAULT } from '../../src/fpu/round.js';
import { CpuFault } from '../../src/interp/faults.js';
import { X87_HANDLERS } from '../../src/interp/handlers/x87.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { CODE, DATA, FLD1, FLDPI, FLDZ, FNINIT, bytes80, m16, m32, runX87 } from './x87-support.js';

describe('FpuState', () => {
  it('powers up with FCW 0040H, FSW 0 and every register +0.0 tagged valid (tag word 5555H)', () => {
    const f = new FpuState();
    expect(f.cw).toBe(FCW_RESET);
    expect(f.statusWord()).toBe(0);
    expect(f.tagWord()).toBe(0x5555);
  });

  it('FNINIT state: FCW 037FH, FSW 0, all registers empty, pointers cleared', () => {
    const f = new FpuState();
    f.fip = 5;
    f.fop = 0x123;
    f.init();
    expect([f.cw, f.statusWord(), f.tagWord(), f.fip, f.fop]).toEqual([FCW_DEFAULT, 0, 0xffff, 0, 0]);
  });

  it('computes full tags from register contents and keeps only empty/non-empty from a loaded tag word', () => {
    const f = new FpuState();
    f.init();
    f.regs.store(0, Float80.fromHex('3fff8000000000000000'));
    f.regs.store(1, Float80.fromHex('00000000000000000000'));
    f.regs.store(2, Float80.fromHex('7fff8000000000000000'));
    f.regs.store(3, Float80.fromHex('00000000000000000001'));
    f.setTagWord(0xff00); // R0-R3 "valid" whatever the word says about them
    expect([0, 1, 2, 3, 4].map((r) => f.tagOf(r))).toEqual([TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_SPECIAL, TAG_EMPTY]);
  });

  it('saves and restores through the zod schema', () => {
    const f = new FpuState();
    f.init();
    f.setControlWord(0x0a7b);
    f.regs.store(6, Float80.fromHex('c000c90fdaa22168c235'));
    f.valid = 0x40;
    f.top = 6;
    f.sw = 0x4001;
    f.fip = 0x12345678;
    f.fop = 0x5a5;
    const saved = f.save();
    expect(fpuStateSchema.parse(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    const g = new FpuState();
    g.restore(saved);
    expect(g.save()).toEqual(saved);
    expect(() => g.restore({ ...saved, regs: saved.regs.slice(1) })).toThrow();
  });

  it('FLDCW keeps reserved bits as the hardware reads them back (bit 6 set, bits 13-15 clear)', () => {
    const f = new FpuState();
    f.setControlWord(0xffff);
    expect(f.cw).toBe(0x1f7f);
    f.setControlWord(0);
    expect(f.cw).toBe(0x0040);
  });
});

describe('FNSTENV / FLDENV and FNSAVE / FRSTOR', () => {
  it('stores the 28-byte protected-mode environment with the last instruction and operand pointers', () => {
    // fld dword [ebx+0x40] at CODE+2 is the last non-control instruction; FNSTCW does not move the pointers.
    const code = [...FNINIT, ...m32(0xd9, 0, 0x40), ...m32(0xd9, 7, 0x50), ...m32(0xd9, 6, 0)];
    const t = runX87(code, { flat32: true, data: [...new Array(0x40).fill(0), 0, 0, 0x80, 0x3f] });
    const m = t.memory;
    expect(m.read32(DATA)).toBe(0xffff037f);
    expect(m.read32(DATA + 4)).toBe(0xffff3800); // TOP = 7
    expect(m.read32(DATA + 8)).toBe(0xffff3fff); // R7 valid (tag 00), others empty
    expect(m.read32(DATA + 12)).toBe(CODE + 2);
    expect(m.read32(DATA + 16)).toBe((0x143 << 16) | t.cpu.regs.seg.selector[1]); // FOP D9 43, FCS
    expect(m.read32(DATA + 20)).toBe(DATA + 0x40);
    // FNSTENV masks every exception afterwards.
    expect(t.cpu.regs.fpu.cw & 0x3f).toBe(0x3f);
  });

  it('stores the 14-byte real-mode environment with 20-bit linear pointers and FOP', () => {
    const code = [...FNINIT, ...m16(0xd9, 0, 0x40), ...m16(0xd9, 6, 0)];
    const t = runX87(code, { data: [...new Array(0x40).fill(0), 0, 0, 0x80, 0x3f] });
    const m = t.memory;
    expect([m.read16(DATA), m.read16(DATA + 2), m.read16(DATA + 4)]).toEqual([0x037f, 0x3800, 0x3fff]);
    expect(m.read16(DATA + 6)).toBe((CODE + 2) & 0xffff);
    expect(m.read16(DATA + 8)).toBe((((CODE + 2) >>> 16) << 12) | 0x147);
    expect(m.read16(DATA + 10)).toBe(DATA + 0x40);
    expect(m.read16(DATA + 12)).toBe(0);
  });

  it('with a 66 prefix in 32-bit protected mode stores the 14-byte layout (offsets and selectors)', () => {
    const code = [...FNINIT, ...m32(0xd9, 0, 0x40), 0x66, ...m32(0xd9, 6, 0)];
    const t = runX87(code, { flat32: true, data: [...new Array(0x40).fill(0), 0, 0, 0x80, 0x3f] });
    const m = t.memory;
    expect([m.read16(DATA), m.read16(DATA + 2), m.read16(DATA + 4)]).toEqual([0x037f, 0x3800, 0x3fff]);
    expect(m.read16(DATA + 6)).toBe((CODE + 2) & 0xffff);
    expect(m.read16(DATA + 8)).toBe(t.cpu.regs.seg.selector[1]);
    expect(m.read16(DATA + 10)).toBe(DATA + 0x40);
    expect(m.read16(DATA + 14)).toBe(0); // nothing past the 14 bytes
  });

  it('with a 66 prefix in real mode stores the 28-byte real-mode layout (FIP[31:16] beside FOP)', () => {
    const code = [...FNINIT, ...m16(0xd9, 0, 0x40), 0x66, ...m16(0xd9, 6, 0)];
    const t = runX87(code, { data: [...new Array(0x40).fill(0), 0, 0, 0x80, 0x3f] });
    const m = t.memory;
    expect(m.read32(DATA)).toBe(0xffff037f);
    expect(m.read32(DATA + 12)).toBe((0xffff0000 | (CODE + 2)) >>> 0);
    expect(m.read32(DATA + 16)).toBe(0x147);
    expect(m.read32(DATA + 20)).toBe((0xffff0000 | (DATA + 0x40)) >>> 0);
    expect(m.read32(DATA + 24)).toBe(0);
  });

  it('FLDENV in real mode reads back what FNSTENV stored', () => {
    const code = [...FNINIT, ...FLD1, ...m16(0xd9, 0, 0x40), ...m16(0xd9, 6, 0), ...FNINIT, ...m16(0xd9, 4, 0), ...m16(0xd9, 6, 0x20)];
    const t = runX87(code, { data: [...new Array(0x40).fill(0), 0, 0, 0x80, 0x3f] });
    const m = t.memory;
    // Both images agree except the CW, which the first FNSTENV masked (037F either way here).
    expect(Array.from(m.bytes.subarray(DATA + 0x20, DATA + 0x2e))).toEqual(Array.from(m.bytes.subarray(DATA, DATA + 14)));
    expect(t.cpu.regs.fpu.top).toBe(6);
  });

  it('FLDENV takes CW, SW (TOP) and the empty tags back', () => {
    const env = [0x7f, 0x0b, 0xff, 0xff, 0x01, 0x28, 0xff, 0xff, 0xff, 0xcf, 0xff, 0xff, ...new Array(16).fill(0)];
    const t = runX87([...FNINIT, ...m32(0xd9, 4, 0)], { flat32: true, data: env });
    const f = t.cpu.regs.fpu;
    expect([f.cw, f.top, f.valid, f.statusWord() & 0xff]).toEqual([0x0b7f, 5, 0x40, 0x01]); // tag word CFFF: only R6 is not empty
  });

  it('FNSAVE stores registers in ST order and reinitializes; FRSTOR brings the stack back', () => {
    const t = runX87([...FNINIT, ...FLDPI, ...FLD1, ...FLDZ, ...m32(0xdd, 6, 0), ...m32(0xdb, 5, 0x70)], { flat32: true });
    const m = t.memory;
    expect(m.read32(DATA + 4) & 0xffff).toBe(0x2800); // TOP = 5 in the image
    const st = (i: number) => Array.from(m.bytes.subarray(DATA + 28 + 10 * i, DATA + 38 + 10 * i));
    expect(st(0)).toEqual(bytes80(0));
    expect(st(1)).toEqual(bytes80(1));
    expect(st(2).slice(8)).toEqual([0x00, 0x40]); // pi's exponent
    // After FNSAVE the FPU is initialized: the FLD at +0x70 ran on an empty stack.
    expect(t.cpu.regs.fpu.top).toBe(7);

    const r = runX87([...m32(0xdd, 4, 0)], { flat32: true, data: Array.from(m.bytes.subarray(DATA, DATA + 108)) });
    const f = r.cpu.regs.fpu;
    expect([f.top, f.valid, f.cw]).toEqual([5, 0xe0, FCW_DEFAULT]);
    expect(f.regs.load(7, new Float80()).toHex()).toBe('4000c90fdaa22168c235');
  });
});

describe('FNSAVE / FRSTOR in real mode (94-byte image)', () => {
  it('places ST(0)-ST(7) after the 14-byte environment and restores them', () => {
    const t = runX87([...FNINIT, ...FLD1, ...FLDPI, ...m16(0xdd, 6, 0), ...m16(0xdd, 4, 0)]);
    const m = t.memory;
    expect(m.read16(DATA + 2)).toBe(0x3000); // TOP = 6
    expect(m.read16(DATA + 4)).toBe(0x0fff); // R6, R7 valid
    expect(m.read16(DATA + 14 + 8)).toBe(0x4000); // ST(0) = pi
    expect(Array.from(m.bytes.subarray(DATA + 24, DATA + 34))).toEqual(bytes80(1));
    const f = t.cpu.regs.fpu;
    expect([f.top, f.valid]).toEqual([6, 0xc0]);
  });
});

/** Decodes `bytes` (a memory-form instruction) and runs the FXSAVE or FXRSTOR handler with it. */
function fx(cpu: SoftCpu, which: 'fxsave_M' | 'fxrstor_M', bytes: number[], mode: CpuMode = CpuMode.Bits32): number {
  const insn = newInstruction();
  expect(decode({ fetch8: (a) => bytes[a] ?? 0x90 }, 0, mode, insn)).toBe(DecodeStatus.Ok);
  try {
    X87_HANDLERS[which](cpu, insn);
    return -1;
  } catch (e) {
    if (e instanceof CpuFault) return e.vector;
    throw e;
  }
}

describe('FXSAVE / FXRSTOR', () => {
  // [ebx] memory forms (decoded as D9 /6 with ModRM 33: only the operand matters to the handler).
  const AT_EBX = [0xd9, 0x33];

  it('stores FCW, FSW, the abridged tag, FOP, FIP/FCS, FDP/FDS and the registers in ST order', () => {
    const t = runX87([...FNINIT, ...FLD1, ...m32(0xd9, 0, 0x40), ...FLDZ], { flat32: true, data: [...new Array(0x40).fill(0), 0, 0, 0x20, 0x40] });
    const m = t.memory;
    m.writeBytes(DATA + 0x200, new Uint8Array(512).fill(0xaa));
    t.cpu.regs.gpr.r32[3] = DATA + 0x200;
    expect(fx(t.cpu, 'fxsave_M', AT_EBX)).toBe(-1);
    const at = DATA + 0x200;
    expect(m.read16(at)).toBe(FCW_DEFAULT);
    expect(m.read16(at + 2)).toBe(0x2800); // TOP = 5
    expect(m.read8(at + 4)).toBe(0xe0); // R5-R7 in use
    expect(m.read16(at + 6)).toBe(0x1ee); // FOP of FLDZ (D9 EE)
    expect(m.read32(at + 8)).toBe(CODE + 2 + 2 + 3);
    expect(m.read32(at + 16)).toBe(DATA + 0x40); // FDP of the FLD m32
    expect(m.read32(at + 24)).toBe(0); // no MXCSR on this CPU
    expect(Array.from(m.bytes.subarray(at + 32, at + 42))).toEqual(bytes80(0));
    expect(Array.from(m.bytes.subarray(at + 48, at + 58))).toEqual(bytes80(2.5));
    expect(Array.from(m.bytes.subarray(at + 64, at + 74))).toEqual(bytes80(1));
    expect(m.read8(at + 160)).toBe(0xaa); // XMM area untouched
  });

  it('FXRSTOR loads what FXSAVE stored', () => {
    const t = runX87([...FNINIT, ...FLDPI, ...FLD1], { flat32: true });
    const cpu = t.cpu;
    cpu.regs.gpr.r32[3] = DATA + 0x400;
    fx(cpu, 'fxsave_M', AT_EBX);
    const before = cpu.regs.fpu.save();
    cpu.regs.fpu.init();
    expect(fx(cpu, 'fxrstor_M', AT_EBX)).toBe(-1);
    expect(cpu.regs.fpu.save()).toEqual(before);
  });

  it('faults: #GP(0) when not 16-byte aligned, #UD with CR0.EM, #NM with CR0.TS', () => {
    const t = runX87([...FNINIT], { flat32: true });
    const cpu = t.cpu;
    cpu.regs.gpr.r32[3] = DATA + 8;
    expect(fx(cpu, 'fxsave_M', AT_EBX)).toBe(13);
    expect(fx(cpu, 'fxrstor_M', AT_EBX)).toBe(13);
    cpu.regs.gpr.r32[3] = DATA;
    cpu.regs.cr0 |= 4;
    expect(fx(cpu, 'fxsave_M', AT_EBX)).toBe(6);
    cpu.regs.cr0 = (cpu.regs.cr0 & ~4) | 8;
    expect(fx(cpu, 'fxsave_M', AT_EBX)).toBe(7);
  });

  it('FXSAVE64 (REX.W in 64-bit mode) stores 64-bit FIP and FDP; without REX.W the 32-bit layout', () => {
    const t = runX87([...FNINIT], { flat32: true });
    const cpu = t.cpu;
    const f = cpu.regs.fpu;
    f.fip = 0x89abcdef;
    f.fipHi = 0x7f;
    f.fcs = 0x33;
    f.fdp = 0x01234567;
    f.fdpHi = 0x12;
    f.fds = 0x2b;
    cpu.regs.gpr.r32[3] = DATA;
    cpu.regs.gpr.hi[3] = 0;
    expect(fx(cpu, 'fxsave_M', [0x48, ...AT_EBX], CpuMode.Bits64)).toBe(-1);
    const m = t.memory;
    expect([m.read32(DATA + 8), m.read32(DATA + 12), m.read32(DATA + 16), m.read32(DATA + 20)]).toEqual([0x89abcdef, 0x7f, 0x01234567, 0x12]);
    expect(fx(cpu, 'fxsave_M', AT_EBX, CpuMode.Bits64)).toBe(-1);
    expect([m.read32(DATA + 8), m.read32(DATA + 12), m.read32(DATA + 16), m.read32(DATA + 20)]).toEqual([0x89abcdef, 0x33, 0x01234567, 0x2b]);
  });
});
