/**
 * Time from start to the first shell prompt of Debian's 686 kernel under --accel=tcg (the
 * images from `npm run guests`), as the host sees it and as the guest does (/proc/uptime),
 * with the software CPU's MIPS from --stats: once with the interpreter alone (--jit=off), once
 * with the JIT. One boot: about 2.3 billion instructions of xz decompression and 3.5 billion of
 * crypto self-tests (multi-precision arithmetic), so it takes minutes, not seconds.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { linuxGuestImages, PromptDialogue } from './linux-guest.js';

const TSEMU = fileURLToPath(new URL('../../packages/cli/bin/tsemu.js', import.meta.url));
const BOOT_LIMIT_MS = 15 * 60_000;

interface BootFigures {
  promptMs: number;
  guestUptime: number;
  stats: string;
}

/** One boot: `jit` is --jit=off, --jit=on (the default backend, wasm) or --jit-backend=js. */
function bootOnce(kernel: string, initrd: string, jit: 'on' | 'off' | 'js'): Promise<BootFigures> {
  return new Promise((resolve, reject) => {
    const dialogue = new PromptDialogue(process.hrtime.bigint());
    const jitArgs = jit === 'js' ? ['--jit=on', '--jit-backend=js'] : [`--jit=${jit}`];
    const child = spawn(process.execPath, [TSEMU, '--accel=tcg', ...jitArgs, '--stats', '--memory', '256M', '--kernel', kernel, '--initrd', initrd, '--append', 'console=ttyS0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no shell prompt within ${BOOT_LIMIT_MS / 1000} s`));
    }, BOOT_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => {
      const reply = dialogue.feed(d.toString('latin1'));
      if (reply !== null) child.stdin.write(reply);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    child.on('close', (status) => {
      clearTimeout(timer);
      if (!dialogue.done) reject(new Error(`tsemu exited (${status}) before the prompt and uptime: ${err.trim().split('\n').pop()}`));
      else resolve({ promptMs: dialogue.promptMs, guestUptime: dialogue.guestUptime, stats: err });
    });
  });
}

/**
 * Host seconds to the first shell prompt of each boot this run made, by --jit mode: filled in by
 * runLinuxBootBench for the peers' bench to print its ratios with (linux-boot-peers.ts).
 */
export type BootPromptSeconds = Partial<Record<'off' | 'on' | 'js', number>>;

export async function runLinuxBootBench(prompts: BootPromptSeconds = {}): Promise<string[]> {
  const images = linuxGuestImages();
  if (typeof images === 'string') return [images];
  const { kernel, initrd } = images;
  const lines = [`${images.description}, --accel=tcg`];
  try {
    for (const jit of ['off', 'on', 'js'] as const) {
      const f = await bootOnce(kernel, initrd, jit);
      prompts[jit] = f.promptMs / 1000;
      const mips = /(\d+(?:\.\d+)?)\s*MIPS/.exec(f.stats)?.[1] ?? '?';
      const what = jit === 'off' ? 'interpreter alone (--jit=off)' : jit === 'on' ? 'JIT (--jit=on, WebAssembly translations: the default)' : 'JIT with JavaScript translations only (--jit-backend=js)';
      lines.push(`${what}: first shell prompt after ${(f.promptMs / 1000).toFixed(2)} s host time; guest /proc/uptime then ${f.guestUptime.toFixed(2)} s; ${mips} MIPS (--stats)`);
    }
    lines.push(`anchors from the issues (measured there, not in this run): v86 interpreter ~80 s, v86 JIT 8.4 s, QEMU 7.2 TCG 4.35 s to /init`);
    return lines;
  } catch (e) {
    return [`failed: ${(e as Error).message}`];
  }
}
