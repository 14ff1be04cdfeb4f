import { describe, expect, it } from 'vitest';
import { testCpu } from './test-machine.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Seg } from '../../src/state/segment-cache.js';

const AX = 0, BX = 3, SP = 4, BP = 5, SI = 6;
const CODE = 0x7c00;

/** A real-mode CPU with `code` at 0:0x7c00, DS = 0x1000, SS = 0, and HLT handlers at 0x500 + vector. */
function realModeCpu(code: number[]) {
  return testCpu(code, { ds: 0x1000, haltingIvt: true });
}

const r16 = (cpu: SoftCpu, n: number) => cpu.regs.gpr.r16[n << 1];
const set16 = (cpu: SoftCpu, n: number, v: number) => (cpu.regs.gpr.r16[n << 1] = v);

describe('LES LDS LSS LFS LGS (real mode)', () => {
  it('LES loads the offset into the register and ES with base = selector * 16', () => {
    const { cpu, memory } = realModeCpu([0xc4, 0x07, 0xf4]); // les ax, [bx]
    memory.write16(0x10020, 0x1234);
    memory.write16(0x10022, 0xb800);
    set16(cpu, BX, 0x20);
    cpu.step();
    expect(r16(cpu, AX)).toBe(0x1234);
    expect(cpu.regs.seg.selector[Seg.ES]).toBe(0xb800);
    expect(cpu.regs.seg.base[Seg.ES]).toBe(0xb8000);
  });

  it('LDS with a 32-bit operand reads a 32-bit offset then the selector', () => {
    const { cpu, memory } = realModeCpu([0x66, 0xc5, 0x34, 0xf4]); // lds esi, [si]
    memory.write32(0x10040, 0x89abcdef);
    memory.write16(0x10044, 0x2000);
    set16(cpu, SI, 0x40);
    cpu.step();
    expect(cpu.regs.gpr.r32[SI] >>> 0).toBe(0x89abcdef);
    expect(cpu.regs.seg.base[Seg.DS]).toBe(0x20000);
  });

  it('LSS, LFS and LGS load their segments (0F B2, B4, B5)', () => {
    const { cpu, memory } = realModeCpu([0x0f, 0xb2, 0x27, 0x0f, 0xb4, 0x07, 0x0f, 0xb5, 0x2f, 0xf4]);
    memory.write16(0x10000, 0x0100);
    memory.write16(0x10002, 0x3000);
    cpu.run(3);
    expect([r16(cpu, SP), r16(cpu, AX), r16(cpu, BP)]).toEqual([0x100, 0x100, 0x100]);
    expect([cpu.regs.seg.base[Seg.SS], cpu.regs.seg.base[Seg.FS], cpu.regs.seg.base[Seg.GS]]).toEqual([0x30000, 0x30000, 0x30000]);
  });

  it('a register operand (mod = 3) is #UD', () => {
    const { cpu } = realModeCpu([0xc4, 0xc0]);
    cpu.step();
    expect(cpu.lastException).toBe(6);
  });

  it('a pointer crossing the segment limit raises #GP and changes nothing', () => {
    const { cpu } = realModeCpu([0xc4, 0x07]); // les ax, [bx]
    set16(cpu, BX, 0xfffe);
    set16(cpu, AX, 0x4444);
    cpu.step();
    expect(cpu.lastException).toBe(13);
    expect(r16(cpu, AX)).toBe(0x4444);
    expect(cpu.regs.seg.selector[Seg.ES]).toBe(0);
  });

  it('in protected mode it takes the descriptor path: a null selector leaves ES unusable', () => {
    const { cpu } = realModeCpu([0xc4, 0x07]); // les ax, [bx] -> 0000:0000
    cpu.regs.cr0 |= 1;
    cpu.step();
    expect(cpu.regs.seg.selector[Seg.ES]).toBe(0);
    expect(cpu.regs.seg.attr[Seg.ES] & 0x10000).toBe(0x10000);
  });
});

describe('BOUND', () => {
  function boundCase(index: number, lower: number, upper: number, operandSize: 2 | 4 = 2) {
    const code = operandSize === 2 ? [0x62, 0x07, 0xf4] : [0x66, 0x62, 0x07, 0xf4]; // bound ax, [bx]
    const { cpu, memory } = realModeCpu(code);
    set16(cpu, BX, 0x80);
    if (operandSize === 2) {
      memory.write16(0x10080, lower & 0xffff);
      memory.write16(0x10082, upper & 0xffff);
      set16(cpu, AX, index & 0xffff);
    } else {
      memory.write32(0x10080, lower >>> 0);
      memory.write32(0x10084, upper >>> 0);
      cpu.regs.gpr.r32[AX] = index;
    }
    cpu.step();
    return cpu;
  }

  it('an index inside the inclusive bounds continues', () => {
    for (const i of [-5, 0, 7]) {
      const cpu = boundCase(i, -5, 7);
      expect(cpu.lastException).toBe(-1);
      expect(cpu.regs.rip).toBe(CODE + 2);
    }
  });

  it('an index below or above the bounds raises #BR (5) with IP at the BOUND', () => {
    for (const i of [-6, 8, 0x7fff]) {
      const cpu = boundCase(i, -5, 7);
      expect(cpu.lastException).toBe(5);
    }
  });

  it('compares signed: 0xFFFF is -1, inside [-2, 3]', () => {
    expect(boundCase(0xffff, -2, 3).lastException).toBe(-1);
  });

  it('with a 32-bit operand reads two doublewords', () => {
    expect(boundCase(0x10000, 0, 0xffff, 4).lastException).toBe(5);
    expect(boundCase(0x10000, 0, 0x10000, 4).lastException).toBe(-1);
    expect(boundCase(-1, -0x80000000, 0x7fffffff, 4).lastException).toBe(-1);
  });

  it('a register operand is #UD', () => {
    const { cpu } = realModeCpu([0x62, 0xc0]);
    cpu.step();
    expect(cpu.lastException).toBe(6);
  });
});

// ENTER lives in handlers/stack-ops.ts; its checks are here because brief M reviewed it
// (the SingleStepTests capture has no C8 file).
describe('ENTER (real mode)', () => {
  it('ENTER 8,0 pushes BP, points BP at it and allocates 8 bytes; LEAVE undoes it', () => {
    const { cpu, memory } = realModeCpu([0xc8, 0x08, 0x00, 0x00, 0xc9, 0xf4]);
    set16(cpu, BP, 0x1234);
    cpu.step();
    expect(memory.read16(0x6ffe)).toBe(0x1234);
    expect([r16(cpu, BP), r16(cpu, SP)]).toEqual([0x6ffe, 0x6ff6]);
    cpu.step();
    expect([r16(cpu, BP), r16(cpu, SP)]).toEqual([0x1234, 0x7000]);
  });

  it('ENTER 4,3 copies two frame pointers from the old frame and pushes the new one', () => {
    const { cpu, memory } = realModeCpu([0xc8, 0x04, 0x00, 0x03, 0xf4]);
    set16(cpu, BP, 0x6f00);
    memory.write16(0x6efe, 0x1111);
    memory.write16(0x6efc, 0x2222);
    cpu.step();
    expect([memory.read16(0x6ffe), memory.read16(0x6ffc), memory.read16(0x6ffa), memory.read16(0x6ff8)]).toEqual([0x6f00, 0x1111, 0x2222, 0x6ffe]);
    expect([r16(cpu, BP), r16(cpu, SP)]).toEqual([0x6ffe, 0x6ff4]);
  });

  it('with a 32-bit operand pushes EBP and copies doublewords', () => {
    const { cpu, memory } = realModeCpu([0x66, 0xc8, 0x00, 0x00, 0x02, 0xf4]);
    cpu.regs.gpr.r32[BP] = 0x00016f00;
    memory.write32(0x6efc, 0xcafef00d);
    cpu.step();
    expect([memory.read32(0x6ffc), memory.read32(0x6ff8), memory.read32(0x6ff4)]).toEqual([0x00016f00, 0xcafef00d, 0x6ffc]);
    expect([cpu.regs.gpr.r32[BP], r16(cpu, SP)]).toEqual([0x6ffc, 0x6ff4]);
  });

  it('a frame-pointer read past the SS limit is #SS with SP and BP as before (restartable)', () => {
    const { cpu, memory } = realModeCpu([0xc8, 0x00, 0x00, 0x02]);
    set16(cpu, BP, 0x0001); // the copy reads a word at SS:0xFFFF
    cpu.step();
    expect(cpu.lastException).toBe(12);
    expect(r16(cpu, BP)).toBe(1);
    // Only the exception frame (FLAGS, CS, IP) is below the original SP; IP is the ENTER's.
    expect(r16(cpu, SP)).toBe(0x7000 - 6);
    expect(memory.read16(0x7000 - 6)).toBe(CODE);
  });

  it('with a 32-bit stack (SS.B) walks EBP and ESP; a 16-bit operand changes only BP', () => {
    const { cpu, memory } = realModeCpu([0x66, 0xc8, 0x10, 0x00, 0x02]); // 32-bit code: 66h = 16-bit operand
    const r = cpu.regs;
    r.cr0 |= 1;
    r.seg.attr[Seg.CS] |= 0x4000;
    r.seg.attr[Seg.SS] |= 0x4000;
    r.seg.limit[Seg.SS] = 0xffffffff;
    r.gpr.r32[SP] = 0x20000;
    r.gpr.r32[BP] = 0x38000;
    memory.write16(0x37ffe, 0x4321);
    cpu.step();
    expect([memory.read16(0x1fffe), memory.read16(0x1fffc), memory.read16(0x1fffa)]).toEqual([0x8000, 0x4321, 0xfffe]);
    expect(r.gpr.r32[SP]).toBe(0x1fffa - 0x10);
    expect(r.gpr.r32[BP]).toBe(0x3fffe); // BP = frame's low half, EBP's upper half kept
  });
});
