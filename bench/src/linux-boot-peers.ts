/**
 * The peers' figure for linux-boot.ts: the same Debian 686 kernel and busybox initramfs (from
 * `npm run guests`) booted to the shell prompt by QEMU's TCG (`qemu-system-i386 -accel tcg`) and
 * by v86 (the npm package, headless in this process, JIT on and then off), one run each, on this
 * machine. Both boot through SeaBIOS (QEMU its own copy; v86 is handed Debian's bios.bin, the
 * 128 KiB build, since v86 maps the BIOS image just below 1 MiB and a 256 KiB one would cover the
 * VGA BIOS at 0xC0000), so unlike tsemu's direct kernel boot their times include the firmware.
 * v86 loads a bzImage through an option ROM it builds itself, which SeaBIOS runs.
 *
 * Each figure is wall time from start (process spawn, or v86's constructor) to the prompt, the
 * guest's own /proc/uptime read at the prompt, and the host CPU time spent until then: the lead's
 * jobs share this 2-core machine, so wall time alone can mislead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { linuxGuestImages, PromptDialogue } from './linux-guest.js';
import { QEMU_I386, QEMU_MISSING, qemuVersion } from './qemu.js';
import { debianSeabios, loadV86, startV86, type Firmware, type V86Package } from './v86-linux.js';
import type { BootPromptSeconds } from './linux-boot.js';

const BOOT_LIMIT_MS = 10 * 60_000;
/** After `poweroff`, how long the guest gets to print its last words before it is killed. */
const POWEROFF_GRACE_MS = 30_000;
interface BootFigures {
  promptMs: number;
  guestUptime: number;
  /** Host CPU seconds (user + system) used by the emulator until the prompt; NaN when unknown. */
  cpuSeconds: number;
}

/** utime + stime of a live process, in seconds (Linux /proc; clock ticks are 100 Hz there). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function cpuText(seconds: number): string {
  return Number.isNaN(seconds) ? '' : `; ${seconds.toFixed(1)} s host CPU`;
}

function qemuBoot(kernel: string, initrd: string): Promise<BootFigures> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const args = ['-accel', 'tcg', '-m', '256', '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0', '-nographic', '-no-reboot'];
    const child = spawn(QEMU_I386, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const dialogue = new PromptDialogue(started);
    let cpuSeconds = NaN;
    let err = '';
    let grace: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => child.kill('SIGKILL'), BOOT_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => {
      const hadPrompt = dialogue.promptMs >= 0;
      const reply = dialogue.feed(d.toString('latin1'));
      if (!hadPrompt && dialogue.promptMs >= 0) cpuSeconds = processCpuSeconds(child.pid);
      if (reply !== null) child.stdin.write(reply);
      if (dialogue.done && grace === undefined) grace = setTimeout(() => child.kill('SIGKILL'), POWEROFF_GRACE_MS);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    child.on('error', (e) => reject(e));
    child.on('close', (status, signal) => {
      clearTimeout(limit);
      clearTimeout(grace);
      if (!dialogue.done) {
        const why = signal === 'SIGKILL' ? `no prompt and uptime within ${BOOT_LIMIT_MS / 1000} s` : `exited (${status}) before the prompt and uptime`;
        reject(new Error(`${why}: ${err.trim().split('\n').pop() ?? ''}`));
      } else {
        resolve({ promptMs: dialogue.promptMs, guestUptime: dialogue.guestUptime, cpuSeconds });
      }
    });
  });
}

function v86Boot(pkg: V86Package, firmware: Firmware, kernel: string, initrd: string, jit: boolean): Promise<BootFigures> {
  return new Promise((resolve, reject) => {
    const cpuStart = process.cpuUsage();
    const started = process.hrtime.bigint();
    const dialogue = new PromptDialogue(started);
    let cpuSeconds = NaN;
    let finished = false;
    const emulator = startV86(pkg, firmware, kernel, initrd, jit);
    let grace: NodeJS.Timeout | undefined;
    const finish = (error: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      clearTimeout(grace);
      // destroy() stops the CPU loop; without it the process would never exit.
      emulator.destroy().then(
        () => (error === null ? resolve({ promptMs: dialogue.promptMs, guestUptime: dialogue.guestUptime, cpuSeconds }) : reject(error)),
        (e: unknown) => reject(error ?? (e as Error)),
      );
    };
    const limit = setTimeout(() => finish(new Error(`no prompt and uptime within ${BOOT_LIMIT_MS / 1000} s`)), BOOT_LIMIT_MS);
    emulator.add_listener('serial0-output-byte', (byte) => {
      if (finished) return;
      const hadPrompt = dialogue.promptMs >= 0;
      const reply = dialogue.feed(String.fromCharCode(byte as number));
      if (!hadPrompt && dialogue.promptMs >= 0) {
        const used = process.cpuUsage(cpuStart);
        cpuSeconds = (used.user + used.system) / 1e6;
      }
      if (reply !== null) emulator.serial0_send(reply);
      if (dialogue.poweredOff) finish(null);
      else if (dialogue.done && grace === undefined) grace = setTimeout(() => finish(null), POWEROFF_GRACE_MS);
    });
  });
}

/**
 * `tsemu`: this run's own boots (runLinuxBootBench), from which the ratios the issues ask for are
 * printed beside the peers' figures: tsemu's time over each peer's, the same kernel, host and hour.
 */
export async function runLinuxBootPeersBench(tsemu: BootPromptSeconds = {}): Promise<string[]> {
  const images = linuxGuestImages();
  if (typeof images === 'string') return [images];
  const { kernel, initrd } = images;
  const lines = [
    `${images.description}, console=ttyS0, 256 MiB, 1 run each;`,
    '  wall = start (spawn / constructor) to the first shell prompt; both peers boot through SeaBIOS first',
  ];

  // TSEMU_BENCH_PEERS=qemu,v86-jit,v86-interp (any of them): only those, e.g. to repeat one.
  const only = process.env.TSEMU_BENCH_PEERS?.split(',') ?? ['qemu', 'v86-jit', 'v86-interp'];
  const peers: { qemu?: number; v86Jit?: number; v86Interp?: number } = {};
  const version = !only.includes('qemu') ? null : qemuVersion();
  if (!only.includes('qemu')) {
    // not asked for
  } else if (version === null) {
    lines.push(QEMU_MISSING);
  } else {
    const qemuName = `QEMU ${version} TCG (qemu-system-i386 -accel tcg, SeaBIOS + kernel)`;
    try {
      const f = await qemuBoot(kernel, initrd);
      peers.qemu = f.promptMs / 1000;
      lines.push(`${qemuName}: prompt after ${peers.qemu.toFixed(2)} s wall; guest /proc/uptime ${f.guestUptime.toFixed(2)} s${cpuText(f.cpuSeconds)}; 1 run`);
    } catch (e) {
      lines.push(`${qemuName}: failed: ${(e as Error).message}`);
    }
  }

  const pkg = await loadV86();
  const firmware = debianSeabios();
  for (const jit of [true, false]) {
    if (!only.includes(jit ? 'v86-jit' : 'v86-interp')) continue;
    const what = jit ? 'JIT' : 'interpreter';
    if (typeof pkg === 'string' || typeof firmware === 'string') {
      lines.push(`v86 ${what}: skipped: ${typeof pkg === 'string' ? pkg : (firmware as string)}`);
      continue;
    }
    const how = jit ? 'the default' : 'disable_jit';
    const name = `v86 ${pkg.version} ${what} (${how}; headless in Node, SeaBIOS ${firmware.version} + kernel)`;
    try {
      const f = await v86Boot(pkg, firmware, kernel, initrd, jit);
      const seconds = f.promptMs / 1000;
      peers[jit ? 'v86Jit' : 'v86Interp'] = seconds;
      lines.push(`${name}: prompt after ${seconds.toFixed(2)} s wall; guest /proc/uptime ${f.guestUptime.toFixed(2)} s${cpuText(f.cpuSeconds)}; 1 run`);
    } catch (e) {
      lines.push(`${name}: failed: ${(e as Error).message}`);
    }
  }
  lines.push(
    "  host CPU: user + system of the emulator's process until the prompt, all its threads; for v86",
    "  that includes V8 compiling the JIT's generated wasm on background threads, so it can exceed wall",
  );
  const ratios = [
    bootRatio('tsemu JIT / QEMU TCG', tsemu.on, peers.qemu, 'issue 5: at most 1.5'),
    bootRatio('tsemu JIT / v86 JIT', tsemu.on, peers.v86Jit, 'issue 5: under 1'),
    bootRatio('tsemu interpreter / v86 interpreter', tsemu.off, peers.v86Interp, 'issue 4: at most 0.75, 60 s where v86 takes 80'),
  ].filter((r) => r !== null);
  if (ratios.length > 0) lines.push('ratios of time to the prompt, this run (wall clock, one boot each):', ...ratios);
  return lines;
}

/** One ratio line, or null when either boot did not run (or failed) in this run. */
function bootRatio(what: string, ours: number | undefined, theirs: number | undefined, goal: string): string | null {
  if (ours === undefined || theirs === undefined) return null;
  return `  ${what}: ${(ours / theirs).toFixed(2)} (${ours.toFixed(2)} s / ${theirs.toFixed(2)} s; ${goal})`;
}
