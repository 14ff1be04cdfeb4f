import { describe, expect, it } from 'vitest';
import { testCpu } from './test-machine.js';
import { AF, ARITH_FLAGS, CF, EFLAGS_FIXED, LazyFlags, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { bitOp, BitOp, bitScan, byteSwap32 } from '../../src/interp/handlers/bitops.js';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3;

/** A CPU with `code` at 0x7c00: real mode (DS = 0x1000), or flat 32-bit protected mode. */
function machine(code: number[], flat32: boolean) {
  return testCpu(code, { ds: 0x1000, flat32 });
}

describe('bit helpers', () => {
  it('BT/BTS/BTR/BTC copy the bit to CF, change it as asked and keep the other flags', () => {
    const f = new LazyFlags();
    f.set(EFLAGS_FIXED | OF | SF | ZF | AF | PF);
    expect(bitOp(f, BitOp.BTS, 0x10, 4)).toBe(0x10);
    expect(f.get() & ARITH_FLAGS).toBe(OF | SF | ZF | AF | PF | CF);
    expect(bitOp(f, BitOp.BTR, 0xffffffff, 31)).toBe(0x7fffffff);
    expect(bitOp(f, BitOp.BTC, 0, 0)).toBe(1);
    expect(f.get() & ARITH_FLAGS).toBe(OF | SF | ZF | AF | PF);
    expect(bitOp(f, BitOp.BT, 0x8000, 15)).toBe(0x8000);
    expect(f.cf()).toBe(1);
  });

  it('BSF/BSR find the lowest/highest set bit; ZF and PF as the hardware sets them', () => {
    const f = new LazyFlags();
    f.set(EFLAGS_FIXED | ARITH_FLAGS);
    expect(bitScan(f, true, 0x00f0, 16)).toBe(4);
    expect(f.get() & ARITH_FLAGS).toBe(0); // parity of 4 is odd
    expect(bitScan(f, false, 0x00f0, 16)).toBe(7);
    expect(f.get() & ARITH_FLAGS).toBe(0);
    expect(bitScan(f, false, 0x40000000, 32)).toBe(30); // 0b11110: even parity
    expect(f.get() & ARITH_FLAGS).toBe(PF);
    expect(bitScan(f, true, 0, 32)).toBe(-1);
    expect(f.get() & ARITH_FLAGS).toBe(ZF | PF);
  });

  it('byteSwap32 reverses the bytes', () => {
    expect(byteSwap32(0x12345678)).toBe(0x78563412);
    expect(byteSwap32(0xff000001)).toBe(0x010000ff);
  });
});

describe('bit-operation handlers', () => {
  it('BT r32, r32 takes the bit offset modulo 32', () => {
    const { cpu } = machine([0x0f, 0xa3, 0xc8, 0xf4], true); // bt eax, ecx
    cpu.regs.gpr.r32[EAX] = 0x8;
    cpu.regs.gpr.r32[ECX] = 35;
    cpu.run(2);
    expect(cpu.regs.flags.cf()).toBe(1);
  });

  it('BTS [ebx], ecx with a negative offset sets a bit in the dword before the operand', () => {
    const { cpu, memory } = machine([0x0f, 0xab, 0x0b, 0xf4], true); // bts [ebx], ecx
    cpu.regs.gpr.r32[EBX] = 0x2000;
    cpu.regs.gpr.r32[ECX] = -1;
    cpu.run(2);
    expect(memory.read32(0x1ffc)).toBe(0x80000000);
    expect(memory.read32(0x2000)).toBe(0);
    expect(cpu.regs.flags.cf()).toBe(0);
  });

  it('BTR word [bx], cx in real mode addresses words above and below the operand', () => {
    const up = machine([0x0f, 0xb3, 0x0f, 0xf4], false); // btr [bx], cx
    up.cpu.regs.gpr.r16[EBX << 1] = 0x100;
    up.cpu.regs.gpr.r16[ECX << 1] = 0x10; // word at +2, bit 0
    up.memory.write16(0x10102, 0xffff);
    up.cpu.run(2);
    expect(up.memory.read16(0x10102)).toBe(0xfffe);
    expect(up.cpu.regs.flags.cf()).toBe(1);
    const down = machine([0x0f, 0xb3, 0x0f, 0xf4], false);
    down.cpu.regs.gpr.r16[EBX << 1] = 0x100;
    down.cpu.regs.gpr.r16[ECX << 1] = 0xffef; // -17: word at -4, bit 15
    down.memory.write16(0x100fc, 0xffff);
    down.cpu.run(2);
    expect(down.memory.read16(0x100fc)).toBe(0x7fff);
  });

  it('the register-offset address wraps at 64 KiB with 16-bit addressing', () => {
    const { cpu, memory } = machine([0x0f, 0xbb, 0x0f, 0xf4], false); // btc [bx], cx
    cpu.regs.gpr.r16[EBX << 1] = 0xfffe;
    cpu.regs.gpr.r16[ECX << 1] = 0x13; // word at 0xfffe + 2 = 0x0000, bit 3
    cpu.run(2);
    expect(memory.read16(0x10000)).toBe(0x8);
    expect(cpu.lastException).toBe(-1);
  });

  it('BT r/m, imm8 takes the offset modulo the width and stays inside the operand', () => {
    const { cpu, memory } = machine([0x0f, 0xba, 0x6b, 0x04, 0x23, 0xf4], true); // bts dword [ebx+4], 35
    cpu.regs.gpr.r32[EBX] = 0x3000;
    cpu.run(2);
    expect(memory.read32(0x3004)).toBe(0x8);
    expect(memory.read32(0x3008)).toBe(0);
  });

  it('BSF leaves the destination unchanged and sets ZF for a zero source; BSR writes the index', () => {
    const { cpu } = machine([0x0f, 0xbc, 0xd3, 0x0f, 0xbd, 0xc1, 0xf4], true); // bsf edx, ebx; bsr eax, ecx
    cpu.regs.gpr.r32[EDX] = 0x1234;
    cpu.regs.gpr.r32[EBX] = 0;
    cpu.regs.gpr.r32[ECX] = 0x00400001;
    cpu.run(1);
    expect(cpu.regs.gpr.r32[EDX]).toBe(0x1234);
    expect(cpu.regs.flags.zf()).toBe(1);
    cpu.run(2);
    expect(cpu.regs.gpr.r32[EAX]).toBe(22);
    expect(cpu.regs.flags.zf()).toBe(0);
  });

  it('BSWAP reverses a 32-bit register and clears a 16-bit one, as Intel hardware does', () => {
    const { cpu } = machine([0x0f, 0xc9, 0x66, 0x0f, 0xcb, 0xf4], true); // bswap ecx; bswap bx
    cpu.regs.gpr.r32[ECX] = 0x11223344;
    cpu.regs.gpr.r32[EBX] = 0x5566aabb;
    cpu.run(3);
    expect(cpu.regs.gpr.r32[ECX]).toBe(0x44332211);
    expect(cpu.regs.gpr.r32[EBX] >>> 0).toBe(0x55660000);
  });
});
