// Counts, rather than times, what one interpreter bench row costs per guest instruction: host
// instructions and L1/L2 data-cache misses, under valgrind's cachegrind. Wall-clock MIPS of the
// cold-code row move by half from hour to hour on a shared host (its L3 is shared); these counts
// repeat. Usage (after `npm run build`):
//
//   node scripts/cache-misses.mjs [row substring, default "cold"] [checkout, default this one] [--bundled]
//
// --bundled counts the bench bundled as the tsemu command is (scripts/bundle-options.mjs), which
// is the code a Linux boot runs: V8 compiles a module's constants differently there (the
// interpreter's paging row, 2026-11-29: 205 host instructions per guest instruction unbundled,
// 200 bundled, before the const enums of that day).
//
// It runs the row twice under cachegrind, for 21 and 41 measured rounds with no warm-up, and
// prints the difference per guest instruction: start-up and V8's compiling cancel out. The last
// level simulated is a 2 MiB 16-way cache (this project's 2-core hosts' L2 per core). Each run
// takes about a minute; the two run at once. docs/software-cpu.md ("What the cold-code row
// waits on") has the figures and what they showed.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROUNDS = [21, 41];
const COUNTS = {
  instructions: /I\s+refs:\s+([\d,]+)/,
  'L1 data misses': /D1\s+misses:\s+([\d,]+)/,
  'L2 data misses': /LLd misses:\s+([\d,]+)/,
};

if (process.env.CACHE_MISSES_CHILD) {
  // The measured process: one row, a fixed number of rounds, no time-based warm-up.
  const { measureInterpreter } = await import(pathToFileURL(process.env.CACHE_MISSES_MODULE).href);
  const [figure] = measureInterpreter(Number(process.env.CACHE_MISSES_ROUNDS), 0, null, process.env.CACHE_MISSES_ROW);
  if (figure === undefined) throw new Error(`no bench row contains '${process.env.CACHE_MISSES_ROW}'`);
  console.log(`row\t${figure.name}\t${figure.instructions}`); // instructions: one round's
} else {
  const args = process.argv.slice(2).filter((a) => a !== '--bundled');
  const bundled = args.length !== process.argv.length - 2;
  const row = args[0] ?? 'cold';
  const root = resolve(args[1] ?? fileURLToPath(new URL('..', import.meta.url)));
  const bench = resolve(root, 'bench/dist/interp-mips.js');
  const scratch = bundled ? mkdtempSync(join(tmpdir(), 'cache-misses-')) : null;
  let module = bench;
  if (scratch !== null) {
    const { build } = await import('esbuild');
    const { BUNDLE_OPTIONS } = await import('./bundle-options.mjs');
    module = join(scratch, 'interp-mips.js');
    await build({ ...BUNDLE_OPTIONS, entryPoints: [bench], outfile: module, external: [...BUNDLE_OPTIONS.external, 'v86'] });
  }
  const runs = await Promise.all(ROUNDS.map((rounds) => cachegrind(module, row, rounds))).finally(() => {
    if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  });
  const [first, second] = runs;
  const guest = (ROUNDS[1] - ROUNDS[0]) * second.perRound;
  console.log(`${second.name}: ${ROUNDS[1] - ROUNDS[0]} rounds, ${guest} guest instructions (${root}${bundled ? ', bundled' : ''})`);
  for (const name of Object.keys(COUNTS)) {
    const extra = second.counts[name] - first.counts[name];
    console.log(`  ${name.padEnd(16)} ${(extra / guest).toFixed(3).padStart(9)} per guest instruction`);
  }
}

/** One cachegrind run of `rounds` rounds: the row's name, guest instructions a round, and the counts. */
function cachegrind(module, row, rounds) {
  const args = ['--tool=cachegrind', '--cache-sim=yes', '--LL=2097152,16,64', '--smc-check=all', '--cachegrind-out-file=/dev/null',
    process.execPath, '--single-threaded', fileURLToPath(import.meta.url)];
  const env = { ...process.env, CACHE_MISSES_CHILD: '1', CACHE_MISSES_MODULE: module, CACHE_MISSES_ROUNDS: String(rounds), CACHE_MISSES_ROW: row };
  return new Promise((done, fail) => {
    execFile('valgrind', args, { env, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return fail(new Error(`valgrind (${rounds} rounds) failed: ${err.message}\n${stderr.slice(-2000)}`));
      const line = stdout.split('\n').find((l) => l.startsWith('row\t'));
      if (line === undefined) return fail(new Error(`no figure from the measured process:\n${stdout}${stderr.slice(-2000)}`));
      const [, name, perRound] = line.split('\t');
      const counts = {};
      for (const [key, pattern] of Object.entries(COUNTS)) {
        const m = pattern.exec(stderr);
        if (m === null) return fail(new Error(`cachegrind printed no '${key}'`));
        counts[key] = Number(m[1].replaceAll(',', ''));
      }
      done({ name, perRound: Number(perRound), counts });
    });
  });
}
