/**
 * Identification and model-specific instructions: CPUID, RDTSC, RDMSR, WRMSR, and the fast
 * system calls SYSENTER/SYSEXIT (SDM Vol. 2, each instruction's page; SYSENTER/SYSEXIT
 * "Operation" for legacy protected mode). The model, CPUID leaves, MSRs and the TSC source
 * come from the CPU's environment (`cpu-model/cpu-environment.ts`).
 *
 * SYSENTER/SYSEXIT load fixed flat descriptors into the CS and SS caches without reading the
 * GDT: the operating system promises that its GDT matches (SDM Vol. 3A, 5.8.7). In IA-32e
 * mode SYSENTER enters 64-bit code with the 64-bit MSR values, and SYSEXIT returns to
 * compatibility mode, or with REX.W to 64-bit code at SYSENTER_CS + 32.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { cpuEnvironmentOf } from '../../cpu-model/cpu-environment.js';
import { cpuidQuery } from '../../cpu-model/cpuid.js';
import { CPUID_7_EBX } from '../../cpu-model/cpuid-bits.js';
import { APIC_BASE_EN, MISC_ENABLE_LIMIT_CPUID, MSR } from '../../cpu-model/msr-file.js';
import { Attr, ATTR_DPL_SHIFT, Seg } from '../../state/segment-cache.js';
import { setRegV } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { addStall, PAUSE_CYCLES } from './stall-cycles.js';
import type { HandlerTable } from './types.js';

const EFLAGS_IF = 1 << 9;
const EFLAGS_RF = 1 << 16;
const EFLAGS_VM = 1 << 17;
const EFLAGS_AC = 1 << 18;
const CR4_TSD = 1 << 2;
const EFER_LMA = 1 << 10;
const TWO_32 = 4294967296;

const EAX = 0;
const ECX = 1;
const EDX = 2;
const EBX = 3;
const ESP = 4;

/** Flat 4 GiB segments as SYSENTER/SYSEXIT load them: accessed execute/read code, accessed read/write data. */
const FLAT_CODE = 0xb | Attr.S | Attr.P | Attr.Db | Attr.G;
const FLAT_DATA = 0x3 | Attr.S | Attr.P | Attr.Db | Attr.G;
/** IA-32e mode: the code segment SYSENTER and REX.W SYSEXIT load is 64-bit (L = 1, D = 0). */
const FLAT_CODE64 = 0xb | Attr.S | Attr.P | Attr.L | Attr.G;
const DPL3 = 3 << ATTR_DPL_SHIFT;

/** CPL with virtual-8086 mode counted as 3 (RDMSR, RDTSC and SYSEXIT all check it). */
function currentPl(cpu: SoftCpu): number {
  const r = cpu.regs;
  if (!(r.cr0 & 1)) return 0;
  return r.flags.get() & EFLAGS_VM ? 3 : r.cpl;
}

function loadFlat(cpu: SoftCpu, seg: number, selector: number, attr: number): void {
  const s = cpu.regs.seg;
  s.selector[seg] = selector;
  s.base[seg] = 0;
  s.baseHi[seg] = 0;
  s.limit[seg] = -1;
  s.attr[seg] = attr;
}

/** After a CPL change: data accesses and the MMU's fast-path masks follow the new privilege. */
function privilegeChanged(cpu: SoftCpu, cpl: number): void {
  cpu.mmu?.setPrivilege(cpl, (cpu.regs.flags.get() & EFLAGS_AC) !== 0);
  (cpu.mem as { setUser?: (user: boolean) => void }).setUser?.(cpl === 3);
}

function cpuid(cpu: SoftCpu): void {
  const r = cpu.regs;
  const env = cpuEnvironmentOf(cpu);
  const out = env.cpuidOut;
  cpuidQuery(env.cpuid, r.gpr.r32[EAX] >>> 0, env.model.apic && (r.apicBase & APIC_BASE_EN) !== 0, out, r.gpr.r32[ECX] >>> 0);
  env.msrs.onCpuid();
  // IA32_MISC_ENABLE.LIMIT_CPUID: leaf 0 reports at most 2 (for OSes that predate leaf 3+).
  if (r.gpr.r32[EAX] === 0 && env.msrs.miscEnable & MISC_ENABLE_LIMIT_CPUID && out[0] > 2) out[0] = 2;
  setRegV(cpu, EAX, 4, out[0]);
  setRegV(cpu, EBX, 4, out[1]);
  setRegV(cpu, ECX, 4, out[2]);
  setRegV(cpu, EDX, 4, out[3]);
}

/**
 * The TSC as RDTSC reads it: CR4.TSD restricts RDTSC to CPL 0 in protected and virtual-8086
 * mode; real mode always may. (Also called by translated code, jit/register-forms.ts.)
 */
export function timeStamp(cpu: SoftCpu): number {
  if (cpu.regs.cr4 & CR4_TSD && currentPl(cpu) !== 0) raise(Vector.GP, 0);
  return cpuEnvironmentOf(cpu).msrs.tsc();
}

/** RDTSCP's IA32_TSC_AUX, checked first: #UD on a model without RDTSCP. */
export function timeStampAux(cpu: SoftCpu): number {
  const env = cpuEnvironmentOf(cpu);
  if (!env.model.rdtscp) raise(Vector.UD);
  return env.msrs.tscAux;
}

/**
 * PAUSE: its extra cycles go on the clock (stall-cycles.ts).
 * (Also called by translated code, jit/register-forms.ts.)
 */
export function spinPause(cpu: SoftCpu): void {
  addStall(cpu, PAUSE_CYCLES - 1);
}

function rdtsc(cpu: SoftCpu): void {
  const t = timeStamp(cpu);
  setRegV(cpu, EAX, 4, t >>> 0);
  setRegV(cpu, EDX, 4, Math.floor(t / TWO_32) >>> 0);
}

/** RDTSCP: RDTSC plus IA32_TSC_AUX in ECX. */
function rdtscp(cpu: SoftCpu): void {
  const aux = timeStampAux(cpu);
  rdtsc(cpu);
  setRegV(cpu, ECX, 4, aux);
}

/**
 * STAC/CLAC set and clear EFLAGS.AC, which lets CPL 0 reach user pages under CR4.SMAP
 * (SDM Vol. 2B): #UD without SMAP in CPUID, at CPL > 0 and in virtual-8086 mode.
 */
function setAc(cpu: SoftCpu, on: boolean): void {
  if (!(cpuEnvironmentOf(cpu).model.structuredEbx & CPUID_7_EBX.SMAP) || currentPl(cpu) !== 0) raise(Vector.UD);
  const f = cpu.regs.flags;
  f.set(on ? f.get() | EFLAGS_AC : f.get() & ~EFLAGS_AC);
  privilegeChanged(cpu, cpu.regs.cpl);
}

function rdmsr(cpu: SoftCpu): void {
  if (currentPl(cpu) !== 0) raise(Vector.GP, 0);
  const msrs = cpuEnvironmentOf(cpu).msrs;
  if (!msrs.read(cpu.regs.gpr.r32[ECX] >>> 0)) raise(Vector.GP, 0);
  setRegV(cpu, EAX, 4, msrs.lo);
  setRegV(cpu, EDX, 4, msrs.hi);
}

function wrmsr(cpu: SoftCpu): void {
  if (currentPl(cpu) !== 0) raise(Vector.GP, 0);
  const g = cpu.regs.gpr;
  const index = g.r32[ECX] >>> 0;
  if (!cpuEnvironmentOf(cpu).msrs.write(index, g.r32[EAX], g.r32[EDX])) raise(Vector.GP, 0);
  // EFER.NXE changes what page-table entries mean: the MMU takes the new context (and flushes).
  if (index === MSR.IA32_EFER) cpu.mmu?.setPagingContext(cpu.regs);
}

/** SYSENTER: to CPL 0 at SYSENTER_CS:SYSENTER_EIP with SS = CS + 8 and ESP = SYSENTER_ESP. */
function sysenter(cpu: SoftCpu): void {
  const r = cpu.regs;
  const msrs = cpuEnvironmentOf(cpu).msrs;
  const cs = msrs.sysenterCs & 0xfffc;
  if (!(r.cr0 & 1) || cs === 0) raise(Vector.GP, 0);
  r.flags.set(r.flags.get() & ~(EFLAGS_VM | EFLAGS_IF | EFLAGS_RF));
  // IA-32e mode: a 64-bit code segment, and the full 64-bit SYSENTER_ESP/EIP.
  const long = (r.efer & EFER_LMA) !== 0;
  loadFlat(cpu, Seg.CS, cs, long ? FLAT_CODE64 : FLAT_CODE);
  loadFlat(cpu, Seg.SS, (cs + 8) & 0xffff, FLAT_DATA);
  setRegV(cpu, ESP, 4, msrs.sysenterEsp);
  r.rip = msrs.sysenterEip | 0;
  r.ripHi = 0;
  if (long) {
    r.gpr.hi[ESP] = msrs.sysenterEspHi | 0;
    r.ripHi = msrs.sysenterEipHi | 0;
  }
  privilegeChanged(cpu, 0);
}

/** SYSEXIT: from CPL 0 to CPL 3 at (SYSENTER_CS + 16) | 3 : EDX, SS = (SYSENTER_CS + 24) | 3, ESP = ECX. */
function sysexit(cpu: SoftCpu, insn: Instruction): void {
  const r = cpu.regs;
  const msrs = cpuEnvironmentOf(cpu).msrs;
  const base = msrs.sysenterCs & 0xffff;
  if ((base & 0xfffc) === 0 || !(r.cr0 & 1) || currentPl(cpu) !== 0) raise(Vector.GP, 0);
  const g = r.gpr;
  if (insn.opSize === 8) {
    // SYSEXIT with REX.W (IA-32e mode): to 64-bit code at SYSENTER_CS + 32, SS = + 40; RDX/RCX must be canonical.
    const ripHi = g.hi[EDX];
    const rspHi = g.hi[ECX];
    if ((ripHi << 16) >> 16 !== ripHi || (rspHi << 16) >> 16 !== rspHi) raise(Vector.GP, 0);
    loadFlat(cpu, Seg.CS, ((base + 32) | 3) & 0xffff, FLAT_CODE64 | DPL3);
    loadFlat(cpu, Seg.SS, ((base + 40) | 3) & 0xffff, FLAT_DATA | DPL3);
    r.rip = g.r32[EDX];
    r.ripHi = ripHi;
    g.r32[ESP] = g.r32[ECX];
    g.hi[ESP] = rspHi;
    privilegeChanged(cpu, 3);
    return;
  }
  loadFlat(cpu, Seg.CS, ((base + 16) | 3) & 0xffff, FLAT_CODE | DPL3);
  loadFlat(cpu, Seg.SS, ((base + 24) | 3) & 0xffff, FLAT_DATA | DPL3);
  r.rip = g.r32[EDX];
  r.ripHi = 0;
  setRegV(cpu, ESP, 4, g.r32[ECX]);
  privilegeChanged(cpu, 3);
}

export const CPUID_MSR_HANDLERS: HandlerTable = {
  cpuid, rdtsc, rdtscp, rdmsr, wrmsr, sysenter, sysexit,
  stac: (cpu) => setAc(cpu, true),
  clac: (cpu) => setAc(cpu, false),
};
