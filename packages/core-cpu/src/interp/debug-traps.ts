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
 * - the debug registers DR0-DR7 (stored per CPU) and DR7 instruction breakpoints (R/W = 00):
 *   checked after each instruction against the next one's linear address while any is
 *   enabled, raised as a fault (#DB, DR6.Bn) with RF set in the pushed EFLAGS so that the
 *   handler's IRET runs the instruction once without re-triggering (SDM Vol. 3, 17.3.1.1).
 *   Not checked: the first instruction after an exception or interrupt delivery, and data
 *   breakpoints (R/W = 01/11) and I/O breakpoints, which are stored but never raised.
 *
 * The run loop pays one test per instruction: `cpu.pendingEvents !== 0`. Instructions that can
 * set TF (POPF, IRET, a task switch; SYSRET when it exists) call noteFlagsLoaded so that the
 * loop looks at TF after them; TF set in a state loaded from outside is seen after the next
 * such instruction (a gap: the run loop does not test TF when a slice starts).
 */
import { CpuFault } from '../mmu/cpu-fault.js';
import { Vector } from './faults.js';
import { deliverException, realModeInterrupt } from './interrupts.js';
import { protectedModeInterrupt } from './protected/interrupt-gate.js';
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
/** DR7 enables an instruction breakpoint: check the next instruction's address (persistent). */
export const EVENT_BREAKPOINTS = 32;
/** RF was set when the current instruction started: it skips the breakpoint check once. */
export const EVENT_RF_SEEN = 64;
/** A write dropped decoded code, maybe the block running: the loop looks up the next one afresh. */
export const EVENT_CODE_CHANGED = 128;
/** The accelerator asked the burst to end after this instruction (SoftCpu.stopAfterInstruction). */
export const EVENT_STOP = 256;

const FLAG_TF = 0x100;
const FLAG_RF = 0x10000;
const FLAG_VM = 0x20000;
export const DR6_BS = 1 << 14;
export const DR6_BT = 1 << 15;
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

/** Recomputes EVENT_BREAKPOINTS after a DR7 write: any L/G-enabled breakpoint with R/W = 00. */
export function syncBreakpoints(cpu: SoftCpu): void {
  const dr7 = debugRegisters(cpu)[7];
  let any = false;
  for (let n = 0; n < 4; n++) if ((dr7 >>> (n * 2)) & 3 && ((dr7 >>> (16 + n * 4)) & 3) === 0) any = true;
  if (any) cpu.pendingEvents |= EVENT_BREAKPOINTS;
  else cpu.pendingEvents &= ~(EVENT_BREAKPOINTS | EVENT_RF_SEEN);
}

/**
 * Raises the instruction breakpoint matching the next instruction, if any: a fault, so the
 * pushed EIP is that instruction's and the pushed EFLAGS has RF. Returns true when raised.
 */
function checkInstructionBreakpoint(cpu: SoftCpu): boolean {
  const r = cpu.regs;
  const d = debugRegisters(cpu);
  const dr7 = d[7];
  const vm = (r.flags.raw & FLAG_VM) !== 0;
  const ip = r.cr0 & 1 && !vm && r.seg.attr[1] & 0x4000 ? r.rip : r.rip & 0xffff;
  const lin = (r.seg.base[1] + ip) >>> 0;
  let hits = 0;
  for (let n = 0; n < 4; n++) {
    if ((dr7 >>> (n * 2)) & 3 && ((dr7 >>> (16 + n * 4)) & 3) === 0 && d[n] >>> 0 === lin) hits |= 1 << n;
  }
  if (hits === 0) return false;
  d[6] = (d[6] & ~0xf) | hits;
  cpu.halted = false;
  try {
    if (r.cr0 & 1) protectedModeInterrupt(cpu, Vector.DB, -1, r.rip, false, true);
    else realModeInterrupt(cpu, Vector.DB, r.rip);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    deliverException(cpu, e);
  }
  cpu.lastException = Vector.DB;
  return true;
}

/** The TSS T flag: #DB (DR6.BT) delivered right after the task switch, at the new task's EIP. */
export function taskSwitchTrap(cpu: SoftCpu): void {
  debugRegisters(cpu)[6] |= DR6_BT;
  deliverException(cpu, DEBUG_TRAP);
  cpu.lastException = Vector.DB;
}

/** STI that set IF, or a load of SS: interrupts wait until the next instruction completes. */
export function startInterruptShadow(cpu: SoftCpu, stackLoad: boolean): void {
  cpu.interruptShadow = true;
  cpu.pendingEvents |= EVENT_SHADOW_NEW | (stackLoad ? EVENT_SHADOW_SS : 0);
}

/** EFLAGS was just loaded: if TF is now set, single-stepping starts after the next instruction. */
export function noteFlagsLoaded(cpu: SoftCpu): void {
  if (cpu.regs.flags.raw & FLAG_TF) cpu.pendingEvents |= EVENT_CHECK_TF;
  cpu.onInterruptWindow?.();
}

/**
 * An interrupt or exception is being delivered: TF is cleared, so no step is pending for it,
 * and an interrupt shadow ends (the instruction it covered did not complete).
 */
export function dropSingleStep(cpu: SoftCpu): void {
  if (cpu.pendingEvents === 0) return;
  cpu.pendingEvents &= ~(EVENT_STEP_ARMED | EVENT_SHADOW_NEW | EVENT_SHADOW_ACTIVE | EVENT_SHADOW_SS);
  cpu.interruptShadow = false;
}

/**
 * After an instruction completed, when pendingEvents or TF is non-zero: ages the interrupt
 * shadow, delivers a pending single-step #DB, and arms the step for the next instruction.
 */
export function afterInstruction(cpu: SoftCpu): void {
  const r = cpu.regs;
  let ev = cpu.pendingEvents;
  if (ev & EVENT_SHADOW_ACTIVE) {
    ev &= ~(EVENT_SHADOW_ACTIVE | EVENT_SHADOW_SS);
    cpu.interruptShadow = false;
  }
  const ssShadow = (ev & EVENT_SHADOW_NEW) !== 0 && (ev & EVENT_SHADOW_SS) !== 0;
  if (ev & EVENT_SHADOW_NEW) ev = (ev & ~EVENT_SHADOW_NEW) | EVENT_SHADOW_ACTIVE;
  const step = (ev & EVENT_STEP_ARMED) !== 0 && !ssShadow;
  cpu.pendingEvents = ev & ~(EVENT_STEP_ARMED | EVENT_CHECK_TF | EVENT_CODE_CHANGED | EVENT_STOP);
  // RF: set by an IRET/POPF to skip one breakpoint check; cleared once an instruction
  // completed with it set (the instruction it was meant for).
  let rfSkip = false;
  if (r.flags.raw & FLAG_RF) {
    if (ev & EVENT_RF_SEEN) {
      r.flags.raw &= ~FLAG_RF;
      cpu.pendingEvents &= ~EVENT_RF_SEEN;
    } else {
      cpu.pendingEvents |= EVENT_RF_SEEN;
      rfSkip = true;
    }
  } else cpu.pendingEvents &= ~EVENT_RF_SEEN;
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
  if (r.flags.raw & FLAG_TF || (ssShadow && ev & EVENT_STEP_ARMED)) cpu.pendingEvents |= EVENT_STEP_ARMED;
  if (cpu.pendingEvents & EVENT_BREAKPOINTS && !step && !rfSkip && !ssShadow) checkInstructionBreakpoint(cpu);
}
