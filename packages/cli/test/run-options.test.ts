import { describe, expect, it } from 'vitest';
import { parseRtcBase, parseTraces, runArgsToConfig, type RunArgs } from '../src/args/run-options.js';
import { checkAcceleratorOptions, createMachineClock, softwareCpuOption } from '../src/run/machine-clock.js';
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
    [{ trace: ['cpux'] }, "unknown --trace 'cpux'"],
    [{ trace: ['cpu:zz-100'] }, "invalid --trace=cpu start 'zz'"],
    [{ trace: ['cpu:2000-1000'] }, 'the range ends before it starts'],
    [{ traceFile: '/tmp/t.txt' }, '--trace-file needs --trace=cpu'],
    [{ icount: '11' }, '--icount shift must be 0-10'],
    [{ icount: '2', clock: 'host' }, 'cannot be used with --clock=host'],
    [{ rtcBase: '2026-02-30' }, "invalid --rtc-base '2026-02-30'"],
    [{ rtcBase: 'yesterday' }, "invalid --rtc-base 'yesterday'"],
  ])('rejects %j with one clear message', (override, message) => {
    expect(() => runArgsToConfig({ ...defaults, ...override })).toThrow(ConfigError);
    expect(() => runArgsToConfig({ ...defaults, ...override })).toThrow(message);
  });
});

describe('software-CPU options', () => {
  it('reads --trace=cpu address filters as inclusive hex linear ranges', () => {
    expect(parseTraces(['cpu'])).toEqual({ kinds: ['cpu'], cpuRange: null });
    expect(parseTraces(['cpu:0x100000-0x100fff'])).toEqual({ kinds: ['cpu'], cpuRange: { start: 0x100000, end: 0x100fff } });
    expect(parseTraces(['kvm,cpu:7c00+200'])).toEqual({ kinds: ['kvm', 'cpu'], cpuRange: { start: 0x7c00, end: 0x7dff } });
  });

  it('reads --rtc-base as a UTC date, and utc as the host time', () => {
    expect(parseRtcBase('2026-02-03')).toBe(Date.UTC(2026, 1, 3));
    expect(parseRtcBase('2026-02-03T04:05:06')).toBe(Date.UTC(2026, 1, 3, 4, 5, 6));
    expect(parseRtcBase('utc')).toBeNull();
    expect(parseRtcBase(undefined)).toBeNull();
  });

  it('makes --icount imply the virtual clock and keeps the shift', () => {
    const c = runArgsToConfig({ ...defaults, icount: '3', rtcBase: '2026-01-01' });
    expect(c.clock).toBe('virtual');
    expect(c.icountShift).toBe(3);
    const clock = createMachineClock(c, 'tcg');
    expect(clock.kind).toBe('virtual');
    expect(clock.clock.epochMs).toBe(Date.UTC(2026, 0, 1));
  });

  it('defaults to virtual time under tcg and host time under kvm', () => {
    const c = runArgsToConfig(defaults);
    expect(createMachineClock(c, 'tcg').kind).toBe('virtual');
    const host = createMachineClock(c, 'kvm');
    expect(host.kind).toBe('host');
    host.stop();
  });

  it.each([
    [{ trace: ['cpu'] }, '--trace=cpu'],
    [{ clock: 'virtual' }, '--clock=virtual'],
    [{ icount: '1' }, '--icount'],
    [{ jit: 'off' }, '--jit=off'],
  ])('refuses %j under --accel=kvm with one clear message', (override, option) => {
    const c = runArgsToConfig({ ...defaults, ...override });
    expect(softwareCpuOption(c)).toBe(option);
    expect(() => checkAcceleratorOptions(c, 'kvm')).toThrow(`${option} needs the software CPU (--accel=tcg)`);
    expect(() => checkAcceleratorOptions(c, 'tcg')).not.toThrow();
  });
});
