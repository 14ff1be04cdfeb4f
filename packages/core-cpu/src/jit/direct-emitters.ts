/**
 * Instructions the JIT writes itself rather than inlining a handler, because their handler is
 * generic where the translation knows more: a relative conditional branch knows its target at
 * translation time (the handler computes it from RIP). The register-level forms are
 * register-forms.ts. Each must do exactly what the interpreter does; the JIT tests run both
 * and compare.
 */
import { CpuMode, type Instruction } from '../decoder/instruction.js';
import { keyParts } from './key-parts.js';

/**
 * The target IP of a relative branch (JMP, Jcc, LOOPcc, JCXZ) in 16/32-bit code whose next
 * instruction is at `next`, as the handlers compute it (a 16-bit operand size wraps at 64 KiB);
 * null for any other instruction.
 */
export function relativeTarget(insn: Instruction, next: number): number | null {
  if (!keyParts(insn.entry).relativeBranch || insn.mode === CpuMode.Bits64) return null;
  return insn.opSize === 2 ? (next + insn.imm) & 0xffff : (next + insn.imm) | 0;
}

/** Jcc rel8/rel32: condition code (the opcode's low nibble) and the target IP, or null. */
export function conditionalBranch(insn: Instruction, next: number): { cc: number; target: number } | null {
  if (!keyParts(insn.entry).jcc) return null;
  const target = relativeTarget(insn, next);
  return target === null ? null : { cc: insn.opcode & 0xf, target };
}

/**
 * LOOP, LOOPE, LOOPNE and JCXZ (rel8) in 16/32-bit code: which one, and the target IP; null for
 * any other instruction. Their count register is CX or ECX by address size.
 */
export function countBranch(insn: Instruction, next: number): { kind: 'loop' | 'loope' | 'loopne' | 'jcxz'; target: number } | null {
  const k = insn.entry.key;
  if (k !== 'loop_Jb' && k !== 'loope_Jb' && k !== 'loopne_Jb' && k !== 'jcxz_Jb') return null;
  if (insn.addrSize === 8) return null;
  const target = relativeTarget(insn, next);
  return target === null ? null : { kind: k.slice(0, -3) as 'loop' | 'loope' | 'loopne' | 'jcxz', target };
}

/** Where CALL rel16/rel32 in 16/32-bit code whose next instruction is at `next` goes; null for anything else. */
export function callTarget(insn: Instruction, next: number): number | null {
  if (insn.entry.key !== 'call_Jz' || insn.mode === CpuMode.Bits64) return null;
  return insn.opSize === 2 ? (next + insn.imm) & 0xffff : (next + insn.imm) | 0;
}

/**
 * The IP after each of a run of instructions entered at `ip` (`ipMask`: 0xffff in 16-bit code,
 * else -1), so also the IP of each but the first: [k - 1] is instruction k's.
 */
export function instructionEnds(insns: readonly Instruction[], ip: number, ipMask: number): number[] {
  const ends: number[] = [];
  let at = ip & ipMask;
  for (const insn of insns) {
    at = (at + insn.length) & ipMask;
    ends.push(at | 0);
  }
  return ends;
}

/**
 * The IPs a run of instructions entered at `ip` names directly (relative branches and calls),
 * and the IP after its last instruction (`ipMask`: 0xffff in 16-bit code, else -1).
 */
export function directTargets(insns: readonly Instruction[], ip: number, ipMask: number): { targets: number[]; end: number } {
  const ends = instructionEnds(insns, ip, ipMask);
  const targets: number[] = [];
  insns.forEach((insn, k) => {
    const target = relativeTarget(insn, ends[k]) ?? callTarget(insn, ends[k]);
    if (target !== null) targets.push(target | 0);
  });
  return { targets, end: ends.length > 0 ? ends[ends.length - 1] : (ip & ipMask) | 0 };
}
