/**
 * Which blocks one translation covers. A hot block's translation also takes in the blocks its
 * direct branches lead to (Jcc both ways, JMP, CALL and the instruction after it, where the
 * callee's RET comes back), breadth first, as long as they lie in the same page, have already
 * run, and the total stays small. Inside the translation those branches are JS `continue`s:
 * no return to the run loop, no lookup, and registers and flags stay in locals (QEMU's
 * translation blocks stop at branches; v86 compiles a page's hot blocks into one function
 * with a dispatch loop, which is the model here).
 *
 * A member's block may be dropped (a code write, cache eviction): the run loop then drops the
 * translations that include it (CodeBlock.regionOwners, interp/decode-cache.ts).
 */
import { CpuMode, type Instruction } from '../decoder/instruction.js';
import type { CodeBlock } from '../interp/decode-cache.js';
import type { RegionMember } from './block-compiler.js';
import { directTargets, instructionEnds } from './direct-emitters.js';

/** `--jit-blocks` at most: blocks per translation, the entry included. */
export const MAX_REGION_BLOCKS = 8;
/** Instructions per translation at most. */
export const MAX_REGION_INSTRUCTIONS = 128;
/**
 * A WebAssembly translation's limits (jit/wasm/). V8 never throws WebAssembly code away on a
 * path that had not run, so a translation may take self-looping blocks and more blocks than a
 * JavaScript one; but a very large function runs slowly until V8 has optimised it (Liftoff
 * first). Measured on the Linux boot's xz decompressor (million instructions a second, one
 * boot each, same hour): 4 blocks of 128 instructions 120, 8 of 256 with self-looping blocks
 * 150-257, 32 of 1,024 80-130 (each translation ~100 KB of code).
 */
export const WASM_REGION_BLOCKS = 8;
export const WASM_REGION_INSTRUCTIONS = 256;

/** Interpreted runs a block needs before a translation takes it in (never-run paths stay out). */
export const MIN_MEMBER_RUNS = 8;

function isUnconditionalEnd(insn: Instruction): boolean {
  const k = insn.entry.key;
  return k === 'jmp_Jb' || k === 'jmp_Jz' || k === 'ret' || k === 'jmp_Ev' || k === 'hlt';
}

function ipMaskOf(block: CodeBlock): number {
  return block.mode === CpuMode.Bits16 ? 0xffff : -1;
}

/** The IPs a block's direct branches and calls, and its fall-through, lead to. */
function successors(block: CodeBlock, ip: number): number[] {
  const { targets, end } = directTargets(block.insns, ip, ipMaskOf(block));
  return isUnconditionalEnd(block.insns[block.insns.length - 1]) ? targets : [...targets, end];
}

function loopsOnItself(block: CodeBlock, ip: number): boolean {
  return directTargets(block.insns, ip, ipMaskOf(block)).targets.includes(ip | 0);
}

/** Adds the IPs of `block`'s instructions after its first (entered at `ip`) to `into`. */
function addBoundaries(into: Set<number>, block: CodeBlock, ip: number): void {
  for (const at of instructionEnds(block.insns, ip, ipMaskOf(block)).slice(0, -1)) into.add(at);
}

/**
 * The blocks to translate with `entry` (entered at `ip`), not counting it. `lookup` gives the
 * cached block at an IP in the entry's page, or null (another page, not decoded, not run).
 */
export function regionMembers(
  entry: CodeBlock,
  ip: number,
  lookup: (ip: number) => CodeBlock | null,
  maxBlocks = MAX_REGION_BLOCKS,
  maxInstructions = MAX_REGION_INSTRUCTIONS,
  selfLoops = false,
): RegionMember[] {
  const members: RegionMember[] = [];
  const seen = new Set<number>([(ip & ipMaskOf(entry)) | 0]);
  // A target in the middle of a block already taken is reached there (an inner label,
  // block-compiler.ts), not through a copy of the block's tail.
  const inner = new Set<number>();
  addBoundaries(inner, entry, ip);
  const queue: RegionMember[] = [{ block: entry, ip }];
  let total = entry.insns.length;
  while (queue.length > 0 && members.length + 1 < maxBlocks) {
    const from = queue.shift()!;
    for (const target of successors(from.block, from.ip)) {
      if (seen.has(target) || inner.has(target)) continue;
      seen.add(target);
      const block = lookup(target);
      if (block === null || block.runs < MIN_MEMBER_RUNS || total + block.insns.length > maxInstructions) continue;
      // A block that loops on itself keeps a JavaScript translation of its own: its loop then
      // runs in a small function V8 optimises on its own, not inside a larger one (measured faster).
      if (!selfLoops && loopsOnItself(block, target)) continue;
      members.push({ block, ip: target });
      addBoundaries(inner, block, target);
      queue.push({ block, ip: target });
      total += block.insns.length;
      if (members.length + 1 >= maxBlocks) break;
    }
  }
  return members;
}
