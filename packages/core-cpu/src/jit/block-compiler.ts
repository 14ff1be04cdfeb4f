/**
 * Translates a decoded block (interp/decode-cache.ts) into a JavaScript function, compiled once
 * with `new Function`. Each guest instruction becomes straight-line code: either an inline form
 * emitted by jit/emitters.ts (constants folded in: register numbers, displacements,
 * immediates) or a direct call of the interpreter's handler for it. A call site that always
 * calls one handler is monomorphic, so V8 inlines the handler into the block; the interpreter's
 * dispatch (one megamorphic call per instruction, the block and handler array loads) is gone.
 * A block whose last instruction branches back to its start becomes a loop inside the
 * function, so a hot loop runs without leaving the translated code.
 *
 * The translated function keeps the interpreter's contract exactly, instruction by
 * instruction, so `--jit=on` and `--jit=off` run the same guest the same way (same
 * instruction counts, interrupts at the same boundaries):
 * - before each instruction RIP holds the next instruction's address (handlers read it for
 *   relative branches and pushed return addresses); `cpu.retired` counts each instruction as
 *   it completes (devices read time from it);
 * - after each instruction it stops when `cpu.pendingEvents` or `cpu.halted` says so, when
 *   RIP is not the next instruction (a branch taken, a REP resumed: a side exit), and a loop
 *   stops before an iteration that would pass the caller's instruction budget;
 * - a guest fault leaves `cpu.jitFaultIp` at the faulting instruction's address and propagates
 *   to the run loop, which delivers it as it does for the interpreter.
 *
 * A translation is only entered at the IP it was made for (`CompiledBlock.ip`): the block is
 * keyed by where its bytes are, and the same bytes may be reached at another IP (real-mode
 * segment aliases), where the RIP values folded in would be wrong.
 */
import { CpuMode, type Instruction } from '../decoder/instruction.js';
import { disassemble } from '../disasm/intel.js';
import type { CodeBlock } from '../interp/decode-cache.js';
import type { SoftCpu } from '../interp/soft-cpu.js';
import { EMIT_RUNTIME, emitInline, INLINE_PRELUDE, type EmitContext } from './emitters.js';

/** A translated block: runs it from its first instruction, returns the instructions completed. */
export type CompiledBlockFn = (cpu: SoftCpu, budget: number) => number;

export interface CompiledBlock {
  fn: CompiledBlockFn;
  /** The IP the translation was made for (its RIP constants assume it). */
  ip: number;
  /** The generated source (for --trace=jit and the golden tests). */
  source: string;
  /** Instructions emitted inline (the rest call their handlers). */
  inlined: number;
  /** True when the block loops back to its start inside the function. */
  loops: boolean;
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** The target of a relative branch at the end of `insn` (next = the address after it), or -1. */
function relativeTarget(insn: Instruction, next: number, ipMask: number): number {
  const key = insn.entry.key;
  if (!/^(j[a-z]+_J[bz]|loop(e|ne)?_Jb|jcxz_Jb)$/.test(key)) return -1;
  if (insn.opSize === 2) return (next + insn.imm) & 0xffff;
  return (next + insn.imm) & ipMask;
}

/**
 * The JavaScript source of `block`'s translation, entered at IP `ip`, and how many of its
 * instructions were inlined. `handlers` and `insns` of the block are passed to the function
 * as H0.., I0.. (see compileBlock).
 */
export function generateBlockSource(block: CodeBlock, ip: number): { source: string; inlined: number; loops: boolean } {
  const mode = block.mode;
  const ipMask = mode === CpuMode.Bits16 ? 0xffff : -1;
  const n = block.insns.length;
  const starts: number[] = [];
  const nexts: number[] = [];
  let at = ip;
  for (let j = 0; j < n; j++) {
    starts.push(at);
    at = (at + block.insns[j].length) & ipMask;
    nexts.push(at);
  }
  const last = block.insns[n - 1];
  const loops = relativeTarget(last, nexts[n - 1], ipMask) === (ip & ipMask);
  const lines: string[] = [];
  const indent = loops ? '      ' : '    ';
  let inlined = 0;
  for (let j = 0; j < n; j++) {
    const insn = block.insns[j];
    lines.push(`${indent}// ${hex(starts[j])}  ${disassemble(insn, starts[j] >>> 0)}`);
    lines.push(`${indent}j = ${j};`);
    const ctx: EmitContext = { insn, next: nexts[j] | 0, ipMask, index: j };
    const inline = emitInline(ctx);
    if (inline !== null) {
      inlined++;
      for (const l of inline.code) lines.push(indent + l);
      lines.push(`${indent}cpu.retired++; k++;`);
      if (inline.mayStop) lines.push(`${indent}if (cpu.pendingEvents !== 0 || cpu.halted) return k;`);
      if (inline.mayBranch && j < n - 1) lines.push(`${indent}if (r.rip !== ${nexts[j] | 0}) return k;`);
    } else {
      lines.push(`${indent}r.rip = ${nexts[j] | 0};`);
      lines.push(`${indent}H${j}(cpu, I${j});`);
      lines.push(`${indent}cpu.retired++; k++;`);
      lines.push(`${indent}if (cpu.pendingEvents !== 0 || cpu.halted) return k;`);
      if (j < n - 1) lines.push(`${indent}if (r.rip !== ${nexts[j] | 0}) return k;`);
    }
  }
  const body = loops
    ? [
      '    for (;;) {',
      ...lines,
      `      if (r.rip !== ${ip | 0} || k + ${n} > budget) return k;`,
      '    }',
    ]
    : [...lines, '    return k;'];
  const source = [
    `// block at ${hex(ip)}, ${n} instructions, ${mode}-bit code${loops ? ', loops to its start' : ''}`,
    ...INLINE_PRELUDE,
    'let k = 0;',
    'let j = 0;',
    'try {',
    ...body,
    '} catch (e) {',
    `  cpu.jitFaultIp = (${ip | 0} + OFFSETS[j]) & ${ipMask};`,
    '  throw e;',
    '}',
  ].join('\n');
  return { source, inlined, loops };
}

/** Compiles `block` for entry at IP `ip`. */
export function compileBlock(block: CodeBlock, ip: number): CompiledBlock {
  const { source, inlined, loops } = generateBlockSource(block, ip);
  const n = block.insns.length;
  const offsets = new Int32Array(n);
  let at = 0;
  for (let j = 0; j < n; j++) {
    offsets[j] = at;
    at += block.insns[j].length;
  }
  const names = ['OFFSETS', 'EMIT'];
  for (let j = 0; j < n; j++) names.push(`H${j}`, `I${j}`);
  const args: unknown[] = [offsets, EMIT_RUNTIME];
  for (let j = 0; j < n; j++) args.push(block.handlers[j], block.insns[j]);
  const factory = new Function(...names, `return function block(cpu, budget) {\nconst r = cpu.regs;\n${source}\n};`) as (...a: unknown[]) => CompiledBlockFn;
  return { fn: factory(...args), ip, source, inlined, loops };
}
