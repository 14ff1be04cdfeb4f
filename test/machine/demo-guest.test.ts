// `tsemu` with no arguments: the built-in demo guest walks real -> protected -> long mode.
import { describe, expect, it } from 'vitest';
import { kvmUsable, runTsemu } from '../support/tsemu-process.js';

describe.skipIf(!kvmUsable())('the demo guest', () => {
  it('greets from each CPU mode and powers off with status 0', async () => {
    const r = await runTsemu([]);
    expect(r.stdout).toContain('hello from real mode (16-bit)');
    expect(r.stdout).toContain('entered protected mode (32-bit)');
    expect(r.stdout).toContain('entered long mode (64-bit)');
    expect(r.stdout).toMatch(/cpu vendor: \S+/);
    expect(r.stdout).toContain('fib(90) = 0x27f80ddaa1ba7878');
    expect(r.stdout).toContain('demo guest done: powering off');
    expect(r.status).toBe(0);
  });

  it('prints a table of exits by reason and port with --stats', async () => {
    const r = await runTsemu(['--stats']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/IO\s+\d+/);
    expect(r.stderr).toMatch(/0x3f[8d]/);
  });
});

describe('the demo guest under --accel=tcg', () => {
  it('walks real, protected and long mode on the software CPU and gives the same answers as under KVM', async () => {
    const r = await runTsemu(['--accel', 'tcg']);
    expect(r.stdout.split(/\r?\n/).filter((l) => l.length > 0)).toEqual([
      'tsemu demo guest: hello from real mode (16-bit)',
      'entered protected mode (32-bit)',
      'entered long mode (64-bit)',
      'cpu vendor: GenuineIntel',
      'fib(90) = 0x27f80ddaa1ba7878',
      'demo guest done: powering off',
    ]);
    expect(r.status).toBe(0);
  });
});
