/**
 * How the interpreter runs the instructions of decoded blocks (decode-cache.ts): `runBlock`
 * calls each instruction's handler, does the checks between instructions that SoftCpu's run
 * loop describes, and goes on to the next cached block itself while it can.
 *
 * Why it is built the way it is: a call through `insn.handler` is one call site that reaches
 * hundreds of different functions, so V8 can inline none of them and pays a full generic call
 * per instruction (about half of the interpreter's time on our benchmarks). So the most
 * frequent handlers (HOT_FORMS, measured by counting handlers over a Linux boot and the
 * benchmark loops) each get a `case` of their own in a switch, and each case is a separate
 * call site that only ever calls that one handler: V8 inlines it there (when it runs often
 * enough per call of the runner: see BlockRunner). Every other instruction still goes through
 * `insn.handler`. The handlers stay the single description of
 * what an instruction does; this only changes how they are reached. The switch is written out
 * once at startup from the list (`new Function`); it never depends on guest code. The handlers
 * reach it as parameters (h1, h2 ...), not through an array: a load from an array that a case
 * never ran would carry no type feedback, and V8 would throw the function's code away on it.
 *
 * Each instruction's case number is picked at decode (`hotIndex`, Instruction.hotCase).
 *
 * Each SoftCpu builds its own runner (createBlockRunner) and builds a new one from time to time
 * (SoftCpu.runnerRefreshInstructions): V8 inlines a case's handler only when that call site
 * was frequent in the feedback gathered before it optimised the runner, and it keeps that
 * optimised code as long as nothing invalidates it. A runner first optimised while one kind
 * of code ran keeps later workloads' handlers as plain calls: the interpreter benchmark's
 * flat 32-bit loop ran at 80 MIPS after the real-mode loop and at 95-99 with a runner of its
 * own. A new runner starts with empty feedback (each `new Function` is a new closure).
 */
import type { Handler } from './handlers/types.js';
import type { SoftCpu } from './soft-cpu.js';
import type { CodeBlock } from './decode-cache.js';
import { CpuMode } from '../decoder/instruction.js';
import { OPCODE_TABLE } from '../decoder/opcode-table.js';
import { loopHandlerFor } from './loop-handlers.js';

/**
 * The forms with a case of their own: table key, then for entries with size variants the
 * operand size in bits and r (register) or m (memory) operand. Picked by counting handlers over
 * the Linux 686 boot under the interpreter (these are ~90% of its 6.9 billion instructions) and
 * over the benchmark loops (the 16-bit forms are the real-mode loop's). Kept short on purpose:
 * with ~110 forms the runner became one very large function that V8 took 50-150 ms to compile
 * each time a new form first ran, and the Linux boot ran no faster than with none (109 s);
 * with these, 97 s against 113 s for the plain call per instruction (same machine, same day).
 * The line of SBB ... ROL forms are the benchmark loops' own (interp-workloads.ts): common in
 * compiled code, and the ones the loops ran through the general call. Twelve more, the most
 * frequent of the boot's remaining general calls (SAR Ib, MOVZX r8, INC/DEC m32 ...), gave no
 * faster boot (87.8 s against 86.1-87.0 s), so they stay out.
 */
const HOT_FORMS: readonly string[] = [
  // data movement
  'mov_Gv_Ev 32m', 'mov_Gv_Ev 32r', 'mov_Ev_Gv 32r', 'mov_Ev_Gv 32m', 'mov_Ev_Iz 32m', 'mov_Zv_Iv 32r',
  'mov_Gv_Ev 16m', 'mov_Ev_Gv 16m', 'mov_Gb_Eb', 'mov_Eb_Gb', 'movzx_Gv_Eb 32m', 'movzx_Gv_Ew 32r', 'movzx_Gv_Ew 32m',
  'lea_Gv_M 32m', 'push_Zv 32r', 'pop_Zv 32r',
  // arithmetic and logic
  'add_Ev_Gv 32r', 'add_Gv_Ev 32m', 'add_Ev_Iz 32r', 'add_Ev_Ibs 32r', 'sub_Ev_Gv 32r', 'sub_Gv_Ev 32m',
  'adc_Ev_Gv 32r', 'sbb_Gv_Ev 32m', 'cmp_Ev_Gv 32r', 'cmp_Ev_Gv 32m', 'cmp_Gv_Ev 32m', 'cmp_Ev_Iz 32r', 'cmp_Ev_Ibs 32r',
  'and_Ev_Ibs 32r', 'xor_Ev_Gv 32r', 'test_Ev_Gv 32r', 'inc_Zv 32r', 'dec_Zv 32r',
  'imul_Gv_Ev 32r', 'shr_Ev_Ib 32r', 'shl_Ev_Ib 32r', 'setb_Eb', 'cmovae_Gv_Ev 32r',
  'sbb_Ev_Gv 32r', 'and_Ev_Gv 32r', 'adc_Ev_Ibs 32r', 'mul_Ev 32r', 'shl_Ev_CL 32r', 'sar_Ev_1 32r', 'rol_Ev_Ib 32r',
  'add_Ev_Gv 16r', 'add_Ev_Ibs 16r', 'and_Ev_Iz 16r', 'xor_Ev_Gv 16m',
  // control transfer
  ...['b', 'ae', 'e', 'ne', 'be', 'a', 'l', 'ge', 'le', 'g', 's', 'ns'].flatMap((c) => [`j${c}_Jb`, `j${c}_Jz`]),
  'jmp_Jb', 'jmp_Jz', 'call_Jz', 'ret', 'loop_Jb',
];

/** The handler of one HOT_FORMS form. */
function formHandler(form: string): Handler {
  const [key, size] = form.split(' ');
  const index = OPCODE_TABLE.findIndex((e) => e.key === key);
  if (index < 0) throw new Error(`hot-dispatch: no table entry ${key}`);
  const bits = size === undefined ? 32 : Number.parseInt(size, 10);
  return loopHandlerFor(index, bits / 8, size?.endsWith('m') ?? false);
}

/** Each listed form's handler, resolved once. */
const FORM_HANDLERS: readonly Handler[] = HOT_FORMS.map(formHandler);
/** HOT_HANDLERS[c - 1] is case c's handler; case 0 is "any other": insn.handler. */
const HOT_HANDLERS: readonly Handler[] = [...new Set(FORM_HANDLERS)];
const CASE_OF = new Map<Handler, number>(HOT_HANDLERS.map((h, i) => [h, i + 1]));
/**
 * The listed handlers that may set RIP (near branches). The others never read or write it in
 * 16/32-bit code (RIP-relative addressing is 64-bit only), so their cases skip both the store
 * of RIP before them and the check after them.
 */
const BRANCHES: ReadonlySet<Handler> = new Set(FORM_HANDLERS.filter((_h, i) => /^(j|call|ret|loop)/.test(HOT_FORMS[i])));

/**
 * The listed handlers that touch nothing but registers and flags (register-operand forms, near
 * jumps): no device access, so nothing that reads the clock, and their cases leave
 * `cpu.retired` behind; every other case stores it first (a memory access may reach a device
 * whose time is the retired count). Nor can they make work pending between instructions (a
 * device's interrupt, a code write, IF or TF changing), so their cases go on to the next
 * instruction without testing `cpu.pendingEvents`; work already pending when the runner is
 * called limits it to one instruction. Counted (scripts/cache-misses.mjs --bundled), host
 * instructions per guest instruction: paging row 181.1 -> 178.5, multiply-accumulate
 * 168.1 -> 161.9, real-mode loop 172.0 -> 169.4; paging row timed, five pairs in turn, faster in
 * 4 (a timed trial on 2026-11-28 had found the same change slower, within this host's noise).
 */
function touchesOnlyRegisters(form: string): boolean {
  return /^j/.test(form) || form === 'loop_Jb' || (form.endsWith('r') && !/^(push|pop)/.test(form));
}
const REGISTER_ONLY: ReadonlySet<Handler> = new Set(HOT_HANDLERS.filter((h) =>
  FORM_HANDLERS.every((f, i) => f !== h || touchesOnlyRegisters(HOT_FORMS[i]))));

/** The case number of a decoded instruction's loop handler (0 when it has none of its own). */
export function hotIndex(handler: Handler): number {
  return CASE_OF.get(handler) ?? 0;
}

/**
 * What the block runner needs to go on from one cached block to the next by itself, without
 * returning to the run loop: the run loop's per-call view of the fetch (execute() fills it in
 * once per call, from the same values it uses itself).
 */
export class RunnerContext {
  /** CS base, decoding mode and IP mask: fixed until a mode-changing instruction ends the call. */
  csBase = 0;
  mode: CpuMode = CpuMode.Bits32;
  /** The TLB's fetch test (Mmu.fetchMask/fetchExpect) and, outside 4-level paging, no tag compare. */
  fetchMask = 0;
  fetchExpect = 1;
  checkTag = false;
  /**
   * With a JIT: a block goes back to the run loop when its next run would make it hot
   * (becomesHot); the runner counts the runs of the blocks it enters.
   */
  counting = false;
  /**
   * A block with a translation is run here all the same when the translation runs at most this
   * many instructions per entry (CompiledBlock.ran): a leaf like `ret` or a spin-unlock, called
   * from interpreted code, costs two trips through the run loop when entered for one or two
   * instructions. Untranslatable blocks (ran 0) too.
   */
  shortTranslation = 0;
  jitThreshold = 0;
  jitInstructions = 0;

  constructor(
    /** The CPU's TLB entries and tags (Mmu.entries, Mmu.tags). */
    readonly entries: Int32Array,
    readonly tags: Uint16Array,
    /** The decode cache's slots (DecodeCache.blocks) and the mask that picks a key's slot. */
    readonly blocks: CodeBlock[],
    readonly slotMask: number,
    /** LONG_BLOCK_MIN_RUNS (jit/jit.ts), passed in: this module is below the JIT's. */
    readonly longMinRuns: number,
  ) {}

  /**
   * The run loop's test for translating a block after its `runs`th run (this one included): more
   * than `jitThreshold` runs, or LONG_BLOCK_MIN_RUNS runs worth more than `jitInstructions`
   * instructions (a block of `length`).
   */
  becomesHot(runs: number, length: number): boolean {
    return runs > this.jitThreshold || (runs >= this.longMinRuns && runs * length > this.jitInstructions);
  }
}

/** Where an instruction the runner ran faulted: its block, the block's IP and the retired count at its start. */
export interface RunnerFault {
  block: CodeBlock | null;
  ip: number;
  retired: number;
}

/**
 * Runs the instructions of `block` from its start, at IP `ip` (masked by `ipMask`), then of the
 * blocks that follow it, at most `budget` instructions in all. A handler that may branch finds
 * RIP at the next instruction when it runs, and the block is left after it when it moved RIP
 * elsewhere (a branch taken, a REP resumed). The next block is entered here when it is in the
 * decode cache for a fetch the TLB allows, with no translation (or a short one:
 * RunnerContext.shortTranslation) and no run that would make it hot (`next`); anything else (a
 * miss, a page crossing, a translation, a block to translate) returns to the run loop.
 *
 * A block that branches back to its own start (a loop of one block) is run again without a
 * lookup; a next block in the same linear page as the one before needs no TLB lookup either:
 * the page's backing page was looked up when the runner entered it and holds for the call (only
 * INVLPG and writes to CR0, CR3 and CR4 change what the guest's mappings are taken to be, and they
 * end the call as mode-changing; the TLB's own flush when its lists overflow forgets entries
 * without changing any mapping). Counted (scripts/cache-misses.mjs --bundled), host
 * instructions per guest instruction: multiply-accumulate 161.9 -> 155.8, paging row 178.8 ->
 * 173.8, cold code 184.6 -> 181.1, frame locals 179.2 -> 180.4.
 *
 * The next block is looked for first in the two successors the finished block remembers
 * (CodeBlock.succ0/succ1), then in the cache's slot array: in code too large for the host's
 * caches (bench: cold-code.ts) the slot array's load missed on every block and took ~17% of the
 * runner's samples; the block's own fields are already at hand. A remembered block is taken only
 * while it is the cached block under the key the TLB entry gives now (same key and mode;
 * dropped and evicted blocks have key -1), so it is the block the slot lookup would find.
 * Cold-code workload, the two builds side by side: 11.4-16.1 against 8.6-12.8 MIPS, faster in
 * 5 of 6 pairs.
 *
 * Why the runner goes on by itself: V8 inlines a call site only when it runs often enough per
 * call of the function (--min-inlining-frequency), and a runner called once per block (12.8
 * instructions on average in the Linux decompressor) saw only the 6 most frequent cases
 * inlined; called once per run-loop call, it sees every case that ran often.
 *
 * The runner is left when work is pending between instructions, the budget is spent, the CPU
 * halted or an instruction changed the mode; RIP and the retired count are stored on every way
 * out. Inside a block `cpu.retired` is stored only before an instruction that may reach a
 * device or read the clock (every case but the register-only ones, REGISTER_ONLY): a load, add
 * and store of a heap number per instruction was measurable (Linux boot under the interpreter,
 * to /init: 90.1 and 88.8 s before, 85.6 and 86.6 s after). Returns how many instructions
 * completed. Boolean fields are tested with `=== true`: a plain truth test is V8's generic
 * ToBoolean, about ten machine instructions, on every block change. A fault propagates to the
 * run loop with `cpu.retired` counting the instructions
 * before the faulting one and `cpu.runnerFault` naming its block, from which the loop works
 * out its address (RIP is not kept up to date inside a block).
 */
export type BlockRunner = (cpu: SoftCpu, block: CodeBlock, ip: number, ipMask: number, budget: number, next: RunnerContext) => number;

/** A new block runner: the same code, in a closure of its own with its own type feedback. */
export function createBlockRunner(): BlockRunner {
  const names = HOT_HANDLERS.map((_h, i) => `h${i + 1}`);
  const branchOut = 'if (r.rip !== ip) { ip = r.rip | 0; k++; break run; }';
  const cases = HOT_HANDLERS.map((h, i) => {
    const registerOnly = REGISTER_ONLY.has(h);
    const sync = registerOnly ? '' : 'cpu.retired = base + k; ';
    const next = registerOnly ? 'k++; continue;' : 'break;';
    return BRANCHES.has(h)
      ? `case ${i + 1}: r.rip = ip; ${sync}c${names[i]}(cpu, insn); ${branchOut} ${next}`
      : `case ${i + 1}: ${sync}c${names[i]}(cpu, insn); ${next}`;
  }).join('\n            ');
  // Each case calls its handler through a `const` of the outer function, not the parameter:
  // V8 optimises the runner for its one closure's context and then knows which function each
  // constant holds, so an inlined handler needs no load and compare per instruction to check
  // that the variable still holds it. IP and its mask are made int32 at entry (`| 0`): as
  // plain parameters V8 kept both tagged, checked and untagged them at every instruction, and
  // checked the add for overflow. Counted by scripts/cache-misses.mjs (unbundled code), the
  // paging row's host instructions per guest instruction: 205 before, 197 after the IP, 196 after
  // the constants.
  const source = `
    const ${names.map((n) => `c${n} = ${n}`).join(', ')};
    return function runBlock(cpu, block, ip, ipMask, budget, next) {
      ip |= 0;
      const mask = ipMask | 0;
      // Work pending already: one instruction (register-only cases do not test for it).
      if (cpu.pendingEvents !== 0) budget = 1;
      const r = cpu.regs;
      let base = cpu.retired;
      let blockIp = ip;
      // The linear page the running block started in and its backing page (the key's bits 31:12).
      let page = ((next.csBase + ip) >>> 0) >>> 12;
      let frame = block.key & -4096;
      let total = 0;
      let k = 0;
      try {
        for (;;) {
          const insns = block.insns;
          const n = insns.length;
          const left = budget - total;
          const end = n < left ? n : left;
          run: while (k < end) {
            const insn = insns[k];
            ip = ((ip + insn.length) | 0) & mask;
            switch (insn.hotCase) {
            ${cases}
            default: r.rip = ip; cpu.retired = base + k; insn.handler(cpu, insn); ${branchOut}
            }
            k++;
            if (cpu.pendingEvents !== 0) break;
          }
          total += k;
          base += k;
          k = 0;
          if (cpu.pendingEvents !== 0 || total >= budget || cpu.halted === true || cpu.modeChanged === true) break;
          let b = block;
          if (ip !== blockIp || b.key === -1) {
            const lin = (next.csBase + ip) >>> 0;
            const linPage = lin >>> 12;
            if (linPage !== page) {
              const e = next.entries[linPage];
              if ((e & next.fetchMask) !== next.fetchExpect || (next.checkTag === true && next.tags[linPage] !== 0)) break;
              page = linPage;
              frame = e & -4096;
            }
            const key = frame | (lin & 4095);
            b = block.succ0;
            if (b.key !== key || b.mode !== next.mode) {
              b = block.succ1;
              if (b.key !== key || b.mode !== next.mode) {
                b = next.blocks[key & next.slotMask];
                if (b.key !== key || b.mode !== next.mode) break;
              }
              block.succ1 = block.succ0;
              block.succ0 = b;
            }
          }
          if (b.crossKey !== -1 || (b.compiled !== null && b.compiled.ran > next.shortTranslation)) break;
          if (next.counting === true && b.compiled === null) {
            const runs = b.runs + 1;
            if (next.becomesHot(runs, b.insns.length)) break;
            b.runs = runs;
          }
          block = b;
          blockIp = ip;
        }
      } catch (e) {
        cpu.retired = base + k;
        const f = cpu.runnerFault;
        f.block = block;
        f.ip = blockIp;
        f.retired = base;
        throw e;
      }
      cpu.retired = base;
      r.rip = ip;
      return total;
    };`;
  return new Function(...names, source)(...HOT_HANDLERS) as BlockRunner;
}
