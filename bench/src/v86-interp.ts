/**
 * tsemu's interpreter beside v86's (npm package `v86`, https://github.com/copy/v86) on the same
 * CPU-bound guests (interp-workloads.ts), in the same run, as MIPS and ratios; and v86 with its
 * x86-to-wasm JIT on, the anchor tsemu's own JIT will be measured against.
 *
 * How v86 runs here: headless in Node, no BIOS, the guest handed over as a Multiboot image
 * (v86-guest.ts), which v86 enters directly in flat protected mode. Its CPU is driven the way
 * interp-mips.ts drives ours: its wasm `main_loop` (a time slice of execution) is called until
 * the guest's HLT (v86 sets `cpu.in_hlt`); between slices the event loop gets a turn, because
 * v86's JIT instantiates the wasm it generates asynchronously (without the turn, compiled code
 * never arrives). Each round puts EIP back at the loop's start (the loop sets up its own
 * registers; the stack is balanced), as interp-mips.ts reloads the state per round.
 * Instructions are the workload's architectural count (v86's own counter agrees when driven like
 * this). The first rounds (for both emulators) warm V8's tiers and v86's JIT up and are not counted.
 *
 * v86 is a devDependency; when it cannot be loaded the bench says why and prints tsemu alone.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpuMicros, measureInterpreter, MIN_WARMUP_MS, mipsFigure, type MipsFigure } from './interp-mips.js';
import { FLAT32_INSTRUCTIONS, FRAME_INSTRUCTIONS, FRAME_LOOP, MPI_INSTRUCTIONS, MPI_LOOP, REAL_MODE_INSTRUCTIONS } from './interp-workloads.js';
import { flat32LoopImage, realModeLoopImage, v86MultibootOptions } from './v86-guest.js';
import { COLD_CODE, COLD_TABLE, coldCode } from './cold-code.js';
import { SIEVE_CRC_INSTRUCTIONS, SIEVE_CRC_LOOP } from './sieve-crc-workload.js';

/** The parts of v86's API this uses (its own typings are not required at build time). */
interface V86Cpu {
  main_loop(): number;
  in_hlt: Uint8Array;
  instruction_pointer: Int32Array;
  instruction_counter: Uint32Array;
}
interface V86Instance {
  add_listener(event: string, listener: (arg: unknown) => void): void;
  destroy(): Promise<void>;
  v86: { cpu: V86Cpu };
}
type V86Constructor = new (options: Record<string, unknown>) => V86Instance;

interface V86Workload {
  /** Same order and names as interp-mips.ts's workloads. */
  image: () => Uint8Array;
  /** Linear address of the loop's first instruction. */
  start: number;
  instructions: number;
  /**
   * What v86's own counter reports beyond that. On the sieve it reports one more than the
   * architectural count (REP string instructions count once each in tsemu and in the JavaScript
   * mirror, test/bench/v86-guest.test.ts); its two REPs are the only instructions the other loops
   * lack, and the extra one fits the 8 KiB REP STOSD being counted once per page.
   */
  v86Extra?: number;
}

const V86_WORKLOADS: V86Workload[] = [
  { image: realModeLoopImage, start: 0x7c00, instructions: REAL_MODE_INSTRUCTIONS },
  { image: () => flat32LoopImage(false), start: 0x10000, instructions: FLAT32_INSTRUCTIONS },
  { image: () => flat32LoopImage(true), start: 0x10000, instructions: FLAT32_INSTRUCTIONS },
  { image: () => flat32LoopImage(true, MPI_LOOP), start: 0x10000, instructions: MPI_INSTRUCTIONS },
  { image: () => flat32LoopImage(true, FRAME_LOOP), start: 0x10000, instructions: FRAME_INSTRUCTIONS },
  { image: () => flat32LoopImage(true, SIEVE_CRC_LOOP), start: 0x10000, instructions: SIEVE_CRC_INSTRUCTIONS, v86Extra: 1 },
  coldImage(),
];

function coldImage(): V86Workload {
  const cold = coldCode();
  const extra = [{ address: COLD_CODE, bytes: cold.functions }, { address: COLD_TABLE, bytes: cold.table }];
  return { image: () => flat32LoopImage(true, cold.driver, extra), start: 0x10000, instructions: cold.instructions };
}
const WARMUP_ROUNDS = 3;
const JIT_WARMUP_ROUNDS = 20;
/** A guest that has not halted after this many slices is stuck (a slice is about a millisecond). */
const MAX_SLICES = 100_000;

/** v86's constructor and wasm file, or why they cannot be had. */
async function loadV86(): Promise<{ V86: V86Constructor; wasmPath: string } | string> {
  try {
    const require = createRequire(import.meta.url);
    const packageJson = require.resolve('v86/package.json');
    const name = 'v86'; // a variable: the bench compiles without v86 installed
    const module = (await import(name)) as { V86?: V86Constructor };
    if (typeof module.V86 !== 'function') return 'the v86 package has no V86 export';
    return { V86: module.V86, wasmPath: join(dirname(packageJson), 'build', 'v86.wasm') };
  } catch (e) {
    return `v86 cannot be loaded (${(e as Error).message.split('\n')[0]}); \`npm install\` installs it (devDependency)`;
  }
}

function create(V86: V86Constructor, wasmPath: string, image: Uint8Array, jit: boolean): Promise<V86Instance> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('v86 did not load within 30 s')), 30_000);
    const emulator = new V86({ ...v86MultibootOptions(wasmPath, image), disable_jit: !jit, autostart: false });
    emulator.add_listener('emulator-loaded', () => {
      clearTimeout(timer);
      resolve(emulator);
    });
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runToHalt(cpu: V86Cpu): Promise<void> {
  for (let slices = 0; !cpu.in_hlt[0]; slices++) {
    if (slices >= MAX_SLICES) throw new Error(`the guest did not halt (EIP 0x${(cpu.instruction_pointer[0] >>> 0).toString(16)})`);
    cpu.main_loop();
    await nextTurn();
  }
}

async function measureV86(V86: V86Constructor, wasmPath: string, jit: boolean, rounds: number): Promise<MipsFigure[]> {
  const figures: MipsFigure[] = [];
  for (const w of V86_WORKLOADS) {
    const emulator = await create(V86, wasmPath, w.image(), jit);
    try {
      const cpu = emulator.v86.cpu;
      await runToHalt(cpu); // the prologue and a first pass
      const wall: number[] = [];
      const cpuRates: number[] = [];
      const warmupEnd = performance.now() + MIN_WARMUP_MS;
      for (let round = 0, measured = 0; measured < rounds; round++) {
        cpu.instruction_pointer[0] = w.start;
        cpu.in_hlt[0] = 0;
        const counted = cpu.instruction_counter[0];
        const cpuStart = cpuMicros();
        const start = process.hrtime.bigint();
        await runToHalt(cpu);
        const ns = Number(process.hrtime.bigint() - start);
        const us = Math.max(1, cpuMicros() - cpuStart);
        const ran = (cpu.instruction_counter[0] - counted) >>> 0;
        const expected = w.instructions + (w.v86Extra ?? 0);
        if (ran !== expected) throw new Error(`v86 ran ${ran} instructions, expected ${expected}`);
        if (round >= WARMUP_ROUNDS && performance.now() >= warmupEnd) {
          wall.push((w.instructions / ns) * 1e3);
          cpuRates.push(w.instructions / us);
          measured++;
        }
      }
      figures.push(mipsFigure('', w.instructions, wall, cpuRates));
    } finally {
      await emulator.destroy();
    }
  }
  return figures;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/**
 * The table: per workload, tsemu's interpreter, v86's interpreter (disable_jit) and v86's JIT,
 * median MIPS of `rounds` rounds, with tsemu's ratio to each.
 */
export async function runInterpreterVsV86Bench(rounds = 5): Promise<string[]> {
  const ours = measureInterpreter(rounds, WARMUP_ROUNDS);
  // The JIT at its default threshold, warmed up longer: translation and V8's own tiering
  // happen in the first rounds.
  const oursJit = measureInterpreter(rounds, JIT_WARMUP_ROUNDS, { backend: 'js' });
  const oursWasm = measureInterpreter(rounds, JIT_WARMUP_ROUNDS, { backend: 'wasm' });
  const lines: string[] = [];
  const loaded = await loadV86();
  let interp: MipsFigure[] | null = null;
  let jit: MipsFigure[] | null = null;
  if (typeof loaded === 'string') {
    lines.push(`  v86: skipped: ${loaded}`);
  } else {
    try {
      interp = await measureV86(loaded.V86, loaded.wasmPath, false, rounds);
      jit = await measureV86(loaded.V86, loaded.wasmPath, true, rounds);
    } catch (e) {
      lines.push(`  v86: failed: ${(e as Error).message}`);
    }
  }
  const cell = (v: number | undefined, digits: number, width: number): string => pad(v === undefined ? '-' : v.toFixed(digits), width);
  lines.push(
    `  median MIPS of ${rounds} rounds after at least ${WARMUP_ROUNDS} warm-up rounds and ${MIN_WARMUP_MS} ms, each emulator; ratio = tsemu / v86`,
    '  "cpu": instructions per microsecond of process CPU time (user + system): on a loaded machine the',
    '  figures to compare; "wall": by wall clock',
    `  ${'workload'.padEnd(54)}${pad('tsemu', 8)}${pad('v86 interp', 12)}${pad('ratio', 8)}` +
      `${pad('tsemu', 8)}${pad('v86 interp', 12)}${pad('ratio', 8)}${pad('v86 JIT', 10)}${pad('ratio', 8)}`,
    `  ${''.padEnd(54)}${pad('cpu', 8)}${pad('cpu', 12)}${pad('', 8)}${pad('wall', 8)}${pad('wall', 12)}${pad('', 8)}${pad('cpu', 10)}${pad('', 8)}`,
  );
  ours.forEach((f, i) => {
    const vi = interp?.[i];
    const vj = jit?.[i];
    lines.push(
      `  ${f.name.padEnd(54)}${cell(f.cpuMedian, 1, 8)}${cell(vi?.cpuMedian, 1, 12)}` +
        `${cell(vi ? f.cpuMedian / vi.cpuMedian : undefined, 2, 8)}` +
        `${cell(f.median, 1, 8)}${cell(vi?.median, 1, 12)}${cell(vi ? f.median / vi.median : undefined, 2, 8)}` +
        `${cell(vj?.cpuMedian, 0, 10)}${cell(vj ? f.cpuMedian / vj.cpuMedian : undefined, 3, 8)}`,
    );
  });
  lines.push(
    '',
    `  tsemu's JIT (default threshold, at least ${JIT_WARMUP_ROUNDS} warm-up rounds and ${MIN_WARMUP_MS} ms), cpu MIPS, with JavaScript translations`,
    '  (--jit-backend=js) and WebAssembly ones (--jit-backend=wasm, the default; 16-bit code stays JavaScript): against its',
    "  own interpreter (best/int: the faster backend over the interpreter) and v86's JIT",
    `  ${'workload'.padEnd(54)}${pad('interp', 8)}${pad('JIT js', 8)}${pad('JIT wasm', 10)}${pad('best/int', 10)}${pad('v86 JIT', 10)}${pad('js/v86', 8)}${pad('wasm/v86', 10)}`,
  );
  ours.forEach((f, i) => {
    const j = oursJit[i];
    const w = oursWasm[i];
    const vj = jit?.[i];
    const best = Math.max(j.cpuMedian, w.cpuMedian);
    lines.push(
      `  ${f.name.padEnd(54)}${cell(f.cpuMedian, 1, 8)}${cell(j.cpuMedian, 1, 8)}${cell(w.cpuMedian, 1, 10)}${cell(best / f.cpuMedian, 2, 10)}` +
        `${cell(vj?.cpuMedian, 0, 10)}${cell(vj ? j.cpuMedian / vj.cpuMedian : undefined, 3, 8)}${cell(vj ? w.cpuMedian / vj.cpuMedian : undefined, 3, 10)}`,
    );
  });
  return lines;
}
