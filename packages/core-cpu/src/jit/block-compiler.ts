/**
 * Translates a decoded block (interp/decode-cache.ts) into a JavaScript function, compiled once
 * with `new Function`. Each guest instruction becomes straight-line code: its interpreter
 * handler inlined with the decoded fields folded in as constants (inline-handlers.ts), or, when
 * the handler cannot be inlined, a direct call of it. Such a call site always calls one
 * function, so V8 can inline it too; the interpreter's dispatch (a megamorphic call per
 * instruction, block and handler array loads) is gone. A block with a relative branch back to
 * its start becomes a loop inside the function, so a hot loop runs without leaving it.
 *
 * The translated function keeps the interpreter's contract instruction by instruction, so
 * `--jit=on` and `--jit=off` run a guest the same way (same instruction counts, interrupts at
 * the same boundaries):
 * - an instruction that may touch memory, a device or RIP sees RIP = the next instruction's
 *   address and `cpu.retired` = the instructions completed before it (devices read time from
 *   it); register-only instructions in between skip those stores;
 * - after an instruction that may touch memory or a device, it stops when `cpu.pendingEvents`
 *   says so (a stop request from a device is one of those events); after one that may branch, when RIP is not the next instruction (a
 *   side exit); a loop stops before an iteration that could pass the caller's budget;
 * - a guest fault leaves `cpu.jitFaultIp` at the faulting instruction's address and
 *   `cpu.retired` counting the instructions before it, and propagates to the run loop.
 *
 * A translation is only entered at the IP it was made for (`CompiledBlock.ip`): the block is
 * keyed by where its bytes are, and the same bytes may be reached at another IP (real-mode
 * segment aliases), where the RIP values folded in would be wrong.
 */
import { CpuMode } from '../decoder/instruction.js';
import { disassemble } from '../disasm/intel.js';
import type { CodeBlock } from '../interp/decode-cache.js';
import type { SoftCpu } from '../interp/soft-cpu.js';
import { handlerTemplate, INLINE_SCOPE, instantiate } from './inline-handlers.js';
import { conditionalBranch, leaStatement, relativeTarget } from './direct-emitters.js';
import { condition } from '../interp/handlers/control.js';

/** A translated block: runs it from its first instruction, returns the instructions completed. */
export type CompiledBlockFn = (cpu: SoftCpu, budget: number) => number;

export interface CompiledBlock {
  fn: CompiledBlockFn;
  /** The IP the translation was made for (its RIP constants assume it). */
  ip: number;
  /** The generated source (for --trace=jit and the golden tests). */
  source: string;
  /** Instructions inlined (the rest call their handlers). */
  inlined: number;
  /** True when the block loops back to its start inside the function. */
  loops: boolean;
}

/**
 * Attached to a block whose translation failed: its IP (NaN) matches no entry IP, so the run loop
 * keeps interpreting the block and never tries to translate it again.
 */
export const UNTRANSLATABLE: CompiledBlock = Object.freeze({
  fn: () => {
    throw new Error('an untranslatable block was entered');
  },
  ip: NaN,
  source: '',
  inlined: 0,
  loops: false,
});

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** The source of `block`'s translation for entry at IP `ip`. */
export function generateBlockSource(block: CodeBlock, ip: number): { source: string; inlined: number; loops: boolean } {
  const mode = block.mode;
  const ipMask = mode === CpuMode.Bits16 ? 0xffff : -1;
  const start = ip & ipMask;
  const n = block.insns.length;
  const nexts: number[] = [];
  let at = start;
  for (let j = 0; j < n; j++) {
    at = (at + block.insns[j].length) & ipMask;
    nexts.push(at | 0);
  }
  const loops = block.insns.some((insn, j) => relativeTarget(insn, nexts[j]) === (start | 0));
  const ind = loops ? '    ' : '  ';
  const lines: string[] = [];
  const emit = (code: string): void => {
    lines.push(ind + code);
  };
  const exit = '{ cpu.retired = base + k; return k; }';
  let inlined = 0;
  // RIP holds the last instruction's successor unless that instruction moved it (or may have).
  let ripStoredLast = false;
  let addr = start;
  for (let j = 0; j < n; j++) {
    const insn = block.insns[j];
    const next = nexts[j];
    emit(`// ${hex(addr)}  ${disassemble(insn, addr >>> 0)}`);
    addr = next;
    const branch = conditionalBranch(insn, next);
    if (branch !== null) {
      // Register-only: RIP is stored on the taken path alone.
      inlined++;
      emit(`j = ${j}; k++;`);
      const taken = branch.target === start && loops
        ? `if (k + ${n} > budget) ${exit} continue;`
        : exit;
      emit(`if (COND(cpu, ${branch.cc})) { r.rip = ${branch.target}; ${taken} }`);
      ripStoredLast = false;
      continue;
    }
    const lea = leaStatement(insn);
    if (lea !== null) {
      inlined++;
      emit(`j = ${j}; ${lea} k++;`);
      ripStoredLast = false;
      continue;
    }
    const t = handlerTemplate(block.handlers[j]);
    if (t === null) {
      // A call: the handler may read RIP and time, touch devices, branch.
      emit(`j = ${j}; r.rip = ${next}; cpu.retired = base + k;`);
      emit(`H${j}(cpu, I${j});`);
      emit('k++;');
      emit(`if (cpu.pendingEvents !== 0) ${exit}`);
      if (loops && relativeTarget(insn, next) === (start | 0)) emit(`if (r.rip === ${start | 0}) { if (k + ${n} > budget) ${exit} continue; }`);
      if (j < n - 1) emit(`if (r.rip !== ${next}) ${exit}`);
      ripStoredLast = true;
      continue;
    }
    inlined++;
    if (t.pure && !t.readsRip) {
      emit(`j = ${j};`);
      emit(instantiate(t, insn, j));
      emit('k++;');
      ripStoredLast = false;
      continue;
    }
    // Touches memory (MMIO may read time, a write may drop translated code): count first, look after.
    emit(`j = ${j};${t.readsRip ? ` r.rip = ${next};` : ''} cpu.retired = base + k;`);
    emit(instantiate(t, insn, j));
    emit('k++;');
    emit(`if (cpu.pendingEvents !== 0) {${t.readsRip ? '' : ` r.rip = ${next};`} cpu.retired = base + k; return k; }`);
    if (t.readsRip && j < n - 1) emit(`if (r.rip !== ${next}) ${exit}`);
    ripStoredLast = t.readsRip;
  }
  const finish = `${ripStoredLast ? '' : `r.rip = ${nexts[n - 1]}; `}cpu.retired = base + k; return k;`;
  const body = loops ? ['  for (;;) {', ...lines, `    ${finish}`, '  }'] : [...lines, `  ${finish}`];
  const header = `// block at ${hex(start)}, ${n} instructions, ${mode}-bit code${loops ? ', loops to its start' : ''}`;
  const source = [
    header,
    'const base = cpu.retired;',
    'const $g32 = r.gpr.r32, $ghi = r.gpr.hi, $g16 = r.gpr.r16, $sa = r.seg.attr, $sl = r.seg.limit, $sb = r.seg.base;',
    'let $ea = 0, k = 0, j = 0;',
    'try {',
    ...body,
    '} catch (e) {',
    `  cpu.jitFaultIp = (${start | 0} + OFFSETS[j]) & ${ipMask};`,
    '  cpu.retired = base + k;',
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
  const names = ['S', 'COND', 'OFFSETS'];
  const args: unknown[] = [INLINE_SCOPE, condition, offsets];
  for (let j = 0; j < n; j++) {
    names.push(`H${j}`, `I${j}`);
    args.push(block.handlers[j], block.insns[j]);
  }
  const factory = new Function(...names, `return function block(cpu, budget) {\nconst r = cpu.regs;\n${source}\n};`) as (...a: unknown[]) => CompiledBlockFn;
  return { fn: factory(...args), ip: ip & (block.mode === CpuMode.Bits16 ? 0xffff : -1), source, inlined, loops };
}
