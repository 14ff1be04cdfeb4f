import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { normalizeQemuArgs, qemuInfoRequest } from '../src/args/qemu-args.js';
import { ConfigError } from '../src/config/errors.js';

/** An existing file to stand in for a kernel (-kernel checks that its file exists, as QEMU does). */
const KERNEL = fileURLToPath(import.meta.url);

describe('normalizeQemuArgs', () => {
  it('rewrites a kvm-unit-tests style QEMU command line into tsemu flags', () => {
    const argv = normalizeQemuArgs([
      '-nodefaults', '-machine', 'accel=tcg', '-kernel', KERNEL, '-smp', '1', '-m', '64',
      '-display', 'none', '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4',
      '-append', 'console=ttyS0 quiet',
    ]);
    expect(argv).toEqual([
      '--accel', 'tcg', '--kernel', KERNEL, '--bios-handoff', '--smp', '1', '--memory', '64',
      '--serial', 'stdio', '--no-reboot', '--debug-exit', '0xf4', '--debug-exit-size', '0x4',
      '--append', 'console=ttyS0 quiet',
    ]);
  });

  it("accepts kvm-unit-tests' x86/run command line: pc-testdev, -global kvm-pit, -cpu, -vnc none", () => {
    const warnings: string[] = [];
    const argv = normalizeQemuArgs([
      '--no-reboot', '-nodefaults', '-global', 'kvm-pit.lost_tick_policy=discard', '-device', 'pc-testdev',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4', '-display', 'none', '-serial', 'stdio', '-device', 'pci-testdev', '-vnc', 'none',
      '-machine', 'accel=tcg', '-kernel', KERNEL, '-smp', '1', '-cpu', 'max', '-initrd', '/tmp/env',
    ], (w) => warnings.push(w));
    expect(argv).toEqual([
      '--no-reboot', '--device', 'pc-testdev', '--debug-exit', '0xf4', '--debug-exit-size', '0x4', '--serial', 'stdio', '--device', 'pci-testdev',
      '--accel', 'tcg', '--kernel', KERNEL, '--bios-handoff', '--smp', '1', '--initrd', '/tmp/env',
    ]);
    expect(warnings).toEqual([]);
  });

  it('warns (as QEMU does under TCG) for a -cpu model or feature it cannot honour', () => {
    const warnings: string[] = [];
    expect(normalizeQemuArgs(['-cpu', 'qemu64,+umip'], (w) => warnings.push(w))).toEqual([]);
    expect(normalizeQemuArgs(['-cpu', 'max,host-phys-bits,vendor=GenuineIntel,-x2apic'], () => {})).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('qemu64');
    expect(warnings[1]).toContain("'+umip'");
  });

  it("says a missing kernel the way QEMU does, which kvm-unit-tests' runner recognises", () => {
    expect(() => normalizeQemuArgs(['-kernel', '_NO_FILE_4Uhere_'])).toThrow(/could not load kernel '_NO_FILE_4Uhere_'/);
  });

  it('answers -device ? and -device help with a device list naming pc-testdev, and -h with a first line', () => {
    for (const q of ['?', 'help']) {
      const text = qemuInfoRequest(['-device', q]);
      expect(text).toMatch(/^name "pc-testdev", bus ISA/m);
      expect(text).toMatch(/^name "isa-debug-exit"/m);
      expect(text).toMatch(/^name "pci-testdev", bus PCI/m);
    }
    expect(qemuInfoRequest(['-h'])?.split('\n')[0]).toMatch(/^tsemu /);
    expect(qemuInfoRequest(['-kernel', 'k', '-device', 'pc-testdev'])).toBeNull();
  });

  it("uses QEMU's own isa-debug-exit defaults when iobase and iosize are omitted", () => {
    expect(normalizeQemuArgs(['-device', 'isa-debug-exit'])).toEqual(['--debug-exit', '0x501', '--debug-exit-size', '2']);
  });

  it('maps accel spellings: -enable-kvm, -accel, -machine accel=kvm:tcg and kernel_irqchip', () => {
    expect(normalizeQemuArgs(['-enable-kvm'])).toEqual(['--accel', 'kvm']);
    expect(normalizeQemuArgs(['-accel', 'kvm'])).toEqual(['--accel', 'kvm']);
    expect(normalizeQemuArgs(['-M', 'pc,accel=kvm:tcg,kernel_irqchip=off'])).toEqual(['--accel', 'auto', '--irqchip', 'user']);
    expect(normalizeQemuArgs(['-m', 'size=256M', '-smp', 'cpus=1'])).toEqual(['--memory', '256M', '--smp', '1']);
  });

  it('passes tsemu flags through untouched', () => {
    expect(normalizeQemuArgs(['run', '--kernel', 'k', '--trace', 'kvm'])).toEqual(['run', '--kernel', 'k', '--trace', 'kvm']);
  });

  it.each([
    [['-hda', 'disk.img'], 'unsupported option -hda'],
    [['-device', 'virtio-net-pci'], "unsupported device 'virtio-net-pci'"],
    [['-device', 'isa-debug-exit,foo=1'], "unsupported property 'foo'"],
    [['-machine', 'q35'], "unsupported machine type 'q35'"],
    [['-display', 'gtk'], 'unsupported -display gtk'],
    [['-serial', 'tcp::4444'], 'unsupported -serial tcp::4444'],
    [['-kernel'], 'QEMU option -kernel needs a value'],
    [['-device', 'pc-testdev,foo=1'], "unsupported property 'foo' in QEMU option -device pc-testdev"],
    [['-device', 'pci-testdev,x=1'], "unsupported property 'x' in QEMU option -device pci-testdev"],
    [['-global', 'isa-fdc.driveA=x'], "unsupported -global property 'isa-fdc.driveA'"],
    [['-global', 'kvm-pit.lost_tick_policy=bogus'], 'invalid -global kvm-pit.lost_tick_policy=bogus'],
    [['-cpu', 'max,!x'], "invalid -cpu feature '!x'"],
    [['-vnc', ':0'], 'unsupported -vnc :0'],
    [['-smp', '2'], "Invalid SMP CPUs 2. The max CPUs supported by machine 'pc' is 1"],
    [['-smp', 'cpus=4'], 'Invalid SMP CPUs 4'],
  ])('rejects %j with a message naming it', (argv, message) => {
    expect(() => normalizeQemuArgs(argv)).toThrow(ConfigError);
    expect(() => normalizeQemuArgs(argv)).toThrow(message);
  });
});
