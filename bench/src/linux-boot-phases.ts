/**
 * Where the Linux boot's time goes, tsemu's JIT against v86's: the host time at which lines of
 * the kernel's console log appear, the same kernel and initramfs, one boot each, then the time
 * between them. The lines mark the boot's phases:
 *
 * - the first console line (printed when the serial console registers): the firmware (v86
 *   only: SeaBIOS), the kernel's xz decompressor (2.3 billion instructions) and early setup;
 * - "Loading compiled-in X.509 certificates": early init, mostly code that runs a few times;
 * - "Freeing unused kernel image": the certificate's load, 3.7 billion instructions of one
 *   multiply-subtract loop of the kernel's multi-precision library, and the rest of init;
 * - the shell prompt: user space.
 *
 * A total alone (linux-boot.ts, linux-boot-peers.ts) says who is faster; this says where.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GUEST_PROMPT } from '@tsemu/cli';
import { linuxGuestImages } from './linux-guest.js';
import { debianSeabios, loadV86, runV86Until, startV86 } from './v86-linux.js';

const TSEMU = fileURLToPath(new URL('../../packages/cli/bin/tsemu.js', import.meta.url));
const BOOT_LIMIT_MS = 5 * 60_000;

/** The marker lines, in the order they appear, and what the time up to each one is. */
const MARKERS: readonly { text: string; phase: string }[] = [
  { text: 'Linux version', phase: 'start to the console (firmware, decompressor, early setup)' },
  { text: 'Loading compiled-in X.509 certificates', phase: 'early init' },
  { text: 'Freeing unused kernel image', phase: 'multi-precision arithmetic and the rest of init' },
  { text: GUEST_PROMPT, phase: 'user space to the shell prompt' },
];

/**
 * Reads console output and notes the host time (ms since `started`) of each marker's first
 * appearance; `done` once the prompt is seen.
 */
class MarkerClock {
  readonly at: number[] = [];
  private tail = '';

  constructor(private readonly started: bigint) {}

  feed(text: string): void {
    this.tail += text;
    while (this.at.length < MARKERS.length) {
      const i = this.tail.indexOf(MARKERS[this.at.length].text);
      if (i < 0) break;
      this.at.push(Number(process.hrtime.bigint() - this.started) / 1e6);
      this.tail = this.tail.slice(i + MARKERS[this.at.length - 1].text.length);
    }
    // Keep only what a marker split across two chunks needs.
    if (this.tail.length > 4096) this.tail = this.tail.slice(-128);
  }

  get done(): boolean {
    return this.at.length === MARKERS.length;
  }
}

function tsemuMarkers(kernel: string, initrd: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const clock = new MarkerClock(process.hrtime.bigint());
    const child = spawn(process.execPath, [TSEMU, '--accel=tcg', '--memory', '256M', '--kernel', kernel, '--initrd', initrd, '--append', 'console=ttyS0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const limit = setTimeout(() => child.kill('SIGKILL'), BOOT_LIMIT_MS);
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      clock.feed(d.toString('latin1'));
      if (clock.done) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(limit);
      if (clock.done) resolve(clock.at);
      else reject(new Error(`tsemu stopped after ${clock.at.length} of ${MARKERS.length} markers: ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

async function v86Markers(kernel: string, initrd: string): Promise<number[] | string> {
  const pkg = await loadV86();
  if (typeof pkg === 'string') return pkg;
  const firmware = debianSeabios();
  if (typeof firmware === 'string') return firmware;
  const clock = new MarkerClock(process.hrtime.bigint());
  const emulator = startV86(pkg, firmware, kernel, initrd, true);
  await runV86Until(emulator, (byte) => {
    clock.feed(String.fromCharCode(byte));
    return clock.done;
  }, BOOT_LIMIT_MS, () => `v86 stopped after ${clock.at.length} of ${MARKERS.length} markers`);
  return clock.at;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2).padStart(7);

export async function runLinuxBootPhasesBench(): Promise<string[]> {
  const images = linuxGuestImages();
  if (typeof images === 'string') return [images];
  const { kernel, initrd } = images;
  try {
    const tsemu = await tsemuMarkers(kernel, initrd);
    const v86 = await v86Markers(kernel, initrd);
    if (typeof v86 === 'string') return [`skipped: ${v86}`];
    const lines = [
      `${images.description}, console=ttyS0, 256 MiB; tsemu --accel=tcg (JIT on, direct kernel boot) and v86's JIT`,
      '  (SeaBIOS first), one boot each, one after the other; seconds of host time in each phase',
      `  ${'phase'.padEnd(62)}  tsemu      v86  tsemu/v86`,
    ];
    MARKERS.forEach((m, k) => {
      const a = tsemu[k] - (k === 0 ? 0 : tsemu[k - 1]);
      const b = v86[k] - (k === 0 ? 0 : v86[k - 1]);
      lines.push(`  ${m.phase.padEnd(62)}${seconds(a)}  ${seconds(b)}  ${(a / b).toFixed(2).padStart(9)}`);
    });
    const last = MARKERS.length - 1;
    lines.push(`  ${'start to the shell prompt'.padEnd(62)}${seconds(tsemu[last])}  ${seconds(v86[last])}  ${(tsemu[last] / v86[last]).toFixed(2).padStart(9)}`);
    return lines;
  } catch (e) {
    return [`failed: ${(e as Error).message}`];
  }
}
