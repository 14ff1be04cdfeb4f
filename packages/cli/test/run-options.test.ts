import { describe, expect, it } from 'vitest';
import { runArgsToConfig, type RunArgs } from '../src/args/run-options.js';
import { ConfigError } from '../src/config/errors.js';
import { parseInteger, parseMemorySize } from '../src/config/size.js';

const defaults: RunArgs = {
  accel: 'auto', memory: '128M', smp: '1', append: '', flatAddress: '0x7c00', flatMode: 'real',
  serial: 'stdio', reboot: true, debugExitSize: '4', irqchip: 'kernel', trace: [], stats: false,
};

describe('parseMemorySize', () => {
  it('reads a bare number as MiB and honours suffixes', () => {
    expect(parseMemorySize('64')).toBe(64 * 2 ** 20);
    expect(parseMemorySize('512M')).toBe(512 * 2 ** 20);
    expect(parseMemorySize('2G')).toBe(2 * 2 ** 30);
    expect(parseMemorySize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseMemorySize('4096k')).toBe(4 * 2 ** 20);
    expect(parseMemorySize('64MiB')).toBe(64 * 2 ** 20);
  });
  it('rejects nonsense', () => {
    expect(() => parseMemorySize('lots')).toThrow(ConfigError);
    expect(() => parseMemorySize('-5')).toThrow(ConfigError);
  });
  it('parses hex and decimal integers only', () => {
    expect(parseInteger('0xf4', 'port')).toBe(0xf4);
    expect(parseInteger('244', 'port')).toBe(244);
    expect(() => parseInteger('0xzz', 'port')).toThrow("invalid port '0xzz'");
  });
});

describe('runArgsToConfig', () => {
  it('gives the demo guest when no kernel is named', () => {
    const c = runArgsToConfig(defaults);
    expect(c.kernel).toEqual({ kind: 'demo' });
    expect(c.memoryBytes).toBe(128 * 2 ** 20);
    expect(c.debugExit).toBeNull();
    expect(c.noReboot).toBe(false);
  });

  it('puts the debug-exit device at 0xf4 when --debug-exit has no value', () => {
    expect(runArgsToConfig({ ...defaults, debugExit: '' }).debugExit).toEqual({ port: 0xf4, size: 4 });
    expect(runArgsToConfig({ ...defaults, debugExit: '0x501', debugExitSize: '2' }).debugExit).toEqual({ port: 0x501, size: 2 });
  });

  it.each([
    [{ memory: '0' }, 'memory size must not be zero'],
    [{ memory: '100T' }, 'more than this host has'],
    [{ memory: '1M' }, 'memory must be at least 2 MiB'],
    [{ smp: '2' }, 'only --smp 1 is supported'],
    [{ kernel: '/nonexistent/vmlinuz' }, "kernel '/nonexistent/vmlinuz' does not exist"],
    [{ initrd: '/nonexistent/initrd.img' }, "initrd '/nonexistent/initrd.img' does not exist"],
    [{ serial: 'pty' }, "invalid --serial 'pty'"],
    [{ debugExit: '0x10000' }, 'debugExit.port'],
    [{ debugExit: '', debugExitSize: '3' }, 'debugExit.size'],
    [{ trace: ['cpu'] }, "unknown --trace 'cpu'"],
  ])('rejects %j with one clear message', (override, message) => {
    expect(() => runArgsToConfig({ ...defaults, ...override })).toThrow(ConfigError);
    expect(() => runArgsToConfig({ ...defaults, ...override })).toThrow(message);
  });
});
