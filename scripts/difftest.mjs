#!/usr/bin/env node
// The long run of the random-sequence differential test (software CPU vs the real CPU under
// KVM): N seeded sequences, one process, no file parallelism. It runs the seeded test of
// test/differential/random-sequences.test.ts through vitest (which compiles the TypeScript
// sources) with DIFFTEST_COUNT / DIFFTEST_SEED, and no test timeout.
//
//   node scripts/difftest.mjs [--count N] [--seed S]     (defaults: 1,000,000 and a random seed)
//
// Mismatches are printed with seed, disassembly, input and both results, followed by their
// regression-case form for test/differential/random-sequences/regression-cases.ts.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1];
  if (value === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(value)) {
    console.error(`--${name} needs a number (decimal or 0x hex)`);
    process.exit(2);
  }
  return Number(value);
}

const count = option('count', 1_000_000);
const seed = option('seed', Math.floor(Math.random() * 2 ** 32));
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
console.log(`difftest: ${count} sequences, seed 0x${seed.toString(16)}`);
const result = spawnSync(
  'npx',
  [
    'vitest', 'run', 'test/differential/random-sequences.test.ts',
    '-t', 'seeded random sequences', '--no-file-parallelism', '--testTimeout=0',
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, DIFFTEST_COUNT: String(count), DIFFTEST_SEED: String(seed) } },
);
process.exit(result.status ?? 1);
