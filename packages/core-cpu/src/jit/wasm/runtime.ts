/**
 * The host side of WebAssembly translations, per MMU whose TLB lives in the RAM backing's
 * WebAssembly memory: the functions translations call (slow-path memory accesses, flag
 * hand-over to LazyFlags), the tables translations and host functions live in, the dispatcher
 * and its jump cache, and the wrapper that makes a translation a CompiledBlockFn with the
 * JavaScript translation's contract (block-compiler.ts): 0 when the translation refuses the CPU
 * state (its prologue checks it, region.ts), the flag record and RIP handed over at the exit
 * (the registers and segments are in this memory already: SoftCpu places them there), and on a
 * fault the state before the faulting instruction, `cpu.jitFaultIp` and `cpu.retired` set as
 * the run loop expects.
 */
import { materializeRecord } from '../flag-state.js';
import { segmentLinear } from '../../interp/addressing.js';
import { condition } from '../../interp/handlers/control.js';
import { timeStamp, timeStampAux } from '../../interp/handlers/cpuid-msr.js';
import { EVENT_STOP } from '../../interp/debug-traps.js';
import { cpuEnvironmentOf } from '../../cpu-model/cpu-environment.js';
import { PUSHF_MASK } from '../../interp/handlers/stack-ops.js';
import { raise, Vector } from '../../interp/faults.js';
import { setCarryOnly, setRotateFlags } from '../../interp/handlers/shift.js';
import type { SoftCpu } from '../../interp/soft-cpu.js';
import type { Instruction } from '../../decoder/instruction.js';
import type { Handler } from '../../interp/handlers/types.js';
import type { Mmu } from '../../mmu/mmu.js';
import { WASM_GPR_OFFSET, WASM_JUMP_CACHE_OFFSET, WASM_SEG_OFFSET, WASM_STATUS_OFFSET } from '../../mmu/tlb.js';
import type { CompiledBlockFn } from '../block-compiler.js';
import { Code, LOCALS } from './code.js';
import { STATUS } from './context.js';
import { EMPTY_BLOCK, encodeModule, I32, Op } from './encoder.js';
import { IMPORT_TYPES } from './imports.js';
import type { WasmLayout, WasmRegion } from './region.js';
import { enableWasmBranchHints } from '../../interp/v8-tuning.js';

const EFLAGS_DF = 0x400;
type DispatchFn = (slot: number, budget: number) => number;

/**
 * When a translation is made again with host calls in its slow paths (WasmRuntime.
 * countSlowExit): SLOW_EXIT_LIMIT slow exits less than SLOW_EXIT_SPACING instructions apart on
 * average. An exit and the instruction through its handler cost about a microsecond, several
 * times a call, which costs every pass of the code besides (values spilled around it): at
 * about a thousand instructions a microsecond, exits more often than every few thousand
 * instructions cost more than the calls.
 */
const SLOW_EXIT_LIMIT = 64;
const SLOW_EXIT_SPACING = 4096;

/** The most STATUS.stallRoom says (a burst with no deadline has Infinity). */
const STALL_ROOM_MAX = 2 ** 30;

/**
 * PAUSE's stall cycles that translations counted in the status area (STATUS.stallPending) onto
 * the CPU's, before the host reads the clock: what the interpreter's PAUSE does at once
 * (stall-cycles.ts's addStall), the end of the burst's time included.
 */
function settleStall(cpu: SoftCpu, st: Int32Array): void {
  const pending = st[STATUS.stallPending];
  if (pending === 0) return;
  st[STATUS.stallPending] = 0;
  st[STATUS.stallRoom] -= pending;
  cpu.stall += pending;
  if (cpu.timeUp()) cpu.pendingEvents |= EVENT_STOP;
}

/** Type indices of every module here: the host functions' (imports.ts) first. */
const TRANSLATION_TYPE = IMPORT_TYPES.length;
const DISPATCH_TYPE = IMPORT_TYPES.length + 1;
const TYPES = [
  ...IMPORT_TYPES.map((i) => i.type),
  // A translation: (budget) -> count; the dispatcher: (slot, budget) -> count.
  { params: [I32], results: [I32] },
  { params: [I32, I32], results: [I32] },
];

/*
 * Two tables, because V8 updates every instance that imports a table whenever one of its
 * slots is set: a table that each translation imported and was added to made instantiation
 * cost grow with the translations alive (measured 0.5 ms at 300, 6 ms at 3,000; 0.04 ms with
 * two tables). So translations import only the host functions' table, which is written once,
 * and are exported and put in the translations' table, which only the dispatcher imports.
 */

/** Imports the host functions once and puts them in the host table's slots 0 ... (Code.call). */
const HOST_FUNCTIONS_MODULE = encodeModule({
  importModule: 'e',
  types: TYPES,
  table: { name: 'h' },
  functionImports: IMPORT_TYPES.map((imp, i) => ({ name: imp.name, type: i })),
  functions: [],
  elements: [{ offset: 0, funcs: IMPORT_TYPES.map((_imp, i) => i) }],
});

/**
 * Jump cache entries (a power of two), and each one's int32 words: RIP, slot, the entry's
 * instruction count (bits 15:0) and case (bits 31:16, STATUS.entry), epoch.
 */
const JUMP_CACHE_ENTRIES = 1024;
const JUMP_ENTRY_WORDS = 4;
const jumpIndex = (rip: number): number => ((rip ^ (rip >>> 12)) & (JUMP_CACHE_ENTRIES - 1)) * JUMP_ENTRY_WORDS;

/**
 * The dispatcher `d(slot, budget)`: calls the translation in slot `slot` of the translations'
 * table, then goes on to the translation at the RIP it left at, as long as the jump cache
 * holds one for it (in the current epoch: see WasmRuntime.epoch), the block it enters at fits in what
 * is left of the budget, no slow path left work pending, and it accepts the CPU state (its
 * prologue's checks, region.ts; it returns 0 otherwise). Returns the count of them all, or the
 * negative count of a translation that faulted.
 *
 * Every wrapper calls this one exported function, so V8 sees one WebAssembly callee at that
 * call site: a call from JavaScript to many different exports goes through V8's generic
 * wrapper (measured 50-65 ns a call with 50-500 of them, 25-29 ns through this table, 5 ns
 * for one export). Going on inside WebAssembly also saves the return to the run loop, its
 * lookups and the wrapper's checks at each step.
 */
function dispatcherModule(pages: number, statusOffset: number, jumpCacheOffset: number): Uint8Array {
  const c = new Code();
  // w: the entry's count-and-case word.
  const [slot, budget, total, n, rip, e, w] = [0, 1, 2, 3, 4, 5, 6];
  const status = (i: number): number => statusOffset + 4 * i;
  const word = (i: number): number => jumpCacheOffset + 4 * i;
  const leave = (): void => {
    c.if(() => c.get(total).op(Op.return));
  };
  c.op(Op.loop, EMPTY_BLOCK);
  c.i32(0).get(slot).mem(Op.i32Store, 2, status(STATUS.slot));
  c.i32(0).get(total).mem(Op.i32Store, 2, status(STATUS.chainBase));
  c.get(budget).get(total).op(Op.i32Sub).get(slot).op(Op.callIndirect, TRANSLATION_TYPE, 0).tee(n);
  c.i32(0).op(Op.i32LeS).if(() => {
    c.get(n).i32(0).op(Op.i32LtS).if(() => c.get(n).op(Op.return));
    c.get(total).op(Op.return);
  });
  c.get(total).get(n).op(Op.i32Add).set(total);
  c.i32(0).mem(Op.i32Load, 2, status(STATUS.events));
  leave();
  // The entry for the RIP it left at (jumpIndex).
  c.i32(0).mem(Op.i32Load, 2, status(STATUS.rip)).tee(rip);
  c.get(rip).i32(12).op(Op.i32ShrU, Op.i32Xor).i32(JUMP_CACHE_ENTRIES - 1).op(Op.i32And).i32(Math.log2(JUMP_ENTRY_WORDS * 4)).op(Op.i32Shl).set(e);
  c.get(e).mem(Op.i32Load, 2, word(0)).get(rip).op(Op.i32Ne);
  leave();
  c.get(e).mem(Op.i32Load, 2, word(3)).i32(0).mem(Op.i32Load, 2, status(STATUS.epoch)).op(Op.i32Ne);
  leave();
  c.get(e).mem(Op.i32Load, 2, word(2)).tee(w).i32(0xffff).op(Op.i32And).get(budget).get(total).op(Op.i32Sub).op(Op.i32GtS);
  leave();
  c.get(e).mem(Op.i32Load, 2, word(1)).set(slot);
  c.i32(0).get(w).i32(16).op(Op.i32ShrU).mem(Op.i32Store, 2, status(STATUS.entry));
  c.i32(0).i32(0).mem(Op.i32Load, 2, status(STATUS.chained)).i32(1).op(Op.i32Add).mem(Op.i32Store, 2, status(STATUS.chained));
  c.br(0).op(Op.end);
  c.get(total);
  return encodeModule({
    importModule: 'e',
    types: TYPES,
    memory: { name: 'm', pages },
    table: { name: 't' },
    functions: [{ type: DISPATCH_TYPE, locals: [[5, I32]], body: c.bytes }],
    exports: [{ name: 'd', func: 0 }],
  });
}

/** A translation's module: imports the RAM's memory and the host table, exports its function. */
function translationModule(region: WasmRegion, pages: number): Uint8Array {
  return encodeModule({
    importModule: 'e',
    types: TYPES,
    memory: { name: 'm', pages },
    table: { name: 'h' },
    functions: [{ type: TRANSLATION_TYPE, locals: LOCALS, body: region.body, hints: region.hints }],
    exports: [{ name: 'r', func: 0 }],
  });
}

export class WasmRuntime {
  /**
   * WebAssembly translations alive at once at most; past it the JIT makes JavaScript ones until
   * dropped translations free their slots. Each is a module of its own, and V8 maps each
   * module's code separately: at threshold 0 the Linux boot reached Linux's limit of 65,530
   * mappings a process (vm.max_map_count) with some 30,000 of them alive (about two mappings
   * each), and V8 ends the process when a mapping fails. At the default threshold that boot
   * makes about 650.
   */
  static maxLiveTranslations = 8192;
  readonly layout: WasmLayout;
  private readonly status: Int32Array;
  /** What a translation module imports: the memory and the host table. */
  private readonly imports: WebAssembly.Imports;
  /** The translations' table and its free slots. */
  private readonly table = new WebAssembly.Table({ initial: 64, element: 'anyfunc' });
  private readonly dispatch: DispatchFn;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** Each slot's instruction addresses (WasmRegion.ips), for a fault in a translation the dispatcher went on to. */
  private readonly ipsBySlot: Int32Array[] = [];
  private readonly insnsBySlot: Instruction[][] = [];
  /**
   * Per table slot: slow exits in the current window, the CPU's retired count at the window's
   * first, and what to call when they come too close together (countSlowExit: the JIT then
   * makes the translation again with host calls).
   */
  private readonly slowExitsBySlot: number[] = [];
  private readonly slowExitWindowBySlot: number[] = [];
  private readonly onSlowHeavyBySlot: ((() => void) | null)[] = [];
  /**
   * A wrapper collected (its translation dropped): its slot is free, and the module with it.
   * The jump cache's entries may name the slot: a new epoch makes them all stale.
   */
  private readonly slots = new FinalizationRegistry<number>((slot) => {
    this.table.set(slot, null);
    this.onSlowHeavyBySlot[slot] = null;
    this.freeSlots.push(slot);
    this.status[STATUS.epoch] = ++this.epoch;
  });
  /** The CPU and retired count of the translation running now (set by its wrapper). */
  private cpu: SoftCpu | null = null;
  private base = 0;
  /** The jump cache (JUMP_CACHE_ENTRIES entries of JUMP_ENTRY_WORDS words). */
  private readonly jumpCache: Int32Array;
  /**
   * The jump cache's epoch, and the TLB generation it was last bumped for. An entry maps a
   * linear RIP to a translation of the code there: that holds while no INVLPG or TLB flush
   * changed what the RIP maps to (a new generation) and no slot was reused (a new epoch too).
   * A translation whose code is dropped takes its entries out itself (leaveJumpCache).
   */
  private epoch = 1;
  private seenGeneration = -1;

  constructor(memory: WebAssembly.Memory, tlbOffset: number) {
    enableWasmBranchHints();
    const statusOffset = tlbOffset + WASM_STATUS_OFFSET;
    this.layout = { tlbOffset, statusOffset, gprOffset: tlbOffset + WASM_GPR_OFFSET, segOffset: tlbOffset + WASM_SEG_OFFSET, pages: memory.buffer.byteLength / 0x10000 };
    this.status = new Int32Array(memory.buffer, statusOffset, STATUS.size);
    this.jumpCache = new Int32Array(memory.buffer, tlbOffset + WASM_JUMP_CACHE_OFFSET, JUMP_CACHE_ENTRIES * JUMP_ENTRY_WORDS);
    const st = this.status;
    // A host call from instruction `k` of the running call: the CPU, its retired count brought
    // up to that instruction and PAUSE's cycles put on it (the clock and the TSC read them).
    // Whatever the call does may move the clock (a device), so the TSC base translations read
    // from is dropped; only the time-stamp call sets it again.
    const cpuAt = (k: number): SoftCpu => {
      const cpu = this.cpu!;
      cpu.retired = this.base + st[STATUS.chainBase] + k;
      settleStall(cpu, st);
      st[STATUS.tscOk] = 0;
      return cpu;
    };
    // `t`, the TSC at instruction `k`, as the base translations read it from until a host call
    // that may move the clock otherwise (STATUS.tscBase): when the source counts the CPU's
    // cycles, each instruction after adds 2^shift. An Int32Array store keeps the low 32 bits.
    const timeStampBase = (cpu: SoftCpu, k: number, t: number): void => {
      const env = cpuEnvironmentOf(cpu);
      const shift = env.msrs.tscCycleShift;
      if (shift < 0) return;
      const base = t - (st[STATUS.chainBase] + k) * 2 ** shift;
      st[STATUS.tscBase] = base;
      st[STATUS.tscBase + 1] = Math.floor(base / 4294967296);
      st[STATUS.tscShift] = shift;
      st[STATUS.tscAux] = env.msrs.tscAux;
      st[STATUS.tscOk] = env.model.rdtscp ? 3 : 1;
    };
    // A slow path: the count first (devices read time from it), the address the general way
    // (the limit check of a flat segment), the access, then whether work is pending. A fault
    // is kept for the wrapper, which rethrows it once the translation has left.
    const read = (size: 1 | 2 | 4) => (lin: number, seg: number, k: number, j: number): number => {
      const cpu = cpuAt(k);
      cpu.jit!.counters.slowAccesses++;
      try {
        const at = segmentLinear(cpu, seg, (lin - cpu.regs.seg.base[seg]) >>> 0, size);
        const v = size === 1 ? cpu.mem.read8(at) : size === 2 ? cpu.mem.read16(at) : cpu.mem.read32(at);
        st[STATUS.events] = cpu.pendingEvents !== 0 ? 1 : 0;
        return v | 0;
      } catch (e) {
        this.faulted(e, k, j);
        return 0;
      }
    };
    const write = (size: 1 | 2 | 4) => (lin: number, v: number, seg: number, k: number, j: number): void => {
      const cpu = cpuAt(k);
      cpu.jit!.counters.slowAccesses++;
      try {
        const at = segmentLinear(cpu, seg, (lin - cpu.regs.seg.base[seg]) >>> 0, size);
        if (size === 1) cpu.mem.write8(at, v & 255);
        else if (size === 2) cpu.mem.write16(at, v & 65535);
        else cpu.mem.write32(at, v >>> 0);
        st[STATUS.events] = cpu.pendingEvents !== 0 ? 1 : 0;
      } catch (e) {
        this.faulted(e, k, j);
      }
    };
    const hostTable = new WebAssembly.Table({ initial: IMPORT_TYPES.length, element: 'anyfunc' });
    const hostFunctions = {
      e: {
        h: hostTable,
        r1: read(1),
        r2: read(2),
        r4: read(4),
        w1: write(1),
        w2: write(2),
        w4: write(4),
        mat: (fk: number, fo: number, fz: number, fa: number, fb: number, fr: number, fc: number) => materializeRecord(this.cpu!.regs.flags, fk, fo, fz, fa, fb, fr, fc),
        cnd: (cc: number) => (condition(this.cpu!, cc) ? 1 : 0),
        cf: () => this.cpu!.regs.flags.cf(),
        rot: (cf: number, of: number, withOf: number) => {
          const f = this.cpu!.regs.flags;
          if (withOf !== 0) setRotateFlags(f, cf, of);
          else setCarryOnly(f, cf);
        },
        tsc: (withAux: number, k: number, j: number): number => {
          const cpu = cpuAt(k);
          cpu.jit!.counters.hostTimeStamps++;
          try {
            // RDTSCP's #UD comes first, as in the handler.
            const aux = withAux !== 0 ? timeStampAux(cpu) : 0;
            const t = timeStamp(cpu);
            st[STATUS.tscHi] = Math.floor(t / 4294967296) | 0;
            st[STATUS.tscAux] = aux | 0;
            // Allowed at this privilege level: the next reads in this call may go without the host.
            timeStampBase(cpu, k, t);
            return t | 0;
          } catch (e) {
            this.faulted(e, k, j);
            return 0;
          }
        },
        // Translations are never virtual-8086 code (where PUSHF may fault).
        efl: (): number => this.cpu!.regs.flags.get() & PUSHF_MASK,
        // #DE from DIV (the wrapper puts the retired count at the instruction, as for any fault).
        de: (k: number, j: number): void => {
          try {
            raise(Vector.DE);
          } catch (e) {
            this.faulted(e, k, j);
          }
        },
        // An instruction through its interpreter handler (handler-calls.ts), as the block
        // runner calls it: RIP at the next instruction, the count before it retired. Returns
        // RIP after it; work pending (or a mode change, for the run loop) ends the chain.
        hnd: (next: number, k: number, j: number): number => {
          const cpu = cpuAt(k);
          const insn = this.insnsBySlot[st[STATUS.slot]][j];
          cpu.regs.rip = next;
          cpu.jit!.counters.handlerCalls++;
          try {
            (insn.handler as Handler)(cpu, insn);
          } catch (e) {
            this.faulted(e, k, j);
            return 0;
          }
          st[STATUS.events] = cpu.pendingEvents !== 0 || cpu.modeChanged || cpu.halted ? 1 : 0;
          return cpu.regs.rip | 0;
        },
      },
    };
    new WebAssembly.Instance(new WebAssembly.Module(HOST_FUNCTIONS_MODULE), hostFunctions);
    const dispatcher = dispatcherModule(this.layout.pages, statusOffset, tlbOffset + WASM_JUMP_CACHE_OFFSET);
    this.dispatch = new WebAssembly.Instance(new WebAssembly.Module(dispatcher), { e: { m: memory, t: this.table } }).exports.d as DispatchFn;
    this.imports = { e: { m: memory, h: hostTable } };
  }

  /**
   * A translation left before an instruction whose memory access its fast path does not take
   * (context.ts's slowExit), and the wrapper has handed the state before it to the CPU (RIP at
   * the instruction, the retired count before it): the instruction through the interpreter's
   * handler. Returns 1; a fault propagates with the run loop's fault IP at the instruction, as
   * a translation's does.
   */
  private runSlowExit(cpu: SoftCpu): number {
    const st = this.status;
    st[STATUS.slowExit] = 0;
    const ip = cpu.regs.rip;
    const slot = st[STATUS.slot];
    const insn = this.insnsBySlot[slot][st[STATUS.j]];
    cpu.jit!.counters.slowAccesses++;
    this.countSlowExit(slot, cpu.retired);
    cpu.regs.rip = (ip + insn.length) | 0;
    try {
      (insn.handler as Handler)(cpu, insn);
    } catch (e) {
      cpu.regs.rip = ip;
      cpu.jitFaultIp = ip;
      throw e;
    }
    cpu.retired++;
    return 1;
  }

  /**
   * Counts a slow exit of the translation in `slot`, the CPU's retired count at it `retired`.
   * Exits count in windows of SLOW_EXIT_LIMIT: a window that took fewer than
   * SLOW_EXIT_SPACING instructions an exit means an access that seldom takes the fast path
   * (MMIO polled in a loop, a page crossing every pass), and the translation is made again with
   * slow paths that call the host and go on. TLB misses as code streams through memory (the
   * xz decompressor's output, one a page) or after CR3 reloads come much further apart.
   */
  private countSlowExit(slot: number, retired: number): void {
    const count = this.slowExitsBySlot[slot];
    if (count === 0) this.slowExitWindowBySlot[slot] = retired;
    if (count + 1 < SLOW_EXIT_LIMIT) {
      this.slowExitsBySlot[slot] = count + 1;
      return;
    }
    this.slowExitsBySlot[slot] = 0;
    if (retired - this.slowExitWindowBySlot[slot] < SLOW_EXIT_LIMIT * SLOW_EXIT_SPACING) this.onSlowHeavyBySlot[slot]?.();
  }

  /** The exception a slow path raised, for the wrapper to rethrow (with the STATUS.fault flag). */
  private fault: unknown = null;

  private faulted(e: unknown, k: number, j: number): void {
    this.fault = e;
    this.status[STATUS.fault] = 1;
    this.status[STATUS.k] = k;
    this.status[STATUS.j] = j;
  }

  /** The runtime for `mmu`'s translations, or null when its TLB is not in a WebAssembly memory. */
  static of(mmu: Mmu): WasmRuntime | null {
    const cached = RUNTIMES.get(mmu);
    if (cached !== undefined) return cached;
    const memory = mmu.tlb.wasmMemory;
    const runtime = memory === null ? null : new WasmRuntime(memory, mmu.tlb.wasmOffset);
    RUNTIMES.set(mmu, runtime);
    return runtime;
  }

  /**
   * Before a call from the host: the jump cache's epoch (see `epoch`), the MMU's access masks
   * (translations check them), EFLAGS.DF, no flag record pending (LazyFlags holds the flags),
   * then the jump cache's entry for this translation, at RIP.
   */
  private enter(cpu: SoftCpu, slot: number, entryCount: number, entryCase: number): void {
    const st = this.status;
    const m = cpu.mmu!;
    const rip = cpu.regs.rip;
    if (m.tlb.generation !== this.seenGeneration) {
      this.seenGeneration = m.tlb.generation;
      st[STATUS.epoch] = ++this.epoch;
    }
    st[STATUS.masks] = m.packedMasks;
    st[STATUS.df] = (cpu.regs.flags.raw & EFLAGS_DF) === 0 ? 0 : 1;
    st[STATUS.flags] = 0;
    st[STATUS.flags + 2] = 32;
    st[STATUS.events] = 0;
    st[STATUS.chained] = 0;
    st[STATUS.entry] = entryCase;
    st[STATUS.tscOk] = 0;
    st[STATUS.stallPending] = 0;
    const room = cpu.stallStop - cpu.cycles;
    st[STATUS.stallRoom] = room < STALL_ROOM_MAX ? room : STALL_ROOM_MAX;
    const jc = this.jumpCache;
    const e = jumpIndex(rip);
    jc[e] = rip;
    jc[e + 1] = slot;
    jc[e + 2] = entryCount | (entryCase << 16);
    jc[e + 3] = this.epoch;
  }

  /** Takes the jump cache's entries for the translation in `slot` out (its code was dropped). */
  private leaveJumpCache(slot: number): void {
    const jc = this.jumpCache;
    for (let e = 0; e < jc.length; e += JUMP_ENTRY_WORDS) {
      if (jc[e + 1] === slot) jc[e + 3] = 0; // epochs start at 1
    }
  }

  /**
   * Runs the translation in `slot` from the host, entered at its case `entryCase` (0: its entry
   * block, whose `entryCount` instructions the budget allows), and the ones the dispatcher goes
   * on to: the count completed, 0 when the first refused the CPU state. The caller keeps the
   * translation's CompiledBlock (which holds the slot: see `slots`) alive meanwhile.
   */
  runTranslation(cpu: SoftCpu, slot: number, budget: number, entryCount: number, entryCase: number): number {
    const st = this.status;
    const base = cpu.retired;
    this.cpu = cpu;
    this.base = base;
    this.enter(cpu, slot, entryCount, entryCase);
    // The translations check the CPU state themselves, and read and write the registers in
    // place (SoftCpu puts them and the segment caches in this memory).
    const n = this.dispatch(slot, budget);
    const chained = st[STATUS.chained];
    if (chained !== 0) cpu.jit!.counters.wasmChained += chained;
    if (n < 0) {
      // A guest fault in a slow path: the status area holds the state before the faulting
      // instruction; the run loop delivers the fault from there, as from a JS translation.
      materializeRecord(cpu.regs.flags, st[8], st[9], st[10], st[11], st[12], st[13], st[14]);
      cpu.jitFaultIp = this.ipsBySlot[st[STATUS.slot]][st[STATUS.j]];
      cpu.retired = base + st[STATUS.chainBase] + st[STATUS.k];
      settleStall(cpu, st);
      st[STATUS.fault] = 0;
      const e = this.fault;
      this.fault = null;
      throw e;
    }
    const slowExit = st[STATUS.slowExit] !== 0;
    if (n === 0 && !slowExit) return 0;
    materializeRecord(cpu.regs.flags, st[8], st[9], st[10], st[11], st[12], st[13], st[14]);
    cpu.regs.rip = st[STATUS.rip];
    cpu.retired = base + n;
    settleStall(cpu, st);
    return slowExit ? n + this.runSlowExit(cpu) : n;
  }

  /** True when WasmRuntime.maxLiveTranslations translations hold a slot: make no more for now. */
  get full(): boolean {
    return this.nextSlot - this.freeSlots.length >= WasmRuntime.maxLiveTranslations;
  }

  /**
   * Compiles and instantiates `region` (synchronously): the CompiledBlockFn that runs it from
   * its entry block, one that enters it at a member (`atMember`, for region.entries), and what
   * to call when its code is dropped.
   */
  instantiate(region: WasmRegion, onSlowHeavy: (() => void) | null = null): { slot: number; fn: CompiledBlockFn; atMember: (entryCase: number, count: number) => CompiledBlockFn; onDrop: () => void } {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(translationModule(region, this.layout.pages)), this.imports);
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.table.length) this.table.grow(this.table.length);
    this.table.set(slot, instance.exports.r);
    this.ipsBySlot[slot] = region.ips;
    this.insnsBySlot[slot] = region.insns;
    this.slowExitsBySlot[slot] = 0;
    this.slowExitWindowBySlot[slot] = 0;
    this.onSlowHeavyBySlot[slot] = onSlowHeavy;
    const rt = this;
    const run = function wasmTranslation(cpu: SoftCpu, budget: number, entryCount: number, entryCase: number): number {
      return rt.runTranslation(cpu, slot, budget, entryCount, entryCase);
    };
    // Every entry's function holds `run`, so the slot is freed only once none is left.
    this.slots.register(run, slot);
    const entryCount = region.entryCount;
    return {
      slot,
      fn: (cpu, budget) => run(cpu, budget, entryCount, 0),
      atMember: (entryCase, count) => (cpu, budget) => run(cpu, budget, count, entryCase),
      onDrop: () => this.leaveJumpCache(slot),
    };
  }
}

const RUNTIMES = new WeakMap<Mmu, WasmRuntime | null>();
