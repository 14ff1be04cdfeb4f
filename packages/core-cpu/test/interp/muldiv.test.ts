import { describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { AF, CF, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { MULDIV_HANDLERS, mulHighS32, mulHighU32 } from '../../src/interp/handlers/muldiv.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';

const ARITH = CF | PF | AF | ZF | SF | OF;
const EAX = 0;
const ECX = 1;
const EDX = 2;
const EBX = 3;

/** One real-mode CPU (building RAM and an MMU per case would dominate the run time). */
const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
const shared = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());

/**
 * Loads `code` and a HLT at 0:0x7c00, exception handlers that are HLTs at 0x500 + vector, the
 * given 32-bit registers and flags, and runs to the HLT.
 */
function run(code: number[], regs: Record<number, number>, flags = 0, setup?: (m: GuestMemory) => void) {
  for (let v = 0; v < 32; v++) {
    memory.write16(v * 4, 0x500 + v);
    memory.write16(v * 4 + 2, 0);
    memory.write8(0x500 + v, 0xf4);
  }
  memory.writeBytes(0x7c00, Uint8Array.from([...code, 0xf4]));
  setup?.(memory);
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  s.rip = 0x7c00n;
  s.gpr[4] = 0x7000n;
  const cpu = shared;
  cpu.regs.load(s);
  cpu.halted = false;
  cpu.lastException = -1;
  for (const [n, v] of Object.entries(regs)) cpu.regs.gpr.r32[Number(n)] = v;
  cpu.regs.flags.set(flags);
  cpu.run(3);
  return { cpu, memory };
}

const u32 = (v: number) => v >>> 0;

/** Deterministic 32-bit values: edges, then xorshift. */
function values(count: number): number[] {
  const out = [0, 1, 2, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
  let s = 0x1234567;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.push((s >>> (i % 24)) >>> 0);
  }
  return out;
}

describe('32x32 high products without BigInt', () => {
  it('mulHighU32 and mulHighS32 agree with exact arithmetic', () => {
    const vs = values(120);
    for (const a of vs) {
      for (const b of vs) {
        const ua = BigInt(a);
        const ub = BigInt(b);
        expect(mulHighU32(a, b)).toBe(Number((ua * ub) >> 32n));
        const sa = BigInt(a | 0);
        const sb = BigInt(b | 0);
        expect(mulHighS32(a | 0, b | 0)).toBe(Number(BigInt.asUintN(32, (sa * sb) >> 32n)));
      }
    }
  });
});

describe('MUL and IMUL', () => {
  it('MUL r/m32 forms the full 64-bit product in EDX:EAX and sets CF=OF when EDX is not zero', () => {
    const { cpu } = run([0x66, 0xf7, 0xe3], { [EAX]: 0xffffffff, [EBX]: 0xffffffff }); // mul ebx
    expect(u32(cpu.regs.gpr.r32[EAX])).toBe(1);
    expect(u32(cpu.regs.gpr.r32[EDX])).toBe(0xfffffffe);
    expect(cpu.regs.flags.get() & (CF | OF)).toBe(CF | OF);
  });

  it('MUL clears CF and OF when the high half is zero, and leaves ZF clear even for a zero product', () => {
    const { cpu } = run([0xf6, 0xe3], { [EAX]: 0x1200, [EBX]: 0 }, ZF | CF | AF); // mul bl
    expect(cpu.regs.gpr.r16[0]).toBe(0);
    expect(cpu.regs.flags.get() & ARITH).toBe(PF);
  });

  it('MUL r/m8 reads its operand from memory and writes AX', () => {
    const { cpu } = run([0xf6, 0x27], { [EAX]: 0xc8, [EBX]: 0x600 }, 0, (m) => m.write8(0x600, 3)); // mul byte [bx]
    expect(cpu.regs.gpr.r16[0]).toBe(600);
    expect(cpu.regs.flags.get() & (CF | OF)).toBe(CF | OF);
  });

  it('IMUL r/m16 sign-extends and sets CF=OF only when DX is not the sign extension of AX', () => {
    let { cpu } = run([0xf7, 0xeb], { [EAX]: 0xffff, [EBX]: 0x7fff }); // imul bx: -1 * 32767
    expect(cpu.regs.gpr.r16[0]).toBe(0x8001);
    expect(cpu.regs.gpr.r16[4]).toBe(0xffff);
    expect(cpu.regs.flags.get() & (CF | OF | SF)).toBe(SF);
    ({ cpu } = run([0xf7, 0xeb], { [EAX]: 0x8000, [EBX]: 0xffff })); // -32768 * -1 = 32768
    expect(cpu.regs.gpr.r16[0]).toBe(0x8000);
    expect(cpu.regs.gpr.r16[4]).toBe(0);
    expect(cpu.regs.flags.get() & (CF | OF)).toBe(CF | OF);
  });

  it('IMUL r/m32 agrees with exact signed arithmetic', () => {
    for (const a of values(40)) {
      for (const b of values(40)) {
        const { cpu } = run([0x66, 0xf7, 0xeb], { [EAX]: a, [EBX]: b });
        const p = BigInt(a | 0) * BigInt(b | 0);
        expect(u32(cpu.regs.gpr.r32[EAX])).toBe(Number(BigInt.asUintN(32, p)));
        expect(u32(cpu.regs.gpr.r32[EDX])).toBe(Number(BigInt.asUintN(32, p >> 32n)));
        const overflow = BigInt.asIntN(32, p) !== p;
        expect(cpu.regs.flags.get() & (CF | OF)).toBe(overflow ? CF | OF : 0);
      }
    }
  });

  it('IMUL r32, r/m32 keeps the low half and flags the truncation', () => {
    const { cpu } = run([0x66, 0x0f, 0xaf, 0xcb], { [ECX]: 0x10000, [EBX]: 0x10000 }); // imul ecx, ebx
    expect(u32(cpu.regs.gpr.r32[ECX])).toBe(0);
    expect(cpu.regs.flags.get() & (CF | OF | ZF)).toBe(CF | OF);
    const fits = run([0x66, 0x0f, 0xaf, 0xcb], { [ECX]: 0xfffffffd, [EBX]: 0x15555555 }).cpu; // -3 * 0x15555555
    expect(u32(fits.regs.gpr.r32[ECX])).toBe(u32(-3 * 0x15555555));
    expect(fits.regs.flags.get() & (CF | OF)).toBe(0);
  });

  it('IMUL r16, r/m16, imm8 sign-extends the immediate', () => {
    const { cpu } = run([0x6b, 0xc3, 0xfe], { [EAX]: 0x12345678, [EBX]: 0x0100 }); // imul ax, bx, -2
    expect(cpu.regs.gpr.r16[0]).toBe(0xfe00);
    expect(u32(cpu.regs.gpr.r32[EAX]) >>> 16).toBe(0x1234);
    expect(cpu.regs.flags.get() & (CF | OF | SF)).toBe(SF);
  });

  it('IMUL r16, r/m16, imm16 overflows into CF and OF', () => {
    const { cpu } = run([0x69, 0xc3, 0x00, 0x01], { [EBX]: 0x0100 }); // imul ax, bx, 0x100
    expect(cpu.regs.gpr.r16[0]).toBe(0);
    expect(cpu.regs.flags.get() & (CF | OF | ZF)).toBe(CF | OF);
  });

  it('multiplies at 64-bit operand size into RDX:RAX (details in muldiv64.test.ts)', () => {
    const cpu = shared;
    const insn = newInstruction();
    insn.opSize = 8; // mul rax (rm = 0, a register)
    cpu.regs.gpr.set64(0, 0x100000000n);
    MULDIV_HANDLERS.mul_Ev(cpu, insn);
    expect(cpu.regs.gpr.get64(0)).toBe(0n);
    expect(cpu.regs.gpr.get64(2)).toBe(1n);
    expect(cpu.regs.flags.get() & (CF | OF)).toBe(CF | OF);
  });
});

describe('DIV and IDIV', () => {
  it('DIV r/m32 agrees with exact 64/32 division, and raises #DE on overflow with nothing changed', () => {
    const vs = values(30);
    for (const hi of [0, 1, 0x7fffffff, 0xfffffffe]) {
      for (const lo of vs) {
        for (const d of vs) {
          const { cpu } = run([0x66, 0xf7, 0xf3], { [EAX]: lo, [EDX]: hi, [EBX]: d }, SF | CF);
          const g = cpu.regs.gpr;
          if (d === 0 || hi >= d) {
            expect(cpu.lastException).toBe(0);
            expect([u32(g.r32[EAX]), u32(g.r32[EDX])]).toEqual([lo, hi]);
          } else {
            const n = (BigInt(hi) << 32n) | BigInt(lo);
            expect(cpu.lastException).toBe(-1);
            expect(u32(g.r32[EAX])).toBe(Number(n / BigInt(d)));
            expect(u32(g.r32[EDX])).toBe(Number(n % BigInt(d)));
          }
          expect(cpu.regs.flags.get() & ARITH).toBe(SF | CF);
        }
      }
    }
  });

  it('IDIV r/m32 truncates toward zero, gives the remainder the dividend sign, and faults on overflow', () => {
    const vs = values(25);
    for (const hi of [0, 0xffffffff, 0x3, 0xfffffffc, 0x80000000]) {
      for (const lo of vs) {
        for (const d of vs) {
          const { cpu } = run([0x66, 0xf7, 0xfb], { [EAX]: lo, [EDX]: hi, [EBX]: d });
          const g = cpu.regs.gpr;
          const n = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
          const sd = BigInt(d | 0);
          const q = sd === 0n ? null : n / sd;
          if (q === null || q > 0x7fffffffn || q < -0x80000000n) {
            expect(cpu.lastException).toBe(0);
            expect([u32(g.r32[EAX]), u32(g.r32[EDX])]).toEqual([lo, hi]);
          } else {
            expect(cpu.lastException).toBe(-1);
            expect(u32(g.r32[EAX])).toBe(Number(BigInt.asUintN(32, q)));
            expect(u32(g.r32[EDX])).toBe(Number(BigInt.asUintN(32, n % sd)));
          }
        }
      }
    }
  });

  it('DIV r/m32 takes a divisor of 2^31 or more from memory as unsigned', () => {
    const { cpu } = run([0x66, 0xf7, 0x37], { [EAX]: 0, [EDX]: 0x80000000, [EBX]: 0x600 }, 0, (m) => m.write32(0x600, 0xc0000000)); // div dword [bx]
    expect(cpu.lastException).toBe(-1);
    expect(u32(cpu.regs.gpr.r32[EAX])).toBe(0xaaaaaaaa);
    expect(u32(cpu.regs.gpr.r32[EDX])).toBe(0x80000000);
  });

  it('IDIV r/m8 allows a quotient of -128 but faults on -32768 / -1', () => {
    let { cpu } = run([0xf6, 0xfb], { [EAX]: 0xff80, [EBX]: 1 }); // idiv bl: -128 / 1
    expect(cpu.lastException).toBe(-1);
    expect(cpu.regs.gpr.r16[0]).toBe(0x0080);
    ({ cpu } = run([0xf6, 0xfb], { [EAX]: 0x8000, [EBX]: 0xff })); // -32768 / -1
    expect(cpu.lastException).toBe(0);
    expect(cpu.regs.gpr.r16[0]).toBe(0x8000);
  });

  it('IDIV r/m16 of the most negative dividend by -1 raises #DE', () => {
    const { cpu } = run([0xf7, 0xfb], { [EAX]: 0, [EDX]: 0x8000, [EBX]: 0xffff });
    expect(cpu.lastException).toBe(0);
    expect([cpu.regs.gpr.r16[0], cpu.regs.gpr.r16[4]]).toEqual([0, 0x8000]);
  });

  it('DIV r/m16 divides DX:AX, and a zero divisor raises #DE with the faulting IP pushed', () => {
    let { cpu } = run([0xf7, 0xf3], { [EAX]: 0x5678, [EDX]: 0x1234, [EBX]: 0x4321 });
    expect(cpu.regs.gpr.r16[0]).toBe(Math.floor(0x12345678 / 0x4321));
    expect(cpu.regs.gpr.r16[4]).toBe(0x12345678 % 0x4321);
    let memory;
    ({ cpu, memory } = run([0xf7, 0xf3], { [EAX]: 0x5678, [EDX]: 0x1234, [EBX]: 0 }));
    expect(cpu.lastException).toBe(0);
    expect(cpu.regs.rip).toBe(0x501); // past the #DE handler's HLT
    expect(memory.read16(0x7000 - 6)).toBe(0x7c00);
  });

  it('DIV r/m8 leaves AL = quotient, AH = remainder, and faults when the quotient exceeds a byte', () => {
    let { cpu } = run([0xf6, 0xf3], { [EAX]: 1000, [EBX]: 7 });
    expect([cpu.regs.gpr.r8[0], cpu.regs.gpr.r8[1]]).toEqual([142, 6]);
    ({ cpu } = run([0xf6, 0xf3], { [EAX]: 0x100, [EBX]: 1 }));
    expect(cpu.lastException).toBe(0);
  });
});
