// The local APIC wired into the PC machine, driven by a guest through the real `tsemu`
// command: CPUID and IA32_APIC_BASE, ID/version, the periodic LVT timer interrupting HLT,
// TPR gating and a self-IPI. Under tcg (virtual clock) and under KVM with --irqchip=user,
// where the same device model answers the APIC page's MMIO exits.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, nasmAvailable, requireTool, SHARED_GUESTS_DIR } from '../support/nasm.js';
import { kvmUsable, runTsemu } from '../support/tsemu-process.js';

const haveNasm = requireTool('nasm', nasmAvailable());
const dir = mkdtempSync(join(tmpdir(), 'tsemu-lapic-'));
const image = join(dir, 'lapic-timer.bin');

const EXPECTED = [
  'lapic-timer guest',
  'cpuid apic: 1',
  'apic base: 0xfee00900',
  'apic version: 0x00050014',
  'ticks: 10',
  'tpr holds irr: 1',
  'tpr lowered, ticks: 11',
  'self ipi: 1',
  '',
].join('\r\n');

beforeAll(async () => {
  if (haveNasm) writeFileSync(image, await assemble(join(SHARED_GUESTS_DIR, 'lapic-timer.asm')));
});

const CONFIGS = [
  { name: 'tcg', args: ['--accel', 'tcg'], usable: haveNasm },
  { name: 'kvm --irqchip=user', args: ['--accel', 'kvm', '--irqchip', 'user'], usable: haveNasm && kvmUsable() },
];

describe.each(CONFIGS.filter((c) => c.usable))('local APIC under $name', ({ args }) => {
  it('counts periodic LVT timer interrupts in HLT, holds one under TPR and takes a self-IPI', async () => {
    const r = await runTsemu([...args, '--kernel', image, '--debug-exit']);
    expect(r.stdout).toBe(EXPECTED);
    expect(r.status).toBe((0x16 << 1) | 1);
  });
});

describe.runIf(haveNasm)('local APIC timer on the virtual clock', () => {
  it('takes the same interrupts at the same instruction counts every run', async () => {
    const runs = await Promise.all([0, 1].map(() => runTsemu(['--accel', 'tcg', '--kernel', image, '--debug-exit', '--stats'])));
    const figures = runs.map((r) => /^instructions retired +(\d+)$/m.exec(r.stderr)?.[1]);
    expect(figures[0]).toBeDefined();
    expect(figures[1]).toBe(figures[0]);
    expect(/^interrupts taken +(\d+)$/m.exec(runs[0].stderr)?.[1]).toBe('12');
  });
});
