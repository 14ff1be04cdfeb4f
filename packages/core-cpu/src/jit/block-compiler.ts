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
import { conditionalBranch, relativeTarget } from './direct-emitters.js';
import { condition } from '../interp/handlers/control.js';
import type { Mmu } from '../mmu/mmu.js';
import { materialize, MATERIALIZE_RUNTIME, RUNTIME_FLAGS } from './flag-state.js';
import { conditionCode, directForm, nearTransfer } from './register-forms.js';
import { RELOAD_MARK, SPILL_MARK, TranslationContext } from './translation-context.js';

/**
 * A translated block: runs it from its first instruction, returns the instructions completed;
 * 0 when it cannot run here at all (a block with direct stack code found SS to be a 16-bit
 * stack): the caller interprets the block instead.
 */
export type CompiledBlockFn = (cpu: SoftCpu, budget: number) => number;

export interface CompiledBlock {
  fn: CompiledBlockFn;
  /** The IP the translation was made for (its RIP constants assume it). */
  ip: number;
  /** The generated source (for --trace=jit and the golden tests). */
  source: string;
  /** Instructions inlined (the rest call their handlers). */
  inlined: number;
  /** Of those, instructions written over locals (register-forms.ts). */
  direct: number;
  /** Made for IA-32e compatibility mode (entered only there; legacy-mode ones only outside). */
  longMode: boolean;
  /**
   * Chaining (interp/soft-cpu.ts): the translations last seen to follow this one, at IP
   * `linkIp0`/`linkIp1`, valid while `linkEpoch` is the run loop's current epoch.
   */
  /** Instructions in the block (a call may run them all: the caller's budget must allow). */
  count: number;
  link0: CompiledBlock | null;
  linkIp0: number;
  link1: CompiledBlock | null;
  linkIp1: number;
  linkEpoch: number;
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
  longMode: false,
  source: '',
  inlined: 0,
  direct: 0,
  loops: false,
  count: 0,
  link0: null,
  linkIp0: NaN,
  link1: null,
  linkIp1: NaN,
  linkEpoch: -1,
});

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/**
 * The source of `block`'s translation for entry at IP `ip`. `direct`: write the forms of
 * register-forms.ts over locals (legacy 16/32-bit mode); false keeps every instruction on its
 * handler, as in IA-32e compatibility mode, where bits 63:32 of the registers are visible.
 */
export function generateBlockSource(block: CodeBlock, ip: number, direct = true, fastMemory = true, stack32 = true): { source: string; inlined: number; direct: number; loops: boolean; fallback: Uint8Array } {
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
  const ctx = new TranslationContext(fastMemory, n, stack32);
  if (loops) ctx.flags = RUNTIME_FLAGS;
  const ind = loops ? '    ' : '  ';
  const emit = (code: string): void => {
    ctx.emit(ind + code);
  };
  // Back to the block's start: the next iteration, unless it could pass the caller's budget.
  const loopBack = (j: number): string =>
    `k0 += ${j + 1}; if (k0 + ${n} > budget) { ${SPILL_MARK} ${MATERIALIZE_RUNTIME} r.rip = ${start | 0}; cpu.retired = base + k0; return k0; } continue;`;
  const fallback = new Uint8Array(n);
  let inlined = 0;
  let directCount = 0;
  // RIP holds the last instruction's successor unless that instruction moved it (or may have).
  let ripStoredLast = false;
  let addr = start;
  for (let j = 0; j < n; j++) {
    const insn = block.insns[j];
    const next = nexts[j];
    ctx.j = j;
    emit(`// ${hex(addr)}  ${disassemble(insn, addr >>> 0)}`);
    addr = next;
    const branch = conditionalBranch(insn, next);
    if (branch !== null) {
      // Register-only: RIP is stored on the taken path alone.
      inlined++;
      directCount++;
      const { setup, test } = conditionCode(ctx, branch.cc);
      const taken = branch.target === start && loops ? loopBack(j) : ctx.exit(ctx.doneAfter(), branch.target);
      emit(`${setup} if (${test}) { ${taken} }`);
      ripStoredLast = false;
      continue;
    }
    const jump = insn.entry.key === 'jmp_Jb' || insn.entry.key === 'jmp_Jz' ? relativeTarget(insn, next) : null;
    if (jump !== null && direct) {
      inlined++;
      directCount++;
      emit(jump === start && loops ? loopBack(j) : ctx.exit(ctx.doneAfter(), jump));
      ripStoredLast = true;
      continue;
    }
    const transfer = direct ? nearTransfer(ctx, insn, next) : null;
    if (transfer !== null) {
      inlined++;
      directCount++;
      emit(transfer);
      ripStoredLast = true;
      continue;
    }
    ctx.touchedMemory = false;
    const code = direct ? directForm(ctx, insn) : null;
    if (code !== null) {
      inlined++;
      directCount++;
      emit(`{ ${code} }`);
      if (ctx.touchedMemory) emit(`if (cpu.pendingEvents !== 0) ${ctx.exit(ctx.doneAfter(), next)}`);
      ripStoredLast = false;
      continue;
    }
    // A handler: it reads and writes the register file and LazyFlags, so those are handed over.
    fallback[j] = 1;
    const last = j === n - 1;
    emit(`j = ${j}; ${ctx.beforeCall()}`);
    const t = handlerTemplate(block.handlers[j]);
    if (t === null) {
      // A call: the handler may read RIP and time, touch devices, branch.
      emit(`r.rip = ${next}; cpu.retired = base + k0 + ${j};`);
      emit(`H${j}(cpu, I${j});`);
      if (!last) emit(ctx.afterCall(j + 1, next));
      emit(`if (cpu.pendingEvents !== 0) { cpu.retired = base + k0 + ${j + 1}; return k0 + ${j + 1}; }`);
      if (loops && relativeTarget(insn, next) === (start | 0)) emit(`if (r.rip === ${start | 0}) { ${loopBack(j)} }`);
      if (!last) emit(`if (r.rip !== ${next}) { cpu.retired = base + k0 + ${j + 1}; return k0 + ${j + 1}; }`);
      ripStoredLast = true;
      continue;
    }
    inlined++;
    if (t.pure && !t.readsRip) {
      emit(instantiate(t, insn, j));
      if (!last) emit(ctx.afterCall(j + 1, next));
      ripStoredLast = false;
      continue;
    }
    // Touches memory (MMIO may read time, a write may drop translated code): count first, look after.
    emit(`${t.readsRip ? `r.rip = ${next}; ` : ''}cpu.retired = base + k0 + ${j};`);
    emit(instantiate(t, insn, j));
    if (!last) emit(ctx.afterCall(j + 1, next));
    emit(`if (cpu.pendingEvents !== 0) {${t.readsRip ? '' : ` r.rip = ${next};`} cpu.retired = base + k0 + ${j + 1}; return k0 + ${j + 1}; }`);
    if (t.readsRip && !last) emit(`if (r.rip !== ${next}) { cpu.retired = base + k0 + ${j + 1}; return k0 + ${j + 1}; }`);
    ripStoredLast = t.readsRip;
  }
  const lastFallback = fallback[n - 1] === 1;
  const finish = `${lastFallback ? '' : `${SPILL_MARK} ${materialize(ctx.flags)} `}${ripStoredLast ? '' : `r.rip = ${nexts[n - 1]}; `}cpu.retired = base + k0 + ${n}; return k0 + ${n};`;
  const body = loops ? ['  for (;;) {', ...ctx.lines, `    ${finish}`, '  }'] : [...ctx.lines, `  ${finish}`];
  const header = `// block at ${hex(start)}, ${n} instructions, ${mode}-bit code${loops ? ', loops to its start' : ''}`;
  const spill = ctx.spillCode(true);
  const catchSpill = ctx.spillCode(false);
  const source = [
    header,
    'const base = cpu.retired;',
    ...ctx.entryCode(),
    'let fk = 0, fo = 0, fz = 32, fa = 0, fb = 0, fr = 0, fc = 0;',
    'let k0 = 0, j = 0, $ea = 0, $L = 0, $T = 0, $A = 0;',
    'try {',
    ...body,
    '} catch (e) {',
    ...(catchSpill === '' ? [] : [`  if (FALLBACK[j] === 0) { ${catchSpill} }`]),
    `  ${MATERIALIZE_RUNTIME}`,
    `  cpu.jitFaultIp = (${start | 0} + OFFSETS[j]) & ${ipMask};`,
    '  cpu.retired = base + k0 + j;',
    '  throw e;',
    '}',
  ]
    .join('\n')
    .split(SPILL_MARK)
    .join(spill)
    .replace(RELOAD_MARK, (_m, done: string, rip: string) => ctx.reloadCode(done, rip));
  return { source, inlined, direct: directCount, loops, fallback };
}

/** What a translation may assume about the CPU it runs on. */
export interface TranslationTarget {
  /** The MMU whose TLB the translated code reads inline; null: every access calls cpu.mem. */
  mmu: Mmu | null;
  /** IA-32e mode is active (compatibility mode): no direct forms (see generateBlockSource). */
  longMode: boolean;
  /** SS is a 32-bit stack (SS.B): the stack instructions may be written directly. */
  stack32?: boolean;
}

/** Compiles `block` for entry at IP `ip`. */
export function compileBlock(block: CodeBlock, ip: number, target: TranslationTarget = { mmu: null, longMode: false }): CompiledBlock {
  const { mmu, longMode, stack32 = true } = target;
  const { source, inlined, direct, loops, fallback } = generateBlockSource(block, ip, !longMode, mmu !== null, stack32);
  const n = block.insns.length;
  const offsets = new Int32Array(n);
  let at = 0;
  for (let j = 0; j < n; j++) {
    offsets[j] = at;
    at += block.insns[j].length;
  }
  const bytes = mmu?.bytes ?? new Uint8Array(0);
  // Aligned dwords as one Int32Array access (RAM starts dword-aligned in its buffer).
  const words = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : null;
  const names = ['S', 'COND', 'OFFSETS', 'FALLBACK', 'TLB', 'MB', 'M32'];
  const args: unknown[] = [INLINE_SCOPE, condition, offsets, fallback, mmu?.entries ?? new Int32Array(0), bytes, words];
  for (let j = 0; j < n; j++) {
    names.push(`H${j}`, `I${j}`);
    args.push(block.handlers[j], block.insns[j]);
  }
  const prologue = 'const r = cpu.regs, g32 = r.gpr.r32, ghi = r.gpr.hi, f = r.flags;\n' +
    'const $g32 = g32, $ghi = ghi, $g16 = r.gpr.r16, $sa = r.seg.attr, $sl = r.seg.limit, $sb = r.seg.base;';
  const factory = new Function(...names, `return function block(cpu, budget) {\n${prologue}\n${source}\n};`) as (...a: unknown[]) => CompiledBlockFn;
  const entryIp = ip & (block.mode === CpuMode.Bits16 ? 0xffff : -1);
  return { fn: factory(...args), ip: entryIp, longMode, source, inlined, direct, loops, count: n, link0: null, linkIp0: NaN, link1: null, linkIp1: NaN, linkEpoch: -1 };
}

