// String instructions in 64-bit mode as whole instructions on the long-mode machine: quadword
// elements (MOVSQ, STOSQ, LODSQ, SCASQ, CMPSQ), 64-bit RSI/RDI/RCX, the 67 prefix's ESI/EDI/ECX
// with zero-extension, REP runs longer than one step, DF, and canonical-address faults.
import { describe, expect, it } from 'vitest';
import { ZF } from '../../src/alu/lazy-flags.js';
import { REP_CHUNK } from '../../src/interp/handlers/string.js';
import { HIGH_ALIAS, longModeMachine } from './long-mode-machine.js';

const RAX = 0, RCX = 1, RSI = 6, RDI = 7;
const SRC = 0x200000;
const DST = 0x280000;

function machine(code: number[], regs: Record<number, bigint>, flags = 0x2) {
  const m = longModeMachine();
  for (const [n, v] of Object.entries(regs)) m.cpu.regs.gpr.set64(Number(n), BigInt.asUintN(64, v));
  m.cpu.regs.flags.set(flags);
  m.load(code);
  return m;
}

describe('64-bit string instructions', () => {
  it('REP MOVSQ copies quadwords and counts RCX down to zero across steps', () => {
    const count = REP_CHUNK + 10;
    const m = machine([0xf3, 0x48, 0xa5], { [RSI]: BigInt(SRC), [RDI]: BigInt(DST), [RCX]: BigInt(count) });
    for (let i = 0; i < count; i++) m.write64(SRC + i * 8, BigInt(i) * 0x100000001n);
    expect(m.run()).toBe('end');
    expect(m.read64(DST + (count - 1) * 8)).toBe(BigInt(count - 1) * 0x100000001n);
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(0n);
    expect(m.cpu.regs.gpr.get64(RSI)).toBe(BigInt(SRC + count * 8));
  });

  it('STOSQ stores all of RAX and steps RDI down with DF', () => {
    const m = machine([0x48, 0xab], { [RAX]: 0x1122334455667788n, [RDI]: BigInt(DST + 8) }, 0x402);
    expect(m.run()).toBe('end');
    expect(m.read64(DST + 8)).toBe(0x1122334455667788n);
    expect(m.cpu.regs.gpr.get64(RDI)).toBe(BigInt(DST));
  });

  it('LODSQ loads all of RAX', () => {
    const m = machine([0x48, 0xad], { [RAX]: 0n, [RSI]: BigInt(SRC) });
    m.write64(SRC, 0xfedcba9876543210n);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(0xfedcba9876543210n);
  });

  it('REPNE SCASQ stops at the matching quadword, comparing all 64 bits', () => {
    const m = machine([0xf2, 0x48, 0xaf], { [RAX]: 0x100000005n, [RDI]: BigInt(DST), [RCX]: 10n });
    m.write64(DST, 5n);
    m.write64(DST + 8, 0x100000005n);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(8n);
    expect(m.cpu.regs.flags.zf()).toBe(1);
  });

  it('REPE CMPSQ stops at the first difference in the high half', () => {
    const m = machine([0xf3, 0x48, 0xa7], { [RSI]: BigInt(SRC), [RDI]: BigInt(DST), [RCX]: 5n });
    m.write64(SRC + 8, 0x100000000n);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(3n);
    expect(m.cpu.regs.flags.get() & ZF).toBe(0);
  });

  it('a 67 prefix uses ESI/EDI/ECX and zero-extends them', () => {
    const m = machine([0x67, 0xf3, 0xa4], { [RSI]: 0xffff000000000000n | BigInt(SRC), [RDI]: 0x1234000000000000n | BigInt(DST), [RCX]: 0xabcd000000000003n });
    m.memory.write32(SRC, 0x00636261);
    expect(m.run()).toBe('end');
    expect(m.memory.read32(DST) & 0xffffff).toBe(0x636261);
    expect(m.cpu.regs.gpr.get64(RSI)).toBe(BigInt(SRC + 3));
    expect(m.cpu.regs.gpr.get64(RDI)).toBe(BigInt(DST + 3));
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(0n);
  });

  it('a REP with 67 and ECX = 0 still clears RCX[63:32] (and RDI[63:32] for STOS)', () => {
    const m = machine([0x67, 0xf3, 0xaa], { [RDI]: 0x5555000000000000n | BigInt(DST), [RCX]: 0x7777000000000000n });
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RCX)).toBe(0n);
    expect(m.cpu.regs.gpr.get64(RDI)).toBe(BigInt(DST));
  });

  it('addresses the upper canonical half and carries RSI steps across bit 32', () => {
    const m = machine([0x48, 0xad], { [RSI]: BigInt(HIGH_ALIAS) }, 0x402); // std; lodsq from 0xFFFF8000_00000000
    m.write64(0, 0x0123456789abcdefn);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.gpr.get64(RAX)).toBe(0x0123456789abcdefn);
    expect(m.cpu.regs.gpr.get64(RSI)).toBe(0xffff7ffffffffff8n);
  });

  it('a non-canonical RSI raises #GP(0) with nothing moved', () => {
    const m = machine([0x48, 0xa5], { [RSI]: 0x0000800000000000n, [RDI]: BigInt(DST) });
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.cpu.regs.gpr.get64(RDI)).toBe(BigInt(DST));
  });
});
