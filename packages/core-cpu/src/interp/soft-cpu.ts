/**
 * The interpreter: decode one instruction with the shared table, run its handler, and
 * turn a guest fault into exception delivery. Handlers are looked up by the table entry's
 * index (one function per entry key), so the decoder, the interpreter and (later) the JIT
 * share one description of the ISA. An entry with no handler raises #UD, as a CPU without
 * that instruction would.
 */
import type { IoBus } from '@tsemu/devices/platform';
import { decode, type ByteSource } from '../decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction } from '../decoder/instruction.js';
import { CpuRegisters } from '../state/cpu-registers.js';
import { Seg } from '../state/segment-cache.js';
import { CpuFault, raise, Vector } from './faults.js';
import { deliverException } from './interrupts.js';
import type { LinearMemory } from './linear-memory.js';
import type { Mmu } from '../mmu/mmu.js';
import { DISPATCH } from './handlers/index.js';

export class SoftCpu {
  readonly regs = new CpuRegisters();
  readonly insn = new Instruction();
  /** Instructions retired (the virtual clock's source). */
  retired = 0;
  halted = false;
  /** Vector of the last exception delivered, -1 for none (traces, conformance tests). */
  lastException = -1;
  private readonly code: ByteSource;

  constructor(
    readonly mem: LinearMemory,
    readonly io: IoBus,
    /**
     * The MMU behind `mem`, for the system side (CR0/CR3/CR4 writes, INVLPG, CPL changes
     * update its context and privilege); null only in tests that need no paging.
     */
    readonly mmu: Mmu | null = null,
  ) {
    const regs = this.regs;
    const seg = regs.seg;
    this.code = {
      fetch8: (ip: number) => mem.fetch8(seg.base[Seg.CS] + (this.mode === CpuMode.Bits16 ? ip & 0xffff : ip >>> 0)),
    };
  }

  /** Decoding mode from CR0.PE, EFER.LMA and CS.L/D. */
  get mode(): CpuMode {
    const r = this.regs;
    if (!(r.cr0 & 1)) return CpuMode.Bits16;
    const attr = r.seg.attr[Seg.CS];
    if (r.efer & 0x400 && attr & 0x2000) return CpuMode.Bits64;
    return attr & 0x4000 ? CpuMode.Bits32 : CpuMode.Bits16;
  }

  /** Executes one instruction (or delivers the exception it raised). */
  step(): void {
    const r = this.regs;
    const start = r.rip;
    try {
      const mode = this.mode;
      const insn = this.insn;
      const status = decode(this.code, start, mode, insn);
      if (status !== DecodeStatus.Ok) raise(status === DecodeStatus.TooLong ? Vector.GP : Vector.UD, status === DecodeStatus.TooLong ? 0 : -1);
      const next = start + insn.length;
      r.rip = mode === CpuMode.Bits16 ? next & 0xffff : next | 0;
      DISPATCH[insn.entryIndex](this, insn);
      this.retired++;
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      r.rip = start;
      this.lastException = e.vector;
      deliverException(this, e);
    }
  }

  /** Runs up to `count` instructions; stops early on HLT. Returns the number executed. */
  run(count: number): number {
    const before = this.retired;
    for (let i = 0; i < count && !this.halted; i++) this.step();
    return this.retired - before;
  }
}
