/**
 * Exception and interrupt delivery. Real mode (and virtual-8086 later) uses the interrupt
 * vector table: push FLAGS, CS, IP; clear IF, TF (and AC); load CS:IP from IVT[vector].
 * Protected-mode delivery through the IDT comes with the system-architecture work; until
 * then a fault there is a triple fault reported to the caller.
 */
import type { CpuFault } from './faults.js';
import type { SoftCpu } from './soft-cpu.js';
import { loadRealModeSegment, push16 } from './stack.js';
import { Seg } from '../state/segment-cache.js';

const FLAG_TF = 0x100;
const FLAG_IF = 0x200;
const FLAG_AC = 0x40000;

export class TripleFaultError extends Error {
  constructor(readonly vector: number) {
    super(`exception ${vector} in protected mode: IDT delivery is not implemented yet`);
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
  const entry = vector * 4;
  const ip = cpu.mem.read16(entry);
  const cs = cpu.mem.read16(entry + 2);
  loadRealModeSegment(cpu, Seg.CS, cs);
  r.rip = ip;
}

export function deliverException(cpu: SoftCpu, fault: CpuFault): void {
  if (cpu.regs.cr0 & 1) throw new TripleFaultError(fault.vector);
  realModeInterrupt(cpu, fault.vector, cpu.regs.rip);
}
