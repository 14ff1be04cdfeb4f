/**
 * Translates decoded blocks (interp/decode-cache.ts) into a JavaScript function, compiled once
 * with `new Function`. Most instructions are written over guest registers and flags held in JS
 * locals (register-forms.ts, translation-context.ts, flag-state.ts); the rest keep their
 * interpreter handler, inlined with the decoded fields folded in as constants
 * (inline-handlers.ts) or called directly, with the locals written back before and reloaded
 * after. A translation covers one block, or several of one page (region.ts): a branch to one of
 * its blocks, the block's own start included, is a `continue` of a switch inside the function,
 * so a hot loop runs without leaving it.
 *
 * The translated function keeps the interpreter's contract instruction by instruction, so
 * `--jit=on` and `--jit=off` run a guest the same way (same instruction counts, interrupts at
 * the same boundaries):
 * - an access that may reach a device (a TLB miss path) or a handler call sees `cpu.retired` =
 *   the instructions completed before it (devices read time from it), and a handler that may
 *   read RIP sees the next instruction's address;
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
import { handlerOf, type CodeBlock } from '../interp/decode-cache.js';
import type { SoftCpu } from '../interp/soft-cpu.js';
import { handlerTemplate, INLINE_SCOPE, instantiate } from './inline-handlers.js';
import { conditionalBranch, countBranch, instructionEnds, relativeTarget } from './direct-emitters.js';
import { condition } from '../interp/handlers/control.js';
import { accessMasksOf, type AccessMasks, type Mmu } from '../mmu/mmu.js';
import { MATERIALIZE_RUNTIME, RUNTIME_FLAGS } from './flag-state.js';
import { conditionCode, countCondition, directForm, nearTransfer } from './register-forms.js';
import { exitTo, RELOAD_MARK, SPILL_MARK, TranslationContext } from './translation-context.js';
import { regionLayout } from './region-layout.js';

/**
 * A translated block: runs it from its first instruction, returns the instructions completed;
 * 0 when the CPU is not in the state it was translated for (a flat segment no longer flat, SS
 * no longer a 32-bit stack, other access masks: translation-context.ts): the caller then
 * interprets the block and drops the translation.
 */
export type CompiledBlockFn = (cpu: SoftCpu, budget: number) => number;

/** What runs WebAssembly translations (jit/wasm/runtime.ts): one method the run loop calls. */
export interface WasmEntryPoint {
  runTranslation(cpu: SoftCpu, slot: number, budget: number, entryCount: number, entryCase: number): number;
}

export interface CompiledBlock {
  fn: CompiledBlockFn;
  /**
   * A WebAssembly translation's runtime, table slot and entry case: the run loop calls
   * `wasmRuntime.runTranslation` with them, the same code for every translation (V8 inlines
   * it), where `fn` is a closure per translation (a call V8 cannot). Null, -1 and 0 otherwise,
   * and wasmRuntime null once `fn` refuses every entry.
   */
  wasmRuntime: WasmEntryPoint | null;
  wasmSlot: number;
  entryCase: number;
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
  /** A WebAssembly translation (jit/wasm/), not a JavaScript one. */
  wasm: boolean;
  /**
   * Called when its block, or a member of its region, is dropped from the decode cache: a
   * WebAssembly translation leaves the jump cache (jit/wasm/runtime.ts). Null for JavaScript ones.
   */
  onDrop: (() => void) | null;
  /** Instructions in the block (a call may run them all: the caller's budget must allow). */
  count: number;
  /**
   * Chaining (interp/soft-cpu.ts): the translations last seen to follow this one, at IP
   * `linkIp0`/`linkIp1`, valid while `linkEpoch` is the run loop's current epoch.
   */
  link0: CompiledBlock | null;
  linkIp0: number;
  link1: CompiledBlock | null;
  linkIp1: number;
  linkEpoch: number;
  /** True when the block loops back to its start inside the function. */
  loops: boolean;
  /**
   * Instructions it ran per entry from the run loop, averaged (the newest entry weighs 1/8;
   * TRANSLATION_RUN_UNKNOWN before any). The interpreter's block runner runs a block itself
   * instead of leaving for its translation when this is small (hot-dispatch.ts, RunnerContext).
   */
  ran: number;
}

/** CompiledBlock.ran of a translation not yet entered: a long run, until entries say otherwise. */
export const TRANSLATION_RUN_UNKNOWN = 64;

/**
 * Attached to a block whose translation failed: its IP (NaN) matches no entry IP, so the run loop
 * keeps interpreting the block and never tries to translate it again.
 */
export const UNTRANSLATABLE: CompiledBlock = Object.freeze({
  fn: () => {
    throw new Error('an untranslatable block was entered');
  },
  ip: NaN,
  wasmRuntime: null,
  wasmSlot: -1,
  entryCase: 0,
  longMode: false,
  wasm: false,
  onDrop: null,
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
  // Never entered: the interpreter's runner goes on through the block itself.
  ran: 0,
});

/** A 32-bit IP as unsigned hex, for translation headers and listings. */
export function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** One block of a translation and the IP it is entered at. */
export interface RegionMember {
  block: CodeBlock;
  ip: number;
}

export interface GeneratedSource {
  source: string;
  inlined: number;
  direct: number;
  /** The translation branches inside itself (a loop, or between its blocks). */
  loops: boolean;
  /** Per instruction (all blocks in order): 1 when it calls its handler (see the catch). */
  fallback: Uint8Array;
  /** Per instruction: its IP, and its index within its own block. */
  ips: Int32Array;
  locals: Int32Array;
}

/**
 * The source of `block`'s translation for entry at IP `ip`. `direct`: write the forms of
 * register-forms.ts over locals (legacy 16/32-bit mode); false keeps every instruction on its
 * handler, as in IA-32e compatibility mode, where bits 63:32 of the registers are visible.
 */
export function generateBlockSource(block: CodeBlock, ip: number, direct = true, fastMemory = true, stack32 = true, flatSegs = 0, masks?: AccessMasks): GeneratedSource {
  return generateRegionSource([{ block, ip }], direct, fastMemory, stack32, flatSegs, masks);
}

/**
 * The source of one translation of several blocks (region.ts): entered at the first member's
 * IP, it goes from block to block inside itself (`pc = <ip>; continue;` in a switch) while the
 * target is a member, so registers and flags stay in locals across those branches.
 */
export function generateRegionSource(members: RegionMember[], direct = true, fastMemory = true, stack32 = true, flatSegs = 0, masks?: AccessMasks): GeneratedSource {
  const { mode, ipMask, entries, labels, caseIps: internalIps, isMember, maxLength, total, loops } = regionLayout(members);
  const ctx = new TranslationContext(fastMemory, stack32, flatSegs, masks);
  const ind = loops ? '      ' : '  ';
  const emit = (code: string): void => {
    ctx.emit(ind + code);
  };
  // A branch to a member: on to it, unless its block could pass the caller's budget.
  const internal = (done: number, target: number | string): string =>
    `k0 += ${done}; if (k0 + ${maxLength} > budget) ${exitTo('k0', String(target))} pc = ${target}; continue;`;
  // RIP (a handler's or RET's doing) may name a member: go there without leaving.
  const dynamicInternal = (done: number): string =>
    loops ? `{ const t = r.rip; if (${internalIps.map((e) => `t === ${e}`).join(' || ')}) { ${internal(done, 't')} } }` : '';
  const fallback = new Uint8Array(total);
  const ips = new Int32Array(total);
  const locals = new Int32Array(total);
  let inlined = 0;
  let directCount = 0;
  let g = 0;
  for (const [m, member] of members.entries()) {
    const { block } = member;
    const start = (member.ip & ipMask) | 0;
    const n = block.insns.length;
    const nexts = instructionEnds(block.insns, start, ipMask);
    if (loops) {
      ctx.emit(`    case ${start}: {`);
      ctx.flags = RUNTIME_FLAGS;
    }
    // RIP holds the last instruction's successor unless that instruction moved it (or may have).
    let ripStoredLast = false;
    let ended = false;
    let addr = start;
    // The block's first instruction since its start or its last inner label: counts are from there.
    let seg = 0;
    for (let j = 0; j < n; j++, g++) {
      const label = labels[m].get(j);
      if (label !== undefined) {
        // Fall through into the label's case with the count so far; a branch there comes with its own.
        emit(`k0 += ${j - seg};`);
        ctx.emit('    }');
        ctx.emit(`    case ${label}: {`);
        ctx.flags = RUNTIME_FLAGS;
        seg = j;
      }
      const d = j - seg;
      const insn = block.insns[j];
      const next = nexts[j];
      const last = j === n - 1;
      ctx.startInstruction(g, d);
      ips[g] = addr;
      locals[g] = d;
      emit(`// ${hex(addr)}  ${disassemble(insn, addr >>> 0)}`);
      addr = next;
      // A direct branch after this instruction: on inside the translation, or out.
      const goTo = (target: number): string => (isMember(target) ? internal(d + 1, target) : ctx.exit(ctx.doneAfter(), target));
      const branch = conditionalBranch(insn, next);
      if (branch !== null) {
        // Register-only: RIP is stored on the taken path alone.
        inlined++;
        directCount++;
        const { setup, test } = conditionCode(ctx, branch.cc);
        emit(`${setup} if (${test}) { ${goTo(branch.target)} }`);
        ripStoredLast = false;
        continue;
      }
      const counted = direct ? countBranch(insn, next) : null;
      if (counted !== null) {
        inlined++;
        directCount++;
        const { setup, test } = countCondition(ctx, counted.kind, insn.addrSize);
        emit(`{ ${setup} if (${test}) { ${goTo(counted.target)} } }`);
        ripStoredLast = false;
        continue;
      }
      const jump = insn.entry.key === 'jmp_Jb' || insn.entry.key === 'jmp_Jz' ? relativeTarget(insn, next) : null;
      if (jump !== null && direct) {
        inlined++;
        directCount++;
        emit(goTo(jump));
        ended = true;
        continue;
      }
      const transfer = direct ? nearTransfer(ctx, insn, next, (target) => (isMember(target) ? internal(d + 1, target) : null), dynamicInternal(d + 1)) : null;
      if (transfer !== null) {
        inlined++;
        directCount++;
        emit(transfer);
        ended = true;
        continue;
      }
      ctx.touchedMemory = false;
      const code = direct ? directForm(ctx, insn) : null;
      if (code !== null) {
        inlined++;
        directCount++;
        emit(`{ ${code} }`);
        if (ctx.touchedMemory) emit(`if ($S !== 0) { $S = 0; if (cpu.pendingEvents !== 0) ${ctx.exit(ctx.doneAfter(), next)} }`);
        ripStoredLast = false;
        continue;
      }
      // A handler: it reads and writes the register file and LazyFlags, so those are handed over.
      fallback[g] = 1;
      emit(`j = ${g}; ${ctx.beforeCall()}`);
      const t = handlerTemplate(handlerOf(block.insns[j]));
      const exitAfter = exitTo(`k0 + ${d + 1}`, 'r.rip');
      if (t === null) {
        // A call: the handler may read RIP and time, touch devices, branch.
        emit(`r.rip = ${next}; cpu.retired = base + k0 + ${d};`);
        emit(`H${g}(cpu, I${g});`);
        emit(ctx.afterCall(d + 1, null));
        emit(`if (cpu.pendingEvents !== 0) ${exitAfter}`);
        if (last) emit(dynamicInternal(d + 1));
        else emit(`if (r.rip !== ${next}) ${exitAfter}`);
        ripStoredLast = true;
        continue;
      }
      inlined++;
      if (t.pure && !t.readsRip) {
        emit(instantiate(t, insn, g));
        emit(ctx.afterCall(d + 1, next));
        ripStoredLast = false;
        continue;
      }
      // Touches memory (MMIO may read time, a write may drop translated code): count first, look after.
      emit(`${t.readsRip ? `r.rip = ${next}; ` : ''}cpu.retired = base + k0 + ${d};`);
      emit(instantiate(t, insn, g));
      emit(ctx.afterCall(d + 1, t.readsRip ? null : next));
      emit(`if (cpu.pendingEvents !== 0) ${t.readsRip ? exitAfter : exitTo(`k0 + ${d + 1}`, String(next))}`);
      if (t.readsRip) {
        if (last) emit(dynamicInternal(d + 1));
        else emit(`if (r.rip !== ${next}) ${exitAfter}`);
      }
      ripStoredLast = t.readsRip;
    }
    if (!ended) {
      const after = nexts[n - 1];
      // Fell off the block's end (or a handler left RIP as it was): the next block.
      if (!ripStoredLast && isMember(after)) emit(internal(n - seg, after));
      else emit(exitTo(`k0 + ${n - seg}`, ripStoredLast ? 'r.rip' : String(after)));
    }
    if (loops) ctx.emit('    }');
  }
  const spill = ctx.spillCode(true);
  const catchSpill = ctx.spillCode(false);
  // The one way out (exitTo's `break out`). After a handler call the locals were just reloaded
  // from the register file and the flags are in LazyFlags (fk is 0): the stores change nothing.
  const epilogue = [`${spill} ${MATERIALIZE_RUNTIME}`, 'r.rip = $x;', 'cpu.retired = base + $n;', 'return $n;'];
  // With branches inside, `out` labels the switch and the epilogue follows it inside the loop.
  // V8 keeps code compiled on entry to a loop (OSR) when it deoptimises at a point after the
  // loop, and enters it again: the epilogue's first `base + $n` past 2^31 (`base` had been a
  // small integer when V8 gathered its type feedback) deoptimised one decompressor translation
  // 51 times per Linux boot, and a larger one 202 times. Inside the loop, a deopt drops the code.
  const body = loops
    ? ['  for (;;) {', '    out: switch (pc) {', ...ctx.lines, '    default: throw new Error(`translation entered at ${pc}, not one of its blocks`);', '    }', ...epilogue.map((l) => `    ${l}`), '  }']
    : ctx.lines;
  const first = entries[0];
  const header = `// ${members.length === 1 ? `block at ${hex(first)}, ${total} instructions` : `${members.length} blocks from ${hex(first)}, ${total} instructions`}, ${mode}-bit code${loops ? ', branches inside' : ''}`;
  const source = [
    header,
    'const base = cpu.retired;',
    ...ctx.entryCode(),
    'let fk = 0, fo = 0, fz = 32, fa = 0, fb = 0, fr = 0, fc = 0;',
    `let k0 = 0, j = 0, $ea = 0, $L = 0, $T = 0, $S = 0, $n = 0, $x = 0${loops ? `, pc = ${first}` : ''};`,
    ...(loops ? [] : ['out: {']),
    'try {',
    ...body,
    '} catch (e) {',
    ...(catchSpill === '' ? [] : [`  if (FALLBACK[j] === 0) { ${catchSpill} }`]),
    `  ${MATERIALIZE_RUNTIME}`,
    '  cpu.jitFaultIp = IPS[j];',
    '  cpu.retired = base + k0 + LOCAL[j];',
    '  throw e;',
    '}',
    ...(loops ? [] : ['}', ...epilogue]),
  ]
    .join('\n')
    .split(SPILL_MARK)
    .join(spill)
    .replace(RELOAD_MARK, (_m, done: string, rip: string) => ctx.reloadCode(done, rip));
  return { source, inlined, direct: directCount, loops, fallback, ips, locals };
}

/** What a translation may assume about the CPU it runs on. */
export interface TranslationTarget {
  /** The MMU whose TLB the translated code reads inline; null: every access calls cpu.mem. */
  mmu: Mmu | null;
  /** IA-32e mode is active (compatibility mode): no direct forms (see generateBlockSource). */
  longMode: boolean;
  /** SS is a 32-bit stack (SS.B): the stack instructions may be written directly. */
  stack32?: boolean;
  /** Bit n set: segment n is flat now (translation-context.ts writes its accesses for that). */
  flatSegs?: number;
  /** Bit n set: segment n is a 4 GiB data segment now, at base `segBases[n]` (wideSegments; jit/wasm/). */
  wideSegs?: number;
  segBases?: ArrayLike<number>;
  /** The cached block at an IP in the same page, for multi-block translations (region.ts). */
  lookup?: (ip: number) => CodeBlock | null;
}

/** Compiles `block` for entry at IP `ip` (with `more` blocks it may branch to: region.ts). */
export function compileBlock(block: CodeBlock, ip: number, target: TranslationTarget = { mmu: null, longMode: false }, more: RegionMember[] = []): CompiledBlock {
  const { mmu, longMode, stack32 = true, flatSegs = 0 } = target;
  const members = [{ block, ip }, ...more];
  const masks = mmu === null ? undefined : accessMasksOf(mmu);
  const { source, inlined, direct, loops, fallback, ips, locals } = generateRegionSource(members, !longMode, mmu !== null, stack32, flatSegs, masks);
  const n = block.insns.length;
  const bytes = mmu?.bytes ?? new Uint8Array(0);
  // Aligned dwords as one Int32Array access.
  const words = mmu?.words ?? new Int32Array(0);
  // Aligned 16-bit words as one Uint16Array access.
  const halves = mmu?.halves ?? new Uint16Array(0);
  const names = ['S', 'COND', 'IPS', 'LOCAL', 'FALLBACK', 'TLB', 'MB', 'M16', 'M32'];
  const args: unknown[] = [INLINE_SCOPE, condition, ips, locals, fallback, mmu?.entries ?? new Int32Array(0), bytes, halves, words];
  let g = 0;
  for (const m of members) {
    for (let j = 0; j < m.block.insns.length; j++, g++) {
      names.push(`H${g}`, `I${g}`);
      args.push(handlerOf(m.block.insns[j]), m.block.insns[j]);
    }
  }
  const prologue = 'const r = cpu.regs, g32 = r.gpr.r32, ghi = r.gpr.hi, f = r.flags;\n' +
    'const $g32 = g32, $ghi = ghi, $g16 = r.gpr.r16, $sa = r.seg.attr, $sl = r.seg.limit, $sb = r.seg.base;';
  // Named after the entry IP: CPU profiles (--cpu-prof, perf --perf-basic-prof) then tell the
  // translations apart.
  const factory = new Function(...names, `return function block_${(ip >>> 0).toString(16)}(cpu, budget) {\n${prologue}\n${source}\n};`) as (...a: unknown[]) => CompiledBlockFn;
  const entryIp = ip & (block.mode === CpuMode.Bits16 ? 0xffff : -1);
  return { fn: factory(...args), wasmRuntime: null, wasmSlot: -1, entryCase: 0, ip: entryIp, longMode, wasm: false, onDrop: null, source, inlined, direct, loops, count: n, link0: null, linkIp0: NaN, link1: null, linkIp1: NaN, linkEpoch: -1, ran: TRANSLATION_RUN_UNKNOWN };
}

