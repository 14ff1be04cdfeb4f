// Test support: runs SingleStepTests cases on the software CPU in real mode and compares.
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { decode } from '../../packages/core-cpu/src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../packages/core-cpu/src/decoder/instruction.js';
import type { LinearMemory } from '../../packages/core-cpu/src/interp/linear-memory.js';
import { PagedLinearMemory } from '../../packages/core-cpu/src/interp/paged-memory.js';
import { Mmu } from '../../packages/core-cpu/src/mmu/mmu.js';
import { SoftCpu } from '../../packages/core-cpu/src/interp/soft-cpu.js';
import { Seg } from '../../packages/core-cpu/src/state/segment-cache.js';
import type { Regs16, SingleStepCase } from './singlestep-data.js';

const RAM_SIZE = 0x1000000; // the 286's 24 address lines
const GPR_ORDER = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
const SEGMENTS: [keyof Regs16, number][] = [['es', Seg.ES], ['cs', Seg.CS], ['ss', Seg.SS], ['ds', Seg.DS]];
/** The 286 cannot set IOPL/NT in real mode; random initial states may hold them (README). */
const FLAGS_LOADABLE = 0x0fff;

/** Linear memory that remembers what was written, so each case starts from clean RAM. */
class TrackingMemory implements LinearMemory {
  readonly written: number[] = [];
  constructor(private readonly inner: LinearMemory) {}
  read8(a: number) { return this.inner.read8(a); }
  read16(a: number) { return this.inner.read16(a); }
  read32(a: number) { return this.inner.read32(a); }
  fetch8(a: number) { return this.inner.fetch8(a); }
  write8(a: number, v: number) { this.written.push(a, a + 1); this.inner.write8(a, v); }
  write16(a: number, v: number) { this.written.push(a, a + 1); this.inner.write16(a, v); }
  write32(a: number, v: number) { this.written.push(a, a + 3); this.inner.write32(a, v); }
}

const probe = newInstruction();
const NONE: ReadonlySet<string> = new Set();

/**
 * True when the case puts LOCK on an instruction a P6 refuses it on (#UD, SDM Vol. 2
 * "LOCK"): the 286 ignores such a LOCK, so the captured result is not a P6's.
 */
export function lockRejectedByP6(c: SingleStepCase): boolean {
  const bytes = c.bytes;
  return decode({ fetch8: (i: number) => bytes[i] ?? 0xf4 }, 0, CpuMode.Bits16, probe) === DecodeStatus.LockInvalid;
}

export class SingleStepRunner {
  private readonly memory = new GuestMemory(createSharedRamBacking(RAM_SIZE), [{ gpa: 0, size: RAM_SIZE, offset: 0 }]);
  // Through the software MMU with paging off (linear = physical), the path every mode takes.
  private readonly mmu = new Mmu(this.memory, createPortBus());
  private readonly tracking = new TrackingMemory(new PagedLinearMemory(this.mmu));
  // Given its MMU, the CPU caches decoded instructions, as it will in a machine.
  readonly cpu = new SoftCpu(this.tracking, createPortBus(), this.mmu);
  private loaded: number[] = [];

  /** Runs one case; returns null when the CPU ends in the captured state, else what differs. */
  run(c: SingleStepCase, flagsMask: number, ignoredRegisters: ReadonlySet<string> = NONE): string | null {
    this.clean();
    const bytes = this.memory.bytes;
    for (const [addr, value] of c.initial.ram) {
      bytes[addr] = value;
      this.loaded.push(addr);
    }
    const cpu = this.cpu;
    cpu.flushDecodeCache(); // the case's code was written straight into RAM
    const r = cpu.regs;
    r.load(resetCpuState());
    const init = c.initial.regs;
    GPR_ORDER.forEach((name, n) => (r.gpr.r16[n << 1] = init[name]));
    for (const [name, seg] of SEGMENTS) {
      r.seg.selector[seg] = init[name];
      r.seg.base[seg] = init[name] << 4;
    }
    r.rip = init.ip;
    r.flags.set(init.flags & FLAGS_LOADABLE);
    cpu.halted = false;
    cpu.lastException = -1;
    try {
      // The captured sequence is the instruction and then the HLT the capture rig placed after
      // it (or at the jump target or interrupt handler): the final IP is past that HLT.
      cpu.step();
      if (!cpu.halted) cpu.step();
      if (!cpu.halted) return 'did not reach the HLT that ends the captured sequence';
    } catch (e) {
      return `host error: ${(e as Error).message}`;
    }
    const diffs: string[] = [];
    const want = (name: keyof Regs16) => c.final.regs[name] ?? init[name];
    GPR_ORDER.forEach((name, n) => {
      if (!ignoredRegisters.has(name) && r.gpr.r16[n << 1] !== want(name)) diffs.push(`${name}=${hex(r.gpr.r16[n << 1])} want ${hex(want(name))}`);
    });
    for (const [name, seg] of SEGMENTS) {
      if (r.seg.selector[seg] !== want(name)) diffs.push(`${name}=${hex(r.seg.selector[seg])} want ${hex(want(name))}`);
    }
    if ((r.rip & 0xffff) !== want('ip')) diffs.push(`ip=${hex(r.rip & 0xffff)} want ${hex(want('ip'))}`);
    const flags = r.flags.get() & 0xffff;
    if ((flags & flagsMask) !== (want('flags') & flagsMask)) diffs.push(`flags=${hex(flags)} want ${hex(want('flags'))} (mask ${hex(flagsMask)})`);
    // The FLAGS word pushed by an exception sits at SS:SP+4 after delivery. The data's
    // `flag_address` names the same place except when SP is odd (it is one byte low then).
    const flagAddr = c.exception ? ((want('ss') << 4) + ((want('sp') + 4) & 0xffff)) & (RAM_SIZE - 1) : -1;
    for (const [addr, value] of c.final.ram) {
      let mask = 0xff;
      if (addr === flagAddr) mask = flagsMask & 0xff;
      else if (addr === flagAddr + 1) mask = (flagsMask >> 8) & 0xff;
      if ((bytes[addr] & mask) !== (value & mask)) diffs.push(`[${hex(addr)}]=${hex(bytes[addr])} want ${hex(value)}`);
    }
    return diffs.length ? diffs.join(', ') : null;
  }

  private clean(): void {
    const bytes = this.memory.bytes;
    for (const a of this.loaded) bytes[a] = 0;
    for (const a of this.tracking.written) bytes[a & (RAM_SIZE - 1)] = 0;
    this.loaded = [];
    this.tracking.written.length = 0;
  }
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}
