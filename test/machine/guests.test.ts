// The test guests booted by the real `tsemu` command under each accelerator, with the same
// expected output: serial output, the debug-exit status, timer interrupts (through both
// irqchips under KVM; the software CPU always uses tsemu's PIC/PIT), the MMIO hole, triple
// faults with and without --no-reboot, stdin, and quitting a spinning guest from the console.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, nasmAvailable, requireTool, SHARED_GUESTS_DIR } from '../support/nasm.js';
import { kvmUsable, runTsemu } from '../support/tsemu-process.js';

const haveNasm = requireTool('nasm', nasmAvailable());
const ACCELERATORS = [
  { accel: 'kvm', irqchips: ['kernel', 'user'], usable: haveNasm && kvmUsable() },
  { accel: 'tcg', irqchips: ['user'], usable: haveNasm },
];
const dir = mkdtempSync(join(tmpdir(), 'tsemu-guests-'));
const guest = (name: string) => join(dir, `${name}.bin`);
const DEBUG_EXIT = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4'];

beforeAll(async () => {
  if (!haveNasm) return;
  for (const name of ['serial-hello', 'pit-hlt', 'mmio-hole', 'triple-fault', 'spin', 'echo']) {
    writeFileSync(guest(name), await assemble(join(SHARED_GUESTS_DIR, `${name}.asm`)));
  }
});

describe.each(ACCELERATORS.filter((a) => a.usable))('guests under --accel=$accel', ({ accel, irqchips }) => {
  it('prints the serial greeting and command line, and exits with the debug-exit status', async () => {
    const r = await runTsemu(['-accel', accel, '-kernel', guest('serial-hello'), '-append', 'hello=world quiet', ...DEBUG_EXIT]);
    expect(r.stdout).toContain('hello from a multiboot guest');
    expect(r.stdout).toContain('cmdline: hello=world quiet');
    expect(r.status).toBe((0x10 << 1) | 1);
  });

  it('writes COM1 to a file with --serial file:PATH and nothing to stdout', async () => {
    const out = join(dir, `serial-${accel}.txt`);
    const r = await runTsemu(['--accel', accel, '--kernel', guest('serial-hello'), '--debug-exit', '--serial', `file:${out}`]);
    expect(r.status).toBe(33);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'latin1')).toContain('hello from a multiboot guest');
  });

  it.each(irqchips)('takes PIT ticks in HLT through the %s irqchip', async (irqchip) => {
    const r = await runTsemu(['--accel', accel, '--irqchip', irqchip, '--kernel', guest('pit-hlt'), '--debug-exit']);
    expect(r.stdout).toContain('ticks: 20');
    expect(r.status).toBe((0x11 << 1) | 1);
  });

  it('reads all ones from an unmapped MMIO address and drops the write', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('mmio-hole'), '--debug-exit', '--stats']);
    expect(r.stdout).toContain('mmio read: 0xffffffff');
    expect(r.status).toBe((0x12 << 1) | 1);
    if (accel === 'kvm') expect(r.stderr).toMatch(/MMIO\s+\d+/);
    else expect(r.stderr).toMatch(/tcg: \d+ instructions/);
  });

  it('exits after a triple fault under --no-reboot', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('triple-fault'), '--debug-exit', '--no-reboot']);
    expect(r.stdout).toContain('boot 1');
    expect(r.stdout).not.toContain('boot 2');
    expect(r.status).toBe(0);
  });

  it('resets the machine on a triple fault, keeping CMOS, and boots again', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('triple-fault'), '--debug-exit']);
    expect(r.stdout).toContain('boot 1');
    expect(r.stdout).toContain('boot 2');
    expect(r.stdout).toContain('survived reset');
    expect(r.status).toBe((0x13 << 1) | 1);
  });

  it('quits a guest spinning with interrupts off on Ctrl-A x', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('spin')], { stdin: '\x01x', stdinAfter: 'spinning' });
    expect(r.stdout).toContain('spinning');
    expect(r.status).toBe(0);
  });

  it('delivers stdin to COM1 byte for byte and the guest answers on stdout', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('echo'), '--debug-exit'], { stdin: 'hello, tsemu 123.', stdinAfter: 'echo ready' });
    expect(r.stdout).toContain('HELLO, TSEMU 123\r\nbye');
    expect(r.status).toBe((0x15 << 1) | 1);
  });

  it.runIf(accel === 'kvm')('narrates the KVM ioctl flow on stderr, never on the serial output', async () => {
    const r = await runTsemu(['--accel', accel, '--kernel', guest('serial-hello'), '--debug-exit', '--trace', 'kvm']);
    for (const step of ['open /dev/kvm', 'KVM_CREATE_VM', 'KVM_SET_USER_MEMORY_REGION', 'KVM_CREATE_VCPU', 'KVM_RUN']) {
      expect(r.stderr).toContain(step);
    }
    expect(r.stderr).toMatch(/exit IO out port 0x3f8/);
    expect(r.stdout).not.toContain('KVM_');
    expect(r.status).toBe(33);
  });
});
