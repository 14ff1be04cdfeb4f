// Bit operations at 64-bit operand size and with 64-bit addressing, as whole instructions on
// the long-mode machine: BT/BTS/BTR/BTC with register and immediate offsets (a register offset
// into memory is a signed 64-bit bit index), BSF/BSR over all 64 bits, BSWAP r64.
import { describe, expect, it } from 'vitest';
import { CF, ZF } from '../../src/alu/lazy-flags.js';
import { longModeMachine } from './long-mode-machine.js';

const RAX = 0, RCX = 1, RBX = 3, RDI = 7;
const DATA = 0x200000;

function machine(code: number[], regs: Record<number, bigint>) {
  const m = longModeMachine();
  for (const [n, v] of Object.entries(regs)) m.cpu.regs.gpr.set64(Number(n), BigInt.asUintN(64, v));
  m.load(code);
  return m;
}

describe('64-bit BT, BTS, BTR, BTC', () => {
  it('take register offsets modulo 64 on a register operand', () => {
    const m = machine([0x48, 0x0f, 0xab, 0xc8], { [RAX]: 0n, [RCX]: 64n + 40n }); // bts rax, rcx
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(1n << 40n);
    expect(m.cpu.regs.flags.cf()).toBe(0);
  });

  it('reach the quadword at EA + 8 * (offset >> 6) for a register offset into memory, negative ones included', () => {
    const m = machine([0x48, 0x0f, 0xbb, 0x0f], { [RDI]: BigInt(DATA + 0x100), [RCX]: -1n }); // btc [rdi], rcx
    m.write64(DATA + 0xf8, 0n);
    expect(m.run()).toBe('end');
    expect(m.read64(DATA + 0xf8)).toBe(0x8000000000000000n); // bit 63 of the quadword before
    const far = machine([0x48, 0x0f, 0xa3, 0x0f], { [RDI]: BigInt(DATA), [RCX]: 0x100000n * 8n + 33n }); // bt [rdi], rcx
    far.write64(DATA + 0x100000, 1n << 33n);
    expect(far.run()).toBe('end');
    expect(far.cpu.regs.flags.cf()).toBe(1);
  });

  it('with an immediate offset stay within the operand', () => {
    const m = machine([0x48, 0x0f, 0xba, 0x37, 0x7f], { [RDI]: BigInt(DATA) }); // btr qword [rdi], 127
    m.write64(DATA, 0xffffffffffffffffn);
    expect(m.run()).toBe('end');
    expect(m.read64(DATA)).toBe(0x7fffffffffffffffn);
    expect(m.cpu.regs.flags.cf()).toBe(1);
  });

  it('16/32-bit offsets with 64-bit addressing use the operand-sized unit', () => {
    const m = machine([0x0f, 0xab, 0x0f], { [RDI]: BigInt(DATA + 0x10), [RCX]: 0xffffffffn }); // bts [rdi], ecx (ecx = -1)
    expect(m.run()).toBe('end');
    expect(m.memory.read32(DATA + 0xc) >>> 0).toBe(0x80000000);
  });
});

describe('64-bit BSF, BSR, BSWAP', () => {
  it('scan all 64 bits; a zero source sets ZF and leaves the destination alone', () => {
    const bsf = machine([0x48, 0x0f, 0xbc, 0xc3], { [RBX]: 0x100000000n, [RAX]: 99n }); // bsf rax, rbx
    expect(bsf.run()).toBe('end');
    expect(bsf.cpu.regs.gpr.get64(RAX)).toBe(32n);
    const bsr = machine([0x48, 0x0f, 0xbd, 0xc3], { [RBX]: 0x8000000000000001n });
    expect(bsr.run()).toBe('end');
    expect(bsr.cpu.regs.gpr.get64(RAX)).toBe(63n);
    expect(bsr.cpu.regs.flags.get() & (ZF | CF)).toBe(0);
    const zero = machine([0x48, 0x0f, 0xbc, 0xc3], { [RBX]: 0n, [RAX]: 0xaaaaaaaabbbbbbbbn });
    expect(zero.run()).toBe('end');
    expect(zero.cpu.regs.gpr.get64(RAX)).toBe(0xaaaaaaaabbbbbbbbn);
    expect(zero.cpu.regs.flags.zf()).toBe(1);
  });

  it('BSWAP r64 reverses all eight bytes; BSWAP r32 clears bits 63:32', () => {
    const q = machine([0x49, 0x0f, 0xc8], {}); // bswap r8
    q.cpu.regs.gpr.set64(8, 0x0102030405060708n);
    expect(q.run()).toBe('end');
    expect(q.cpu.regs.gpr.get64(8)).toBe(0x0807060504030201n);
    const d = machine([0x0f, 0xc8], { [RAX]: 0xffffffff11223344n });
    expect(d.run()).toBe('end');
    expect(d.cpu.regs.gpr.get64(RAX)).toBe(0x44332211n);
  });
});
