// x87 in 64-bit mode on the long-mode test machine: RIP-relative and upper-half memory
// operands, the 64-bit instruction and data pointers (FIP/FDP high halves) that FXSAVE64
// stores, and #NM delivered through the 64-bit IDT.
import { describe, expect, it } from 'vitest';
import { CODE, HIGH_ALIAS, longModeMachine } from './long-mode-machine.js';

const DATA = 0x20000;

describe('x87 in 64-bit mode', () => {
  it('loads through a RIP-relative operand and stores through an upper-half address, recording 64-bit pointers', () => {
    const m = longModeMachine({ cpl: 0 });
    m.load([
      0xdb, 0xe3, //                               fninit
      0xdd, 0x05, 0x08, 0x00, 0x00, 0x00, //       fld qword [rel data]
      0xdd, 0x1b, //                               fstp qword [rbx]
      0xf4, 0x90, 0x90, 0x90, 0x90, 0x90, //       (hlt, pad to data)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, // data: dq 1.5
    ]);
    const high = BigInt(HIGH_ALIAS) + BigInt(CODE);
    m.cpu.regs.rip = Number(BigInt.asIntN(32, high));
    m.cpu.regs.ripHi = Number(BigInt.asIntN(32, high >> 32n));
    m.cpu.regs.gpr.set64(3, BigInt.asUintN(64, BigInt(HIGH_ALIAS) + BigInt(DATA)));
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(-1);
    expect(m.read64(DATA)).toBe(0x3ff8000000000000n);
    const f = m.cpu.regs.fpu;
    // The last non-control instruction is the FSTP at CODE + 8 in the upper half; its operand [rbx].
    expect([f.fip, f.fipHi | 0]).toEqual([CODE + 8, -0x8000]);
    expect([f.fdp, f.fdpHi | 0]).toEqual([DATA, -0x8000]);
    expect(f.fop).toBe(0x51b);
  });

  it('raises #NM through the 64-bit IDT when CR0.TS is set', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0xd9, 0xe8]); // fld1
    m.cpu.regs.cr0 |= 8;
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(7);
    expect(m.frame(false).rip).toBe(BigInt(CODE));
  });
});
