/**
 * Instructions whose only system-side extra is an event between instructions, registered
 * after the groups that define them (handlers/index.ts GROUPS order) so these wrap them:
 * STI and MOV SS / POP SS start the interrupt shadow and POPF / IRET let the run loop see a
 * newly set TF (debug-traps.ts); INT1 (ICEBP, F1)
 * raises #DB as a trap without the gate DPL check of INT n (SDM Vol. 2 "INT n/INTO/INT3/INT1");
 * SALC (D6, not valid in 64-bit mode) sets AL to 0xFF or 0 from CF.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { dropSingleStep, noteFlagsLoaded, startInterruptShadow } from '../debug-traps.js';
import { Vector } from '../faults.js';
import { realModeInterrupt } from '../interrupts.js';
import { protectedModeInterrupt } from '../protected/interrupt-gate.js';
import type { SoftCpu } from '../soft-cpu.js';
import { CONTROL_HANDLERS } from './control.js';
import { DATA_HANDLERS } from './data.js';
import { FLAG_HANDLERS, STACK_HANDLERS } from './stack-ops.js';
import type { Handler, HandlerTable } from './types.js';

const FLAG_IF = 0x200;

function base(table: HandlerTable, key: string): Handler {
  const h = table[key];
  if (!h) throw new Error(`system-events: no base handler for ${key}`);
  return h;
}
const baseSti = base(FLAG_HANDLERS, 'sti');
const basePopSs = base(STACK_HANDLERS, 'pop_SS');
const baseMovSreg = base(DATA_HANDLERS, 'mov_Sw_Rv_Mw');
const basePopf = base(STACK_HANDLERS, 'popf');
const baseIret = base(CONTROL_HANDLERS, 'iret');

export const SYSTEM_EVENT_HANDLERS: HandlerTable = {
  sti: (cpu: SoftCpu, insn: Instruction) => {
    const before = cpu.regs.flags.raw & FLAG_IF;
    baseSti(cpu, insn);
    if (before === 0) {
      startInterruptShadow(cpu, false);
      cpu.onInterruptWindow?.();
    }
  },
  pop_SS: (cpu: SoftCpu, insn: Instruction) => {
    basePopSs(cpu, insn);
    startInterruptShadow(cpu, true);
  },
  mov_Sw_Rv_Mw: (cpu: SoftCpu, insn: Instruction) => {
    baseMovSreg(cpu, insn);
    if (insn.reg === Seg.SS) startInterruptShadow(cpu, true);
  },
  popf: (cpu: SoftCpu, insn: Instruction) => {
    basePopf(cpu, insn);
    noteFlagsLoaded(cpu);
  },
  iret: (cpu: SoftCpu, insn: Instruction) => {
    baseIret(cpu, insn);
    cpu.nmiBlocked = false;
    noteFlagsLoaded(cpu);
  },
  int1: (cpu: SoftCpu) => {
    dropSingleStep(cpu);
    const ip = cpu.regs.rip;
    if (cpu.regs.cr0 & 1) protectedModeInterrupt(cpu, Vector.DB, -1, ip, false);
    else realModeInterrupt(cpu, Vector.DB, ip);
  },
  salc: (cpu: SoftCpu) => {
    cpu.regs.gpr.r8[0] = cpu.regs.flags.cf() ? 0xff : 0;
  },
};
