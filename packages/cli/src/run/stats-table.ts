/**
 * Prints exit statistics as a kvm_stat-like table: one row per exit reason (total),
 * then its busiest ports or MMIO regions, with counts, share and time spent.
 */
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

/** The software CPU's figures: instructions, the CPU time they took, MIPS, interrupts taken. */
export function formatTcgStats(rows: readonly ExitStatRow[], elapsedNs: number): string {
  const insns = rows.find((r) => r.reason === 'instructions');
  const irqs = rows.find((r) => r.reason === 'interrupts');
  const count = insns?.count ?? 0;
  const cpuNs = insns?.timeNs ?? 0;
  const mips = cpuNs ? ((count / cpuNs) * 1e3).toFixed(1) : '0.0';
  return `tcg: ${count} instructions in ${(cpuNs / 1e9).toFixed(3)} s of CPU time (${mips} MIPS), ${irqs?.count ?? 0} interrupts, ${(elapsedNs / 1e9).toFixed(3)} s wall`;
}
