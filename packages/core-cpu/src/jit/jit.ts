/**
 * The JIT's policy and bookkeeping: which decoded blocks get translated (a hotness
 * threshold on interpreted runs), the counters `--stats` reports, and the hook `--trace=jit`
 * prints from. Translation itself is block-compiler.ts; the run loop (interp/soft-cpu.ts)
 * enters translations and falls back to interpreting a block when a translation may not run
 * (another entry IP, fewer instructions left in the burst than the block holds).
 */
import type { CodeBlock } from '../interp/decode-cache.js';
import { CpuMode } from '../decoder/instruction.js';
import { compileBlock, TRANSLATION_RUN_UNKNOWN, UNTRANSLATABLE, type CompiledBlock, type CompiledBlockFn, type TranslationTarget } from './block-compiler.js';
import { MAX_REGION_BLOCKS, regionMembers, WASM_REGION_BLOCKS, WASM_REGION_INSTRUCTIONS } from './region.js';
import type { RegionMember } from './block-compiler.js';
import { WIDE_ZERO } from '@tsemu/devices/platform';
import { Unsupported } from './wasm/context.js';
import { generateWasmRegion } from './wasm/region.js';
import { WasmRuntime } from './wasm/runtime.js';
import { accessMasksOf } from '../mmu/mmu.js';

/**
 * What translations are made of: `wasm` (the default) writes a region as WebAssembly when the
 * RAM backing is a WebAssembly memory, the code is 32-bit with 4 GiB data segments, and
 * wasm/forms.ts writes its first instruction (the translation ends before the first one it
 * does not write), and JavaScript otherwise; `js` always writes JavaScript. WebAssembly is the
 * default since its translations follow each other without returning to the run loop: the
 * Linux boot reaches /init sooner with it (docs/software-cpu.md, "WebAssembly translations").
 */
export type JitBackend = 'wasm' | 'js';
export const DEFAULT_JIT_BACKEND: JitBackend = 'wasm';

/** A dropped translation's function: it refuses every state, so whoever still holds it runs the interpreter instead. */
const REFUSE: CompiledBlockFn = () => 0;

/**
 * What a WebAssembly translation's runtime calls when its slow exits come too close together
 * (runtime.ts's countSlowExit): the block is translated again at its next run, with slow paths
 * that call the host. A translation that links to the old one (the run loop's links hold for
 * the rest of its call) finds it refusing, as a stale one does, and goes on to the block's new
 * one. The block and the translation are held weakly: the runtime keeps this for the table
 * slot, and must not keep the translation alive (its slot is freed when nothing holds it).
 */
function slowHeavyHandler(jit: Jit, blockRef: WeakRef<CodeBlock>, made: { translation: WeakRef<CompiledBlock> | null }): () => void {
  return () => {
    const block = blockRef.deref();
    const translation = made.translation?.deref();
    if (block === undefined || translation === undefined || block.compiled !== translation) return;
    translation.onDrop?.();
    translation.fn = REFUSE;
    translation.wasmRuntime = null;
    block.compiled = null;
    block.slowCalls = true;
    block.runs = jit.threshold;
    jit.counters.slowHeavy++;
  };
}

/**
 * Interpreted runs of a block before it is translated. QEMU translates at once, but a new JS
 * function costs V8 a parse, then runs slowly until V8 has optimised it, so translating
 * lukewarm code loses time. Measured on the Linux boot, instructions retired in the first 100 s
 * of CPU time, runs side by side: threshold 64 slower than the interpreter; 5000 6.28 billion
 * against 20000 6.88 billion; 20000 4.35 against 50000 4.24 (a busier machine). Translating
 * long blocks sooner (once runs x length passed 20000 x 16 instructions, at least 5000 runs) was
 * slower too: to /init 57.7, 53.0, 54.9 s against 55.8, 50.1, 52.4 s (the two builds side by
 * side, three times; main-thread CPU 1.7-2.7 s more).
 */
export const DEFAULT_JIT_THRESHOLD = 20000;

/**
 * With the WebAssembly backend a long block of 32-bit code (where a WebAssembly translation may
 * come of it) is translated sooner: once the instructions interpreted in it pass this many
 * times the threshold (50,000 at the default), whatever its runs. The early kernel init's
 * crypto (mpihelp_*, chacha_permute, blake2s_compress) is blocks of 45-64 instructions that
 * each ran close to 20,000 times in the interpreter: that window interpreted 155 million
 * instructions at the run threshold alone, 52 million with this rule. WebAssembly translations
 * are cheap to make (a JavaScript translation is not, see above, so that backend and 16-bit
 * code keep the run threshold alone). Measured with both builds booting at the same time on a
 * 2-core host, three times, to /init: 51.95, 47.37, 46.78 s against 52.80, 50.24, 49.26 s,
 * main-thread CPU 31.8, 29.2, 29.3 s against 33.8, 32.8, 32.0 s; a factor of 1 (20,000
 * instructions) was no faster than 2.5, with more compiling in V8's background threads.
 */
export const LONG_BLOCK_FACTOR = 2.5;
/**
 * Runs a long block needs before that rule applies, so that the blocks it leads to have run
 * too and its translation can take them in (region.ts takes only blocks that ran). At the
 * default threshold the rule's own count is higher for every block (50,000 / 64 instructions).
 */
export const LONG_BLOCK_MIN_RUNS = 64;

/**
 * Blocks per translation by default. Measured (docs/software-cpu.md): 4 doubles the call-heavy
 * bench loops against 1 (677 against 316 MIPS) and keeps the Linux boot where it was (28.4 s
 * against 28.8 s to the prompt); 8 was slower on the boot (30.0 s), larger functions costing V8
 * more to compile than they save on code that runs a few thousand times.
 */
export const DEFAULT_JIT_BLOCKS = 4;

export interface JitOptions {
  /** Interpreted runs before translation: 0 translates every block the first time it runs. */
  threshold?: number;
  /**
   * `--jit-blocks`: blocks one translation may cover (region.ts), 1 to MAX_REGION_BLOCKS.
   * Default DEFAULT_JIT_BLOCKS.
   */
  blocks?: number;
  /** `--jit-backend`: see JitBackend. */
  backend?: JitBackend;
  /** `--trace=jit`: called with each new translation and the block it came from. */
  onCompile?: ((compiled: CompiledBlock, block: CodeBlock) => void) | null;
  /** Called when a block could not be translated (it stays interpreted), with the reason. */
  onFailure?: ((reason: string, block: CodeBlock) => void) | null;
}

export interface JitCounters {
  /** Blocks translated, and how many of them to WebAssembly. */
  compiled: number;
  wasm: number;
  /**
   * Blocks translated to JavaScript because WebAssembly translations were at their limit
   * (WasmRuntime.maxLiveTranslations).
   */
  wasmFull: number;
  /** Instructions translated, and how many of them inline (the rest call their handler). */
  instructions: number;
  inlined: number;
  /** Of the inlined ones, those written over registers in locals (register-forms.ts). */
  direct: number;
  /** Entries into translated code (the translation cache's hits). */
  entries: number;
  /** Of those, entries through a link from the translation before (no lookup). */
  chained: number;
  /**
   * Translations WebAssembly went on to from the one before through its jump cache, without
   * returning to the run loop (jit/wasm/runtime.ts); not counted in `entries`.
   */
  wasmChained: number;
  /** Instructions retired inside translations (the rest of the CPU's count was interpreted). */
  retired: number;
  /** Host time spent generating and compiling, ns. */
  compileNs: number;
  /**
   * Member blocks given an entry into the WebAssembly translation that took them in (jit/wasm/
   * region.ts's entries), instead of a translation of their own.
   */
  sharedEntries: number;
  /**
   * Memory accesses WebAssembly translations made through the host (a TLB miss, MMIO, a page
   * crossing, a write the fast path may not do): the rest hit the inline fast path. Each one
   * left its translation (a slow exit; the host ran the instruction), except in translations
   * made with host calls (slowHeavy).
   */
  slowAccesses: number;
  /**
   * RDTSC and RDTSCP in WebAssembly translations that asked the host: the first in a call, and
   * each after another host call (runtime.ts's cpuAt and timeStampBase); the others read the
   * TSC from the base the host left.
   */
  hostTimeStamps: number;
  /** WebAssembly translations dropped for leaving through slow exits too often, then made with host calls. */
  slowHeavy: number;
  /**
   * Instructions WebAssembly translations ran through their interpreter handler (jit/wasm/
   * handler-calls.ts), where the backend writes no code of its own.
   */
  handlerCalls: number;
  /** Blocks whose translation failed to compile: a JIT bug, contained (they stay interpreted). */
  failures: number;
  /**
   * Translations dropped on entry because they were made for another state (a segment no
   * longer flat, another stack size or privilege level): the block is translated again.
   */
  stale: number;
}

export class Jit {
  /** Interpreted runs of a block before it is translated. */
  readonly threshold: number;
  /** Interpreted instructions of a long block (runs x length) before it is translated: see longBlockInstructions. */
  private readonly instructionThreshold: number;
  /** Blocks one translation may cover (JitOptions.blocks). */
  readonly maxRegionBlocks: number;
  readonly backend: JitBackend;
  // The counts that pass 2^31 in a long run start as doubles (WIDE_ZERO).
  readonly counters: JitCounters = { compiled: 0, wasm: 0, wasmFull: 0, instructions: 0, inlined: 0, direct: 0, entries: WIDE_ZERO, chained: WIDE_ZERO, wasmChained: WIDE_ZERO, retired: WIDE_ZERO, compileNs: WIDE_ZERO, sharedEntries: 0, slowAccesses: 0, hostTimeStamps: 0, slowHeavy: 0, handlerCalls: 0, failures: 0, stale: 0 };
  private readonly onCompile: ((compiled: CompiledBlock, block: CodeBlock) => void) | null;
  private readonly onFailure: ((reason: string, block: CodeBlock) => void) | null;

  constructor(options: JitOptions = {}) {
    const threshold = options.threshold ?? DEFAULT_JIT_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0) throw new RangeError(`JIT threshold ${threshold} is not a non-negative integer`);
    this.threshold = threshold;
    const blocks = options.blocks ?? DEFAULT_JIT_BLOCKS;
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > MAX_REGION_BLOCKS) throw new RangeError(`JIT blocks per translation ${blocks} is not an integer from 1 to ${MAX_REGION_BLOCKS}`);
    this.maxRegionBlocks = blocks;
    const backend = options.backend ?? DEFAULT_JIT_BACKEND;
    if (backend !== 'wasm' && backend !== 'js') throw new RangeError(`JIT backend ${String(backend)} is not wasm or js`);
    this.backend = backend;
    this.instructionThreshold = backend === 'wasm' ? threshold * LONG_BLOCK_FACTOR : Infinity;
    this.onCompile = options.onCompile ?? null;
    this.onFailure = options.onFailure ?? null;
  }

  /**
   * Interpreted instructions (runs x length) after which a block of `mode` code that ran
   * LONG_BLOCK_MIN_RUNS times is translated (LONG_BLOCK_FACTOR); Infinity where the run
   * threshold alone decides (JavaScript translations, 16-bit and 64-bit code).
   */
  longBlockInstructions(mode: CpuMode): number {
    return mode === CpuMode.Bits32 ? this.instructionThreshold : Infinity;
  }

  /**
   * Translates `block` for entry at IP `ip` and attaches the translation to it. A translation
   * that does not compile (a bug in the JIT, never the guest's doing) is counted and reported,
   * and the block is marked so that it stays interpreted: the guest runs on, correctly.
   */
  compile(block: CodeBlock, ip: number, target?: TranslationTarget): CompiledBlock {
    const started = process.hrtime.bigint();
    let compiled: CompiledBlock;
    try {
      const lookup = this.maxRegionBlocks === 1 ? undefined : target?.lookup;
      let members: RegionMember[] = [];
      let made: CompiledBlock | null = null;
      if (this.backend === 'wasm') {
        members = lookup === undefined ? [] : regionMembers(block, ip, lookup, WASM_REGION_BLOCKS, WASM_REGION_INSTRUCTIONS, true);
        made = this.compileWasm(block, ip, target, members);
      }
      if (made === null) {
        members = lookup === undefined ? [] : regionMembers(block, ip, lookup, this.maxRegionBlocks);
        made = compileBlock(block, ip, target, members);
      }
      compiled = made;
      // A member's block dropped (code write, eviction) takes this translation with it.
      for (const m of members) {
        const owners = (m.block.regionOwners ??= []);
        if (!owners.includes(block)) owners.push(block);
      }
    } catch (e) {
      block.compiled = UNTRANSLATABLE;
      this.counters.failures++;
      this.counters.compileNs += Number(process.hrtime.bigint() - started);
      this.onFailure?.(`${(e as Error).name}: ${(e as Error).message}`, block);
      return UNTRANSLATABLE;
    }
    block.compiled = compiled;
    const c = this.counters;
    c.compileNs += Number(process.hrtime.bigint() - started);
    c.compiled++;
    if (compiled.wasm) c.wasm++;
    c.instructions += block.insns.length;
    c.inlined += compiled.inlined;
    c.direct += compiled.direct;
    this.onCompile?.(compiled, block);
    return compiled;
  }

  /**
   * The WebAssembly translation of `block` (and `members`), or null when this backend does not
   * write one of their instructions or the RAM is not in a WebAssembly memory.
   */
  private compileWasm(block: CodeBlock, ip: number, target: TranslationTarget | undefined, members: RegionMember[]): CompiledBlock | null {
    const mmu = target?.mmu ?? null;
    if (mmu === null || target!.longMode) return null;
    const runtime = WasmRuntime.of(mmu);
    if (runtime === null) return null;
    if (runtime.full) {
      this.counters.wasmFull++;
      return null;
    }
    let region;
    try {
      region = generateWasmRegion([{ block, ip }, ...members], target!.stack32 ?? true, target!.wideSegs ?? 0, target!.segBases ?? [], accessMasksOf(mmu), runtime.layout, this.onCompile !== null, block.slowCalls);
    } catch (e) {
      if (e instanceof Unsupported) return null;
      throw e;
    }
    const made: { translation: WeakRef<CompiledBlock> | null } = { translation: null };
    const { slot, fn, atMember, onDrop } = runtime.instantiate(region, slowHeavyHandler(this, new WeakRef(block), made));
    const first = `0x${(ip >>> 0).toString(16)}`;
    const what = members.length === 0 ? `block at ${first}` : `${members.length + 1} blocks from ${first}`;
    const source = `// ${what}, ${region.total} instructions, 32-bit code${region.loops ? ', branches inside' : ''}, WebAssembly (a ${region.body.length}-byte function)\n${region.listing}`;
    const translation = (at: number, run: CompiledBlockFn, count: number, entryCase: number, drop: (() => void) | null): CompiledBlock =>
      ({ fn: run, wasmRuntime: runtime, wasmSlot: slot, entryCase, ip: at | 0, longMode: false, wasm: true, onDrop: drop, source, inlined: region.total, direct: region.total, loops: region.loops, count, link0: null, linkIp0: NaN, link1: null, linkIp1: NaN, linkEpoch: -1, ran: TRANSLATION_RUN_UNKNOWN });
    // The members not yet translated are entered here too (at their cases), instead of being
    // interpreted until each is hot itself: a call's return site, the far side of a branch a
    // translation left by. Their entries go when the translation does (its onDrop: a member
    // rewritten, or evicted).
    const shared: { block: CodeBlock; entry: CompiledBlock }[] = [];
    for (const e of region.entries) {
      const member = members[e.member];
      if (member.block.compiled !== null) continue;
      const entry = translation(member.ip, atMember(e.case, e.count), e.count, e.case, null);
      member.block.compiled = entry;
      shared.push({ block: member.block, entry });
    }
    this.counters.sharedEntries += shared.length;
    const dropAll = (): void => {
      onDrop();
      for (const s of shared) if (s.block.compiled === s.entry) s.block.compiled = null;
    };
    const compiled = translation(ip, fn, block.insns.length, 0, dropAll);
    made.translation = new WeakRef(compiled);
    return compiled;
  }
}
