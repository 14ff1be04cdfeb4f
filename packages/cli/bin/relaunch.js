// Starting tsemu again, in the same process, with V8 options Node reads only at its start.
// Plain JavaScript: it runs before anything is built, and before the bundle is loaded.
//
// Why: V8 compiles (JavaScript optimisation, WebAssembly tier-up) and collects garbage on a
// pool of worker threads, four whatever the host has. On a 2-core host they contend with the
// vCPU thread for its core even at a lower priority (run/thread-priority.ts); with one worker
// the JIT boot of Linux to its shell prompt was faster in most boots run in turn
// (docs/software-cpu.md, "Speed"). The pool's size can only be set on Node's command line, so
// on such a host the command replaces itself with `node --v8-pool-size=1 <the same command>`:
// execve(2), the same process id, standard streams and environment, and no parent process
// left to forward signals or outlive.
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

/** The most cores at which tsemu asks for a single V8 worker: the hosts it was measured on. */
export const SINGLE_WORKER_MAX_CORES = 2;

/**
 * The Node options tsemu wants on this host and is not running with: empty when it should run
 * as started. Only a run of the software CPU wants any (KVM's guests do not wait on V8's
 * compiler). Someone who starts Node with options of their own (on its command line or in
 * NODE_OPTIONS) keeps exactly those; TSEMU_NO_RELAUNCH=1 turns the restart off; and a tsemu
 * started with an IPC channel (child_process.fork) keeps it, which a new image would not know.
 *
 * @param {{ cores: number, execArgv: readonly string[], env: Record<string, string | undefined>, args: readonly string[], kvmUsable: () => boolean, ipc?: boolean }} host
 * @returns {string[]}
 */
export function missingNodeOptions({ cores, execArgv, env, args, kvmUsable, ipc = false }) {
  if (env.TSEMU_NO_RELAUNCH || ipc || cores > SINGLE_WORKER_MAX_CORES) return [];
  if (execArgv.length > 0 || (env.NODE_OPTIONS ?? '').trim() !== '') return [];
  if (args.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-version')) return [];
  const accel = requestedAccelerator(args);
  const softwareCpu = accel === 'tcg' || (accel === 'auto' && !kvmUsable());
  return softwareCpu ? ['--v8-pool-size=1'] : [];
}

/**
 * The accelerator the command line asks for, read the way the CLI reads it (the last one
 * given wins): `--accel X`, `--accel=X`, QEMU's `-accel X`, `-enable-kvm` and
 * `-machine ...,accel=X` (`kvm:tcg` is auto). A guess that is wrong costs only speed: the
 * CLI's own parser decides what runs.
 *
 * @param {readonly string[]} args
 * @returns {string}
 */
export function requestedAccelerator(args) {
  let accel = 'auto';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => (eq > 0 ? arg.slice(eq + 1) : args[++i] ?? '');
    if (flag === '--accel' || flag === '-accel') accel = value();
    else if (flag === '-enable-kvm' || flag === '--enable-kvm') accel = 'kvm';
    else if (flag === '-machine' || flag === '--machine' || flag === '-M') {
      const prop = value().split(',').find((p) => p.startsWith('accel='));
      if (prop !== undefined) accel = prop.slice('accel='.length);
    }
  }
  return accel === 'kvm:tcg' ? 'auto' : accel;
}

/** Whether the KVM device (TSEMU_KVM_DEVICE, else /dev/kvm) opens read-write: what `--accel=auto` would use. */
export function kvmDeviceUsable(env) {
  try {
    accessSync(env.TSEMU_KVM_DEVICE ?? '/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const F_SETFD = 2;

/**
 * Replaces this process with Node running `options` and then this command's own arguments.
 * Returns only when it cannot (no execve on this platform or Node, or execve failed); tsemu
 * then runs as started, which is correct, only slower.
 *
 * @param {string[]} options
 */
export function relaunchWith(options) {
  const argv = [process.execPath, ...options, ...process.argv.slice(1)];
  if (typeof process.execve === 'function') {
    // Node 22.15 and 23.11 on: it keeps the standard streams open across the exec itself.
    try {
      process.execve(process.execPath, argv, process.env);
    } catch {
      return;
    }
  }
  if (process.platform !== 'linux') return;
  let libc;
  try {
    libc = createRequire(import.meta.url)('koffi').load('libc.so.6');
  } catch {
    return;
  }
  const fcntl = libc.func('int fcntl(int fd, int cmd, ...)');
  const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
  // Node marks the standard streams close-on-exec; the new image must inherit them.
  for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 'int', 0);
  const envp = Object.entries(process.env).map(([name, value]) => `${name}=${value}`);
  execve(process.execPath, [...argv, null], [...envp, null]);
  // Still here: execve failed (its error is in errno). The streams may now leak into
  // processes tsemu starts, which does no harm.
}
