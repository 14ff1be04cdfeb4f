import { describe, expect, it, vi } from 'vitest';
import { createPortBus, createSharedRamBacking, GuestMemory, protectedModeEntryState, resetCpuState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { CpuFault } from '../../src/interp/faults.js';
import { CPUID_MSR_HANDLERS } from '../../src/interp/handlers/cpuid-msr.js';
import { Seg } from '../../src/state/segment-cache.js';
import {
  attachCpuEnvironment, cpuEnvironmentOf, CPUID_1_ECX, CPUID_1_EDX, CR4_BITS, cr4WritableMask, createCpuModel, MSR,
  msrFileStateSchema, type CpuEnvironmentConfig,
} from '../../src/cpu-model/index.js';

const CODE = 0x1000;

/** A flat 32-bit protected-mode CPU at CPL 0 with `code` at 0x1000. */
function pmCpu(code: number[] = [], config?: CpuEnvironmentConfig) {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  const mmu = new Mmu(memory, createPortBus());
  const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
  memory.writeBytes(CODE, Uint8Array.from(code));
  const s = protectedModeEntryState(CODE);
  s.gpr[4] = 0x8000n;
  cpu.regs.load(s);
  if (config) attachCpuEnvironment(cpu, config);
  return { cpu, memory };
}

const g = (cpu: SoftCpu, n: number) => cpu.regs.gpr.r32[n] >>> 0;
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4;

function runCpuid(cpu: SoftCpu, leaf: number, subleaf = 0x12345): [number, number, number, number] {
  cpu.regs.gpr.r32[EAX] = leaf;
  cpu.regs.gpr.r32[ECX] = subleaf; // ignored by every leaf but 7
  CPUID_MSR_HANDLERS.cpuid(cpu, cpu.insn);
  return [g(cpu, EAX), g(cpu, EBX), g(cpu, ECX), g(cpu, EDX)];
}

function ascii(...dwords: number[]): string {
  let s = '';
  for (const d of dwords) for (let b = 0; b < 4; b++) s += String.fromCharCode((d >>> (8 * b)) & 0xff);
  return s;
}

/** The vector and error code a handler raises, or null when it completes. */
function faultOf(fn: () => void): { vector: number; errorCode: number } | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof CpuFault) return { vector: e.vector, errorCode: e.errorCode };
    throw e;
  }
  return null;
}
const GP0 = { vector: 13, errorCode: 0 };

function rdmsr(cpu: SoftCpu, index: number) {
  cpu.regs.gpr.r32[ECX] = index;
  const f = faultOf(() => CPUID_MSR_HANDLERS.rdmsr(cpu, cpu.insn));
  return f ?? { lo: g(cpu, EAX), hi: g(cpu, EDX) };
}
function wrmsr(cpu: SoftCpu, index: number, lo: number, hi = 0) {
  cpu.regs.gpr.r32[ECX] = index;
  cpu.regs.gpr.r32[EAX] = lo;
  cpu.regs.gpr.r32[EDX] = hi;
  return faultOf(() => CPUID_MSR_HANDLERS.wrmsr(cpu, cpu.insn));
}

/** Puts the CPU at CPL 3 with flat DPL 3 code and stack (selectors 0x1b and 0x23). */
function toUser(cpu: SoftCpu) {
  const s = cpu.regs.seg;
  s.selector[Seg.CS] = 0x1b;
  s.attr[Seg.CS] |= 3 << 5;
  s.selector[Seg.SS] = 0x23;
  s.attr[Seg.SS] |= 3 << 5;
}

describe('CPUID', () => {
  it('leaf 0 reports max basic leaf 7 (2 without SMAP/SMEP to report) and GenuineIntel', () => {
    const { cpu } = pmCpu();
    const [a, b, c, d] = runCpuid(cpu, 0);
    expect(a).toBe(7);
    expect(runCpuid(pmCpu([], { smap: false }).cpu, 0)[0]).toBe(2);
    expect(ascii(b, d, c)).toBe('GenuineIntel');
  });

  it('leaf 1 reports a family 6 model 5 stepping 2 signature and the initial APIC ID in EBX[31:24]', () => {
    const { cpu } = pmCpu([], { apicId: 3 });
    const [a, b, c] = runCpuid(cpu, 1);
    expect(a).toBe(0x652);
    expect(b >>> 24).toBe(3);
    expect(b & 0xffffff).toBe(0); // no brand index, no CLFLUSH size, no logical-processor count
    expect(c).toBe(0);
  });

  it('leaf 1 claims exactly the implemented P6 features and no MMX/SSE/SSE2', () => {
    const { cpu } = pmCpu();
    const d = runCpuid(cpu, 1)[3];
    const F = CPUID_1_EDX;
    const claimed = F.FPU | F.DE | F.PSE | F.TSC | F.MSR | F.PAE | F.CX8 | F.APIC | F.SEP | F.PGE | F.CMOV | F.FXSR;
    expect(d >>> 0).toBe(claimed >>> 0);
    for (const bit of [F.VME, F.MCE, F.MTRR, F.MCA, F.PAT, F.PSE36, F.CLFSH, F.MMX, F.SSE, F.SSE2, F.HTT]) {
      expect(d & bit, `bit ${Math.log2(bit >>> 0)}`).toBe(0);
    }
    expect(runCpuid(cpu, 1)[2] & (CPUID_1_ECX.SSE3 | CPUID_1_ECX.SSSE3 | CPUID_1_ECX.HYPERVISOR)).toBe(0);
  });

  it('leaf 1 leaves out APIC without a local APIC, or while IA32_APIC_BASE.EN is clear, and FXSR when disabled', () => {
    expect(runCpuid(pmCpu([], { apic: false }).cpu, 1)[3] & CPUID_1_EDX.APIC).toBe(0);
    const { cpu } = pmCpu();
    expect(runCpuid(cpu, 1)[3] & CPUID_1_EDX.APIC).toBe(CPUID_1_EDX.APIC);
    expect(wrmsr(cpu, MSR.IA32_APIC_BASE, 0xfee00100)).toBeNull();
    expect(runCpuid(cpu, 1)[3] & CPUID_1_EDX.APIC).toBe(0);
    expect(runCpuid(pmCpu([], { fxsr: false }).cpu, 1)[3] & CPUID_1_EDX.FXSR).toBe(0);
  });

  it('leaf 2 returns one round of Pentium II cache and TLB descriptors', () => {
    const { cpu } = pmCpu();
    const [a, b, c, d] = runCpuid(cpu, 2);
    expect(a & 0xff).toBe(1);
    expect([a, b, c, d]).toEqual([0x03020101, 0, 0, 0x0c040843]);
  });

  it('leaf 7 sub-leaf 0 reports SMEP and SMAP, other sub-leaves and leaves 3-6 read zero', () => {
    const { cpu } = pmCpu();
    expect(runCpuid(cpu, 7, 0)).toEqual([0, (1 << 7) | (1 << 20), 0, 0]);
    expect(runCpuid(cpu, 7, 1)).toEqual([0, 0, 0, 0]);
    for (const leaf of [3, 4, 5, 6]) expect(runCpuid(cpu, leaf, 0), leaf.toString(16)).toEqual([0, 0, 0, 0]);
  });

  it('returns the highest basic leaf for inputs above the basic and extended maxima', () => {
    const { cpu } = pmCpu();
    const leaf7 = runCpuid(cpu, 7, 0);
    for (const leaf of [8, 0xb, 0x40000000, 0x7fffffff, 0x80000009, 0xffffffff]) {
      expect(runCpuid(cpu, leaf, 0), leaf.toString(16)).toEqual(leaf7);
    }
    const leaf2 = runCpuid(pmCpu([], { smap: false }).cpu, 2);
    const noExt = pmCpu([], { brandString: null, longMode: false, smap: false }).cpu;
    expect(runCpuid(noExt, 0x80000000)).toEqual(leaf2);
    expect(runCpuid(noExt, 0x80000002)).toEqual(leaf2);
  });

  it('extended leaves give max 80000008H, LM, NX and RDTSCP (no SYSCALL), address sizes, and the brand string', () => {
    const { cpu } = pmCpu();
    expect(runCpuid(cpu, 0x80000000)[0]).toBe(0x80000008);
    expect(runCpuid(cpu, 0x80000001)).toEqual([0, 0, 0, (1 << 29) | (1 << 27) | (1 << 20)]);
    expect(runCpuid(cpu, 0x80000008)).toEqual([0x3024, 0, 0, 0]);
    const p6 = pmCpu([], { longMode: false }).cpu;
    expect(runCpuid(p6, 0x80000000)[0]).toBe(0x80000004);
    expect(runCpuid(p6, 0x80000001)).toEqual([0, 0, 0, 0]);
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => ascii(...runCpuid(cpu, l))).join('');
    expect(brand.length).toBe(48);
    expect(brand.replace(/\0+$/, '')).toBe('tsemu software CPU');
    expect(ascii(...runCpuid(pmCpu([], { brandString: 'x' }).cpu, 0x80000002)).replace(/\0+$/, '')).toBe('x');
  });

  it('executes from the instruction stream and clears the high halves of the four registers', () => {
    const { cpu } = pmCpu([0x31, 0xc0, 0x0f, 0xa2]); // xor eax, eax; cpuid
    cpu.regs.gpr.hi[EBX] = 0x55;
    cpu.run(2);
    expect(g(cpu, EAX)).toBe(7);
    expect(cpu.regs.gpr.hi[EBX]).toBe(0);
    expect(cpu.regs.rip).toBe(CODE + 4);
  });

  it('loads the microcode revision into IA32_BIOS_SIGN_ID[63:32]', () => {
    const { cpu } = pmCpu();
    expect(wrmsr(cpu, MSR.IA32_BIOS_SIGN_ID, 0, 0)).toBeNull();
    expect(rdmsr(cpu, MSR.IA32_BIOS_SIGN_ID)).toEqual({ lo: 0, hi: 0 });
    runCpuid(cpu, 1);
    expect(rdmsr(cpu, MSR.IA32_BIOS_SIGN_ID)).toEqual({ lo: 0, hi: cpuEnvironmentOf(cpu).model.microcodeRevision });
  });
});

describe('RDTSC', () => {
  it('counts retired instructions by default and never goes backwards', () => {
    // rdtsc; mov esi, eax; rdtsc
    const { cpu } = pmCpu([0x0f, 0x31, 0x89, 0xc6, 0x0f, 0x31]);
    cpu.run(3);
    expect(g(cpu, 6)).toBe(0);
    expect(g(cpu, EAX)).toBe(2);
    expect(g(cpu, EDX)).toBe(0);
  });

  it('reads an injected TSC source as EDX:EAX', () => {
    let t = 0x1_2345_6789;
    const { cpu } = pmCpu([], { tsc: () => t });
    CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn);
    expect([g(cpu, EDX), g(cpu, EAX)]).toEqual([1, 0x23456789]);
    t += 0x1_0000_0000;
    CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn);
    expect([g(cpu, EDX), g(cpu, EAX)]).toEqual([2, 0x23456789]);
  });

  it('raises #GP(0) above CPL 0 when CR4.TSD is set, and not otherwise', () => {
    const { cpu } = pmCpu();
    const rdtsc = () => faultOf(() => CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn));
    toUser(cpu);
    expect(rdtsc()).toBeNull();
    cpu.regs.cr4 |= 4;
    expect(rdtsc()).toEqual(GP0);
    cpu.regs.seg.selector[Seg.CS] = 0x10;
    expect(rdtsc()).toBeNull();
    cpu.regs.flags.set(cpu.regs.flags.get() | 0x20000); // virtual-8086 mode runs at CPL 3
    expect(rdtsc()).toEqual(GP0);
  });

  it('is always allowed in real mode', () => {
    const { cpu } = pmCpu();
    const s = resetCpuState();
    s.cr4 = 4n;
    cpu.regs.load(s);
    expect(faultOf(() => CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn))).toBeNull();
  });
});

describe('RDTSCP, STAC and CLAC', () => {
  it('RDTSCP returns the TSC in EDX:EAX and IA32_TSC_AUX in ECX; #UD on a plain P6', () => {
    const { cpu } = pmCpu();
    expect(wrmsr(cpu, 0xc0000103, 0xabcd1234)).toBeNull();
    expect(wrmsr(cpu, 0xc0000103, 0, 1)).toEqual(GP0); // bits 63:32 reserved
    cpu.regs.gpr.r32[ECX] = 0;
    CPUID_MSR_HANDLERS.rdtscp(cpu, cpu.insn);
    expect(g(cpu, ECX)).toBe(0xabcd1234);
    const t1 = g(cpu, EAX) + g(cpu, EDX) * 2 ** 32;
    CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn);
    expect(g(cpu, EAX) + g(cpu, EDX) * 2 ** 32).toBeGreaterThanOrEqual(t1);
    const p6 = pmCpu([], { longMode: false }).cpu;
    expect(faultOf(() => CPUID_MSR_HANDLERS.rdtscp(p6, p6.insn))?.vector).toBe(6);
  });

  it('STAC sets and CLAC clears EFLAGS.AC at CPL 0; #UD at CPL 3 and without SMAP', () => {
    const { cpu } = pmCpu();
    CPUID_MSR_HANDLERS.stac(cpu, cpu.insn);
    expect(cpu.regs.flags.get() & 0x40000).toBe(0x40000);
    CPUID_MSR_HANDLERS.clac(cpu, cpu.insn);
    expect(cpu.regs.flags.get() & 0x40000).toBe(0);
    const noSmap = pmCpu([], { smap: false }).cpu;
    expect(faultOf(() => CPUID_MSR_HANDLERS.stac(noSmap, noSmap.insn))?.vector).toBe(6);
    toUser(cpu);
    expect(faultOf(() => CPUID_MSR_HANDLERS.clac(cpu, cpu.insn))?.vector).toBe(6);
  });
});

describe('RDMSR and WRMSR', () => {
  it('raise #GP(0) outside CPL 0 and for unknown MSRs', () => {
    const { cpu } = pmCpu();
    expect(rdmsr(cpu, MSR.IA32_SYSENTER_CS)).toEqual({ lo: 0, hi: 0 });
    expect(rdmsr(cpu, 0x12345)).toEqual(GP0);
    expect(wrmsr(pmCpu([], { longMode: false }).cpu, 0xc0000103, 0)).toEqual(GP0); // IA32_TSC_AUX: no RDTSCP on a plain P6
    toUser(cpu);
    expect(rdmsr(cpu, MSR.IA32_SYSENTER_CS)).toEqual(GP0);
    expect(wrmsr(cpu, MSR.IA32_SYSENTER_CS, 8)).toEqual(GP0);
    expect(cpuEnvironmentOf(cpu).msrs.sysenterCs).toBe(0);
  });

  it('IA32_TSC: readable, and a write sets bits 31:0 and clears 63:32 as on a P6', () => {
    let t = 1000;
    const { cpu } = pmCpu([], { tsc: () => t });
    expect(rdmsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toEqual({ lo: 1000, hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_TIME_STAMP_COUNTER, 0xfffffff0, 7)).toBeNull();
    expect(rdmsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toEqual({ lo: 0xfffffff0, hi: 0 });
    t += 0x20;
    expect(rdmsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toEqual({ lo: 0x10, hi: 1 });
    CPUID_MSR_HANDLERS.rdtsc(cpu, cpu.insn);
    expect([g(cpu, EDX), g(cpu, EAX)]).toEqual([1, 0x10]);
  });

  it('IA32_APIC_BASE: reset value, relocation reported to the machine, reserved bits #GP', () => {
    const moves: number[][] = [];
    const { cpu } = pmCpu([], { onApicBaseWrite: (lo, hi) => moves.push([lo, hi]) });
    expect(rdmsr(cpu, MSR.IA32_APIC_BASE)).toEqual({ lo: 0xfee00900, hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_APIC_BASE, 0xfec00900, 0x3)).toBeNull();
    expect(rdmsr(cpu, MSR.IA32_APIC_BASE)).toEqual({ lo: 0xfec00900, hi: 3 });
    expect(cpu.regs.apicBase >>> 0).toBe(0xfec00900);
    expect(moves).toEqual([[0xfec00900, 3]]);
    expect(wrmsr(cpu, MSR.IA32_APIC_BASE, 0xfee00d00)).toEqual(GP0); // bit 10: x2APIC, not claimed
    expect(wrmsr(cpu, MSR.IA32_APIC_BASE, 0xfee00901)).toEqual(GP0);
    expect(wrmsr(cpu, MSR.IA32_APIC_BASE, 0xfee00900, 0x10)).toEqual(GP0); // above MAXPHYADDR 36
    expect(moves.length).toBe(1);
    const noApic = pmCpu([], { apic: false }).cpu;
    expect(rdmsr(noApic, MSR.IA32_APIC_BASE)).toEqual(GP0);
    expect(wrmsr(noApic, MSR.IA32_APIC_BASE, 0xfee00900)).toEqual(GP0);
  });

  it('IA32_SYSENTER_CS/ESP/EIP keep what is written', () => {
    const { cpu } = pmCpu();
    const values: [number, number][] = [[MSR.IA32_SYSENTER_CS, 0x60], [MSR.IA32_SYSENTER_ESP, 0xc1234000], [MSR.IA32_SYSENTER_EIP, 0xc0100000]];
    for (const [index, v] of values) expect(wrmsr(cpu, index, v)).toBeNull();
    for (const [index, v] of values) expect(rdmsr(cpu, index)).toEqual({ lo: v, hi: 0 });
  });

  it('IA32_MISC_ENABLE: fast strings and no BTS/PEBS at reset; read-only bits stay; reserved bits #GP', () => {
    const { cpu } = pmCpu();
    const reset = 0x1801;
    expect(rdmsr(cpu, MSR.IA32_MISC_ENABLE)).toEqual({ lo: reset, hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_MISC_ENABLE, (1 << 22) | (1 << 3))).toBeNull();
    expect(rdmsr(cpu, MSR.IA32_MISC_ENABLE)).toEqual({ lo: 0x1800 | (1 << 22) | (1 << 3), hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_MISC_ENABLE, reset)).toBeNull();
    expect(rdmsr(cpu, MSR.IA32_MISC_ENABLE)).toEqual({ lo: reset, hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_MISC_ENABLE, reset | (1 << 16))).toEqual(GP0);
    expect(wrmsr(cpu, MSR.IA32_MISC_ENABLE, reset, 4)).toEqual(GP0); // XD disable: no NX on this model
    expect(runCpuid(cpu, 0)[0]).toBe(7);
    expect(wrmsr(cpu, MSR.IA32_MISC_ENABLE, reset | (1 << 22))).toBeNull();
    expect(runCpuid(cpu, 0)[0]).toBe(2); // Limit CPUID maxval
  });

  it('read-only IA32_PLATFORM_ID and IA32_MTRRCAP read and refuse writes; MTRRCAP reports no MTRRs', () => {
    const { cpu } = pmCpu();
    const platform = rdmsr(cpu, MSR.IA32_PLATFORM_ID);
    expect(platform).toEqual({ lo: 0, hi: cpuEnvironmentOf(cpu).model.platformId << 18 });
    expect(wrmsr(cpu, MSR.IA32_PLATFORM_ID, 0)).toEqual(GP0);
    expect(rdmsr(cpu, MSR.IA32_MTRRCAP)).toEqual({ lo: 0, hi: 0 });
    expect(wrmsr(cpu, MSR.IA32_MTRRCAP, 0)).toEqual(GP0);
  });

  it('MSRs of features CPUID does not claim raise #GP(0): MCG_CAP, PAT, EFER without long mode', () => {
    const { cpu } = pmCpu([], { longMode: false });
    for (const index of [MSR.IA32_MCG_CAP, MSR.IA32_PAT, MSR.IA32_EFER]) {
      expect(rdmsr(cpu, index), index.toString(16)).toEqual(GP0);
      expect(wrmsr(cpu, index, 0), index.toString(16)).toEqual(GP0);
    }
    expect(cpuEnvironmentOf(cpu).msrs.unknownAccesses).toBe(6);
  });

  it('run from the instruction stream: wrmsr then rdmsr of SYSENTER_EIP', () => {
    // mov ecx, 0x176; mov eax, 0x12345678; xor edx, edx; wrmsr; xor eax, eax; rdmsr
    const { cpu } = pmCpu([0xb9, 0x76, 0x01, 0, 0, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x31, 0xd2, 0x0f, 0x30, 0x31, 0xc0, 0x0f, 0x32]);
    cpu.run(6);
    expect(g(cpu, EAX)).toBe(0x12345678);
    expect(cpu.regs.rip).toBe(CODE + 18);
  });

  it('saves and restores the MSR file, re-basing the TSC on the new source', () => {
    const { cpu } = pmCpu([], { tsc: () => 500 });
    wrmsr(cpu, MSR.IA32_SYSENTER_CS, 0x60);
    wrmsr(cpu, MSR.IA32_SYSENTER_EIP, 0xc0001000);
    wrmsr(cpu, MSR.IA32_TIME_STAMP_COUNTER, 0x4000);
    const state = JSON.parse(JSON.stringify(cpuEnvironmentOf(cpu).msrs.save()));
    expect(msrFileStateSchema.parse(state)).toEqual(state);
    const other = pmCpu([], { tsc: () => 7 }).cpu;
    cpuEnvironmentOf(other).msrs.restore(state);
    expect(rdmsr(other, MSR.IA32_SYSENTER_EIP)).toEqual({ lo: 0xc0001000, hi: 0 });
    expect(rdmsr(other, MSR.IA32_TIME_STAMP_COUNTER)).toEqual({ lo: 0x4000, hi: 0 });
    expect(() => cpuEnvironmentOf(other).msrs.restore({ ...state, version: 2 })).toThrow();
  });
});

describe('SYSENTER and SYSEXIT', () => {
  const KERNEL_CS = 0x60;

  function setupFastCalls(cpu: SoftCpu) {
    expect(wrmsr(cpu, MSR.IA32_SYSENTER_CS, KERNEL_CS)).toBeNull();
    expect(wrmsr(cpu, MSR.IA32_SYSENTER_ESP, 0x9000)).toBeNull();
    expect(wrmsr(cpu, MSR.IA32_SYSENTER_EIP, 0x3000)).toBeNull();
  }

  it('round-trips CPL 0 -> 3 -> 0 with flat segment caches, stacks and MMU privilege', () => {
    // 0x1000 (kernel): sysexit to EDX=0x2000, ESP=ECX=0x7000
    // 0x2000 (user):   mov eax, 42; sysenter
    // 0x3000 (kernel): hlt
    const { cpu, memory } = pmCpu([0x0f, 0x35]);
    memory.writeBytes(0x2000, Uint8Array.from([0xb8, 42, 0, 0, 0, 0x0f, 0x34]));
    memory.writeBytes(0x3000, Uint8Array.from([0xf4]));
    setupFastCalls(cpu);
    const setPrivilege = vi.spyOn(cpu.mmu!, 'setPrivilege');
    const setUser = vi.spyOn(cpu.mem as PagedLinearMemory, 'setUser');
    cpu.regs.gpr.r32[EDX] = 0x2000;
    cpu.regs.gpr.r32[ECX] = 0x7000;
    cpu.regs.flags.set(0x202);

    cpu.step(); // sysexit
    const seg = cpu.regs.seg;
    expect(cpu.regs.cpl).toBe(3);
    expect(cpu.regs.rip).toBe(0x2000);
    expect(g(cpu, ESP)).toBe(0x7000);
    expect(seg.save(Seg.CS)).toMatchObject({ selector: KERNEL_CS + 16 + 3, base: 0n, limit: 0xffffffff, type: 0xb, dpl: 3, s: true, present: true, db: true, g: true, l: false, unusable: false });
    expect(seg.save(Seg.SS)).toMatchObject({ selector: KERNEL_CS + 24 + 3, base: 0n, limit: 0xffffffff, type: 0x3, dpl: 3, s: true, present: true, db: true, g: true });
    expect(setPrivilege).toHaveBeenLastCalledWith(3, false);
    expect(setUser).toHaveBeenLastCalledWith(true);
    expect(cpu.regs.flags.get() & 0x200).toBe(0x200); // SYSEXIT leaves EFLAGS alone

    cpu.step(); // mov eax, 42 (user)
    cpu.step(); // sysenter
    expect(g(cpu, EAX)).toBe(42);
    expect(cpu.regs.cpl).toBe(0);
    expect(cpu.regs.rip).toBe(0x3000);
    expect(g(cpu, ESP)).toBe(0x9000);
    expect(seg.save(Seg.CS)).toMatchObject({ selector: KERNEL_CS, base: 0n, limit: 0xffffffff, type: 0xb, dpl: 0, s: true, present: true, db: true, g: true });
    expect(seg.save(Seg.SS)).toMatchObject({ selector: KERNEL_CS + 8, base: 0n, limit: 0xffffffff, type: 0x3, dpl: 0, db: true, g: true });
    expect(cpu.regs.flags.get() & 0x200).toBe(0); // IF cleared
    expect(setPrivilege).toHaveBeenLastCalledWith(0, false);
    expect(setUser).toHaveBeenLastCalledWith(false);

    cpu.step(); // hlt at CPL 0
    expect(cpu.halted).toBe(true);
  });

  it('SYSENTER masks the RPL of SYSENTER_CS and clears VM, IF and RF', () => {
    const { cpu } = pmCpu();
    wrmsr(cpu, MSR.IA32_SYSENTER_CS, KERNEL_CS | 3);
    wrmsr(cpu, MSR.IA32_SYSENTER_EIP, 0x3000);
    toUser(cpu);
    cpu.regs.flags.set(0x202 | 0x10000 | 0x20000 | 0x100);
    CPUID_MSR_HANDLERS.sysenter(cpu, cpu.insn);
    expect(cpu.regs.seg.selector[Seg.CS]).toBe(KERNEL_CS);
    expect(cpu.regs.seg.selector[Seg.SS]).toBe(KERNEL_CS + 8);
    expect(cpu.regs.flags.get() & 0x30300).toBe(0x100); // TF is kept
  });

  it('raise #GP(0) with a null SYSENTER_CS, in real mode, and SYSEXIT above CPL 0', () => {
    const { cpu } = pmCpu();
    const sysenter = () => faultOf(() => CPUID_MSR_HANDLERS.sysenter(cpu, cpu.insn));
    const sysexit = () => faultOf(() => CPUID_MSR_HANDLERS.sysexit(cpu, cpu.insn));
    wrmsr(cpu, MSR.IA32_SYSENTER_CS, 3); // selector bits 15:2 are zero
    expect(sysenter()).toEqual(GP0);
    expect(sysexit()).toEqual(GP0);
    setupFastCalls(cpu);
    toUser(cpu);
    expect(sysexit()).toEqual(GP0);
    expect(cpu.regs.cpl).toBe(3);
    const real = pmCpu().cpu;
    setupFastCalls(real);
    real.regs.load(resetCpuState());
    expect(faultOf(() => CPUID_MSR_HANDLERS.sysenter(real, real.insn))).toEqual(GP0);
    expect(faultOf(() => CPUID_MSR_HANDLERS.sysexit(real, real.insn))).toEqual(GP0);
  });
});

describe('CPU model', () => {
  it('allows only the CR4 bits whose features CPUID claims', () => {
    const model = cpuEnvironmentOf(pmCpu().cpu).model;
    const C = CR4_BITS;
    expect(cr4WritableMask(model)).toBe(C.TSD | C.DE | C.PSE | C.PAE | C.PGE | C.PCE | C.OSFXSR);
    expect(cr4WritableMask(createCpuModel({ fxsr: false })) & C.OSFXSR).toBe(0);
  });

  it('rejects an APIC ID above 255 and an overlong brand string', () => {
    expect(() => createCpuModel({ apicId: 256 })).toThrow(RangeError);
    expect(() => createCpuModel({ brandString: 'x'.repeat(48) })).toThrow(RangeError);
  });
});
