/**
 * The shape of one translation of several blocks, shared by both backends (block-compiler.ts,
 * wasm/region.ts): its case labels (each member's start, and the instructions inside a block
 * that a branch of the translation reaches), which IPs are inside it, and whether it branches
 * inside itself.
 */
import { CpuMode } from '../decoder/instruction.js';
import { endsBlock } from '../interp/loop-handlers.js';
import type { RegionMember } from './block-compiler.js';
import { directTargets, instructionEnds } from './direct-emitters.js';

/**
 * Per member: the instructions (by index in its block, never the first) that a direct branch
 * or a block's fall-through in the translation reaches, with their IPs. Each gets a case label
 * of its own, which the code before it falls through into, so a loop whose head is in the middle
 * of a block (the decoder's blocks go on past a Jcc) runs without leaving the translation. An IP
 * that is some member's start, or already has a label, gets none.
 */
function innerLabels(members: RegionMember[], ipMask: number, entries: number[]): Map<number, number>[] {
  const targets = new Set<number>();
  for (const m of members) {
    const { targets: direct, end } = directTargets(m.block.insns, m.ip, ipMask);
    for (const t of direct) targets.add(t);
    targets.add(end);
  }
  const labelled = new Set<number>(entries);
  return members.map((m) => {
    const labels = new Map<number, number>();
    const ends = instructionEnds(m.block.insns, m.ip, ipMask);
    for (let j = 1; j < ends.length; j++) {
      const at = ends[j - 1];
      if (targets.has(at) && !labelled.has(at)) {
        labels.set(j, at);
        labelled.add(at);
      }
    }
    return labels;
  });
}

export interface RegionLayout {
  mode: CpuMode;
  /** 0xffff in 16-bit code, else -1. */
  ipMask: number;
  /** Each member's entry IP. */
  entries: number[];
  /** Per member: its inner labels (instruction index -> IP). */
  labels: Map<number, number>[];
  /** Every IP a branch may go to without leaving: each member's start, then its inner labels. */
  caseIps: number[];
  isMember: (target: number | null) => boolean;
  /** The longest member (a branch inside stops before a block that could pass the budget). */
  maxLength: number;
  /** Instructions in all. */
  total: number;
  /** The translation branches inside itself: a loop back to a block's start, or to another member. */
  loops: boolean;
}

export function regionLayout(members: RegionMember[]): RegionLayout {
  const mode = members[0].block.mode;
  const ipMask = mode === CpuMode.Bits16 ? 0xffff : -1;
  const entries = members.map((m) => (m.ip & ipMask) | 0);
  const labels = innerLabels(members, ipMask, entries);
  const caseIps: number[] = [];
  members.forEach((_m, i) => {
    caseIps.push(entries[i]);
    for (const ip of labels[i].values()) caseIps.push(ip);
  });
  const inside = new Set(caseIps);
  const isMember = (target: number | null): boolean => target !== null && inside.has(target | 0);
  const maxLength = Math.max(...members.map((m) => m.block.insns.length));
  const total = members.reduce((sum, m) => sum + m.block.insns.length, 0);
  let loops = false;
  for (const m of members) {
    const { targets, end } = directTargets(m.block.insns, m.ip, ipMask);
    if (targets.some(isMember)) loops = true;
    if (members.length > 1 && !endsBlock(m.block.insns[m.block.insns.length - 1]) && isMember(end)) loops = true;
  }
  return { mode, ipMask, entries, labels, caseIps, isMember, maxLength, total, loops };
}
