// CMPXCHG, XADD and CMPXCHG8B (handlers/atomics.ts) as whole instructions in real mode, flat
// 32-bit protected mode and 64-bit mode: results, flags, the write-back of the old value when
// the comparison fails (a read-only page faults either way), LOCK, and the encodings that are
// #UD (register CMPXCHG8B, LOCK on a register destination, CMPXCHG16B without CX16).
import { describe, expect, it } from 'vitest';
import { CF, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import type { LinearMemory } from '../../src/interp/linear-memory.js';
import type { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { longModeMachine, PD } from './long-mode-machine.js';
import { testCpu } from './test-machine.js';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, EDI = 7;
const MEM = 0x2000;

/** Flat 32-bit machine recording the linear address of every data write. */
function flat32(code: number[]) {
  const writes: number[] = [];
  const wrapMemory = (paged: PagedLinearMemory): LinearMemory => ({
    read8: (a) => paged.read8(a),
    read16: (a) => paged.read16(a),
    read32: (a) => paged.read32(a),
    write8: (a, v) => (writes.push(a), paged.write8(a, v)),
    write16: (a, v) => (writes.push(a), paged.write16(a, v)),
    write32: (a, v) => (writes.push(a), paged.write32(a, v)),
    fetch8: (a) => paged.fetch8(a),
  });
  const t = testCpu([...code, 0xf4], { flat32: true, wrapMemory });
  t.cpu.regs.gpr.r32[EDI] = MEM;
  return { ...t, writes };
}

describe('CMPXCHG', () => {
  it('stores the source when the accumulator equals the destination, with the flags of CMP', () => {
    const { cpu, memory } = flat32([0xf0, 0x0f, 0xb1, 0x0f]); // lock cmpxchg [edi], ecx
    memory.write32(MEM, 0x1234);
    cpu.regs.gpr.r32[EAX] = 0x1234;
    cpu.regs.gpr.r32[ECX] = 0xcafe;
    cpu.step();
    expect(memory.read32(MEM)).toBe(0xcafe);
    expect(cpu.regs.gpr.r32[EAX]).toBe(0x1234);
    expect(cpu.regs.flags.get() & (ZF | CF | SF)).toBe(ZF);
  });

  it('loads the accumulator and writes the old value back when they differ', () => {
    const { cpu, memory, writes } = flat32([0x0f, 0xb1, 0x0f]); // cmpxchg [edi], ecx
    memory.write32(MEM, 0x10);
    cpu.regs.gpr.r32[EAX] = 0x5;
    cpu.regs.gpr.r32[ECX] = 0xcafe;
    cpu.step();
    expect(memory.read32(MEM)).toBe(0x10);
    expect(writes).toEqual([MEM]);
    expect(cpu.regs.gpr.r32[EAX]).toBe(0x10);
    // 5 - 0x10: borrow, negative.
    expect(cpu.regs.flags.get() & (ZF | CF | SF)).toBe(CF | SF);
  });

  it('works on bytes and words in real mode, AH..BH included', () => {
    const { cpu, memory } = testCpu([0x0f, 0xb0, 0x26, 0x00, 0x30, 0x0f, 0xb1, 0xe3, 0xf4]); // cmpxchg [0x3000], ah; cmpxchg bx, sp
    memory.write8(0x3000, 0x42);
    const g = cpu.regs.gpr;
    g.r16[EAX << 1] = 0x7742; // AL = 0x42 equals [0x3000], AH = 0x77 is stored
    g.r16[EBX << 1] = 0x1111;
    cpu.step();
    expect(memory.read8(0x3000)).toBe(0x77);
    expect(cpu.regs.flags.zf()).toBe(1);
    cpu.step(); // AX (0x7742) vs BX (0x1111): differ, AX = BX
    expect(g.r16[EAX << 1]).toBe(0x1111);
    expect(g.r16[EBX << 1]).toBe(0x1111);
    expect(cpu.regs.flags.zf()).toBe(0);
  });

  it('in 64-bit mode compares all of RAX; a failed 32-bit compare zero-extends RAX but leaves the register destination alone', () => {
    const m = longModeMachine();
    const g = m.cpu.regs.gpr;
    m.load([0x48, 0x0f, 0xb1, 0xcb]); // cmpxchg rbx, rcx
    g.set64(EAX, 0x100000005n);
    g.set64(EBX, 0x100000005n);
    g.set64(ECX, 0xabcdef0123456789n);
    expect(m.run()).toBe('end');
    expect(g.get64(EBX)).toBe(0xabcdef0123456789n);
    expect(m.cpu.regs.flags.zf()).toBe(1);
    m.load([0x0f, 0xb1, 0xcb]); // cmpxchg ebx, ecx
    g.set64(EAX, 0xffffffff00000001n);
    g.set64(EBX, 0xffffffff00000002n);
    expect(m.run()).toBe('end');
    expect(g.get64(EAX)).toBe(2n);
    expect(g.get64(EBX)).toBe(0xffffffff00000002n);
  });

  it('faults on a read-only page even when the comparison fails, before changing the accumulator', () => {
    const m = longModeMachine({ cpl: 3 });
    m.memory.write32(PD + 8, 0x200000 | 0x85); // the 2 MiB page at 0x200000: present, user, read-only
    m.memory.write32(0x200000, 7);
    const g = m.cpu.regs.gpr;
    g.set64(EDI, 0x200000n);
    g.set64(EAX, 1n);
    m.load([0xf0, 0x0f, 0xb1, 0x0f]); // lock cmpxchg [rdi], ecx
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(14);
    expect(g.get64(EAX)).toBe(1n);
    expect(m.memory.read32(0x200000)).toBe(7);
  });
});

describe('XADD', () => {
  it('adds into the destination and returns the old value in the source, with the ADD flags', () => {
    const { cpu, memory } = flat32([0xf0, 0x0f, 0xc1, 0x0f]); // lock xadd [edi], ecx
    memory.write32(MEM, 0xffffffff);
    cpu.regs.gpr.r32[ECX] = 1;
    cpu.step();
    expect(memory.read32(MEM)).toBe(0);
    expect(cpu.regs.gpr.r32[ECX]).toBe(-1);
    expect(cpu.regs.flags.get() & (ZF | CF | OF | PF)).toBe(ZF | CF | PF);
  });

  it('with one register as both operands keeps the sum', () => {
    const { cpu } = flat32([0x0f, 0xc1, 0xc0]); // xadd eax, eax
    cpu.regs.gpr.r32[EAX] = 21;
    cpu.step();
    expect(cpu.regs.gpr.r32[EAX]).toBe(42);
  });

  it('adds 64-bit operands across the halves', () => {
    const m = longModeMachine();
    const g = m.cpu.regs.gpr;
    m.load([0x48, 0x0f, 0xc1, 0xcb]); // xadd rbx, rcx
    g.set64(EBX, 0xffffffffn);
    g.set64(ECX, 1n);
    expect(m.run()).toBe('end');
    expect(g.get64(EBX)).toBe(0x100000000n);
    expect(g.get64(ECX)).toBe(0xffffffffn);
  });
});

describe('CMPXCHG8B', () => {
  it('stores ECX:EBX when EDX:EAX matches and changes only ZF', () => {
    const { cpu, memory } = flat32([0xf0, 0x0f, 0xc7, 0x0f]); // lock cmpxchg8b [edi]
    memory.write32(MEM, 0x11111111);
    memory.write32(MEM + 4, 0x22222222);
    const g = cpu.regs.gpr;
    g.r32[EAX] = 0x11111111;
    g.r32[EDX] = 0x22222222;
    g.r32[EBX] = 0x33333333;
    g.r32[ECX] = 0x44444444;
    cpu.regs.flags.set(0x2 | CF | SF);
    cpu.step();
    expect(memory.read32(MEM)).toBe(0x33333333);
    expect(memory.read32(MEM + 4)).toBe(0x44444444);
    expect(cpu.regs.flags.get() & (ZF | CF | SF)).toBe(ZF | CF | SF);
  });

  it('loads EDX:EAX and rewrites memory when it differs', () => {
    const { cpu, memory, writes } = flat32([0x0f, 0xc7, 0x0f]);
    memory.write32(MEM, 0x11111111);
    memory.write32(MEM + 4, 0x22222222);
    const g = cpu.regs.gpr;
    g.r32[EAX] = 0x11111111;
    g.r32[EDX] = 0;
    cpu.regs.flags.set(0x2 | ZF);
    cpu.step();
    expect(g.r32[EAX]).toBe(0x11111111);
    expect(g.r32[EDX]).toBe(0x22222222);
    expect(writes.length).toBeGreaterThan(0);
    expect(cpu.regs.flags.zf()).toBe(0);
  });

  it('register forms, LOCK on a register destination and CMPXCHG16B raise #UD', () => {
    for (const code of [[0x0f, 0xc7, 0xc8], [0xf0, 0x0f, 0xb1, 0xc8], [0xf0, 0x0f, 0xc1, 0xc8], [0x48, 0x0f, 0xc7, 0x0f]]) {
      const m = longModeMachine();
      m.cpu.regs.gpr.set64(EDI, 0x200000n);
      m.load(code);
      expect(m.run(), code.join(' ')).toBe('halt');
      expect(m.cpu.lastException).toBe(6);
    }
  });
});
