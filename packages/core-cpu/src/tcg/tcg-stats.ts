/**
 * The software CPU's figures for `--stats`: what ran (instructions, CPU time in the vCPU
 * loop, so MIPS), how it was interrupted (interrupts, NMIs, HLTs, time asleep), what the
 * caches did (decode cache, TLB, page walks) and how virtual time relates to host time.
 * Gathered from counters that already exist (DecodeCache, Mmu, Tlb, VirtualClock) plus the
 * run loop's own; decode-cache hits are not counted on the hot path, so they are derived.
 */
import type { ExitStatRow } from '@tsemu/devices/platform';
import type { SoftCpu } from '../interp/soft-cpu.js';
import type { Mmu } from '../mmu/mmu.js';
import type { JitCounters } from '../jit/jit.js';
import type { CpuTracer } from './cpu-trace.js';
import type { VirtualClock } from './virtual-clock.js';

/** The run loop's own counters. */
export interface TcgCounters {
  /** Host nanoseconds spent in vCPU slices. */
  cpuNs: number;
  interrupts: number;
  nmis: number;
  /** HLT instructions that stopped the CPU. */
  hlts: number;
  /** Host nanoseconds the vCPU slept, halted, waiting for an event. */
  sleepNs: number;
  slices: number;
}

export interface TcgStats extends TcgCounters {
  instructions: number;
  /** Cycles of the clock beyond one per instruction: PAUSE and port accesses (interp/handlers/stall-cycles.ts). */
  stallCycles: number;
  /** Instructions per microsecond of vCPU-loop CPU time. */
  mips: number;
  clock: 'virtual' | 'host';
  /** Virtual clock only: guest time now, time skipped while halted, ns per instruction, timers fired. */
  virtualNs: number | null;
  idleVirtualNs: number | null;
  nsPerInstruction: number | null;
  timersFired: number | null;
  decodeCache: { blocks: number; decoded: number; invalidations: number; flushes: number } | null;
  /** The JIT's counters (jit/jit.ts); null with --jit=off. */
  jit: JitCounters | null;
  tlb: { fills: number; flushes: number; globalFlushes: number; invlpgs: number; overflows: number };
  mmu: { walks: number; pageFaults: number; mmioReads: number; mmioWrites: number; codeWrites: number };
  traceLines: number | null;
}

export function collectTcgStats(cpu: SoftCpu, mmu: Mmu, counters: TcgCounters, clock: VirtualClock | null, tracer: CpuTracer | null): TcgStats {
  const dc = cpu.decodeCache?.counters ?? null;
  return {
    ...counters,
    instructions: cpu.retired,
    stallCycles: cpu.stall,
    mips: counters.cpuNs > 0 ? (cpu.retired / counters.cpuNs) * 1e3 : 0,
    clock: clock === null ? 'host' : 'virtual',
    virtualNs: clock?.nowNs() ?? null,
    idleVirtualNs: clock?.idleNs ?? null,
    nsPerInstruction: clock?.nsPerInstruction ?? null,
    timersFired: clock?.timersFired ?? null,
    decodeCache: dc === null ? null : { blocks: dc.misses, decoded: dc.decoded, invalidations: dc.invalidations, flushes: dc.flushes },
    jit: cpu.jit === null ? null : { ...cpu.jit.counters },
    tlb: { ...mmu.tlb.counters },
    mmu: { ...mmu.counters },
    traceLines: tracer?.lines ?? null,
  };
}

/** The generic Accelerator.stats() rows: one per counter, times where they mean something. */
export function tcgStatRows(s: TcgStats): ExitStatRow[] {
  const rows: ExitStatRow[] = [
    { reason: 'instructions', where: '', count: s.instructions, timeNs: s.cpuNs },
    { reason: 'interrupts', where: '', count: s.interrupts, timeNs: 0 },
    { reason: 'NMI', where: '', count: s.nmis, timeNs: 0 },
    { reason: 'HLT', where: '', count: s.hlts, timeNs: s.sleepNs },
    { reason: 'TLB fills', where: '', count: s.tlb.fills, timeNs: 0 },
    { reason: 'TLB flushes', where: '', count: s.tlb.flushes + s.tlb.globalFlushes, timeNs: 0 },
  ];
  if (s.decodeCache) rows.push({ reason: 'blocks decoded', where: '', count: s.decodeCache.blocks, timeNs: 0 });
  if (s.jit) rows.push({ reason: 'blocks translated (JIT)', where: '', count: s.jit.compiled, timeNs: s.jit.compileNs });
  return rows;
}
