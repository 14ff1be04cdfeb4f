/**
 * Differences between the software CPU and this host's CPU that are understood and reported
 * to the owners of the code at fault, but not fixed yet. Each one is recognised narrowly: it
 * rewrites the software result the way the fix would, and the sequence counts as "known" only
 * when nothing else differs after that. The goal is an empty list: delete an entry when its
 * fix lands (the CI test then fails on any sequence that still shows it). Empty today: the seven
 * found so far (RMW #PF W bit, CR2 of a page-crossing store, #SS for RSP/RBP operands, POP Ev
 * and CALL faults, REP with a 67 prefix, REP CMPS/SCAS flags) are fixed, and their sequences are
 * regression cases that must now match exactly.
 *
 * Differences the generator steers around instead (no entry here, see sequence-generator.ts):
 * - POPF setting AC: #AC(0) on a misaligned access, because PVM runs CPL3 code with CR0.AM = 1
 *   (kvm-user-sandbox.ts says AM is off); tsemu, with the sandbox's CR0, correctly ignores AC.
 * - ENTER whose new frame reaches a non-present page (tsemu now faults as the CPU does; the
 *   generator still keeps ENTER away from the bottom of the stack).
 * - LOCK on the hint NOPs 0F 18-0F 1F: this CPU ignores it, tsemu raises #UD.
 * - REX.W CMPXCHG8B (CMPXCHG16B): the host has CX16, tsemu's CPUID does not (#UD by design).
 * - A non-canonical RSP at the start: PVM gives unreliable results (a spurious #UD on a NOP).
 */
import type { SandboxResult } from '../kvm-user-sandbox.js';
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

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [];

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
