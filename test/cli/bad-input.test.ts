// Bad input from the user: one clear line on stderr, a non-zero status, never a stack trace.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsemu } from '../support/tsemu-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tsemu-bad-input-'));
const garbage = join(dir, 'garbage.bin');
writeFileSync(garbage, Buffer.alloc(64 * 1024, 0x5a));
const empty = join(dir, 'empty.bin');
writeFileSync(empty, Buffer.alloc(0));

function expectOneCleanError(r: { status: number | null; stderr: string; stdout: string }, fragment: string | RegExp): void {
  expect(r.status).not.toBe(0);
  expect(r.status).not.toBeNull();
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tsemu: /);
  expect(lines[0]).toMatch(fragment);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input', () => {
  it.each([
    [['-kernel', '/nonexistent/vmlinuz'], "could not load kernel '/nonexistent/vmlinuz': No such file or directory"],
    [['-kernel', garbage], /not a Linux bzImage, Multiboot or ELF kernel/],
    [['-kernel', empty], /empty/i],
    [['-m', '0'], 'memory size must not be zero'],
    [['-m', '64T'], 'more than this host has'],
    [['--frobnicate'], /Unknown argument/i],
    [['-frobnicate'], 'unsupported option -frobnicate'],
    [['--smp', '4'], 'only --smp 1'],
    [['--accel', 'xen'], /Invalid values|choices/i],
  ])('%j gives one clear error', async (args, fragment) => {
    expectOneCleanError(await runTsemu(args as string[]), fragment);
  });

  it('prints usage for --help and succeeds', async () => {
    const r = await runTsemu(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--debug-exit');
    expect(r.stdout).toContain('--irqchip');
  });

  it('prints the same usage for a bare --help (run is the default command)', async () => {
    const [top, run] = await Promise.all([runTsemu(['--help']), runTsemu(['run', '--help'])]);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('--debug-exit');
    expect(top.stdout).toBe(run.stdout);
  });
});

describe('an unusable /dev/kvm', () => {
  it.each([
    ['/nonexistent/kvm', 'does not exist (no KVM on this host)'],
    ['/etc/hostname', /KVM|ioctl|inappropriate/i],
  ])('with TSEMU_KVM_DEVICE=%s gives one line naming the cause', async (device, fragment) => {
    const r = await runTsemu(['--accel', 'kvm', '--serial', 'none'], { env: { TSEMU_KVM_DEVICE: device } });
    expectOneCleanError(r, fragment);
    expect(r.stderr).toContain('cannot use KVM');
  });
});
