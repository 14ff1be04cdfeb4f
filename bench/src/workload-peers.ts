/**
 * The CPU-bound workload the JIT issue measures against its peers: the bench's 32-bit loops
 * (interp-workloads.ts) run for seconds as whole guests (workload-guest.ts) by tsemu's JIT
 * (`tsemu run --accel=tcg`, the default backend), QEMU's TCG (`qemu-system-i386 -accel tcg`) and
 * v86's JIT (headless in this process), each timed by the host from the guest's start marker on
 * COM1 to its end marker. The instruction count between the markers is the guests' architectural
 * count (the same bytes in every emulator), so MIPS compare directly. Translation and warm-up
 * are inside the time, as in any real workload of that length.
 *
 * tsemu and QEMU run as child processes, their markers read from stdout; tsemu gathers serial
 * output until its CPU slice ends (serial-backend.ts), which moves each marker by at most one
 * slice (milliseconds against seconds).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAT32_HLT_OFFSET, FLAT32_INSTRUCTIONS, FLAT32_LOOP, FRAME_INSTRUCTIONS, FRAME_LOOP, MPI_INSTRUCTIONS, MPI_LOOP } from './interp-workloads.js';
import { QEMU_I386, QEMU_MISSING, qemuVersion } from './qemu.js';
import { SIEVE_CRC_HLT_OFFSET, SIEVE_CRC_INSTRUCTIONS, SIEVE_CRC_LOOP } from './sieve-crc-workload.js';
import { loadV86, runV86Until, type V86Package } from './v86-linux.js';
import { v86MultibootOptions } from './v86-guest.js';
import { END_MARKER, markedInstructions, repeatedLoopImage, START_MARKER, type RepeatedLoop } from './workload-guest.js';

const TSEMU = fileURLToPath(new URL('../../packages/cli/bin/tsemu.js', import.meta.url));
const RUN_LIMIT_MS = 5 * 60_000;
/** Instructions a guest runs (rounded up to whole rounds): 1-3 s for a JIT. TSEMU_BENCH_WORKLOAD_MINSTR changes it. */
const DEFAULT_MINSTR = 2200;

const LOOPS: RepeatedLoop[] = [
  { name: '32-bit paged: calls, stack, SIB, carry', loop: FLAT32_LOOP, instructions: FLAT32_INSTRUCTIONS, hltOffset: FLAT32_HLT_OFFSET },
  { name: '32-bit paged: multi-precision multiply-accumulate', loop: MPI_LOOP, instructions: MPI_INSTRUCTIONS },
  { name: '32-bit paged: locals in the stack frame', loop: FRAME_LOOP, instructions: FRAME_INSTRUCTIONS },
  { name: '32-bit paged: sieve, CRC-32, copies, calls', loop: SIEVE_CRC_LOOP, instructions: SIEVE_CRC_INSTRUCTIONS, hltOffset: SIEVE_CRC_HLT_OFFSET },
];

/** Milliseconds between the markers, as seen in a stream of output bytes. */
class MarkedStretch {
  private startNs = -1n;
  ms = -1;

  /** Takes output; true once the end marker has been seen after the start marker. */
  feed(text: string): boolean {
    if (this.startNs < 0n) {
      const at = text.indexOf(START_MARKER);
      if (at < 0) return false;
      this.startNs = process.hrtime.bigint();
      text = text.slice(at + 1);
    }
    if (this.ms < 0 && text.includes(END_MARKER)) this.ms = Number(process.hrtime.bigint() - this.startNs) / 1e6;
    return this.ms >= 0;
  }
}

/** A child process run until its output holds both markers (then killed); milliseconds between them. */
function timeChild(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const clock = new MarkedStretch();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => {
      if (clock.feed(d.toString('latin1'))) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(limit);
      if (clock.ms >= 0) resolve(clock.ms);
      else reject(new Error(`no end marker (exit ${status}): ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

async function timeV86(pkg: V86Package, image: Uint8Array): Promise<number> {
  const clock = new MarkedStretch();
  const emulator = new pkg.V86({ ...v86MultibootOptions(pkg.wasmPath, image), autostart: true });
  await runV86Until(emulator, (byte) => clock.feed(String.fromCharCode(byte)), RUN_LIMIT_MS, () => `no end marker within ${RUN_LIMIT_MS / 1000} s`);
  return clock.ms;
}

interface Peer {
  name: string;
  time(imagePath: string, image: Uint8Array): Promise<number>;
}

async function peers(): Promise<{ peers: Peer[]; skipped: string[]; versions: string[] }> {
  const list: Peer[] = [
    {
      name: 'tsemu JIT',
      time: (path) => timeChild(process.execPath, [TSEMU, '--accel=tcg', '--memory', '32M', '--kernel', path]),
    },
  ];
  const skipped: string[] = [];
  const qemu = qemuVersion();
  if (qemu === null) skipped.push(QEMU_MISSING);
  else {
    list.push({
      name: 'QEMU TCG',
      time: (path) => timeChild(QEMU_I386, ['-accel', 'tcg', '-m', '32', '-kernel', path, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot']),
    });
  }
  const pkg = await loadV86();
  if (typeof pkg === 'string') skipped.push(`v86 JIT: skipped: ${pkg}`);
  else list.push({ name: 'v86 JIT', time: (_path, image) => timeV86(pkg, image) });
  return { peers: list, skipped, versions: [qemu === null ? '' : `QEMU ${qemu}`, typeof pkg === 'string' ? '' : `v86 ${pkg.version}`].filter((v) => v !== '') };
}

export async function runWorkloadPeersBench(): Promise<string[]> {
  const minstr = Number(process.env.TSEMU_BENCH_WORKLOAD_MINSTR ?? DEFAULT_MINSTR);
  const { peers: emulators, skipped, versions } = await peers();
  const lines = [
    `each loop called by a Multiboot guest for about ${minstr} million instructions, timed from its start marker on COM1 to its end marker`,
    `(wall clock, one run each; ${versions.join(', ')}); MIPS = the instructions between the markers / that time;`,
    'time ratios: tsemu\'s time over the peer\'s (issue 5: at most 1.5 against QEMU, under 1 against v86)',
    ...skipped,
    `  ${'workload'.padEnd(52)} ${emulators.map((e) => e.name.padStart(10)).join(' ')}   ratios`,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-workload-'));
  try {
    for (const w of LOOPS) {
      const rounds = Math.ceil((minstr * 1e6) / w.instructions);
      const image = repeatedLoopImage(w, rounds);
      const path = join(dir, 'guest.bin');
      writeFileSync(path, image);
      const instructions = markedInstructions(w, rounds);
      const ms: (number | null)[] = [];
      const failures: string[] = [];
      for (const e of emulators) {
        try {
          ms.push(await e.time(path, image));
        } catch (err) {
          ms.push(null);
          failures.push(`    ${e.name} failed: ${(err as Error).message}`);
        }
      }
      const mips = ms.map((t) => (t === null ? '-' : (instructions / t / 1e3).toFixed(0)));
      const ratios = ms.slice(1).map((t, i) => (t === null || ms[0] === null ? null : `vs ${emulators[i + 1].name} ${(ms[0] / t).toFixed(2)}`)).filter((r) => r !== null);
      lines.push(`  ${w.name.padEnd(52)} ${mips.map((m) => m.padStart(10)).join(' ')}   ${ratios.join(', ')}`, ...failures);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
