// Random instruction sequences from the opcode table, run natively at CPL3 in 64-bit mode under
// KVM and on the software CPU over the same sandbox image, compared register for register,
// flag for flag and byte for byte (generator, runner and comparison in random-sequences/).
// The long run is scripts/difftest.mjs (DIFFTEST_SEED / DIFFTEST_COUNT reach the seeded test).
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { KvmUserSandbox } from './kvm-user-sandbox.js';
import { OPCODE_TABLE } from '../../packages/core-cpu/src/decoder/opcode-table.js';
import { runDifferential, runOne, sequenceSeed } from './random-sequences/difftest-driver.js';
import { exclusionReason, POOL } from './random-sequences/instruction-pool.js';
import { KNOWN_DIFFERENCES } from './random-sequences/known-differences.js';
import { REGRESSION_CASES } from './random-sequences/regression-cases.js';
import { fromCase, generateSequence, toCase } from './random-sequences/sequence-generator.js';
import { TcgSandbox } from './random-sequences/tcg-runner.js';
import { HOST_MATCHES_UNDEFINED, keyLeavesSomethingUndefined, UNDEFINED_NOTE } from './undefined-flags.js';

/**
 * Table keys not drawn because the interpreter does not implement them yet (it would throw a
 * host Error). Shrink as the 64-bit work lands; the goal is an empty list.
 */
const EXCLUDED_UNTIL_IMPLEMENTED: ReadonlyMap<string, string> = new Map([]);

/**
 * On a host that computes the SDM's undefined flags and results differently from Intel's cores
 * (undefined-flags.ts), the instructions that leave some undefined: they would carry them into
 * later instructions. Empty on an Intel host, where the whole pool is drawn.
 */
const EXCLUDED_ON_THIS_HOST: readonly string[] = HOST_MATCHES_UNDEFINED ? [] : [...new Set(POOL.map((e) => e.key).filter(keyLeavesSomethingUndefined))];

const SEED = Number(process.env.DIFFTEST_SEED ?? 0x7e57_0001);
const COUNT = Number(process.env.DIFFTEST_COUNT ?? 20_000);
const CHUNK = 10_000;

describe('random instruction sequence generator', () => {
  it('draws every entry of the pool within 5,000 seeds, and every instruction decodes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const sequence = generateSequence(sequenceSeed(1, i));
      for (const l of sequence.listing) {
        expect(l.text, `seed ${sequence.seed} at ${l.offset}`).not.toBe('(bad)');
        if (!l.setup) seen.add(l.key);
      }
    }
    const missing = [...new Set(POOL.map((e) => e.key))].filter((key) => !seen.has(key));
    expect(missing).toEqual([]);
  });

  it('lists a reason for every opcode-table entry it leaves out', () => {
    const left = OPCODE_TABLE.filter((e) => !POOL.includes(e));
    expect(left.length).toBeGreaterThan(0);
    for (const e of left) expect(exclusionReason(e), e.key).not.toBeNull();
  });
});

describe.skipIf(!kvmUsable())('random instruction sequences: software CPU against the real CPU', () => {
  it('replays every regression case with the real CPU result (up to the known difference it names)', () => {
    const hw = KvmUserSandbox.open();
    const tcg = new TcgSandbox();
    const failures: string[] = [];
    try {
      let skipped = 0;
      for (const c of REGRESSION_CASES) {
        const sequence = fromCase(c);
        if (!HOST_MATCHES_UNDEFINED && (c.intelOnly || sequence.keys.some(keyLeavesSomethingUndefined))) {
          skipped++;
          continue;
        }
        const outcome = runOne(hw, tcg, sequence);
        if (outcome.hostError !== null) failures.push(`seed ${c.seed} (${c.note}): host error in ${outcome.hostError.key}: ${outcome.hostError.message}`);
        else if (outcome.inconclusive) failures.push(`seed ${c.seed} (${c.note}): the real CPU timed out`);
        else if (outcome.report !== null) failures.push(`${c.note}\n${outcome.report}`);
        else if (outcome.known !== null && !outcome.known.split('+').includes(c.known ?? '')) {
          failures.push(`seed ${c.seed} (${c.note}): shows known difference ${outcome.known}, the case names ${c.known ?? 'none'}`);
        }
      }
      console.log(`${REGRESSION_CASES.length - skipped} of ${REGRESSION_CASES.length} regression cases replayed; ${UNDEFINED_NOTE}` +
        (skipped ? `: ${skipped} show Intel-only behaviour or undefined flags` : ''));
      expect(REGRESSION_CASES.length - skipped).toBeGreaterThan(0);
    } finally {
      hw.close();
    }
    expect(failures.join('\n\n')).toBe('');
  });

  it('keeps every known difference documented and reachable by a regression case', () => {
    for (const known of KNOWN_DIFFERENCES) {
      expect(REGRESSION_CASES.some((c) => c.known === known.id), known.id).toBe(true);
    }
  });

  it('regenerates the same sequence from a seed and from its regression-case form', () => {
    const a = generateSequence(12345);
    const b = generateSequence(12345);
    expect(Buffer.from(b.input.code).equals(Buffer.from(a.input.code))).toBe(true);
    const c = fromCase(toCase(a));
    expect(Buffer.from(c.input.code).equals(Buffer.from(a.input.code))).toBe(true);
    expect(c.input.gpr).toEqual(a.input.gpr);
    expect(Buffer.from(c.input.data).equals(Buffer.from(a.input.data))).toBe(true);
    expect(Buffer.from(c.input.stack).equals(Buffer.from(a.input.stack))).toBe(true);
  });

  // Chunks of at most CHUNK sequences, so a long run does not block vitest's worker for minutes.
  for (let first = 0; first < COUNT; first += CHUNK) {
    const count = Math.min(CHUNK, COUNT - first);
    const name = first === 0 && count === COUNT ? `${COUNT}` : `${first}-${first + count - 1} of ${COUNT}`;
    it(`agrees with the real CPU on seeded random sequences ${name} (seed 0x${SEED.toString(16)})`, async () => {
      // Let vitest's worker answer its RPC between chunks (each chunk blocks the event loop).
      await new Promise((resolve) => setTimeout(resolve, 0));
      const exclude = new Set([...EXCLUDED_UNTIL_IMPLEMENTED.keys(), ...EXCLUDED_ON_THIS_HOST]);
      const stats = runDifferential({ seed: SEED, first, count, exclude, maxReports: 10 });
      const summary = [
        `${stats.sequences} sequences: ${stats.compared} equal, ${stats.mismatches} mismatches, ` +
          `${[...stats.known.values()].reduce((n, k) => n + k.count, 0)} known differences, ` +
          `${[...stats.hostErrors.values()].reduce((n, k) => n + k.count, 0)} host errors, ${stats.inconclusive} inconclusive`,
        ...[...stats.known].map(([id, k]) => `  known ${id}: ${k.count} (e.g. seed ${k.seed})`),
        `  ${UNDEFINED_NOTE}${EXCLUDED_ON_THIS_HOST.length ? `: ${EXCLUDED_ON_THIS_HOST.length} table entries left out of the draw` : ''}`,
      ].join('\n');
      console.log(summary);
      const hostErrors = [...stats.hostErrors].map(([key, g]) => `${key}: ${g.count}x, e.g. seed ${g.seed}: ${g.message}`);
      expect(hostErrors.join('\n'), 'instructions the interpreter does not implement (add to EXCLUDED_UNTIL_IMPLEMENTED or implement)').toBe('');
      const newCases = stats.mismatchSeeds.slice(0, 10).map((seed) => JSON.stringify(toCase(generateSequence(seed, exclude))));
      expect(
        stats.reports.join('\n\n') + (newCases.length ? `\n\nregression-case form:\n${newCases.join('\n')}` : ''),
        `${stats.mismatches} mismatching sequences`,
      ).toBe('');
      // Looping sequences are rare by construction; many would mean the generator is broken.
      expect(stats.inconclusive).toBeLessThan(count / 100);
      expect(stats.compared).toBeGreaterThan(count * 0.9);
    });
  }
});
