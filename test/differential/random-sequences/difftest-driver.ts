/**
 * Runs random sequences on the real CPU and on the software CPU and collects what differs:
 * shared by the CI test (random-sequences.test.ts) and the long-run script (scripts/difftest.mjs).
 *
 * Outcomes per sequence: compared (results agree), mismatch (a report for a human), host error
 * (the interpreter threw: an instruction form not implemented; grouped by table key),
 * inconclusive (the real CPU timed out, i.e. the sequence looped: nothing to compare).
 */
import { KvmUserSandbox } from '../kvm-user-sandbox.js';
import { CODE_BASE } from '../sandbox-layout.js';
import { compareResults, formatReport } from './compare.js';
import { explainMismatch } from './known-differences.js';
import { generateSequence, type Sequence } from './sequence-generator.js';
import { TcgSandbox } from './tcg-runner.js';

export interface DiffOptions {
  /** The run's seed; sequence i uses sequenceSeed(seed, i). */
  seed: number;
  /** Index of the first sequence (default 0): a long run goes in chunks. */
  first?: number;
  count: number;
  /** Table keys left out of the draw (not implemented yet), see random-sequences.test.ts. */
  exclude?: ReadonlySet<string>;
  /** Mismatch reports kept in full (the rest are counted); default 20. */
  maxReports?: number;
  /** Wall-clock bound of one hardware run; default 200 ms. */
  timeoutMs?: number;
  /** Called after every sequence (progress for long runs). */
  onProgress?: (done: number, stats: DiffStats) => void;
}

export interface HostErrorGroup {
  count: number;
  /** One seed and message that show it. */
  seed: number;
  message: string;
}

export interface DiffStats {
  sequences: number;
  compared: number;
  mismatches: number;
  inconclusive: number;
  reports: string[];
  /** Seeds of the mismatching sequences (all of them, for the regression list). */
  mismatchSeeds: number[];
  /** Host errors by the table key of the instruction that threw. */
  hostErrors: Map<string, HostErrorGroup>;
  /** Mismatches fully explained by KNOWN_DIFFERENCES, by id, with one example seed. */
  known: Map<string, { count: number; seed: number }>;
}

/** The seed of sequence `i` of a run with `seed` (a fixed mix, so a seed names a sequence forever). */
export function sequenceSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(i, 0x85ebca6b)) >>> 0;
}

/** The key of the instruction whose bytes hold `rip` - 1 (RIP is past the instruction that threw). */
function keyAt(sequence: Sequence, rip: bigint): string {
  const offset = Number(rip - CODE_BASE);
  for (const l of sequence.listing) {
    if (offset > l.offset && offset <= l.offset + l.bytes.length) return l.key;
  }
  return sequence.listing.find((l) => l.offset === offset)?.key ?? `rip ${rip.toString(16)}`;
}

export interface SingleOutcome {
  sequence: Sequence;
  differences: string[];
  report: string | null;
  /** Set when KNOWN_DIFFERENCES explain every difference (then report is null). */
  known: string | null;
  hostError: { key: string; message: string } | null;
  inconclusive: boolean;
}

/** Runs one sequence on both CPUs. */
export function runOne(hw: KvmUserSandbox, tcg: TcgSandbox, sequence: Sequence, timeoutMs = 200): SingleOutcome {
  const want = hw.run({ ...sequence.input, timeoutMs });
  const got = tcg.run(sequence.input);
  const none = { sequence, differences: [], report: null, known: null, hostError: null, inconclusive: false };
  if (want.end === 'timeout') return { ...none, inconclusive: true };
  if (got.end === 'host-error') return { ...none, hostError: { key: keyAt(sequence, got.rip), message: got.hostError ?? '' } };
  const differences = compareResults(sequence, want, got);
  if (differences.length === 0) return none;
  const known = explainMismatch(sequence, want, got);
  const report = known !== null ? null : formatReport(sequence, want, got, differences);
  return { ...none, differences, report, known };
}

export function runDifferential(options: DiffOptions): DiffStats {
  const stats: DiffStats = {
    sequences: 0, compared: 0, mismatches: 0, inconclusive: 0, reports: [], mismatchSeeds: [], hostErrors: new Map(),
    known: new Map(),
  };
  const maxReports = options.maxReports ?? 20;
  const hw = KvmUserSandbox.open();
  const tcg = new TcgSandbox();
  try {
    const first = options.first ?? 0;
    for (let i = first; i < first + options.count; i++) {
      const seed = sequenceSeed(options.seed, i);
      const outcome = runOne(hw, tcg, generateSequence(seed, options.exclude), options.timeoutMs);
      stats.sequences++;
      if (outcome.inconclusive) stats.inconclusive++;
      else if (outcome.hostError !== null) {
        const { key, message } = outcome.hostError;
        const group = stats.hostErrors.get(key);
        if (group === undefined) stats.hostErrors.set(key, { count: 1, seed, message });
        else group.count++;
      } else if (outcome.known !== null) {
        const group = stats.known.get(outcome.known);
        if (group === undefined) stats.known.set(outcome.known, { count: 1, seed });
        else group.count++;
      } else if (outcome.report !== null) {
        stats.mismatches++;
        stats.mismatchSeeds.push(seed);
        if (stats.reports.length < maxReports) stats.reports.push(outcome.report);
      } else stats.compared++;
      options.onProgress?.(i + 1 - first, stats);
    }
  } finally {
    hw.close();
  }
  return stats;
}
