/**
 * Exit counters (kvm_stat-like): count and time spent, by exit reason, by port and by
 * MMIO range. The vCPU worker writes them into a shared Float64Array as it serves exits
 * (no messages, no locks: one writer per array, and a reader that sees a count one exit
 * stale is fine); the main thread turns them into ExitStatRows, naming ports and ranges
 * after the IoRange device that claims them.
 */
import type { ExitStatRow, IoRange } from '@tsemu/devices/platform';
import { MAX_MMIO_RANGES, PORT_COUNT } from './io-maps.js';
import { exitReasonName } from './structs/kvm-run.js';
import { hex } from './trace.js';

/** Reason slots 0..63 are KVM_EXIT_* numbers; these extra rows are not exits. */
export const STAT_INTERRUPT_INJECTED = 62;
const REASON_SLOTS = 64;
/** MMIO slots: one per range of the current layout, then these two. */
export const MMIO_SLOT_UNCLAIMED = MAX_MMIO_RANGES;
export const MMIO_SLOT_UNSURE = MAX_MMIO_RANGES + 1;
const MMIO_SLOTS = MAX_MMIO_RANGES + 2;

const REASON_AT = 0;
const PORT_AT = REASON_AT + 2 * REASON_SLOTS;
const MMIO_AT = PORT_AT + 2 * PORT_COUNT;
const LENGTH = MMIO_AT + 2 * MMIO_SLOTS;

export class ExitStats {
  readonly values: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.values = new Float64Array(buffer);
  }

  static create(): ExitStats {
    return new ExitStats(new SharedArrayBuffer(LENGTH * 8));
  }

  // Worker side.
  reason(reason: number, ns: number): void {
    const at = REASON_AT + 2 * (reason < REASON_SLOTS ? reason : 0);
    this.values[at]++;
    this.values[at + 1] += ns;
  }
  /** Adds time to a reason without counting another exit (time halted after a HLT exit). */
  reasonTime(reason: number, ns: number): void {
    this.values[REASON_AT + 2 * (reason < REASON_SLOTS ? reason : 0) + 1] += ns;
  }
  port(port: number, ns: number): void {
    const at = PORT_AT + 2 * (port & 0xffff);
    this.values[at]++;
    this.values[at + 1] += ns;
  }
  mmio(slot: number, ns: number): void {
    const at = MMIO_AT + 2 * slot;
    this.values[at]++;
    this.values[at + 1] += ns;
  }

  // Main-thread side.
  reasonCount(reason: number): number {
    return this.values[REASON_AT + 2 * reason];
  }
  portCount(port: number): number {
    return this.values[PORT_AT + 2 * port];
  }
  mmioSlot(slot: number): { count: number; timeNs: number } {
    return { count: this.values[MMIO_AT + 2 * slot], timeNs: this.values[MMIO_AT + 2 * slot + 1] };
  }
  /** Zeroes the per-range MMIO slots (after folding them into a layout-independent total). */
  clearMmioRanges(): void {
    this.values.fill(0, MMIO_AT, MMIO_AT + 2 * MAX_MMIO_RANGES);
  }
}

/** Accumulates rows by (reason, where). */
export class StatTable {
  private readonly rows = new Map<string, { reason: string; where: string; count: number; timeNs: number }>();

  add(reason: string, where: string, count: number, timeNs: number): void {
    if (count === 0) return;
    const key = `${reason}\u0000${where}`;
    const row = this.rows.get(key);
    if (row) {
      row.count += count;
      row.timeNs += timeNs;
    } else this.rows.set(key, { reason, where, count, timeNs });
  }

  merge(other: StatTable): void {
    for (const r of other.rows.values()) this.add(r.reason, r.where, r.count, r.timeNs);
  }

  list(): ExitStatRow[] {
    return [...this.rows.values()].sort((a, b) => a.reason.localeCompare(b.reason) || b.count - a.count || a.where.localeCompare(b.where));
  }
}

export const rangeLabel = (r: IoRange): string => `${hex(r.base)} ${r.device.name}`;

/** Folds one vCPU's MMIO range slots (valid for `ranges`, the layout they were counted under). */
export function foldMmio(stats: ExitStats, ranges: readonly IoRange[], into: StatTable): void {
  ranges.forEach((r, i) => {
    const s = stats.mmioSlot(i);
    into.add('MMIO', rangeLabel(r), s.count, s.timeNs);
  });
}

/** Adds one vCPU's reason totals, ports and current MMIO slots to `into`. */
export function collectRows(stats: ExitStats, pio: readonly IoRange[], mmio: readonly IoRange[], into: StatTable): void {
  const v = stats.values;
  for (let r = 0; r < REASON_SLOTS; r++) {
    const name = r === STAT_INTERRUPT_INJECTED ? 'KVM_INTERRUPT' : exitReasonName(r);
    into.add(name, '', v[REASON_AT + 2 * r], v[REASON_AT + 2 * r + 1]);
  }
  let ri = 0;
  for (let port = 0; port < PORT_COUNT; port++) {
    const count = v[PORT_AT + 2 * port];
    if (count === 0) continue;
    while (ri < pio.length && pio[ri].base + pio[ri].size <= port) ri++;
    const r = pio[ri];
    const where = r && port >= r.base ? rangeLabel(r) : `${hex(port)} unclaimed`;
    into.add('IO', where, count, v[PORT_AT + 2 * port + 1]);
  }
  foldMmio(stats, mmio, into);
  const u = stats.mmioSlot(MMIO_SLOT_UNCLAIMED);
  into.add('MMIO', 'unclaimed', u.count, u.timeNs);
  const unsure = stats.mmioSlot(MMIO_SLOT_UNSURE);
  into.add('MMIO', 'during a layout change', unsure.count, unsure.timeNs);
}
