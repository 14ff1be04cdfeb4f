// 64-bit operand size (REX.W) in the ALU and data-movement handlers, run as whole instructions
// on the long-mode test machine: results across the 32-bit halves, carries and borrows between
// them, flags, and the rule that a 32-bit register write clears bits 63:32 while 8/16-bit
// writes keep them.
import { describe, expect, it } from 'vitest';
import { CF, OF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { longModeMachine } from './long-mode-machine.js';

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSI = 6, RDI = 7, R8 = 8, R9 = 9;
const DATA = 0x200000;

function run(code: number[], regs: Record<number, bigint> = {}, flags = 0x2) {
  const m = longModeMachine();
  for (const [n, v] of Object.entries(regs)) m.cpu.regs.gpr.set64(Number(n), BigInt.asUintN(64, v));
  m.cpu.regs.flags.set(flags);
  m.load(code);
  const stop = m.run();
  const reg = (n: number) => m.cpu.regs.gpr.get64(n);
  const eflags = m.cpu.regs.flags.get();
  return { m, stop, reg, eflags, vector: m.cpu.lastException };
}

describe('64-bit ALU operations', () => {
  it('adds with the carry out of the low half reaching the high half', () => {
    const r = run([0x48, 0x01, 0xd8], { [RAX]: 0xffffffffn, [RBX]: 1n }); // add rax, rbx
    expect(r.stop).toBe('end');
    expect(r.reg(RAX)).toBe(0x100000000n);
    expect(r.eflags & (CF | ZF | SF | OF)).toBe(0);
  });

  it('sets CF and ZF when a 64-bit add wraps to zero', () => {
    const r = run([0x48, 0x01, 0xd8], { [RAX]: -1n, [RBX]: 1n });
    expect(r.reg(RAX)).toBe(0n);
    expect(r.eflags & (CF | ZF)).toBe(CF | ZF);
  });

  it('ADC and SBB propagate the incoming carry across both halves', () => {
    const adc = run([0x48, 0x11, 0xd8], { [RAX]: 0xfffffffen, [RBX]: 1n }, 0x2 | CF); // adc rax, rbx
    expect(adc.reg(RAX)).toBe(0x100000000n);
    const sbb = run([0x48, 0x19, 0xd8], { [RAX]: 0x100000000n, [RBX]: 0n }, 0x2 | CF); // sbb rax, rbx
    expect(sbb.reg(RAX)).toBe(0xffffffffn);
    expect(sbb.eflags & CF).toBe(0);
    const borrow = run([0x48, 0x19, 0xd8], { [RAX]: 0n, [RBX]: 0n }, 0x2 | CF);
    expect(borrow.reg(RAX)).toBe(0xffffffffffffffffn);
    expect(borrow.eflags & (CF | SF)).toBe(CF | SF);
  });

  it('sign-extends imm32 and imm8 to 64 bits (81 /0, 83 /5, 25 id)', () => {
    expect(run([0x48, 0x81, 0xc0, 0x00, 0x00, 0x00, 0x80], { [RAX]: 0n }).reg(RAX)).toBe(0xffffffff80000000n);
    expect(run([0x48, 0x83, 0xe8, 0xff], { [RAX]: 5n }).reg(RAX)).toBe(6n); // sub rax, -1
    expect(run([0x48, 0x25, 0xf0, 0xff, 0xff, 0xff], { [RAX]: 0x123456789abcdefn }).reg(RAX)).toBe(0x123456789abcde0n); // and rax, -16
  });

  it('CMP compares all 64 bits and writes nothing', () => {
    const r = run([0x48, 0x39, 0xd8], { [RAX]: 0x100000000n, [RBX]: 0x1n }); // cmp rax, rbx
    expect(r.reg(RAX)).toBe(0x100000000n);
    expect(r.eflags & (CF | ZF | SF)).toBe(0);
    const below = run([0x48, 0x39, 0xd8], { [RAX]: 0x1n, [RBX]: 0x100000000n });
    expect(below.eflags & (CF | SF)).toBe(CF | SF);
  });

  it('INC/DEC/NEG/NOT at 64 bits, INC keeping CF', () => {
    const inc = run([0x48, 0xff, 0xc0], { [RAX]: 0x7fffffffffffffffn }, 0x2 | CF);
    expect(inc.reg(RAX)).toBe(0x8000000000000000n);
    expect(inc.eflags & (CF | OF | SF)).toBe(CF | OF | SF);
    expect(run([0x48, 0xff, 0xc8], { [RAX]: 0x100000000n }).reg(RAX)).toBe(0xffffffffn);
    const neg = run([0x48, 0xf7, 0xd8], { [RAX]: 0x100000000n });
    expect(neg.reg(RAX)).toBe(0xffffffff00000000n);
    expect(neg.eflags & CF).toBe(CF);
    const neg0 = run([0x48, 0xf7, 0xd8], { [RAX]: 0n });
    expect(neg0.eflags & (CF | ZF)).toBe(ZF);
    expect(run([0x48, 0xf7, 0xd0], { [RAX]: 0xff00n }).reg(RAX)).toBe(0xffffffffffff00ffn);
  });

  it('TEST sets SF from bit 63 and ZF from all 64 bits', () => {
    const r = run([0x48, 0x85, 0xd8], { [RAX]: 0x8000000000000000n, [RBX]: -1n });
    expect(r.eflags & (SF | ZF)).toBe(SF);
    const z = run([0x48, 0x85, 0xd8], { [RAX]: 0x100000000n, [RBX]: 0xffffffffn });
    expect(z.eflags & (SF | ZF)).toBe(ZF);
  });

  it('reaches R8-R15 and memory through REX and 64-bit addressing', () => {
    // add [r8 + r9*8 + 8], rax  (REX.WRXB = 0x4b: rax is reg 0, base r8, index r9)
    const r = run([0x4b, 0x01, 0x44, 0xc8, 0x08], { [RAX]: 0x100000001n, [R8]: BigInt(DATA), [R9]: 2n });
    expect(r.stop).toBe('end');
    expect(r.m.read64(DATA + 24)).toBe(0x100000001n);
  });

  it('a 32-bit result clears bits 63:32, 8- and 16-bit results keep them', () => {
    const high = 0xaaaaaaaa00000000n;
    expect(run([0x01, 0xd8], { [RAX]: high | 1n, [RBX]: 1n }).reg(RAX)).toBe(2n); // add eax, ebx
    expect(run([0x39, 0xd8], { [RAX]: high | 1n, [RBX]: 1n }).reg(RAX)).toBe(high | 1n); // cmp: no write
    expect(run([0x66, 0x01, 0xd8], { [RAX]: high | 1n, [RBX]: 1n }).reg(RAX)).toBe(high | 2n);
    expect(run([0x00, 0xd8], { [RAX]: high | 1n, [RBX]: 1n }).reg(RAX)).toBe(high | 2n);
    expect(run([0xff, 0xc0], { [RAX]: high }).reg(RAX)).toBe(1n); // inc eax
    expect(run([0xf7, 0xd0], { [RAX]: high }).reg(RAX)).toBe(0xffffffffn); // not eax
    expect(run([0x83, 0xc8, 0x00], { [RAX]: high | 5n }).reg(RAX)).toBe(5n); // or eax, 0
  });
});

describe('64-bit data movement', () => {
  it('MOV r64, imm64 (B8+r with REX.W) loads all 64 bits', () => {
    const r = run([0x49, 0xb9, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]); // mov r9, imm64
    expect(r.reg(R9)).toBe(0x1122334455667788n);
    expect(run([0xb8, 1, 0, 0, 0], { [RAX]: -1n }).reg(RAX)).toBe(1n); // mov eax, 1 zero-extends
  });

  it('MOV r/m64, imm32 (C7) sign-extends', () => {
    expect(run([0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff]).reg(RAX)).toBe(0xfffffffffffffffen);
  });

  it('MOV moffs64 (A1/A3) use a 64-bit absolute address, or 32 bits with 67', () => {
    const addr = [0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00];
    const store = run([0x48, 0xa3, ...addr], { [RAX]: 0x0123456789abcdefn });
    expect(store.m.read64(DATA)).toBe(0x0123456789abcdefn);
    const m = longModeMachine();
    m.write64(DATA + 8, 0xfedcba9876543210n);
    m.load([0x48, 0xa1, 0x08, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0x8b, 0x0c, 0x25, 0x08, 0x00, 0x20, 0x00]);
    m.cpu.regs.gpr.set64(RCX, -1n);
    m.load([0x48, 0xa1, 0x08, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0xa1, 0x0c, 0x00, 0x20, 0x00]);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(0xfedcba98n); // the second load: eax from DATA + 12
  });

  it('MOVZX/MOVSX to 64 bits and MOVSXD', () => {
    expect(run([0x48, 0x0f, 0xb6, 0xc3], { [RAX]: -1n, [RBX]: 0x80n }).reg(RAX)).toBe(0x80n);
    expect(run([0x48, 0x0f, 0xbe, 0xc3], { [RBX]: 0x80n }).reg(RAX)).toBe(0xffffffffffffff80n);
    expect(run([0x48, 0x0f, 0xbf, 0xc3], { [RBX]: 0x8000n }).reg(RAX)).toBe(0xffffffffffff8000n);
    expect(run([0x48, 0x63, 0xc3], { [RBX]: 0x80000000n }).reg(RAX)).toBe(0xffffffff80000000n); // movsxd rax, ebx
    expect(run([0x63, 0xc3], { [RAX]: -1n, [RBX]: 0xffffffff80000000n }).reg(RAX)).toBe(0x80000000n); // no REX.W: mov eax, ebx
  });

  it('CDQE and CQO sign-extend through RAX and into RDX; CWDE clears bits 63:32', () => {
    expect(run([0x48, 0x98], { [RAX]: 0x80000000n }).reg(RAX)).toBe(0xffffffff80000000n);
    expect(run([0x98], { [RAX]: 0xffffffff00008000n }).reg(RAX)).toBe(0xffff8000n);
    const cqo = run([0x48, 0x99], { [RAX]: 0x8000000000000000n, [RDX]: 5n });
    expect(cqo.reg(RDX)).toBe(0xffffffffffffffffn);
    expect(run([0x48, 0x99], { [RAX]: 0x7fffffffffffffffn, [RDX]: 5n }).reg(RDX)).toBe(0n);
  });

  it('XCHG exchanges 64 bits; 41 90 is XCHG r8, rax while 90 is a NOP', () => {
    const r = run([0x49, 0x90], { [RAX]: 0x1111111122222222n, [R8]: 0x3333333344444444n });
    expect(r.reg(RAX)).toBe(0x3333333344444444n);
    expect(r.reg(R8)).toBe(0x1111111122222222n);
    expect(run([0x90], { [RAX]: 0xaaaaaaaa00000001n }).reg(RAX)).toBe(0xaaaaaaaa00000001n);
    const x = run([0x48, 0x87, 0xd9], { [RCX]: 1n, [RBX]: 0x100000000n }); // xchg rcx, rbx
    expect(x.reg(RCX)).toBe(0x100000000n);
    expect(x.reg(RBX)).toBe(1n);
  });

  it('LEA gives 64-, 32- and 16-bit results from 64- and 32-bit addresses', () => {
    const regs = { [RBX]: 0xffffffff00000010n, [RSI]: 0x100000000n };
    expect(run([0x48, 0x8d, 0x44, 0x33, 0x08], regs).reg(RAX)).toBe(0x0000000000000018n); // lea rax, [rbx+rsi+8]
    expect(run([0x8d, 0x44, 0x33, 0x08], { ...regs, [RAX]: -1n }).reg(RAX)).toBe(0x18n); // lea eax
    expect(run([0x66, 0x8d, 0x44, 0x33, 0xf0], { ...regs, [RAX]: -1n }).reg(RAX)).toBe(0xffffffffffff0000n); // lea ax
    expect(run([0x67, 0x48, 0x8d, 0x44, 0x33, 0xf0], { ...regs }).reg(RAX)).toBe(0x0n); // 32-bit address wraps
    expect(run([0x48, 0x8d, 0x04, 0x25, 0x00, 0x00, 0x00, 0x80]).reg(RAX)).toBe(0xffffffff80000000n); // disp32 sign-extends
  });

  it('XLAT adds AL to RBX at 64 bits', () => {
    const m = longModeMachine();
    m.memory.write8(DATA + 0x85, 0x5a);
    m.cpu.regs.gpr.set64(RBX, BigInt(DATA));
    m.cpu.regs.gpr.set64(RAX, 0x85n);
    m.load([0xd7]);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(0x5an);
  });

  it('LFS with REX.W loads a 64-bit offset and the selector after it; MOV r64, Sreg zero-extends', () => {
    const m = longModeMachine();
    m.write64(DATA, 0x1122334455667788n);
    m.memory.write16(DATA + 8, 0x10);
    m.cpu.regs.gpr.set64(RBX, BigInt(DATA));
    m.cpu.regs.gpr.set64(RCX, -1n);
    m.load([0x48, 0x0f, 0xb4, 0x03, 0x48, 0x8c, 0xe1]); // lfs rax, [rbx]; mov rcx, fs
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(0x1122334455667788n);
    expect(m.cpu.regs.seg.selector[4]).toBe(0x10);
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(0x10n);
  });

  it('a non-canonical memory address raises #GP(0)', () => {
    const r = run([0x48, 0x8b, 0x03], { [RBX]: 0x0000800000000000n });
    expect(r.stop).toBe('halt');
    expect(r.vector).toBe(13);
  });

  it('instructions removed in 64-bit mode raise #UD', () => {
    // DAA DAS AAA AAS AAM AAD PUSHA POPA BOUND LES LDS(VEX) PUSH ES/CS/SS/DS POP ES/SS/DS INTO, JMP/CALL far ptr, 82 /0
    const removed = [[0x27], [0x2f], [0x37], [0x3f], [0xd4, 0x0a], [0xd5, 0x0a], [0x60], [0x61], [0x62, 0x00],
      [0x06], [0x07], [0x0e], [0x16], [0x17], [0x1e], [0x1f], [0xce], [0x82, 0xc0, 0x01],
      [0x9a, 0, 0, 0, 0, 0, 0], [0xea, 0, 0, 0, 0, 0, 0]];
    for (const code of removed) {
      const r = run(code);
      expect(r.vector, code.map((b) => b.toString(16)).join(' ')).toBe(6);
    }
  });
});

describe('a store that faults leaves the flags as they were', () => {
  // The 2 MiB page at 0x200000 made read-only for CPL 3 (as a copy-on-write page would be).
  function readOnly(code: number[], flags: number) {
    const m = longModeMachine({ cpl: 3 });
    m.memory.write32(0x3000 + 8, 0x200000 | 0x85);
    m.cpu.regs.gpr.set64(RDI, BigInt(DATA));
    m.cpu.regs.gpr.set64(RAX, 1n);
    m.cpu.regs.flags.set(flags);
    m.load(code);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(14);
    return m.cpu.regs.flags.get();
  }

  it('ADC, SBB (every size) and RCL, RCR to memory keep CF for the restart', () => {
    const codes = [[0x11, 0x07], [0x48, 0x11, 0x07], [0x10, 0x07], [0x66, 0x19, 0x07], [0x48, 0x19, 0x07],
      [0x48, 0x83, 0x17, 0x00], [0xd1, 0x17], [0x48, 0xd1, 0x1f], [0xc0, 0x17, 0x03]];
    for (const code of codes) {
      expect(readOnly(code, 0x2 | CF | ZF) & (CF | ZF), code.join(' ')).toBe(CF | ZF);
    }
  });
});
