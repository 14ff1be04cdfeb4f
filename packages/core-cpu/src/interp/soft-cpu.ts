/**
 * The interpreter: decode one instruction with the shared table, run its handler, and
 * turn a guest fault into exception delivery. Handlers are looked up by the table entry's
 * index (one function per entry key), so the decoder, the interpreter and (later) the JIT
 * share one description of the ISA. An entry with no handler raises #UD, as a CPU without
 * that instruction would.
 *
 * Speed: with an MMU, the run loop executes decoded blocks from a DecodeCache keyed by RAM
 * backing offset (decode-cache.ts), found through the same TLB entry the memory fast path uses:
 * one lookup per block, then per instruction only the handler call and the checks between
 * instructions. The loop executes many instructions inside one try block and re-enters it after
 * delivering a fault, so the common path pays for no exception handling setup per instruction.
 * The decoding mode, CS base and fetch masks are computed once per call of the loop, which ends
 * after any instruction that may change them (loop-handlers.ts, MODE_KEEPING); the handler for
 * each decoded instruction is picked once, at decode, among variants fixed to its operand size
 * and kind where they exist (loop-handlers.ts). Speed: `npm run bench`.
 */
import { flatSegments, READS_FOR_WRITE, wideSegments } from './protected/segment-checks.js';
import type { IoBus } from '@tsemu/devices/platform';
import { decode, MAX_INSTRUCTION_LENGTH, type ByteSource } from '../decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../decoder/instruction.js';
import { CpuRegisters } from '../state/cpu-registers.js';
import { Attr, Seg, SegmentCache } from '../state/segment-cache.js';
import { CpuFault, raise, Vector } from './faults.js';
import { deliverException } from './interrupts.js';
import { afterInstruction, EVENT_CODE_CHANGED, EVENT_STOP } from './debug-traps.js';
import type { LinearMemory } from './linear-memory.js';
import { LongModeLinearMemory } from './long-mode-memory.js';
import { PagedLinearMemory } from './paged-memory.js';
import type { Mmu } from '../mmu/mmu.js';
import { TLB_HAS_CODE, WASM_GPR_OFFSET, WASM_SEG_OFFSET } from '../mmu/tlb.js';
import { GprFile } from '../state/gpr-file.js';
import { CodeBlock, DECODE_CACHE_SLOTS, DecodeCache, handlerOf } from './decode-cache.js';
import { loopHandler } from './loop-handlers.js';
import { createBlockRunner, RunnerContext, type BlockRunner, type RunnerFault } from './hot-dispatch.js';
import { tuneInlining } from './v8-tuning.js';
import { LONG_BLOCK_MIN_RUNS, type Jit } from '../jit/jit.js';
import type { CompiledBlock } from '../jit/block-compiler.js';
import { linkTranslation } from '../jit/links.js';
import { WIDE_ZERO } from '@tsemu/devices/platform';

/** The largest budget passed to a translation: V8's small integers on 64-bit hosts reach 2^30 - 1. */
const SMI_BUDGET = 0x3fffffff;
/**
 * Instructions one call of the block runner runs at most. The runner goes on from block to
 * block by itself, and a call that ran a whole long burst would be one call of a function with
 * a long loop in it: V8 then optimises it only by on-stack replacement, which left the
 * benchmark loops (bursts of millions of instructions) at 2-4 MIPS. Calls of 10,000 keep the
 * run loop's own cost out of sight and V8 tiering up the runner as an ordinary function.
 */
const RUNNER_CALL_MAX = 10_000;
/** RunnerContext.shortTranslation under a JIT: translations of at most this many instructions an entry. */
const SHORT_TRANSLATION_RUN = 4;
const CS = Seg.CS;
/** #PF error code bit 1: the access was a write. */
const PF_WRITE = 2;
const SLOT_MASK = DECODE_CACHE_SLOTS - 1;
const CR0_PE = 1;
const EFER_LMA = 0x400;
const TWO_32 = 4294967296;
const CANONICAL_HI = 0xffff;
// Stand-ins for the cache arrays when there is no MMU (keeps the loop's locals monomorphic).
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U16 = new Uint16Array(0);
const EMPTY_BLOCKS: CodeBlock[] = [];

/** Instruction bytes at CS:IP for decode(): `address` is IP plus the byte's position. */
class CodeBytes implements ByteSource {
  /** CS base (linear). */
  base = 0;
  /** 16-bit code: IP wraps at 64 KiB. */
  wrap16 = true;
  /** 64-bit mode: the fetch address is ripHi * 2^32 + ip (a signed canonical number). */
  long = false;
  hiBase = 0;

  constructor(public mem: LinearMemory) {}

  fetch8(ip: number): number {
    if (this.long) return this.mem.fetch8(this.hiBase + ip);
    return this.mem.fetch8(this.wrap16 ? (this.base + (ip & 0xffff)) >>> 0 : (this.base + ip) >>> 0);
  }
}

/** Raises the exception a failed decode stands for: #GP(0) past 15 bytes, #UD otherwise. */
function raiseDecodeFailure(status: DecodeStatus): never {
  return status === DecodeStatus.TooLong ? raise(Vector.GP, 0) : raise(Vector.UD);
}

export class SoftCpu {
  /**
   * The registers. The general-purpose ones live in the RAM backing's WebAssembly memory when
   * this CPU's MMU holds its TLB there (Tlb.wasmOffset): WebAssembly translations read and
   * write them in place (jit/wasm/runtime.ts).
   */
  readonly regs: CpuRegisters;
  /** Decode target when an instruction is not cacheable (no MMU, TLB miss, page crossing). */
  readonly insn = newInstruction();
  /** Scratch for re-decoding a faulting instruction (markReadForWrite). */
  private readonly faultInsn = newInstruction();
  /** Instructions retired (with `stall`, the virtual clock's source). Passes 2^31: WIDE_ZERO. */
  retired = WIDE_ZERO;
  /** Cycles PAUSE took beyond one each (spinPause, handlers/cpuid-msr.ts). */
  stall = 0;
  /**
   * The `cycles` count at which the running burst's time is up (its next timer deadline): a
   * PAUSE that reaches it ends the burst, so a timer fires on time although PAUSEs made time
   * run faster than instructions. Infinity outside a timed burst.
   */
  stallStop = Infinity;
  /**
   * Set by run(count, flexibleEnd): the burst may end before `count` where the next block's
   * translation does not fit in what is left, instead of interpreting that block's start (see
   * run). Read by the run loop; false outside such a burst.
   */
  private flexibleEnd = false;
  /** The run loop ended a flexible burst short (see run). */
  private endedShort = false;
  halted = false;
  /** Bits 63:32 of the last 64-bit operand read by the addressing helpers (readE64 ...). */
  valueHi = 0;
  /** Vector of the last exception delivered, -1 for none (traces, conformance tests). */
  lastException = -1;
  /**
   * Work between instructions (interrupt shadow aging, a single-step trap): bits of
   * debug-traps.ts, 0 in the common case so the run loop pays one test.
   */
  pendingEvents = 0;
  /** True for the instruction after STI or MOV/POP SS: an external interrupt must wait. */
  interruptShadow = false;
  /** NMIs are blocked from the delivery of one until the next IRET (SDM Vol. 3, 6.7.1). */
  nmiBlocked = false;
  /**
   * Called after an instruction that may open an interrupt window (STI, POPF, IRET, a task
   * switch): the accelerator ends its burst there when an interrupt or NMI is waiting, so it is
   * taken at that boundary rather than at the end of the burst.
   */
  onInterruptWindow: (() => void) | null = null;
  /**
   * Set after an instruction that may have changed CS, CR0 or EFER (decode-cache.ts, MODE_KEEPING): the
   * run loop, which keeps the decoding mode and CS base in locals, ends and recomputes them.
   */
  modeChanged = false;
  /**
   * The JIT (jit/jit.ts), translating hot blocks of 16/32-bit code; null runs the interpreter
   * alone. Set before running; it needs the decode cache (an MMU).
   */
  jit: Jit | null = null;
  /**
   * Test hook: when set, every new SoftCpu with an MMU gets a JIT made by it (the suite's
   * JIT run, `npm run test:jit`, forces translation at threshold 0 through it).
   */
  static jitForTests: (() => Jit) | null = null;
  /** Set by translated code when an instruction in it faults: that instruction's IP. */
  jitFaultIp = 0;
  /** Numbers the run loop's calls (and TLB generations within one): see CompiledBlock.linkEpoch. */
  private jitEpoch = 0;
  /**
   * Instructions the block runner (see runBlock) runs before it is rebuilt: V8 decides what to
   * inline into it from call counts gathered since it was built, and does not revisit that
   * while the optimised code stays valid, so without a rebuild the handlers of the guest's
   * first phase (a kernel's decompressor) stay inlined and the later phases' hot ones are
   * plain calls. Measured on the Linux 686 boot (interpreter, same day): never 91.1 s, every
   * 300 million 86.1 s, every billion 89.8 s, every 100 million 91.6 s (each rebuild runs
   * unoptimised for a while). Counted in the runner's own instructions, not translated ones:
   * with the JIT on, a rebuild every 300 million retired made the boot about 1 s slower.
   */
  static runnerRefreshInstructions = 300_000_000;
  /**
   * This CPU's block runner (hot-dispatch.ts), its own function with its own type feedback:
   * one CPU's workload does not decide what V8 inlines for another's.
   */
  private runBlock: BlockRunner = createBlockRunner();
  /** What the runner needs to enter the next cached block itself (the per-call part filled in by execute). */
  private readonly runnerContext: RunnerContext;
  /** Set by the block runner when an instruction it ran faults: that instruction's block. */
  readonly runnerFault: RunnerFault = { block: null, ip: 0, retired: 0 };
  /** Instructions this runner may still run before refreshRunner. */
  private runnerBudget = SoftCpu.runnerRefreshInstructions;
  /** Block runners built after the first. */
  runnerRefreshes = 0;
  /** Decoded blocks by RAM backing offset; null without an MMU (nothing to track writes). */
  readonly decodeCache: DecodeCache | null;
  /**
   * The memory accesses go through: `legacyMem` while EFER.LMA = 0, a LongModeLinearMemory
   * (TLB tag compare on every access) while it is 1 — see syncLongMode.
   */
  mem: LinearMemory;
  private readonly code: CodeBytes;
  private longMem: LinearMemory | null = null;

  constructor(
    readonly legacyMem: LinearMemory,
    readonly io: IoBus,
    /**
     * The MMU behind `mem`, for the system side (CR0/CR3/CR4 writes, INVLPG, CPL changes
     * update its context and privilege); null only in tests that need no paging. With an MMU
     * the decode cache is on, and it takes the MMU's code-write hook (chaining any set before).
     */
    readonly mmu: Mmu | null = null,
  ) {
    const tlb = mmu?.tlb;
    const wasm = tlb?.wasmMemory;
    this.regs = wasm
      ? new CpuRegisters(new GprFile(wasm.buffer, tlb!.wasmOffset + WASM_GPR_OFFSET), new SegmentCache(wasm.buffer, tlb!.wasmOffset + WASM_SEG_OFFSET))
      : new CpuRegisters();
    this.mem = legacyMem;
    this.code = new CodeBytes(legacyMem);
    if (mmu === null) {
      this.decodeCache = null;
    } else {
      const cache = new DecodeCache();
      this.decodeCache = cache;
      // A write dropped a block: the loop may be running it, so it looks again after this instruction.
      cache.onDrop = () => {
        this.pendingEvents |= EVENT_CODE_CHANGED;
      };
      this.jit = SoftCpu.jitForTests?.() ?? null;
      const previous = mmu.onCodeWrite;
      mmu.onCodeWrite = previous === null
        ? (phys, length) => cache.invalidatePhys(phys, length)
        : (phys, length) => {
          cache.invalidatePhys(phys, length);
          previous(phys, length);
        };
    }
    this.runnerContext = new RunnerContext(mmu === null ? EMPTY_I32 : mmu.entries, mmu === null ? EMPTY_U16 : mmu.tags,
      this.decodeCache === null ? EMPTY_BLOCKS : this.decodeCache.blocks, SLOT_MASK, LONG_BLOCK_MIN_RUNS);
  }

  /** Decoding mode from CR0.PE, EFER.LMA and CS.L/D. */
  get mode(): CpuMode {
    const r = this.regs;
    if (!(r.cr0 & CR0_PE)) return CpuMode.Bits16;
    const attr = r.seg.attr[CS];
    if (r.efer & EFER_LMA && attr & Attr.L) return CpuMode.Bits64;
    return attr & Attr.Db ? CpuMode.Bits32 : CpuMode.Bits16;
  }

  /**
   * Picks the memory for the current EFER.LMA: in IA-32e mode the TLB fast path must compare
   * the slot's tag (bits 47:32), which legacy modes never need. Called by CR0 writes (the only
   * instruction that changes LMA) and at the start of every run slice (state loaded from
   * outside). A memory that is not a PagedLinearMemory (a test's wrapper) is kept as it is.
   */
  syncLongMode(): void {
    const long = (this.regs.efer & EFER_LMA) !== 0;
    let next = this.legacyMem;
    if (long && this.legacyMem instanceof PagedLinearMemory) {
      this.longMem ??= new LongModeLinearMemory(this.legacyMem.mmu);
      next = this.longMem;
    }
    if (next === this.mem) return;
    this.mem = next;
    this.code.mem = next;
    (next as { setUser?: (user: boolean) => void }).setUser?.(this.regs.cpl === 3);
  }

  /**
   * Forgets every decoded instruction. Needed only after guest RAM holding code was changed
   * behind the MMU's back (GuestMemory.bytes, DMA, a snapshot restore); writes through the
   * MMU and paging changes (the cache is keyed by physical address) need no call.
   */
  flushDecodeCache(): void {
    this.decodeCache?.flush();
  }

  /**
   * Ends the running burst after the current instruction (a device raised an interrupt during
   * it): `halted` makes run() return, and the event bit makes the run loop, which only looks at
   * `pendingEvents` between the instructions of a block, notice at once.
   */
  stopAfterInstruction(): void {
    this.halted = true;
    this.pendingEvents |= EVENT_STOP;
  }

  /** Cycles of the virtual clock and the TSC: one per instruction retired, PAUSE's extra ones added. */
  get cycles(): number {
    return this.retired + this.stall;
  }

  /** The running burst's time is used up (see stallStop). */
  timeUp(): boolean {
    return this.cycles >= this.stallStop;
  }

  /** A new block runner, whose type feedback starts from the guest's current phase. */
  private refreshRunner(): void {
    this.runBlock = createBlockRunner();
    this.runnerBudget = SoftCpu.runnerRefreshInstructions;
    this.runnerRefreshes++;
  }

  /** Executes one instruction (or delivers the exception it raised). */
  step(): void {
    this.execute(1);
  }

  /**
   * Runs up to `count` instructions; stops early on HLT, or when PAUSE used up the burst's time
   * (stallStop). Returns the number executed.
   *
   * `flexibleEnd`: nothing happens at `count` (no timer deadline; the caller only paces its
   * bursts), so the burst may also end where the next block is translated but its translation
   * holds more instructions than are left. Without it that block's first instructions are
   * interpreted, at every burst end: measured on the Linux boot's decompressor (20,000-
   * instruction bursts), ~0.25% of its instructions ran that way and cost ~5% of its host time.
   * The next burst starts with the translation. Guest-visible behaviour is the same: interrupts
   * end a burst at the instruction that raised them whatever its length, and timer deadlines
   * never come with `flexibleEnd`.
   */
  run(count: number, flexibleEnd = false): number {
    const before = this.retired;
    let done = 0;
    // V8's inlining budget follows what executes (v8-tuning.ts).
    tuneInlining(this.jit === null || this.jit.backend === 'js');
    this.flexibleEnd = flexibleEnd;
    this.endedShort = false;
    try {
      while (done < count && !this.halted && !this.timeUp() && !this.endedShort) done += this.execute(count - done);
    } finally {
      this.flexibleEnd = false;
    }
    return this.retired - before;
  }

  /**
   * Executes instructions until `limit` have run (a fault counts as one) or one halted the
   * CPU; the first always runs. Returns how many ran. A fault ends the call after delivery,
   * so the caller's loop re-enters the try block.
   */
  private execute(count: number): number {
    // Counts stay small integers in here: a caller's count may be a double (a clock's deadline
    // arithmetic), and V8 optimises this loop, the block runner and each translation for the
    // kind of number it has seen, throwing the optimised code away ("not a Smi") on the other.
    const limit = count < SMI_BUDGET ? count | 0 : SMI_BUDGET;
    const r = this.regs;
    if (this.runnerBudget <= 0) this.refreshRunner();
    this.modeChanged = false;
    if (((r.efer & EFER_LMA) !== 0) !== (this.mem !== this.legacyMem)) this.syncLongMode();
    // 64-bit mode has a loop of its own, so the legacy loop below stays as lean as before.
    if (r.efer & EFER_LMA && r.cr0 & CR0_PE && r.seg.attr[CS] & Attr.L) return this.execute64(limit);
    const segBase = r.seg.base;
    const segAttr = r.seg.attr;
    // The decoding mode and CS base hold until CS, CR0 or EFER change: they are taken once
    // here, and the loop returns (run() calls again) after an instruction that may have
    // changed them (modeChanged) or after a trap delivered between instructions.
    const csBase = segBase[CS];
    const mode: CpuMode = r.cr0 & CR0_PE ? (segAttr[CS] & Attr.Db ? CpuMode.Bits32 : CpuMode.Bits16) : CpuMode.Bits16;
    const ipMask = mode === CpuMode.Bits16 ? 0xffff : -1;
    const mmu = this.mmu;
    const cache = this.decodeCache;
    // The fetch masks change with CPL, CR4 and EFER, whose writers are all mode-changing.
    const fetchMask = mmu === null ? 0 : mmu.fetchMask;
    const fetchExpect = mmu === null ? 1 : mmu.fetchExpect;
    // In compatibility mode a TLB slot may hold a long-mode page with the same low bits (its
    // tag, bits 47:32, is not 0); outside IA-32e mode every tag is 0.
    const checkTag = (r.efer & EFER_LMA) !== 0;
    const entries = mmu === null ? EMPTY_I32 : mmu.entries;
    const tlbTags = mmu === null ? EMPTY_U16 : mmu.tags;
    const blocks = cache === null ? EMPTY_BLOCKS : cache.blocks;
    const jit = this.jit;
    const next = this.runnerContext;
    next.csBase = csBase;
    next.mode = mode;
    next.fetchMask = fetchMask;
    next.fetchExpect = fetchExpect;
    next.checkTag = checkTag;
    next.counting = jit !== null;
    next.shortTranslation = jit === null ? 0 : SHORT_TRANSLATION_RUN;
    next.jitThreshold = jit === null ? 0 : jit.threshold;
    next.jitInstructions = jit === null ? Infinity : jit.longBlockInstructions(mode);
    let inJit = false;
    // Links between translations hold for one call and one TLB generation (CompiledBlock.link0).
    let epoch = ++this.jitEpoch;
    let tlbGeneration = mmu === null ? 0 : mmu.tlb.generation;
    let previous: CompiledBlock | null = null;
    // runBlock is running, and the retired count before it: a fault inside it is located from
    // the block it names (runnerFault) and the instructions of that block that completed.
    let interpreted = false;
    let retiredBefore = 0;
    let i = 0;
    let start = 0;
    try {
      for (;;) {
        start = r.rip;
        if (cache !== null) {
          const lin = (csBase + (start & ipMask)) >>> 0;
          const page = lin >>> 12;
          const e = entries[page];
          if ((e & fetchMask) === fetchExpect && (!checkTag || tlbTags[page] === 0)) {
            // A RAM entry: bits 31:12 are the page's backing offset, the cache's key space.
            const key = (e & ~0xfff) | (lin & 0xfff);
            let block: CodeBlock | null = blocks[key & SLOT_MASK];
            if (block.key !== key || block.mode !== mode || (block.crossKey !== -1 && !this.crossingHolds(block, page))) {
              block = this.buildBlock(key, e, lin, start & ipMask, mode);
            }
            if (block !== null) {
              const insns = block.insns;
              const n = insns.length;
              let compiled = block.compiled;
              if (compiled === null && jit !== null && next.becomesHot(++block.runs, n)) {
                compiled = this.translate(jit, block, start & ipMask, key, page, csBase, ipMask, mode, checkTag);
              }
              if (compiled !== null && compiled.ip === start && compiled.longMode === checkTag && n <= limit - i && this.pendingEvents === 0) {
                // The translation keeps the loop's contract per instruction (block-compiler.ts);
                // work pending between instructions (TF, DR7 breakpoints) keeps to the interpreter.
                if (previous !== null) linkTranslation(previous, compiled, start, epoch);
                // Then translations follow each other through their links while they may: no
                // TLB or cache lookup between them.
                let current = compiled;
                let ran = false;
                for (;;) {
                  inJit = true;
                  // A WebAssembly translation through its runtime's one method (V8 inlines it);
                  // a JavaScript one through its own function.
                  const rt = current.wasmRuntime;
                  const done = rt !== null ? rt.runTranslation(this, current.wasmSlot, limit - i, current.count, current.entryCase) : current.fn(this, limit - i);
                  inJit = false;
                  if (done === 0) {
                    // Made for another state (block-compiler.ts's entry checks): the block is
                    // translated again for the state it now runs in. The first time at its next
                    // run, as it was hot (setting CR4.SMAP left 69 kernel translations of the
                    // Linux boot stale at once); again only after a new threshold of runs, so
                    // code that runs in two states is not translated at every switch.
                    if (current === compiled) {
                      // Its shared entries go with it (a WebAssembly translation's onDrop).
                      compiled.onDrop?.();
                      block.compiled = null;
                      block.runs = block.staleDrops++ === 0 ? jit!.threshold : 0;
                      jit!.counters.stale++;
                    }
                    break;
                  }
                  ran = true;
                  current.ran = (current.ran * 7 + done) >> 3;
                  i += done;
                  jit!.counters.entries++;
                  jit!.counters.retired += done;
                  if (this.pendingEvents !== 0) {
                    afterInstruction(this);
                    return i;
                  }
                  if (i >= limit || this.halted || this.modeChanged) return i;
                  previous = current;
                  if (mmu !== null && mmu.tlb.generation !== tlbGeneration) {
                    tlbGeneration = mmu.tlb.generation;
                    epoch = ++this.jitEpoch;
                  }
                  const next = current.linkEpoch !== epoch ? null : current.linkIp0 === r.rip ? current.link0 : current.linkIp1 === r.rip ? current.link1 : null;
                  if (next === null || next.count > limit - i) break;
                  jit!.counters.chained++;
                  current = next;
                }
                if (ran) continue;
              }
              if (i > 0 && this.flexibleEnd && compiled !== null && compiled.ip === start && n > limit - i) {
                // Its translation does not fit in what is left of a flexible burst (see run).
                this.endedShort = true;
                return i;
              }
              // Interpreted code ran since the last translation: nothing to link from.
              previous = null;
              interpreted = true;
              retiredBefore = this.retired;
              const ran = this.runBlock(this, block, start, ipMask, limit - i < RUNNER_CALL_MAX ? limit - i : RUNNER_CALL_MAX, next);
              i += ran;
              this.runnerBudget -= ran;
              interpreted = false;
              if (this.pendingEvents !== 0) {
                // Work between instructions, which may deliver a trap (a new CS): re-enter after it.
                afterInstruction(this);
                return i;
              }
              // HLT ends its block; a stop request comes as an event (stopAfterInstruction).
              if (i >= limit || this.halted || this.modeChanged) return i;
              // The runner stopped where the next block needs the run loop (see runBlock).
              continue;
            }
          }
        }
        // No TLB entry for the fetch, MMIO, a page crossing, or no MMU: one instruction, decoded here.
        previous = null;
        const insn = this.insn;
        this.decodeAt(start, mode, insn);
        r.rip = (start + insn.length) & ipMask;
        loopHandler(insn)(this, insn);
        this.retired++;
        i++;
        if (this.pendingEvents !== 0) {
          afterInstruction(this);
          return i;
        }
        if (i >= limit || this.halted || this.modeChanged) return i;
      }
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      if (inJit) start = this.jitFaultIp;
      if (interpreted) {
        const fault = this.runnerFault;
        const insns = fault.block!.insns;
        start = fault.ip;
        const completed = this.retired - fault.retired;
        for (let k = 0; k < completed; k++) start = (start + insns[k].length) & ipMask;
        i += this.retired - retiredBefore;
        fault.block = null;
      }
      r.rip = start;
      if (e.vector === Vector.PF && (e.errorCode & PF_WRITE) === 0) this.markReadForWrite(e, start, mode);
      this.lastException = e.vector;
      deliverException(this, e);
      return i + 1;
    }
  }

  /**
   * Translates `block`, whose run made it hot, for the state the run loop is in (`ip` its IP,
   * `key` its backing offset, `page` the linear page the TLB maps it through). Apart from
   * execute() for the region lookup's closure: variables of execute()'s loop that a closure
   * captured there lived in a context object that V8 allocated at every pass of the loop,
   * translated or not (about 415 MB over a JIT boot to the freeing of init memory, V8's sampling
   * heap profiler, and the scavenges that come with it).
   */
  private translate(jit: Jit, block: CodeBlock, ip: number, key: number, page: number, csBase: number, ipMask: number, mode: CpuMode, longMode: boolean): CompiledBlock | null {
    const r = this.regs;
    const cache = this.decodeCache!;
    return jit.compile(block, ip, {
      mmu: this.mmu,
      longMode,
      stack32: (r.seg.attr[Seg.SS] & Attr.Db) !== 0,
      flatSegs: flatSegments(r.seg),
      wideSegs: wideSegments(r.seg),
      segBases: r.seg.base,
      lookup: jit.maxRegionBlocks === 1 ? undefined : (at) => {
        // Blocks in the same page only: one TLB entry, the entry's, maps them all.
        const to = (csBase + (at & ipMask)) >>> 0;
        return to >>> 12 === page ? cache.lookup((key & ~0xfff) | (to & 0xfff), mode) : null;
      },
    });
  }

  /**
   * The run loop in 64-bit mode (IA-32e with CS.L): RIP is 64 bits (regs.ripHi carries bits
   * 63:32, advanced with the carry), fetches use the TLB tag of bits 47:32, and a RIP that ran
   * off the canonical lower half raises #GP(0). Returns to execute() when CS.L or LMA clears
   * (a far transfer or IRET to compatibility mode), after at least one instruction.
   */
  private execute64(limit: number): number {
    const r = this.regs;
    const mmu = this.mmu;
    const cache = this.decodeCache;
    const entries = mmu === null ? EMPTY_I32 : mmu.entries;
    const tlbTags = mmu === null ? EMPTY_U16 : mmu.tags;
    const blocks = cache === null ? EMPTY_BLOCKS : cache.blocks;
    const mode = CpuMode.Bits64;
    const fetchMask = mmu === null ? 0 : mmu.fetchMask;
    const fetchExpect = mmu === null ? 1 : mmu.fetchExpect;
    let i = 0;
    let start = 0;
    let startHi = 0;
    try {
      for (;;) {
        start = r.rip;
        startHi = r.ripHi;
        // RIP only becomes non-canonical by running off the end of the lower half, which a
        // block never runs past (it ends with its page).
        if ((startHi << 16) >> 16 !== startHi) raise(Vector.GP, 0);
        if (cache !== null) {
          const lin = start >>> 0;
          const page = lin >>> 12;
          const e = entries[page];
          if ((e & fetchMask) === fetchExpect && tlbTags[page] === (startHi & CANONICAL_HI)) {
            const key = (e & ~0xfff) | (lin & 0xfff);
            let block: CodeBlock | null = blocks[key & SLOT_MASK];
            if (block.key !== key || block.mode !== mode || (block.crossKey !== -1 && !this.crossingHolds(block, page))) {
              block = this.buildBlock(key, e, lin, lin, mode);
            }
            if (block !== null) {
              const insns = block.insns;
              const n = insns.length;
              for (let k = 0; k < n; k++) {
                const insn = insns[k];
                if (k > 0) {
                  start = r.rip;
                  startHi = r.ripHi;
                }
                const next = (start >>> 0) + insn.length;
                const nextLo = next | 0;
                const nextHi = next >= TWO_32 ? (startHi + 1) | 0 : startHi;
                r.rip = nextLo;
                r.ripHi = nextHi;
                handlerOf(insn)(this, insn);
                this.retired++;
                i++;
                if (this.pendingEvents !== 0) {
                  afterInstruction(this);
                  return i;
                }
                if (i >= limit) return i;
                if (r.rip !== nextLo || r.ripHi !== nextHi) break;
              }
              // CS.L or LMA may have cleared (compatibility mode): execute() decides.
              if (this.halted || this.modeChanged) return i;
              continue;
            }
          }
        }
        const insn = this.insn;
        this.decodeAt(start, mode, insn);
        const next = (start >>> 0) + insn.length;
        r.rip = next | 0;
        if (next >= TWO_32) r.ripHi = (startHi + 1) | 0;
        loopHandler(insn)(this, insn);
        this.retired++;
        i++;
        if (this.pendingEvents !== 0) {
          afterInstruction(this);
          return i;
        }
        if (i >= limit || this.halted || this.modeChanged) return i;
      }
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      r.rip = start;
      r.ripHi = startHi;
      if (e.vector === Vector.PF && (e.errorCode & PF_WRITE) === 0) this.markReadForWrite(e, start, CpuMode.Bits64);
      this.lastException = e.vector;
      deliverException(this, e);
      return i + 1;
    }
  }

  /**
   * A #PF raised by a read: if the instruction at `ip` is a read-modify-write of its memory
   * operand, that read had write intent and the error code says W = 1, as on the CPU. Runs only
   * on page faults; decodes the instruction again (the loop's record is out of scope here).
   */
  private markReadForWrite(fault: CpuFault, ip: number, mode: CpuMode): void {
    const insn = this.faultInsn;
    try {
      this.decodeAt(ip, mode, insn);
    } catch {
      return; // the fault came from fetching the instruction itself
    }
    if (insn.isMem && READS_FOR_WRITE[insn.entry.index] !== 0) fault.errorCode |= PF_WRITE;
  }

  /** Decodes the instruction at CS:`ip` into `out`; raises #UD/#GP when it does not decode. */
  private decodeAt(ip: number, mode: CpuMode, out: Instruction): void {
    const code = this.code;
    code.base = this.regs.seg.base[CS];
    code.wrap16 = mode === CpuMode.Bits16;
    code.long = mode === CpuMode.Bits64;
    if (code.long) {
      code.hiBase = this.regs.ripHi * TWO_32;
      ip >>>= 0;
    }
    const status = decode(code, ip, mode, out);
    if (status !== DecodeStatus.Ok) raiseDecodeFailure(status);
  }

  /**
   * A cache miss: decodes the block at backing offset `key` (linear `lin`, IP `ip`) and marks its
   * page as code, so writes to it reach the invalidation hook. Null when the first instruction
   * does not lie whole in the page or does not decode: the slow path then runs (or faults) it.
   */
  private buildBlock(key: number, e: number, lin: number, ip: number, mode: CpuMode): CodeBlock | null {
    const mmu = this.mmu!;
    const tlb = mmu.tlb;
    const page = lin >>> 12;
    const physPage = tlb.frames[page];
    // The block may still be cached in the slot's second way (a colliding block displaced it).
    let block = this.decodeCache!.recall(key, mode);
    if (block === null || (block.crossKey !== -1 && !this.crossingHolds(block, page))) {
      // An instruction may run into the next page when that page's TLB entry allows the fetch;
      // otherwise the slow path fetches it.
      const nextKey = (lin & 0xfff) > 0x1000 - MAX_INSTRUCTION_LENGTH ? this.nextPageKey(page) : -1;
      block = this.decodeCache!.build(mmu.bytes, key, ip, mode, mode === CpuMode.Bits16, physPage, nextKey, tlb.frames[page + 1]);
      if (block === null) return null;
    }
    if ((e & TLB_HAS_CODE) === 0) tlb.markCode(physPage * 4096);
    if (block.crossKey !== -1) tlb.markCode(tlb.frames[page + 1] * 4096);
    return block;
  }

  /**
   * The backing offset of the page after linear page `page`, when its TLB entry allows the
   * fetch and has the same tag (the same 4 GiB region in long mode); else -1.
   */
  private nextPageKey(page: number): number {
    const mmu = this.mmu!;
    const next = page + 1;
    if (next >= mmu.entries.length || mmu.tags[next] !== mmu.tags[page]) return -1;
    const e = mmu.entries[next];
    return (e & mmu.fetchMask) === mmu.fetchExpect ? e & ~0xfff : -1;
  }

  /**
   * A cached block whose instruction runs into the page after `page` may run only while that
   * page is still mapped to the same RAM with the fetch allowed (the first page is checked by
   * the block's key): a paging change there needs no flush, the block is rebuilt instead.
   */
  private crossingHolds(block: CodeBlock, page: number): boolean {
    return this.nextPageKey(page) === block.crossKey;
  }
}
