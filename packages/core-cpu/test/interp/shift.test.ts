import { describe, expect, it } from 'vitest';
import { testCpu } from './test-machine.js';
import { AF, ARITH_FLAGS, CF, EFLAGS_FIXED, LazyFlags, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { doubleShift, shiftRotate, ShiftOp } from '../../src/interp/handlers/shift.js';
import type { LinearMemory } from '../../src/interp/linear-memory.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { Seg } from '../../src/state/segment-cache.js';

const EAX = 0, ECX = 1, EBX = 3;

/** A CPU with `code` at 0x7c00: real mode, or flat 32-bit protected mode (CS.D, 4 GiB limits). */
function machine(code: number[], flat32: boolean, writes: number[] = []) {
  // Records the linear address of every data write (what a read-only page would refuse).
  const wrapMemory = (paged: PagedLinearMemory): LinearMemory => ({
    read8: (a) => paged.read8(a),
    read16: (a) => paged.read16(a),
    read32: (a) => paged.read32(a),
    write8: (a, v) => (writes.push(a), paged.write8(a, v)),
    write16: (a, v) => (writes.push(a), paged.write16(a, v)),
    write32: (a, v) => (writes.push(a), paged.write32(a, v)),
    fetch8: (a) => paged.fetch8(a),
  });
  return testCpu(code, { flat32, wrapMemory });
}

function flagsOf(initial: number): LazyFlags {
  const f = new LazyFlags();
  f.set(EFLAGS_FIXED | initial);
  return f;
}

describe('group-2 shifts and rotates (shiftRotate)', () => {
  it('masks the count to 5 bits and leaves operand and flags alone when the masked count is 0', () => {
    const f = flagsOf(ARITH_FLAGS);
    expect(shiftRotate(f, ShiftOp.SHL, 4, 0x12345678, 0x20)).toBe(0x12345678);
    expect(f.get() & ARITH_FLAGS).toBe(ARITH_FLAGS);
    expect(shiftRotate(f, ShiftOp.SHL, 4, 0x12345678, 0x24)).toBe(0x23456780);
    expect(f.get() & ARITH_FLAGS).toBe(CF); // CF = bit 28 = 1; OF = b31^b30 = 0; PF of 0x80 odd
  });

  it('sets CF to the last bit out and OF from the first one-bit step for counts above 1', () => {
    const f = flagsOf(0);
    // 0x40 << 2: the first step changes the sign (OF = 1), the last bit out (bit 6) is 1.
    expect(shiftRotate(f, ShiftOp.SHL, 1, 0x40, 2)).toBe(0);
    expect(f.get() & ARITH_FLAGS).toBe(CF | OF | ZF | PF);
    // SHR: OF is the original sign bit for any count, CF the last bit out.
    expect(shiftRotate(f, ShiftOp.SHR, 2, 0x8003, 2)).toBe(0x2000);
    expect(f.get() & ARITH_FLAGS).toBe(CF | OF | PF);
  });

  it('shifts an 8- or 16-bit operand past its width as a wide shifter would', () => {
    const f = flagsOf(0);
    expect(shiftRotate(f, ShiftOp.SHL, 2, 0x0001, 16)).toBe(0);
    expect(f.cf()).toBe(1);
    expect(shiftRotate(f, ShiftOp.SHL, 2, 0xffff, 17)).toBe(0);
    expect(f.cf()).toBe(0);
    expect(shiftRotate(f, ShiftOp.SAR, 1, 0x80, 31)).toBe(0xff);
    expect(f.get() & (CF | SF | OF | AF)).toBe(CF | SF);
    expect(shiftRotate(f, ShiftOp.SAL, 1, 0x81, 1)).toBe(0x02);
    expect(f.get() & (CF | OF)).toBe(CF | OF);
  });

  it('rotates write only CF and OF, keeping SF ZF AF PF as they were', () => {
    const f = flagsOf(SF | ZF | AF | PF);
    expect(shiftRotate(f, ShiftOp.ROL, 4, 0x80000001, 1)).toBe(0x00000003);
    expect(f.get() & ARITH_FLAGS).toBe(SF | ZF | AF | PF | CF | OF);
    expect(shiftRotate(f, ShiftOp.ROR, 1, 0x01, 1)).toBe(0x80);
    expect(f.get() & ARITH_FLAGS).toBe(SF | ZF | AF | PF | CF | OF);
  });

  it('ROL by a multiple of the width keeps the value but still writes CF and OF', () => {
    const f = flagsOf(OF);
    expect(shiftRotate(f, ShiftOp.ROL, 1, 0x01, 8)).toBe(0x01);
    expect(f.get() & (CF | OF)).toBe(CF);
  });

  it('RCL/RCR rotate through CF by count mod 9 (8-bit) and mod 17 (16-bit)', () => {
    const f = flagsOf(CF | OF);
    expect(shiftRotate(f, ShiftOp.RCL, 1, 0x80, 9)).toBe(0x80); // a whole turn: nothing changes
    expect(f.get() & (CF | OF)).toBe(CF | OF);
    expect(shiftRotate(f, ShiftOp.RCL, 1, 0x80, 10)).toBe(0x01); // = by 1: carry in, bit 7 out
    expect(f.cf()).toBe(1);
    f.set(EFLAGS_FIXED);
    expect(shiftRotate(f, ShiftOp.RCR, 2, 0x0001, 18)).toBe(0x0000);
    expect(f.cf()).toBe(1);
    expect(shiftRotate(f, ShiftOp.RCR, 2, 0x0000, 1)).toBe(0x8000);
    expect(f.get() & (CF | OF)).toBe(OF); // OF = old MSB ^ carry-in
    f.set(EFLAGS_FIXED | CF);
    expect(shiftRotate(f, ShiftOp.RCL, 4, 0x80000000, 31)).toBe(0x60000000); // = RCR by 2 in 33 bits
    expect(f.cf()).toBe(0);
  });
});

describe('SHLD / SHRD (doubleShift)', () => {
  it('shifts bits of the source into the destination', () => {
    const f = flagsOf(0);
    expect(doubleShift(f, true, 4, 0x12345678, 0x9abcdef0, 8)).toBe(0x3456789a);
    expect(f.cf()).toBe(0);
    expect(doubleShift(f, false, 4, 0x12345678, 0x9abcdef0, 4)).toBe(0x01234567);
    expect(f.cf()).toBe(1);
  });

  it('shifts the P6 pattern dest:src:dest for a 16-bit operand and a count above 16', () => {
    const f = flagsOf(0);
    expect(doubleShift(f, true, 2, 0x1234, 0xabcd, 20)).toBe(0xbcd1);
    expect(doubleShift(f, false, 2, 0x1234, 0xabcd, 20)).toBe(0x4abc);
  });

  it('changes nothing for a masked count of 0', () => {
    const f = flagsOf(CF | ZF);
    expect(doubleShift(f, true, 4, 0x1234, 0xffffffff, 32)).toBe(0x1234);
    expect(f.get() & ARITH_FLAGS).toBe(CF | ZF);
  });
});

describe('shift and rotate handlers', () => {
  it('SHL r/m32, CL in flat protected mode shifts the register by CL mod 32', () => {
    const { cpu } = machine([0xd3, 0xe0, 0xf4], true); // shl eax, cl
    cpu.regs.gpr.r32[EAX] = 0x80000001;
    cpu.regs.gpr.r32[ECX] = 0x21;
    cpu.run(2);
    expect(cpu.regs.gpr.r32[EAX] >>> 0).toBe(2);
    expect(cpu.regs.flags.get() & (CF | ZF | SF | OF)).toBe(CF | OF);
  });

  it('ROL r/m8, imm8 rotates a byte in memory', () => {
    const { cpu, memory } = machine([0xc0, 0x03, 0x04, 0xf4], true); // rol byte [ebx], 4
    cpu.regs.gpr.r32[EBX] = 0x2000;
    memory.write8(0x2000, 0x1e);
    cpu.run(2);
    expect(memory.read8(0x2000)).toBe(0xe1);
    expect(cpu.regs.flags.cf()).toBe(1);
  });

  it('a count of 0 in CL leaves memory and every flag unchanged but still needs write access', () => {
    const writes: number[] = [];
    const { cpu, memory } = machine([0x01, 0xc0, 0xd3, 0x23, 0xf4], true, writes); // add eax, eax; shl dword [ebx], cl
    cpu.regs.gpr.r32[EAX] = 0x80000000;
    cpu.regs.gpr.r32[EBX] = 0x2000;
    cpu.regs.gpr.r32[ECX] = 0x40;
    memory.write32(0x2000, 0xdeadbeef);
    cpu.run(1);
    const before = cpu.regs.flags.get();
    cpu.run(2);
    expect(memory.read32(0x2000)).toBe(0xdeadbeef);
    expect(cpu.regs.flags.get()).toBe(before);
    expect(writes).toEqual([0x2000]); // the hardware raises #PF(write) here on a read-only page
  });

  it('SAR word [bx], 1 in real mode keeps the sign', () => {
    const { cpu, memory } = machine([0xd1, 0x3f, 0xf4], false); // sar word [bx], 1
    cpu.regs.gpr.r16[EBX << 1] = 0x100;
    memory.write16(0x100, 0x8001);
    cpu.run(2);
    expect(memory.read16(0x100)).toBe(0xc000);
    expect(cpu.regs.flags.get() & (CF | SF | OF)).toBe(CF | SF);
  });

  it('the /6 encoding (SAL) shifts left as SHL does', () => {
    const { cpu } = machine([0xd0, 0xf0, 0xf4], false); // sal al, 1 via /6
    cpu.regs.gpr.r8[0] = 0x41;
    cpu.run(2);
    expect(cpu.regs.gpr.r8[0]).toBe(0x82);
  });

  it('ROL reg, imm8 by more than 1 keeps OF while the CL and memory forms write it, as the hardware does', () => {
    const imm = machine([0xc1, 0xc0, 0x02, 0xf4], true); // rol eax, 2
    imm.cpu.regs.gpr.r32[EAX] = 1;
    imm.cpu.regs.flags.set(EFLAGS_FIXED | OF);
    imm.cpu.run(2);
    expect(imm.cpu.regs.gpr.r32[EAX]).toBe(4);
    expect(imm.cpu.regs.flags.get() & (CF | OF)).toBe(OF);
    const cl = machine([0xd3, 0xc0, 0xf4], true); // rol eax, cl
    cl.cpu.regs.gpr.r32[EAX] = 1;
    cl.cpu.regs.gpr.r32[ECX] = 2;
    cl.cpu.regs.flags.set(EFLAGS_FIXED | OF);
    cl.cpu.run(2);
    expect(cl.cpu.regs.flags.get() & (CF | OF)).toBe(0);
    const mem = machine([0xc1, 0x03, 0x02, 0xf4], true); // rol dword [ebx], 2
    mem.cpu.regs.gpr.r32[EBX] = 0x2000;
    mem.memory.write32(0x2000, 1);
    mem.cpu.regs.flags.set(EFLAGS_FIXED | OF);
    mem.cpu.run(2);
    expect(mem.memory.read32(0x2000)).toBe(4);
    expect(mem.cpu.regs.flags.get() & (CF | OF)).toBe(0);
  });

  it('SHLD r/m32, r32, imm8 and SHRD r/m16, r16, CL', () => {
    const a = machine([0x0f, 0xa4, 0xd8, 0x08, 0xf4], true); // shld eax, ebx, 8
    a.cpu.regs.gpr.r32[EAX] = 0x12345678;
    a.cpu.regs.gpr.r32[EBX] = 0x9abcdef0 | 0;
    a.cpu.run(2);
    expect(a.cpu.regs.gpr.r32[EAX] >>> 0).toBe(0x3456789a);
    const b = machine([0x0f, 0xad, 0x1f, 0xf4], false); // shrd word [bx], bx, cl
    b.cpu.regs.gpr.r16[EBX << 1] = 0x200;
    b.cpu.regs.gpr.r8[4] = 4;
    b.memory.write16(0x200, 0xabcd);
    b.cpu.run(2);
    expect(b.memory.read16(0x200)).toBe(0x0abc);
    expect(b.cpu.regs.flags.cf()).toBe(1);
  });

  it('shifts all 64 bits at 64-bit operand size (details in shift64.test.ts)', () => {
    const { cpu } = machine([0x48, 0xd3, 0xe0], true); // shl rax, cl
    const r = cpu.regs;
    r.efer |= 0x500;
    r.seg.attr[Seg.CS] = (r.seg.attr[Seg.CS] & ~0x4000) | 0x2000;
    r.gpr.set64(EAX, 0x80000001n);
    r.gpr.r8[4] = 1;
    cpu.step();
    expect(r.gpr.get64(EAX)).toBe(0x100000002n);
    expect(r.flags.cf()).toBe(0);
  });
});
