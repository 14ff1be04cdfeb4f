// Test support: run the built `tsemu` command as a user would, and check for /dev/kvm.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { skipUnless } from './nasm.js';

export const TSEMU_BIN = fileURLToPath(new URL('../../packages/cli/bin/tsemu.js', import.meta.url));

export interface TsemuResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Bytes written to tsemu's stdin (after `stdinAfter` appears on stdout, if given). */
  stdin?: string;
  stdinAfter?: string;
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** The script to run instead of the tsemu command (TSEMU_BIN): the bundle itself, say. */
  entry?: string;
}

/** Runs tsemu to completion; kills it (and fails loudly) after timeoutMs. */
export function runTsemu(args: string[], options: RunOptions = {}): Promise<TsemuResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.entry ?? TSEMU_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const send = () => {
      if (sent || options.stdin === undefined) return;
      sent = true;
      child.stdin.write(options.stdin);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (options.stdinAfter !== undefined && stdout.includes(options.stdinAfter)) send();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    if (options.stdin !== undefined && options.stdinAfter === undefined) send();
    if (options.stdin === undefined) child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tsemu ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/**
 * True when /dev/kvm can be opened read-write. A host without /dev/kvm skips KVM tests
 * (with the reason printed); a host that has it but cannot open it fails under CI=true.
 */
export function kvmUsable(): boolean {
  if (!existsSync('/dev/kvm')) {
    console.warn('skipping: /dev/kvm does not exist on this host');
    return false;
  }
  let ok = true;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    ok = false;
  }
  return !skipUnless(ok, '/dev/kvm exists but cannot be opened read-write');
}
