/**
 * Inline JavaScript for single instructions inside a translated block (block-compiler.ts).
 * An emitter returns the statements for one decoded instruction with its operands folded in
 * as constants, or null to leave it to the interpreter's handler (called directly from the
 * block). Inline code must do exactly what the handler does: the same register and memory
 * effects, the same lazy-flags record, the same faults in the same order.
 *
 * Names the code may use: `cpu` (SoftCpu), `r` (cpu.regs), and the prelude's locals below;
 * `EMIT` is EMIT_RUNTIME (helpers the inline code calls).
 */
import type { Instruction } from '../decoder/instruction.js';

export interface EmitContext {
  insn: Instruction;
  /** RIP after the instruction (masked to the code size). */
  next: number;
  /** 0xffff in 16-bit code, -1 otherwise. */
  ipMask: number;
  /** Position in the block (the name suffix of its handler H<index> and record I<index>). */
  index: number;
}

export interface InlineCode {
  code: string[];
  /** Touches memory or a device: the block checks pendingEvents/halted after it. */
  mayStop: boolean;
  /** May leave RIP somewhere other than the next instruction. */
  mayBranch: boolean;
}

/** Locals every translated block starts with. */
export const INLINE_PRELUDE: readonly string[] = [
  'const g32 = r.gpr.r32;',
  'const ghi = r.gpr.hi;',
];

/** Helpers inline code calls through `EMIT`. */
export const EMIT_RUNTIME = {};

/** The inline form of `ctx.insn`, or null when the block calls its handler. */
export function emitInline(_ctx: EmitContext): InlineCode | null {
  return null;
}
