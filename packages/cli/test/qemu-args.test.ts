import { describe, expect, it } from 'vitest';
import { normalizeQemuArgs } from '../src/args/qemu-args.js';
import { ConfigError } from '../src/config/errors.js';

describe('normalizeQemuArgs', () => {
  it('rewrites a kvm-unit-tests style QEMU command line into tsemu flags', () => {
    const argv = normalizeQemuArgs([
      '-nodefaults', '-machine', 'accel=tcg', '-kernel', 'x86/realmode.flat', '-smp', '1', '-m', '64',
      '-display', 'none', '-serial', 'stdio', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4',
      '-append', 'console=ttyS0 quiet',
    ]);
    expect(argv).toEqual([
      '--accel', 'tcg', '--kernel', 'x86/realmode.flat', '--smp', '1', '--memory', '64',
      '--serial', 'stdio', '--no-reboot', '--debug-exit', '0xf4', '--debug-exit-size', '0x4',
      '--append', 'console=ttyS0 quiet',
    ]);
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
  ])('rejects %j with a message naming it', (argv, message) => {
    expect(() => normalizeQemuArgs(argv)).toThrow(ConfigError);
    expect(() => normalizeQemuArgs(argv)).toThrow(message);
  });
});
