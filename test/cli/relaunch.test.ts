// The tsemu command's restart under `node --v8-pool-size=1` on 2-core hosts
// (packages/cli/bin/relaunch.js): when it happens, and that the restarted process is the one
// that was started (same pid, stdin, stdout, signals, exit status).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript (it runs before anything is built), without declarations.
import { missingNodeOptions, requestedAccelerator } from '../../packages/cli/bin/relaunch.js';
import { assemble, nasmAvailable, requireTool, SHARED_GUESTS_DIR } from '../support/nasm.js';
import { kvmUsable, TSEMU_BIN } from '../support/tsemu-process.js';

const POOL = '--v8-pool-size=1';

describe('when tsemu restarts itself', () => {
  const host = (over: Record<string, unknown> = {}) => ({ cores: 2, execArgv: [], env: {}, args: ['--accel=tcg'], kvmUsable: () => true, ...over });

  it('asks for one V8 worker for the software CPU on a 2-core host', () => {
    expect(missingNodeOptions(host())).toEqual([POOL]);
    expect(missingNodeOptions(host({ cores: 1 }))).toEqual([POOL]);
    expect(missingNodeOptions(host({ args: [], kvmUsable: () => false }))).toEqual([POOL]);
  });

  it('runs as started on larger hosts, under KVM, for help, with an IPC channel, and when Node options were chosen', () => {
    expect(missingNodeOptions(host({ cores: 4 }))).toEqual([]);
    expect(missingNodeOptions(host({ args: ['--accel=kvm'] }))).toEqual([]);
    expect(missingNodeOptions(host({ args: [] }))).toEqual([]); // auto with KVM usable
    expect(missingNodeOptions(host({ args: ['--accel=tcg', '--help'] }))).toEqual([]);
    expect(missingNodeOptions(host({ execArgv: ['--inspect'] }))).toEqual([]);
    expect(missingNodeOptions(host({ env: { NODE_OPTIONS: '--max-old-space-size=512' } }))).toEqual([]);
    expect(missingNodeOptions(host({ env: { TSEMU_NO_RELAUNCH: '1' } }))).toEqual([]);
    expect(missingNodeOptions(host({ ipc: true }))).toEqual([]);
  });

  it('reads the accelerator from tsemu and QEMU spellings, the last one winning', () => {
    expect(requestedAccelerator([])).toBe('auto');
    expect(requestedAccelerator(['--accel=tcg'])).toBe('tcg');
    expect(requestedAccelerator(['--accel', 'kvm', '--accel', 'tcg'])).toBe('tcg');
    expect(requestedAccelerator(['-accel', 'tcg', '-enable-kvm'])).toBe('kvm');
    expect(requestedAccelerator(['-machine', 'pc,accel=tcg,kernel_irqchip=on'])).toBe('tcg');
    expect(requestedAccelerator(['-M', 'accel=kvm:tcg'])).toBe('auto');
    expect(requestedAccelerator(['--kernel', 'tcg'])).toBe('auto');
  });
});

/** The environment a user's shell would give: no Node options, no opt-out. */
function plainEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.TSEMU_NO_RELAUNCH;
  return env;
}

const restarts = availableParallelism() <= 2;
const expectedOptions = restarts ? POOL : 'none';

describe('the restarted command', () => {
  const haveNasm = requireTool('nasm', nasmAvailable());
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-relaunch-'));
  const echo = join(dir, 'echo.bin');
  beforeAll(async () => {
    if (haveNasm) writeFileSync(echo, await assemble(join(SHARED_GUESTS_DIR, 'echo.asm')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A test that fails part-way must not leave its guest spinning.
  const started: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // runTsemu puts its env over this process's, so a NODE_OPTIONS of the developer's would stay:
  // these runs get exactly the environment given.
  const start = (args: string[], env = plainEnvironment()) => {
    const child = spawn(process.execPath, [TSEMU_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(child);
    return child;
  };
  /** A run to its end: status and both streams. */
  const run = (args: string[], env = plainEnvironment()) => {
    const child = start(args, env);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  };

  it(`runs the software CPU with Node options: ${expectedOptions} on this ${availableParallelism()}-core host`, async () => {
    const r = await run(['--accel=tcg', '--stats']);
    expect(r.stdout).toContain('fib(90) = 0x27f80ddaa1ba7878');
    expect(r.stderr).toContain(`Node options: ${expectedOptions}`);
    expect(r.status).toBe(0);
    const optedOut = await run(['--accel=tcg', '--stats'], { ...plainEnvironment(), TSEMU_NO_RELAUNCH: '1' });
    expect(optedOut.stderr).toContain('Node options: none');
  });

  it('leaves KVM runs as started', async () => {
    if (!kvmUsable()) return;
    const r = await run(['--accel=kvm', '--stats']);
    expect(r.stderr).toContain('Node options: none');
    expect(r.status).toBe(0);
  });

  it('keeps its process id, stdin and stdout across the restart, and exits with the guest status', async () => {
    if (!haveNasm) return;
    const child = start(['--accel=tcg', '--kernel', echo, '--debug-exit']);
    let output = '';
    let cmdline: string[] = [];
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('latin1');
      if (cmdline.length === 0 && output.includes('echo ready')) {
        // Read while the guest waits for input: the process that was started, as it is now.
        cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').split('\0');
        child.stdin.write('relaunched.');
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    expect(await exited).toBe((0x15 << 1) | 1);
    expect(cmdline.includes(POOL)).toBe(restarts);
    expect(cmdline).toContain(TSEMU_BIN);
    expect(output).toContain('RELAUNCHED\r\nbye');
  });

  it('ends on SIGTERM sent to the process that was started', async () => {
    if (!haveNasm) return;
    const child = start(['--accel=tcg', '--kernel', echo]);
    let output = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString('latin1');
        if (output.includes('echo ready')) resolve();
      }),
    );
    const [, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('close', (status, sig) => resolve([status, sig]));
      child.kill('SIGTERM');
    });
    expect(signal).toBe('SIGTERM');
  });
});
