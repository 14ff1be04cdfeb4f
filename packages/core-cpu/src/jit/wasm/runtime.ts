/**
 * The host side of WebAssembly translations: per MMU whose TLB lives in the RAM backing's
 * WebAssembly memory, the functions translations call (slow-path memory accesses, flag
 * hand-over to LazyFlags), the table translations and host functions live in, and the wrapper that makes a module a CompiledBlockFn with the
 * JavaScript translation's contract (block-compiler.ts): entry checks (flat segments, access
 * masks, a 32-bit stack) returning 0, the flag record and RIP handed over at the exit (the
 * registers are in this memory already: SoftCpu places its GprFile there), and on a fault the
 * state before the faulting instruction, `cpu.jitFaultIp` and `cpu.retired` set as the run loop
 * expects.
 */
import { materializeRecord } from '../flag-state.js';
import { segmentLinear } from '../../interp/addressing.js';
import { condition } from '../../interp/handlers/control.js';
import { setCarryOnly, setRotateFlags } from '../../interp/handlers/shift.js';
import type { SoftCpu } from '../../interp/soft-cpu.js';
import type { Mmu } from '../../mmu/mmu.js';
import { WASM_GPR_OFFSET, WASM_STATUS_OFFSET } from '../../mmu/tlb.js';
import { WRITABLE_SIMPLE_MASK, WRITABLE_SIMPLE_VALUE } from '../../interp/protected/segment-checks.js';
import { ATTR_DB } from '../../state/segment-cache.js';
import type { CompiledBlockFn } from '../block-compiler.js';
import { LOCALS } from './code.js';
import { STATUS } from './context.js';
import { encodeModule, I32, Op } from './encoder.js';
import { IMPORT_TYPES } from './imports.js';
import type { WasmLayout, WasmRegion } from './region.js';

const SS = 2;
type DispatchFn = (slot: number, budget: number) => number;

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
 * The dispatcher `d(slot, budget)`: calls the translation in slot `slot` of the translations'
 * table. Every wrapper calls this one exported function, so V8 sees one WebAssembly callee at
 * that call site: a call from JavaScript to many different exports goes through V8's generic
 * wrapper (measured 50-65 ns a call with 50-500 of them, 25-29 ns through this table, 5 ns for
 * one export).
 */
const DISPATCHER_MODULE = encodeModule({
  importModule: 'e',
  types: TYPES,
  table: { name: 't' },
  functions: [{ type: DISPATCH_TYPE, locals: [], body: [Op.localGet, 1, Op.localGet, 0, Op.callIndirect, TRANSLATION_TYPE, 0] }],
  exports: [{ name: 'd', func: 0 }],
});

/** A translation's module: imports the RAM's memory and the host table, exports its function. */
function translationModule(region: WasmRegion, pages: number): Uint8Array {
  return encodeModule({
    importModule: 'e',
    types: TYPES,
    memory: { name: 'm', pages },
    table: { name: 'h' },
    functions: [{ type: TRANSLATION_TYPE, locals: LOCALS, body: region.body }],
    exports: [{ name: 'r', func: 0 }],
  });
}

export class WasmRuntime {
  readonly layout: WasmLayout;
  private readonly status: Int32Array;
  /** What a translation module imports: the memory and the host table. */
  private readonly imports: WebAssembly.Imports;
  /** The translations' table and its free slots. */
  private readonly table = new WebAssembly.Table({ initial: 64, element: 'anyfunc' });
  private readonly dispatch: DispatchFn;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** A wrapper collected (its translation dropped): its slot is free, and the module with it. */
  private readonly slots = new FinalizationRegistry<number>((slot) => {
    this.table.set(slot, null);
    this.freeSlots.push(slot);
  });
  /** The CPU and retired count of the translation running now (set by its wrapper). */
  private cpu: SoftCpu | null = null;
  private base = 0;

  constructor(memory: WebAssembly.Memory, tlbOffset: number) {
    const statusOffset = tlbOffset + WASM_STATUS_OFFSET;
    this.layout = { tlbOffset, statusOffset, gprOffset: tlbOffset + WASM_GPR_OFFSET, pages: memory.buffer.byteLength / 0x10000 };
    this.status = new Int32Array(memory.buffer, statusOffset, STATUS.size);
    const st = this.status;
    // A slow path: the count first (devices read time from it), the address the general way
    // (the limit check of a flat segment), the access, then whether work is pending. A fault
    // is kept for the wrapper, which rethrows it once the translation has left.
    const read = (size: 1 | 2 | 4) => (lin: number, seg: number, k: number, j: number): number => {
      const cpu = this.cpu!;
      cpu.retired = this.base + k;
      try {
        const at = segmentLinear(cpu, seg, lin >>> 0, size);
        const v = size === 1 ? cpu.mem.read8(at) : size === 2 ? cpu.mem.read16(at) : cpu.mem.read32(at);
        st[STATUS.events] = cpu.pendingEvents !== 0 ? 1 : 0;
        return v | 0;
      } catch (e) {
        this.faulted(e, k, j);
        return 0;
      }
    };
    const write = (size: 1 | 2 | 4) => (lin: number, v: number, seg: number, k: number, j: number): void => {
      const cpu = this.cpu!;
      cpu.retired = this.base + k;
      try {
        const at = segmentLinear(cpu, seg, lin >>> 0, size);
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
      },
    };
    new WebAssembly.Instance(new WebAssembly.Module(HOST_FUNCTIONS_MODULE), hostFunctions);
    this.dispatch = new WebAssembly.Instance(new WebAssembly.Module(DISPATCHER_MODULE), { e: { t: this.table } }).exports.d as DispatchFn;
    this.imports = { e: { m: memory, h: hostTable } };
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

  /** Compiles and instantiates `region` (synchronously) and wraps it. */
  instantiate(region: WasmRegion, masks: { readMask: number; readExpect: number; writeMask: number; writeExpect: number }): CompiledBlockFn {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(translationModule(region, this.layout.pages)), this.imports);
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.table.length) this.table.grow(this.table.length);
    this.table.set(slot, instance.exports.r);
    const dispatch = this.dispatch;
    const st = this.status;
    const flat = region.flatSegs;
    const usesStack = region.usesStack;
    const ips = region.ips;
    const { readMask, readExpect, writeMask, writeExpect } = masks;
    const rt = this;
    const wrapper = function wasmTranslation(cpu: SoftCpu, budget: number): number {
      const r = cpu.regs;
      const seg = r.seg;
      for (let i = 0; i < flat.length; i++) {
        const s = flat[i];
        if (!((seg.attr[s] & WRITABLE_SIMPLE_MASK) === WRITABLE_SIMPLE_VALUE && seg.base[s] === 0 && seg.limit[s] === -1)) return 0;
      }
      const m = cpu.mmu!;
      if (!(m.readMask === readMask && m.readExpect === readExpect && m.writeMask === writeMask && m.writeExpect === writeExpect)) return 0;
      if (usesStack && (seg.attr[SS] & ATTR_DB) === 0) return 0;
      const base = cpu.retired;
      rt.cpu = cpu;
      rt.base = base;
      // The translation reads and writes the registers in place (SoftCpu puts them in this memory).
      const n = dispatch(slot, budget);
      if (n < 0) {
        // A guest fault in a slow path: the status area holds the state before the faulting
        // instruction; the run loop delivers the fault from there, as from a JS translation.
        materializeRecord(cpu.regs.flags, st[8], st[9], st[10], st[11], st[12], st[13], st[14]);
        cpu.jitFaultIp = ips[st[STATUS.j]];
        cpu.retired = base + st[STATUS.k];
        st[STATUS.fault] = 0;
        const e = rt.fault;
        rt.fault = null;
        throw e;
      }
      materializeRecord(cpu.regs.flags, st[8], st[9], st[10], st[11], st[12], st[13], st[14]);
      r.rip = st[STATUS.rip];
      cpu.retired = base + n;
      return n;
    };
    this.slots.register(wrapper, slot);
    return wrapper;
  }
}

const RUNTIMES = new WeakMap<Mmu, WasmRuntime | null>();
