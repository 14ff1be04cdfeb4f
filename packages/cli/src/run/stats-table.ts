/**
 * Prints exit statistics as a kvm_stat-like table: one row per exit reason (total),
 * then its busiest ports or MMIO regions, with counts, share and time spent; and the
 * software CPU's figures as one row per figure.
 */
import type { TcgStats } from '@tsemu/core-cpu';
import type { ExitStatRow } from '@tsemu/devices/platform';

export function formatStatsTable(title: string, rows: readonly ExitStatRow[], elapsedNs: number): string {
  const totals = rows.filter((r) => r.where === '');
  const all = totals.reduce((n, r) => n + r.count, 0);
  const lines = [`${title}: ${all} exits in ${(elapsedNs / 1e9).toFixed(3)} s`];
  lines.push(`${'exit reason / where'.padEnd(40)} ${'count'.padStart(10)} ${'%'.padStart(6)} ${'time ms'.padStart(10)} ${'avg us'.padStart(8)}`);
  for (const total of [...totals].sort((a, b) => b.count - a.count)) {
    lines.push(row(total.reason, total, all));
    const details = rows.filter((r) => r.reason === total.reason && r.where !== '').sort((a, b) => b.count - a.count);
    for (const d of details.slice(0, 12)) lines.push(row(`  ${d.where}`, d, all));
    if (details.length > 12) lines.push(`  ... ${details.length - 12} more`);
  }
  return lines.join('\n');
}

function row(label: string, r: ExitStatRow, all: number): string {
  const pct = all ? ((100 * r.count) / all).toFixed(1) : '0.0';
  const avgUs = r.count ? (r.timeNs / r.count / 1e3).toFixed(2) : '-';
  return `${label.padEnd(40)} ${String(r.count).padStart(10)} ${pct.padStart(6)} ${(r.timeNs / 1e6).toFixed(2).padStart(10)} ${avgUs.padStart(8)}`;
}

/**
 * The software CPU's figures: a summary line (instructions, CPU time, MIPS, interrupts,
 * wall time), then one row per figure. MIPS is instructions per microsecond of CPU time
 * spent in the vCPU loop (not wall time, which includes sleeping in HLT).
 */
export function formatTcgStats(s: TcgStats, elapsedNs: number): string {
  const ms = (ns: number) => (ns / 1e6).toFixed(3);
  const lines = [
    `tcg: ${s.instructions} instructions in ${(s.cpuNs / 1e9).toFixed(3)} s of CPU time (${s.mips.toFixed(1)} MIPS), ${s.interrupts} interrupts, ${(elapsedNs / 1e9).toFixed(3)} s wall`,
  ];
  const rows: [string, string][] = [
    ['instructions retired', String(s.instructions)],
    ['extra cycles of PAUSE and port I/O', String(s.stallCycles)],
    ['vCPU loop CPU time ms', ms(s.cpuNs)],
    ['MIPS', s.mips.toFixed(1)],
    ['interrupts taken', String(s.interrupts)],
    ['NMIs taken', String(s.nmis)],
    ['HLT', String(s.hlts)],
    ['host time asleep in HLT ms', ms(s.sleepNs)],
    ['clock', s.clock === 'virtual' ? `virtual, ${s.nsPerInstruction} ns per instruction` : 'host'],
  ];
  if (s.virtualNs !== null) {
    rows.push(['virtual time ms', ms(s.virtualNs)]);
    rows.push(['virtual time skipped in HLT ms', ms(s.idleVirtualNs ?? 0)]);
    rows.push(['timers fired', String(s.timersFired ?? 0)]);
  }
  rows.push(['host time ms', ms(elapsedNs)]);
  if (s.virtualNs !== null && elapsedNs > 0) rows.push(['virtual / host time', (s.virtualNs / elapsedNs).toFixed(3)]);
  if (s.decodeCache) {
    rows.push(['blocks decoded', String(s.decodeCache.blocks)]);
    rows.push(['instructions decoded into blocks', String(s.decodeCache.decoded)]);
    rows.push(['blocks dropped by code writes', String(s.decodeCache.invalidations)]);
    rows.push(['decode-cache flushes', String(s.decodeCache.flushes)]);
  }
  if (s.jit) {
    rows.push(['JIT blocks translated', String(s.jit.compiled)]);
    rows.push(['JIT translations to WebAssembly', String(s.jit.wasm)]);
    rows.push(['JIT blocks entered inside a WebAssembly translation (shared entries)', String(s.jit.sharedEntries)]);
    rows.push(['JIT instructions translated', String(s.jit.instructions)]);
    rows.push(['JIT instructions inlined', String(s.jit.inlined)]);
    rows.push(['JIT instructions over registers in locals', String(s.jit.direct)]);
    rows.push(['JIT entries (translation cache hits)', String(s.jit.entries)]);
    rows.push(['JIT entries through a link (chained)', String(s.jit.chained)]);
    rows.push(['JIT WebAssembly steps inside (chained)', String(s.jit.wasmChained)]);
    rows.push(['JIT WebAssembly memory accesses through the host (slow path)', String(s.jit.slowAccesses)]);
    rows.push(['JIT WebAssembly TSC reads through the host (RDTSC, RDTSCP)', String(s.jit.hostTimeStamps)]);
    rows.push(['JIT WebAssembly translations made again with host calls (slow exits)', String(s.jit.slowHeavy)]);
    rows.push(['JIT WebAssembly instructions run through their interpreter handler', String(s.jit.handlerCalls)]);
    rows.push(['JIT instructions retired in translations', `${s.jit.retired} (${s.instructions > 0 ? ((100 * s.jit.retired) / s.instructions).toFixed(1) : '0.0'}%)`]);
    rows.push(['JIT time translating ms', ms(s.jit.compileNs)]);
    rows.push(['JIT translations dropped on entry (stale)', String(s.jit.stale)]);
    if (s.jit.wasmFull > 0) rows.push(['JIT translations made in JavaScript: WebAssembly at its limit', String(s.jit.wasmFull)]);
    if (s.jit.failures > 0) rows.push(['JIT translations that failed (interpreted)', String(s.jit.failures)]);
  } else rows.push(['JIT', 'off']);
  rows.push(['TLB fills', String(s.tlb.fills)]);
  rows.push(['TLB flushes', String(s.tlb.flushes)]);
  rows.push(['TLB global flushes', String(s.tlb.globalFlushes)]);
  rows.push(['TLB INVLPG', String(s.tlb.invlpgs)]);
  rows.push(['page walks', String(s.mmu.walks)]);
  rows.push(['page faults', String(s.mmu.pageFaults)]);
  rows.push(['MMIO reads', String(s.mmu.mmioReads)]);
  rows.push(['MMIO writes', String(s.mmu.mmioWrites)]);
  if (s.traceLines !== null) rows.push(['trace lines', String(s.traceLines)]);
  for (const [label, value] of rows) lines.push(`${label.padEnd(40)} ${value.padStart(16)}`);
  return lines.join('\n');
}

/**
 * The host the figures were measured on: Node's version, the cores it may use and the options
 * it started with (on a 2-core host the software CPU runs under `--v8-pool-size=1`, which
 * packages/cli/bin/relaunch.js adds).
 */
export function formatHostLine(nodeVersion: string, cores: number, nodeOptions: readonly string[]): string {
  const options = nodeOptions.length > 0 ? nodeOptions.join(' ') : 'none';
  return `host: Node ${nodeVersion}, ${cores} ${cores === 1 ? 'core' : 'cores'}, Node options: ${options}`;
}
