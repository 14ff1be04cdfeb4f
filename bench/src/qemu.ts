/**
 * QEMU as a peer of the benchmarks (linux-boot-peers.ts, workload-peers.ts): where Debian's
 * `qemu-system-x86` package puts the i386 system emulator, and its version.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const QEMU_I386 = '/usr/bin/qemu-system-i386';

/** QEMU's version ("7.2.22"), or null when it is missing or does not run. */
export function qemuVersion(): string | null {
  if (!existsSync(QEMU_I386)) return null;
  const r = spawnSync(QEMU_I386, ['--version'], { encoding: 'latin1' });
  if (r.error !== undefined || r.status !== 0) return null;
  return /version (\S+)/.exec(r.stdout)?.[1] ?? '?';
}

/** The line a benchmark prints when QEMU cannot be run. */
export const QEMU_MISSING = `QEMU TCG: skipped: ${QEMU_I386} is missing or does not run (\`apt-get install qemu-system-x86\`)`;
