/**
 * The software CPU's interpreter on CPU-bound loops, in millions of guest instructions per
 * second: a real-mode ALU/memory/branch loop, and a 32-bit flat protected-mode loop of calls
 * and returns, stack traffic, SIB addressing and carry tricks (without paging, then with
 * paging on identity-mapped 4 KiB pages), and a paged loop shaped like the Linux boot's hot spots
 * (multi-precision multiply-accumulate, shifts, MOVZX), locals in a stack frame, and the kind of
 * integer workload the JIT issue's anchors used (sieve-crc-workload.ts); then cold code (cold-code.ts): 1,920
 * small functions each run a few hundred times, too much decoded code for the host's caches, as
 * in a kernel's early init. The guest bytes are in interp-workloads.ts and cold-code.ts;
 * v86-interp.ts runs the same ones under v86 for the peer comparison.
 */
import {
  createPortBus, createSharedRamBacking, flatSegment32, GuestMemory, resetCpuState,
} from '@tsemu/devices/platform';
import { Jit, Mmu, PagedLinearMemory, SoftCpu, type JitOptions } from '@tsemu/core-cpu';
import {
  FLAT32_INSTRUCTIONS, FLAT32_LOOP, FRAME_INSTRUCTIONS, FRAME_LOOP, MPI_INSTRUCTIONS, MPI_LOOP, PAGE_DIRECTORY, PAGE_TABLE, REAL_MODE_INSTRUCTIONS,
  REAL_MODE_LOOP, flat32Data,
} from './interp-workloads.js';
import { COLD_CODE, COLD_TABLE, coldCode } from './cold-code.js';
import { SIEVE_CRC_INSTRUCTIONS, SIEVE_CRC_LOOP } from './sieve-crc-workload.js';

interface Workload {
  name: string;
  instructions: number;
  setup(memory: GuestMemory, mmu: Mmu, cpu: SoftCpu): void;
}

export const WORKLOADS: Workload[] = [
  {
    name: 'real-mode ALU/memory/branch loop',
    instructions: REAL_MODE_INSTRUCTIONS,
    setup(memory, _mmu, cpu) {
      memory.writeBytes(0x7c00, Uint8Array.from(REAL_MODE_LOOP));
      const s = resetCpuState();
      s.cs = { ...s.cs, selector: 0, base: 0n };
      s.rip = 0x7c00n;
      cpu.regs.load(s);
    },
  },
  flat32('32-bit flat protected mode: calls, stack, SIB, carry', false),
  flat32('32-bit flat protected mode, paging on (4 KiB pages)', true),
  flat32('32-bit paged: multi-precision multiply-accumulate', true, MPI_LOOP, MPI_INSTRUCTIONS),
  flat32('32-bit paged: locals in the stack frame (EBP-relative)', true, FRAME_LOOP, FRAME_INSTRUCTIONS),
  flat32('32-bit paged: sieve, CRC-32, copies, calls', true, SIEVE_CRC_LOOP, SIEVE_CRC_INSTRUCTIONS),
  coldWorkload(),
];

/** cold-code.ts: 1,920 small functions, each run a few hundred times in all (paging on). */
function coldWorkload(): Workload {
  const cold = coldCode();
  const base = flat32('32-bit paged: cold code, 1,920 functions', true, cold.driver, cold.instructions);
  return {
    ...base,
    setup(memory, mmu, cpu) {
      base.setup(memory, mmu, cpu);
      memory.writeBytes(COLD_CODE, cold.functions);
      memory.writeBytes(COLD_TABLE, cold.table);
    },
  };
}

function flat32(name: string, paging: boolean, loop = FLAT32_LOOP, instructions = FLAT32_INSTRUCTIONS): Workload {
  return {
    name,
    instructions,
    setup(memory, mmu, cpu) {
      memory.writeBytes(0x10000, Uint8Array.from(loop));
      const data = flat32Data();
      for (let i = 0; i < data.length; i++) memory.write32(0x20000 + i * 4, data[i]);
      // The loops' output area starts from zeros in every round.
      memory.writeBytes(0x30000, new Uint8Array(0x10000));
      const cr0 = paging ? 0x80000001 : 1;
      if (paging) {
        memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 3);
        for (let p = 0; p < 1024; p++) memory.write32(PAGE_TABLE + p * 4, (p << 12) | 3);
      }
      const s = resetCpuState();
      s.cs = flatSegment32(8, true);
      for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flatSegment32(16, false);
      s.cr0 = BigInt(cr0 >>> 0);
      s.cr3 = paging ? BigInt(PAGE_DIRECTORY) : 0n;
      s.rip = 0x10000n;
      s.gpr[4] = 0x80000n;
      cpu.regs.load(s);
      mmu.setPagingContext({ cr0: cr0 | 0, cr3: paging ? PAGE_DIRECTORY : 0, cr3Hi: 0, cr4: 0, efer: 0 });
    },
  };
}

/**
 * Median and best of several rounds, in millions of guest instructions per second: by wall
 * clock, and by the process's CPU time (user + system, `process.cpuUsage()`), which a loaded
 * machine disturbs far less (time the process spends waiting for a core is not counted).
 */
export interface MipsFigure {
  name: string;
  instructions: number;
  rounds: number;
  median: number;
  best: number;
  /** MIPS by CPU time. */
  cpuMedian: number;
  cpuBest: number;
}

/** CPU time of this process so far, in microseconds (user + system). */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The figure for `wall` and `cpu` rates (MIPS), each sorted in place. */
export function mipsFigure(name: string, instructions: number, wall: number[], cpu: number[]): MipsFigure {
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    name, instructions, rounds: wall.length,
    median: wall[wall.length >> 1], best: wall[wall.length - 1],
    cpuMedian: cpu[cpu.length >> 1], cpuBest: cpu[cpu.length - 1],
  };
}

/**
 * Warm-up rounds continue until this much host time has passed, whatever their count. A round
 * of these loops takes ~10 ms, and V8 takes 40-90 ms of a background thread to optimise the
 * interpreter's block runner (again whenever a new handler case first runs): rounds measured
 * before that were charged that thread's CPU time too (the paging loop's 92 MIPS by wall clock
 * read as 44-55 by CPU time). Since the runner goes on from block to block itself, V8 inlines
 * many more handlers into it and optimises it for longer: with 500 ms the multiply-accumulate
 * loop still read 20.8 MIPS by CPU time against 44.9 by wall clock.
 */
export const MIN_WARMUP_MS = 1500;

/**
 * `warmup` rounds run first and are not counted (JIT tiers of V8 warming up), and more until
 * MIN_WARMUP_MS have passed when `warmup` is not 0.
 */
export function measureInterpreter(rounds = 5, warmup = 0, jit: JitOptions | null = null, only = ''): MipsFigure[] {
  const figures: MipsFigure[] = [];
  // `only`: the workloads whose name contains it (all by default), for profiling one alone.
  for (const w of WORKLOADS.filter((x) => x.name.includes(only))) {
    const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
    const mmu = new Mmu(memory, createPortBus());
    const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
    if (jit !== null) cpu.jit = new Jit(jit);
    const wall: number[] = [];
    const cpuRates: number[] = [];
    const warmupEnd = performance.now() + (warmup > 0 ? MIN_WARMUP_MS : 0);
    for (let round = 0, counted = 0; counted < rounds; round++) {
      w.setup(memory, mmu, cpu);
      // The setup writes the code straight into RAM (no MMU, so nothing is invalidated): the first
      // round starts from an empty cache; later rounds rewrite the same bytes, so decoded blocks
      // and translations stay valid, as v86 keeps its JIT's code across rounds (v86-interp.ts).
      if (round === 0) cpu.flushDecodeCache();
      cpu.halted = false;
      const cpuStart = cpuMicros();
      const start = process.hrtime.bigint();
      const n = cpu.run(w.instructions + 10);
      const ns = Number(process.hrtime.bigint() - start);
      const us = Math.max(1, cpuMicros() - cpuStart);
      if (n !== w.instructions) throw new Error(`${w.name}: interpreter ran ${n} instructions, expected ${w.instructions}`);
      if (round >= warmup && performance.now() >= warmupEnd) {
        wall.push((n / ns) * 1e3);
        cpuRates.push(n / us);
        counted++;
      }
    }
    figures.push(mipsFigure(w.name, w.instructions, wall, cpuRates));
  }
  return figures;
}

export function runInterpreterBench(rounds = 5): string[] {
  return measureInterpreter(rounds).flatMap((f) => [
    `  ${f.name}, ${f.instructions} instructions x ${f.rounds} rounds`,
    `  interpreter: median ${f.median.toFixed(1)} MIPS (best ${f.best.toFixed(1)}); by CPU time ${f.cpuMedian.toFixed(1)} (best ${f.cpuBest.toFixed(1)})`,
  ]);
}
