/**
 * A reusable 64-bit test machine: a SoftCpu over an Mmu, already in long mode (CR0.PE|PG,
 * CR4.PAE, EFER.LME|LMA, 4-level paging), running 64-bit code (CS.L = 1) at CPL 0 or CPL 3.
 *
 * Usage:
 *   const m = longModeMachine({ cpl: 3 });
 *   m.load([0x48, 0xff, 0xc0]);          // inc rax, at CODE (0x10000) unless `at` is given
 *   m.cpu.regs.gpr.set64(0, 41n);        // (or set r32/hi directly)
 *   const stop = m.run();                 // 'end' | 'halt' | 'limit'
 *   m.cpu.regs.gpr.get64(0);              // 42n
 *
 * `run` executes until RIP reaches the end of the code last loaded (the marker), the CPU
 * halts, or `maxSteps` instructions ran. Every exception vector goes through a 64-bit
 * interrupt gate (DPL 3, so INT n works from CPL 3) to a CPL 0 stub that is a single HLT at
 * STUBS + 16 * vector: a fault therefore ends `run` with 'halt', `cpu.lastException` = the
 * vector, and the interrupt frame on the kernel stack (`m.frame()`). The stack is RSP0 from
 * the TSS when the fault came from CPL 3, otherwise the current one.
 *
 * Physical layout (identity-mapped, and mapped again at HIGH_ALIAS = 0xFFFF_8000_0000_0000):
 * PML4 0x1000, PDPT 0x2000, PD 0x3000 (2 MiB pages, user + writable, covering RAM),
 * GDT 0x4000, IDT 0x5000, TSS 0x6000, exception stubs 0x7000, code 0x10000,
 * stacks: CPL 0 0x80000 (also TSS.RSP0), CPL 3 0x90000, IST1 0x60000.
 * Around 4 GiB, for carries into bits 63:32: linear 0xFFE0_0000-0xFFFF_FFFF maps physical
 * 0x200000-0x3FFFFF (PD_TOP), and linear 0x1_0000_0000 + x maps physical x (PDPT[4] = PD).
 */
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState, type SegmentState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { syncPrivilege } from '../../src/interp/protected/privilege.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';

export const PML4 = 0x1000;
export const PDPT = 0x2000;
export const PD = 0x3000;
export const GDT = 0x4000;
export const IDT = 0x5000;
export const TSS = 0x6000;
export const STUBS = 0x7000;
export const PD_TOP = 0x9000;
export const CODE = 0x10000;
export const STACK0 = 0x80000;
export const STACK3 = 0x90000;
export const IST1_STACK = 0x60000;
/** Where physical 0 appears again in the upper canonical half (PML4 slot 256). */
export const HIGH_ALIAS = -0x800000000000; // 0xFFFF_8000_0000_0000 as a signed number

/** GDT selectors (RPL included for the user ones). */
export const SEL = {
  CODE64: 0x08,
  DATA0: 0x10,
  CODE32_USER: 0x18 | 3,
  DATA3: 0x20 | 3,
  CODE64_USER: 0x28 | 3,
  /** 16-byte 64-bit TSS descriptor (0x30-0x3f). */
  TSS: 0x30,
  CODE32: 0x40,
  CODE16: 0x48,
} as const;

export interface LongModeMachineOptions {
  /** Privilege of the code (default 0). */
  cpl?: 0 | 3;
  /** RAM size in bytes (default 4 MiB; at most 1 GiB is mapped). */
  ramSize?: number;
}

export type StopReason = 'end' | 'halt' | 'limit';

export interface LongModeMachine {
  cpu: SoftCpu;
  memory: GuestMemory;
  mmu: Mmu;
  /** Places code at `at` (default CODE), points RIP at it and makes its end the run marker. */
  load(code: readonly number[], at?: number): void;
  /** Runs until RIP = the marker, HLT (or a fault reaching a stub), or `maxSteps`. */
  run(maxSteps?: number): StopReason;
  /** The marker address (end of the last loaded code). */
  readonly end: number;
  /** The 64-bit interrupt frame at RSP after a fault: error code (when `withError`), RIP, CS, RFLAGS, RSP, SS. */
  frame(withError: boolean): { errorCode: bigint; rip: bigint; cs: bigint; rflags: bigint; rsp: bigint; ss: bigint };
  /** Reads 8 bytes of guest-physical memory as an unsigned bigint. */
  read64(phys: number): bigint;
  write64(phys: number, v: bigint): void;
}

/** Writes an 8-byte code/data descriptor: `access` is byte 5 (P DPL S type), `flags` the G D L AVL nibble. */
export function segmentDescriptor(memory: GuestMemory, at: number, base: number, limit: number, access: number, flags: number): void {
  memory.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  memory.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff));
}

/** Writes a 16-byte long-mode system descriptor or gate. */
export function gate64(memory: GuestMemory, at: number, selector: number, offset: bigint, type: number, dpl: number, ist = 0, present = true): void {
  const lo = Number(offset & 0xffffffffn);
  const hi = Number((offset >> 32n) & 0xffffffffn);
  memory.write32(at, ((selector & 0xffff) << 16) | (lo & 0xffff));
  memory.write32(at + 4, (lo & 0xffff0000) | (present ? 0x8000 : 0) | (dpl << 13) | (type << 8) | (ist & 7));
  memory.write32(at + 8, hi);
  memory.write32(at + 12, 0);
}

/** IDT entry `vector`: a 64-bit interrupt (0xE) or trap (0xF) gate to CODE64:handler. */
export function idtGate64(memory: GuestMemory, vector: number, handler: bigint, opts: { dpl?: number; type?: number; ist?: number; present?: boolean } = {}): void {
  gate64(memory, IDT + vector * 16, SEL.CODE64, handler, opts.type ?? 0xe, opts.dpl ?? 3, opts.ist ?? 0, opts.present ?? true);
}

function seg(selector: number, type: number, dpl: number, flags: { l?: boolean; db?: boolean; s?: boolean } = {}): SegmentState {
  return {
    selector, base: 0n, limit: 0xffffffff, type, present: true, dpl, db: flags.db ?? false, s: flags.s ?? true,
    l: flags.l ?? false, g: true, avl: false, unusable: false,
  };
}

export function longModeMachine(options: LongModeMachineOptions = {}): LongModeMachine {
  const size = options.ramSize ?? 0x400000;
  const cpl = options.cpl ?? 0;
  const memory = new GuestMemory(createSharedRamBacking(size), [{ gpa: 0, size, offset: 0 }]);
  const mmu = new Mmu(memory, createPortBus());
  const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);

  // 4-level identity map with 2 MiB pages (P RW US, PS), plus the high alias via PML4[256].
  memory.write32(PML4, PDPT | 0x7);
  memory.write32(PML4 + 256 * 8, PDPT | 0x7);
  memory.write32(PDPT, PD | 0x7);
  memory.write32(PDPT + 3 * 8, PD_TOP | 0x7);
  memory.write32(PD_TOP + 511 * 8, 0x200000 | 0x87);
  memory.write32(PDPT + 4 * 8, PD | 0x7);
  for (let i = 0; i < 512; i++) memory.write32(PD + i * 8, (i * 0x200000) | 0x87);

  // GDT.
  segmentDescriptor(memory, GDT + 0x08, 0, 0xfffff, 0x9a, 0xa); // 64-bit code, DPL 0 (G, L)
  segmentDescriptor(memory, GDT + 0x10, 0, 0xfffff, 0x92, 0xc); // data, DPL 0
  segmentDescriptor(memory, GDT + 0x18, 0, 0xfffff, 0xfa, 0xc); // 32-bit code, DPL 3
  segmentDescriptor(memory, GDT + 0x20, 0, 0xfffff, 0xf2, 0xc); // data, DPL 3
  segmentDescriptor(memory, GDT + 0x28, 0, 0xfffff, 0xfa, 0xa); // 64-bit code, DPL 3
  gate64(memory, GDT + 0x30, 0, 0n, 0, 0); // TSS descriptor, rewritten below
  memory.write32(GDT + 0x30, ((TSS & 0xffff) << 16) | 0x67);
  memory.write32(GDT + 0x34, (TSS & 0xff000000) | 0x8900 | ((TSS >>> 16) & 0xff)); // 64-bit TSS, available
  segmentDescriptor(memory, GDT + 0x40, 0, 0xfffff, 0x9a, 0xc); // 32-bit code, DPL 0
  segmentDescriptor(memory, GDT + 0x48, 0, 0xffff, 0x9a, 0x0); // 16-bit code, DPL 0

  // TSS: RSP0 and IST1.
  memory.write32(TSS + 4, STACK0);
  memory.write32(TSS + 0x24, IST1_STACK);

  // IDT: every vector to a HLT stub.
  for (let v = 0; v < 256; v++) {
    memory.write8(STUBS + v * 16, 0xf4);
    idtGate64(memory, v, BigInt(STUBS + v * 16));
  }

  const s = resetCpuState();
  s.cr0 = 0x80000011n; // PG | ET | PE
  s.cr3 = BigInt(PML4);
  s.cr4 = 0x20n; // PAE
  s.efer = 0x500n; // LME | LMA
  s.gdt = { base: BigInt(GDT), limit: 0x4f };
  s.idt = { base: BigInt(IDT), limit: 0xfff };
  s.tr = { ...seg(SEL.TSS, 0xb, 0, { s: false }), base: BigInt(TSS), limit: 0x67, g: false };
  s.ldt = { ...seg(0, 0x2, 0, { s: false }), unusable: true, limit: 0 };
  if (cpl === 0) {
    s.cs = seg(SEL.CODE64, 0xb, 0, { l: true });
    for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) s[name] = seg(SEL.DATA0, 0x3, 0, { db: true });
    s.gpr[4] = BigInt(STACK0);
  } else {
    s.cs = seg(SEL.CODE64_USER, 0xb, 3, { l: true });
    for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) s[name] = seg(SEL.DATA3, 0x3, 3, { db: true });
    s.gpr[4] = BigInt(STACK3);
  }
  s.rflags = 0x2n;
  s.rip = BigInt(CODE);
  cpu.regs.load(s);
  mmu.setPagingContext(cpu.regs);
  syncPrivilege(cpu);

  let end = CODE;
  const machine: LongModeMachine = {
    cpu,
    memory,
    mmu,
    get end() {
      return end;
    },
    load(code, at = CODE) {
      memory.writeBytes(at, Uint8Array.from(code));
      cpu.flushDecodeCache();
      cpu.regs.rip = at | 0;
      cpu.regs.ripHi = 0;
      cpu.halted = false;
      end = at + code.length;
    },
    run(maxSteps = 100000) {
      const r = cpu.regs;
      for (let i = 0; i < maxSteps; i++) {
        if (r.rip >>> 0 === end && r.ripHi === 0) return 'end';
        if (cpu.halted) return 'halt';
        cpu.step();
      }
      if (r.rip >>> 0 === end && r.ripHi === 0) return 'end';
      return cpu.halted ? 'halt' : 'limit';
    },
    frame(withError) {
      const rsp = Number(cpu.regs.gpr.get64(4));
      const at = withError ? rsp + 8 : rsp;
      return {
        errorCode: withError ? machine.read64(rsp) : -1n,
        rip: machine.read64(at),
        cs: machine.read64(at + 8),
        rflags: machine.read64(at + 16),
        rsp: machine.read64(at + 24),
        ss: machine.read64(at + 32),
      };
    },
    read64(phys) {
      return (BigInt(memory.read32(phys + 4) >>> 0) << 32n) | BigInt(memory.read32(phys) >>> 0);
    },
    write64(phys, v) {
      memory.write32(phys, Number(v & 0xffffffffn));
      memory.write32(phys + 4, Number((v >> 32n) & 0xffffffffn));
    },
  };
  return machine;
}
