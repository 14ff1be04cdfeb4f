/**
 * The host side of WebAssembly translations: per MMU whose TLB lives in the RAM backing's
 * WebAssembly memory, the functions translations import (slow-path memory accesses, flag
 * hand-over to LazyFlags) and the wrapper that makes a module a CompiledBlockFn with the
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
import { STATUS } from './context.js';
import type { WasmLayout, WasmRegion } from './region.js';

const SS = 2;
type DispatchFn = (slot: number, budget: number) => number;

/**
 * The dispatcher: `d(slot, budget)` calls the translation in table slot `slot`. Every wrapper
 * calls this one exported function, so V8 sees one WebAssembly callee at that call site: a
 * call from JavaScript to many different exports goes through V8's generic wrapper (measured
 * 50-65 ns a call with 50-500 of them, 25-29 ns through this table, 5 ns for one export).
 */
const DISPATCHER = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: 0 = (i32) -> i32 (a translation), 1 = (i32 i32) -> i32
  0x01, 0x0c, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,
  // import e.t: a funcref table, at least 0 entries
  0x02, 0x09, 0x01, 0x01, 0x65, 0x01, 0x74, 0x01, 0x70, 0x00, 0x00,
  // one function of type 1, exported as d
  0x03, 0x02, 0x01, 0x01,
  0x07, 0x05, 0x01, 0x01, 0x64, 0x00, 0x00,
  // d: local.get 1; local.get 0; call_indirect (type 0) (table 0)
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x01, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0b,
]);


export class WasmRuntime {
  readonly layout: WasmLayout;
  private readonly status: Int32Array;
  private readonly imports: WebAssembly.Imports;
  /** The translations' table, the dispatcher over it, and the table's free slots. */
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
    this.dispatch = new WebAssembly.Instance(new WebAssembly.Module(DISPATCHER), { e: { t: this.table } }).exports.d as DispatchFn;
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
    this.imports = {
      e: {
        m: memory,
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
    const instance = new WebAssembly.Instance(new WebAssembly.Module(region.bytes), this.imports);
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    if (slot >= this.table.length) this.table.grow(this.table.length);
    this.table.set(slot, instance.exports.run);
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
