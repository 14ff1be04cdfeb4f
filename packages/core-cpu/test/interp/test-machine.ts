// Test support: a SoftCpu over RAM, through the MMU, with code at 0:0x7c00 — the setup the
// interpreter's unit tests share.
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState, type IoBus } from '@tsemu/devices/platform';
import type { LinearMemory } from '../../src/interp/linear-memory.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { Seg } from '../../src/state/segment-cache.js';

export const CODE = 0x7c00;

/**
 * 16-bit code summing `count` down to 1 into AX (mod 64 Ki) with ADD and LOOP, then HLT:
 * 2 + 2 * count + 1 instructions.
 */
export function sumLoop(count: number): number[] {
  return [
    0x31, 0xc0, //                                  xor ax, ax
    0xb9, count & 0xff, (count >> 8) & 0xff, //     mov cx, count
    0x01, 0xc8, //                                  add ax, cx   <- loop
    0xe2, 0xfc, //                                  loop -4
    0xf4, //                                        hlt
  ];
}
export const STACK_TOP = 0x7000;

export interface TestCpuOptions {
  ramSize?: number;
  /** Real-mode DS/ES selectors (bases = selector * 16). */
  ds?: number;
  es?: number;
  /** Fill the IVT with handlers that are single HLTs at 0x500 + vector. */
  haltingIvt?: boolean;
  /** Switch to flat 32-bit protected mode at ring 0 (CS.D, 4 GiB data segments). */
  flat32?: boolean;
  /** Wraps the memory the CPU sees (to record accesses, for instance). */
  wrapMemory?: (paged: PagedLinearMemory) => LinearMemory;
}

export interface TestCpu {
  cpu: SoftCpu;
  memory: GuestMemory;
  io: IoBus;
}

export function testCpu(code: number[], options: TestCpuOptions = {}): TestCpu {
  const size = options.ramSize ?? 0x100000;
  const memory = new GuestMemory(createSharedRamBacking(size), [{ gpa: 0, size, offset: 0 }]);
  const io = createPortBus();
  const mmu = new Mmu(memory, createPortBus());
  const paged = new PagedLinearMemory(mmu);
  const cpu = new SoftCpu(options.wrapMemory ? options.wrapMemory(paged) : paged, io, mmu);
  if (options.haltingIvt) {
    for (let v = 0; v < 32; v++) {
      memory.write16(v * 4, 0x500 + v);
      memory.write16(v * 4 + 2, 0);
      memory.write8(0x500 + v, 0xf4);
    }
  }
  memory.writeBytes(CODE, Uint8Array.from(code));
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  if (options.ds !== undefined) s.ds = { ...s.ds, selector: options.ds, base: BigInt(options.ds) << 4n };
  if (options.es !== undefined) s.es = { ...s.es, selector: options.es, base: BigInt(options.es) << 4n };
  s.rip = BigInt(CODE);
  s.gpr[4] = BigInt(STACK_TOP);
  cpu.regs.load(s);
  if (options.flat32) {
    const r = cpu.regs;
    r.cr0 |= 1;
    r.seg.attr[Seg.CS] |= 0x4000;
    for (const seg of [Seg.ES, Seg.DS, Seg.SS]) {
      r.seg.base[seg] = 0;
      r.seg.limit[seg] = 0xffffffff;
    }
  }
  return { cpu, memory, io };
}
