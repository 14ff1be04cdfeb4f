/**
 * The 64-bit effective address of a ModRM memory operand (base + index * scale + disp, or
 * RIP + disp) as two 32-bit halves, before any FS/GS base and any canonical check: what LEA
 * stores, and what BT* with a register bit offset moves from (SDM Vol. 1, 3.7.5).
 * addressing.ts's linear64 adds the segment base and the canonical check to it.
 */
import type { Instruction } from '../decoder/instruction.js';
import type { SoftCpu } from './soft-cpu.js';

/** Bits 63:32 of the last offset64 result (module scratch: no allocation per instruction). */
export let offsetHi = 0;

/** Bits 31:0 of the operand's 64-bit effective address (address size 8); bits 63:32 in offsetHi. */
export function offset64(cpu: SoftCpu, insn: Instruction): number {
  const g = cpu.regs.gpr;
  let lo = insn.disp >>> 0;
  let hi = insn.disp >> 31;
  if (insn.base >= 0) {
    const sum = lo + (g.r32[insn.base] >>> 0);
    lo = sum >>> 0;
    hi += g.hi[insn.base] + (sum > 0xffffffff ? 1 : 0);
  } else if (insn.detail.ripRelative) {
    const sum = lo + (cpu.regs.rip >>> 0);
    lo = sum >>> 0;
    hi += cpu.regs.ripHi + (sum > 0xffffffff ? 1 : 0);
  }
  if (insn.index >= 0) {
    const sc = insn.scale;
    const iLo = g.r32[insn.index] >>> 0;
    const iHi = sc === 0 ? g.hi[insn.index] : (g.hi[insn.index] << sc) | (iLo >>> (32 - sc));
    const sum = lo + ((iLo << sc) >>> 0);
    lo = sum >>> 0;
    hi += iHi + (sum > 0xffffffff ? 1 : 0);
  }
  offsetHi = hi | 0;
  return lo;
}
