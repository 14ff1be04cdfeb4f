/**
 * Exception and interrupt delivery. Real mode (and virtual-8086 later) uses the interrupt
 * vector table: push FLAGS, CS, IP; clear IF, TF (and AC); load CS:IP from IVT[vector].
 * Protected mode goes through the IDT (protected/interrupt-gate.ts). A fault while
 * delivering a fault is handled by the double-fault rules of SDM Vol. 3, 6.15 (Table 6-5):
 * contributory + contributory, or #PF + (#PF or contributory) is #DF (error code 0); a fault
 * while delivering #DF is a triple fault, which the machine sees as a TripleFaultError
 * (hardware would shut down and the chipset would reset).
 */
import type { CpuFault } from './faults.js';
import { Vector } from './faults.js';
import type { SoftCpu } from './soft-cpu.js';
import { loadRealModeSegment, push16 } from './stack.js';
import { Seg } from '../state/segment-cache.js';
import { CpuFault as FaultClass } from '../mmu/cpu-fault.js';
import { protectedModeInterrupt } from './protected/interrupt-gate.js';
import { dropSingleStep } from './debug-traps.js';

const FLAG_TF = 0x100;
const FLAG_IF = 0x200;
const FLAG_AC = 0x40000;

export class TripleFaultError extends Error {
  constructor(readonly vector: number) {
    super(`triple fault (exception ${vector} while delivering a double fault): the machine must reset`);
    this.name = 'TripleFaultError';
  }
}

/** Delivers interrupt `vector` in real mode; `returnIp` is what IRET comes back to. */
export function realModeInterrupt(cpu: SoftCpu, vector: number, returnIp: number): void {
  const r = cpu.regs;
  const flags = r.flags.get();
  push16(cpu, flags);
  push16(cpu, r.seg.selector[Seg.CS]);
  push16(cpu, returnIp);
  r.flags.set(flags & ~(FLAG_IF | FLAG_TF | FLAG_AC));
  // The IVT is wherever IDTR.base points (LIDT works in real mode, SDM Vol. 3, 20.1.4).
  // Its limit is not checked yet: harnesses that set registers one by one leave it 0.
  const entry = (r.idtBase + vector * 4) >>> 0;
  const ip = cpu.mem.read16(entry);
  const cs = cpu.mem.read16(entry + 2);
  loadRealModeSegment(cpu, Seg.CS, cs);
  r.rip = ip;
}

/**
 * A software interrupt (INT n, INT3, INTO) in any mode: `returnIp` is the next instruction.
 * Faults while delivering it are ordinary faults of the INT instruction.
 */
export function softwareInterrupt(cpu: SoftCpu, vector: number, returnIp: number): void {
  dropSingleStep(cpu);
  if (cpu.regs.cr0 & 1) protectedModeInterrupt(cpu, vector, -1, returnIp, true);
  else realModeInterrupt(cpu, vector, returnIp);
}

/** 0: benign, 1: contributory, 2: page fault (SDM Vol. 3, Table 6-4). */
function faultClass(vector: number): number {
  if (vector === Vector.PF) return 2;
  return vector === Vector.DE || (vector >= Vector.TS && vector <= Vector.GP) ? 1 : 0;
}

/** Exceptions reported as faults (the pushed EIP is the faulting instruction's); #DB is a trap here. */
function isFault(vector: number): boolean {
  return vector !== Vector.DB && vector !== Vector.DF && vector !== Vector.MC;
}

/**
 * Delivers a hardware interrupt (PIC/APIC vector) between instructions; the caller has
 * checked EFLAGS.IF. EXT is set in any error code its delivery raises, and a fault raised
 * while delivering it is delivered in its place (an interrupt is benign for the #DF rules).
 */
export function deliverExternalInterrupt(cpu: SoftCpu, vector: number): void {
  cpu.halted = false;
  dropSingleStep(cpu);
  const rip = cpu.regs.rip;
  try {
    if (cpu.regs.cr0 & 1) protectedModeInterrupt(cpu, vector, -1, rip, false);
    else realModeInterrupt(cpu, vector, rip);
  } catch (e) {
    if (!(e instanceof FaultClass)) throw e;
    deliverException(cpu, e);
  }
}

function recordCr2(cpu: SoftCpu, fault: CpuFault): void {
  if (fault.vector !== Vector.PF) return;
  // The MMU reports 4-level addresses as 48-bit values: CR2 holds them sign-extended (canonical).
  const address = fault.address >= 0x800000000000 ? fault.address - 0x1000000000000 : fault.address;
  cpu.regs.cr2 = address | 0;
  cpu.regs.cr2Hi = Math.floor(address / 4294967296) | 0;
}

/**
 * Delivers `fault` (raised by the instruction at cpu.regs.rip) and any fault that
 * delivering it raises, per the double-fault rules.
 */
export function deliverException(cpu: SoftCpu, fault: CpuFault): void {
  dropSingleStep(cpu);
  recordCr2(cpu, fault);
  let vector = fault.vector;
  let code = fault.hasErrorCode ? fault.errorCode : -1;
  const rip = cpu.regs.rip;
  for (;;) {
    try {
      if (cpu.regs.cr0 & 1) protectedModeInterrupt(cpu, vector, code, rip, false, isFault(vector));
      else realModeInterrupt(cpu, vector, rip);
      cpu.lastException = vector;
      return;
    } catch (e) {
      if (!(e instanceof FaultClass)) throw e;
      const second = e.vector;
      if (vector === Vector.DF) throw new TripleFaultError(second);
      recordCr2(cpu, e);
      const first = faultClass(vector);
      const next = faultClass(second);
      if ((first === 1 && next === 1) || (first === 2 && next !== 0)) {
        vector = Vector.DF;
        code = 0;
      } else {
        vector = second;
        code = e.hasErrorCode ? e.errorCode : -1;
      }
    }
  }
}
