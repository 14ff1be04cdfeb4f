/**
 * Events between instructions (SDM Vol. 3, 6.8.3 "Masking Exceptions and Interrupts When
 * Switching Stacks", 17.3.1.4 "Single-Step Exception Condition", 17.2 debug registers):
 *
 * - the interrupt shadow: after STI (IF 0 -> 1) and after MOV SS / POP SS, external interrupts
 *   are not taken until the next instruction has completed; `cpu.interruptShadow` is true
 *   while one is in force (accelerators check it with EFLAGS.IF);
 * - single-step: EFLAGS.TF set when an instruction starts -> #DB (DR6.BS) after it completes.
 *   A MOV SS / POP SS delays it past the next instruction. Delivering an interrupt or
 *   exception clears TF, and the step armed for the interrupted instruction is dropped.
 * - the debug registers DR0-DR7 (stored per CPU; DR7 breakpoints are not raised).
 *
 * The run loop pays one test per instruction: `cpu.pendingEvents !== 0`. Instructions that can
 * set TF (POPF, IRET, a task switch; SYSRET when it exists) call noteFlagsLoaded so that the
 * loop looks at TF after them; TF set in a state loaded from outside is seen after the next
 * such instruction (a gap: the run loop does not test TF when a slice starts).
 */
import { CpuFault } from '../mmu/cpu-fault.js';
import { Vector } from './faults.js';
import { deliverException } from './interrupts.js';
import type { SoftCpu } from './soft-cpu.js';

/** pendingEvents bits. */
export const EVENT_SHADOW_NEW = 1;
export const EVENT_SHADOW_ACTIVE = 2;
/** The shadow came from MOV SS / POP SS: debug traps wait too. */
export const EVENT_SHADOW_SS = 4;
/** TF was set when the current instruction started. */
export const EVENT_STEP_ARMED = 8;
/** EFLAGS was loaded (POPF, IRET, task switch): look at TF after this instruction. */
export const EVENT_CHECK_TF = 16;

const FLAG_TF = 0x100;
export const DR6_BS = 1 << 14;
const DR6_FIXED = 0xffff0ff0 | 0;
const DR7_FIXED = 0x400;

const DEBUG_TRAP = new CpuFault(Vector.DB, 0, false);

/** DR0-DR7 per CPU (DR4/DR5 alias DR6/DR7 in system.ts). */
const DEBUG_REGS = new WeakMap<SoftCpu, Int32Array>();

export function debugRegisters(cpu: SoftCpu): Int32Array {
  let d = DEBUG_REGS.get(cpu);
  if (!d) {
    d = new Int32Array(8);
    d[6] = DR6_FIXED;
    d[7] = DR7_FIXED;
    DEBUG_REGS.set(cpu, d);
  }
  return d;
}

/** STI that set IF, or a load of SS: interrupts wait until the next instruction completes. */
export function startInterruptShadow(cpu: SoftCpu, stackLoad: boolean): void {
  cpu.interruptShadow = true;
  cpu.pendingEvents |= EVENT_SHADOW_NEW | (stackLoad ? EVENT_SHADOW_SS : 0);
}

/** EFLAGS was just loaded: if TF is now set, single-stepping starts after the next instruction. */
export function noteFlagsLoaded(cpu: SoftCpu): void {
  if (cpu.regs.flags.raw & FLAG_TF) cpu.pendingEvents |= EVENT_CHECK_TF;
}

/** An interrupt or exception is being delivered: TF is cleared, no step is pending for it. */
export function dropSingleStep(cpu: SoftCpu): void {
  if (cpu.pendingEvents !== 0) cpu.pendingEvents &= ~EVENT_STEP_ARMED;
}

/**
 * After an instruction completed, when pendingEvents or TF is non-zero: ages the interrupt
 * shadow, delivers a pending single-step #DB, and arms the step for the next instruction.
 */
export function afterInstruction(cpu: SoftCpu): void {
  let ev = cpu.pendingEvents;
  if (ev & EVENT_SHADOW_ACTIVE) {
    ev &= ~(EVENT_SHADOW_ACTIVE | EVENT_SHADOW_SS);
    cpu.interruptShadow = false;
  }
  const ssShadow = (ev & EVENT_SHADOW_NEW) !== 0 && (ev & EVENT_SHADOW_SS) !== 0;
  if (ev & EVENT_SHADOW_NEW) ev = (ev & ~EVENT_SHADOW_NEW) | EVENT_SHADOW_ACTIVE;
  const step = (ev & EVENT_STEP_ARMED) !== 0 && !ssShadow;
  cpu.pendingEvents = ev & ~(EVENT_STEP_ARMED | EVENT_CHECK_TF);
  if (step) {
    const d = debugRegisters(cpu);
    d[6] |= DR6_BS;
    // A trap: the saved EIP is the next instruction's, which regs.rip already holds. After a
    // HLT the handler runs and returns past it, as for an interrupt that ends the halt.
    cpu.halted = false;
    deliverException(cpu, DEBUG_TRAP);
    cpu.lastException = Vector.DB;
  }
  // Armed for the next instruction if TF is set now (after a step delivery TF is clear), or
  // still armed when a stack-load shadow postponed this step.
  if (cpu.regs.flags.raw & FLAG_TF || (ssShadow && ev & EVENT_STEP_ARMED)) cpu.pendingEvents |= EVENT_STEP_ARMED;
}
