/**
 * Instructions the JIT writes itself rather than inlining a handler, because their handler is
 * generic where the translation knows more: a relative conditional branch knows its target at
 * translation time (the handler computes it from RIP), and LEA's handler goes through a
 * private helper for every address size. Each must do exactly what the interpreter does; the
 * JIT tests run both and compare.
 */
import { CpuMode, type Instruction } from '../decoder/instruction.js';
import { offsetExpression } from './inline-handlers.js';

/** Jcc rel8/rel32: condition code (the opcode's low nibble) and the target IP, or null. */
export function conditionalBranch(insn: Instruction, next: number): { cc: number; target: number } | null {
  const key = insn.entry.key;
  if (!/^j(n?[obeslp]|ae|be|a|ge|le|g|l)_J[bz]$/.test(key) || insn.mode === CpuMode.Bits64) return null;
  const target = insn.opSize === 2 ? (next + insn.imm) & 0xffff : (next + insn.imm) | 0;
  return { cc: insn.opcode & 0xf, target };
}

/** LEA in 16/32-bit code as register stores with the offset's constants, or null. */
export function leaStatement(insn: Instruction): string | null {
  if (insn.entry.key !== 'lea_Gv_M' || insn.mode === CpuMode.Bits64 || !insn.isMem) return null;
  const off = offsetExpression(insn);
  if (insn.opSize === 4) return `$g32[${insn.reg}] = ${off}; $ghi[${insn.reg}] = 0;`;
  if (insn.opSize === 2) return `$g16[${insn.reg << 1}] = ${off};`;
  return null;
}
