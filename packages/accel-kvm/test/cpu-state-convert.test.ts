import { describe, expect, it } from 'vitest';
import { Gpr, flatSegment64, protectedModeEntryState, resetCpuState, type CpuState } from '@tsemu/devices/platform';
import { cpuStateFromKvm, cpuStateToKvmRegs, cpuStateToKvmSregs } from '../src/cpu-state-convert.js';
import { decodeKvmRegs, encodeKvmRegs } from '../src/structs/kvm-regs.js';
import { decodeKvmSregs, encodeKvmSregs } from '../src/structs/kvm-sregs.js';

function distinctGprs(state: CpuState): CpuState {
  state.gpr = state.gpr.map((_, i) => 0x1000n + BigInt(i));
  return state;
}

describe('CpuState <-> kvm_regs + kvm_sregs', () => {
  it('maps encoding-order GPRs to kvm_regs names', () => {
    const regs = cpuStateToKvmRegs(distinctGprs(resetCpuState()));
    expect(regs.rax).toBe(0x1000n + BigInt(Gpr.RAX));
    expect(regs.rcx).toBe(0x1000n + BigInt(Gpr.RCX));
    expect(regs.rdx).toBe(0x1000n + BigInt(Gpr.RDX));
    expect(regs.rbx).toBe(0x1000n + BigInt(Gpr.RBX));
    expect(regs.rsp).toBe(0x1000n + BigInt(Gpr.RSP));
    expect(regs.rbp).toBe(0x1000n + BigInt(Gpr.RBP));
    expect(regs.rsi).toBe(0x1000n + BigInt(Gpr.RSI));
    expect(regs.rdi).toBe(0x1000n + BigInt(Gpr.RDI));
    expect(regs.r13).toBe(0x1000n + 13n);
    // In kernel byte order rbx is the second register, rcx the third.
    const dv = new DataView(encodeKvmRegs(regs).buffer);
    expect(dv.getBigUint64(8, true)).toBe(0x1000n + BigInt(Gpr.RBX));
    expect(dv.getBigUint64(16, true)).toBe(0x1000n + BigInt(Gpr.RCX));
  });

  it('round-trips the reset state through the byte layouts', () => {
    const state = distinctGprs(resetCpuState());
    const regs = decodeKvmRegs(encodeKvmRegs(cpuStateToKvmRegs(state)));
    const sregs = decodeKvmSregs(encodeKvmSregs(cpuStateToKvmSregs(state)));
    expect(cpuStateFromKvm(regs, sregs)).toEqual(state);
  });

  it('round-trips a long-mode state with EFER and APIC base', () => {
    const state = protectedModeEntryState(0x100000);
    state.cs = flatSegment64(0x08, true);
    state.efer = 0x500n;
    state.cr3 = 0x9000n;
    state.cr4 = 0x20n;
    state.cr0 = 0x80000011n;
    state.apicBase = 0xfee00900n;
    state.ldt = { ...state.ldt, unusable: true };
    const sregs = cpuStateToKvmSregs(state);
    expect(sregs.cs.l).toBe(1);
    expect(sregs.cs.db).toBe(0);
    expect(sregs.ldt.unusable).toBe(1);
    expect(sregs.interruptBitmap).toEqual([0n, 0n, 0n, 0n]);
    expect(cpuStateFromKvm(cpuStateToKvmRegs(state), decodeKvmSregs(encodeKvmSregs(sregs)))).toEqual(state);
  });

  it('refuses a CpuState without 16 GPRs', () => {
    const state = resetCpuState();
    state.gpr = state.gpr.slice(0, 8);
    expect(() => cpuStateToKvmRegs(state)).toThrow(RangeError);
  });
});
