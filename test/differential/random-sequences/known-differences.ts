/**
 * Differences between the software CPU and this host's CPU that are understood and reported
 * to the owners of the code at fault, but not fixed yet. Each one is recognised narrowly: it
 * rewrites the software result the way the fix would, and the sequence counts as "known" only
 * when nothing else differs after that. The goal is an empty list: delete an entry when its
 * fix lands (the CI test then fails on any sequence that still shows it).
 *
 * Differences the generator steers around instead (no entry here, see sequence-generator.ts):
 * - POPF setting AC: #AC(0) on a misaligned access, because PVM runs CPL3 code with CR0.AM = 1
 *   (kvm-user-sandbox.ts says AM is off); tsemu, with the sandbox's CR0, correctly ignores AC.
 * - ENTER whose new frame reaches a non-present page: the CPU faults (#PF, W, at the new RSP)
 *   before committing; tsemu completes it.
 * - LOCK on the hint NOPs 0F 18-0F 1F: this CPU ignores it, tsemu raises #UD.
 * - REX.W CMPXCHG8B (CMPXCHG16B): the host has CX16, tsemu's CPUID does not (#UD by design).
 * - A non-canonical RSP at the start: PVM gives unreliable results (a spurious #UD on a NOP).
 */
import type { SandboxResult } from '../kvm-user-sandbox.js';
import { decode } from '../../../packages/core-cpu/src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction } from '../../../packages/core-cpu/src/decoder/instruction.js';
import { CODE_BASE, USER_STACK_BASE } from '../sandbox-layout.js';
import { compareResults } from './compare.js';
import type { Sequence } from './sequence-generator.js';
import type { TcgResult } from './tcg-runner.js';

export interface KnownDifference {
  id: string;
  /** What the hardware does, what tsemu does, where the fix belongs. */
  description: string;
  /** The software result as it would be without this difference, or null when it does not apply. */
  correct(hw: SandboxResult, tcg: TcgResult, sequence: Sequence): TcgResult | null;
}

/** The table key and base register of the instruction at `rip` in the sequence, or null. */
function instructionAt(sequence: Sequence, rip: bigint): { key: string; base: number; a32String: boolean } | null {
  const offset = Number(rip - CODE_BASE);
  if (offset < 0 || offset >= sequence.input.code.length) return null;
  const code = sequence.input.code;
  const insn = new Instruction();
  if (decode({ fetch8: (a: number) => code[a] ?? 0 }, offset, CpuMode.Bits64, insn) !== DecodeStatus.Ok) return null;
  const string = /^(movs|cmps|stos|lods|scas)_/.test(insn.entry.key);
  return { key: insn.entry.key, base: insn.isMem ? insn.base : -1, a32String: string && insn.addrSize === 4 };
}

const PF_W = 2;
const RCX = 1;
const RSI = 6;
const RDI = 7;

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: 'call-noncanonical-push',
    description:
      'CALL near indirect to a non-canonical target: the CPU stores the return address at RSP - 8 and then raises ' +
      '#GP(0) with RSP unchanged; tsemu raises #GP(0) before the store (the stack below RSP keeps its old bytes). ' +
      'Fix (if wanted) in the CALL Ev handler (interp/handlers/control.ts): write the return address before the check.',
    correct(hw, tcg, sequence) {
      if (hw.exception?.vector !== 13 || tcg.exception?.vector !== 13) return null;
      if (instructionAt(sequence, hw.rip)?.key !== 'call_Ev') return null;
      const at = Number(BigInt.asUintN(64, hw.gpr[4]) - USER_STACK_BASE) - 8;
      if (at < 0 || at + 8 > hw.stack.length) return null;
      const stack = tcg.stack.slice();
      stack.set(hw.stack.subarray(at, at + 8), at);
      return { ...tcg, stack };
    },
  },
  {
    id: 'rep-a32-fault-zero-extend',
    description:
      'A REP string instruction with a 67 prefix (32-bit addressing) that faults, even on its first element: the ' +
      'CPU has written ECX, which zero-extends RCX (MOVS: also RSI and RDI, STOS: also RDI; LODS/CMPS/SCAS: only ' +
      'RCX); tsemu leaves bits 63:32 as they were. Fix in interp/handlers/string.ts (the fault path of the REP loop ' +
      'with ADDR32_IN_64).',
    correct(hw, tcg, sequence) {
      if (hw.exception === null || tcg.exception === null) return null;
      const at = instructionAt(sequence, hw.rip);
      if (at === null || !at.a32String) return null;
      let changed = false;
      const gpr = tcg.gpr.slice();
      for (const n of [RCX, RSI, RDI]) {
        const want = BigInt.asUintN(64, hw.gpr[n]);
        if (want !== gpr[n] && want === (gpr[n] & 0xffffffffn)) {
          gpr[n] = want;
          changed = true;
        }
      }
      return changed ? { ...tcg, gpr } : null;
    },
  },
  {
    id: 'rep-cmps-scas-fault-flags',
    description:
      'REP/REPNE CMPS or SCAS that page-faults after some iterations: on this host the CPU reports RCX/RSI/RDI at ' +
      'the faulting element but RFLAGS as they were before the instruction (measured under PVM on an Intel Xeon; ' +
      'worth confirming on bare metal); tsemu reports the flags of the last completed comparison. Fix, if confirmed, ' +
      'in interp/handlers/string.ts (restore the entry flags when an element faults).',
    correct(hw, tcg, sequence) {
      if (hw.exception === null || tcg.exception === null || hw.rflags === tcg.rflags) return null;
      const key = instructionAt(sequence, hw.rip)?.key ?? '';
      if (!key.startsWith('cmps') && !key.startsWith('scas')) return null;
      return { ...tcg, rflags: hw.rflags };
    },
  },
];

/** The ids ('+'-joined) of the known differences that together explain all of the mismatch, or null. */
export function explainMismatch(sequence: Sequence, hw: SandboxResult, tcg: TcgResult): string | null {
  let result = tcg;
  const ids: string[] = [];
  for (const known of KNOWN_DIFFERENCES) {
    const corrected = known.correct(hw, result, sequence);
    if (corrected === null) continue;
    result = corrected;
    ids.push(known.id);
    if (compareResults(sequence, hw, result).length === 0) return ids.join('+');
  }
  return null;
}
