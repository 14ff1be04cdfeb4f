// The software CPU's virtual clock, CPU trace, stats and --jit through the real `tsemu`
// command: the same guest twice gives byte-identical serial output (timer-dependent lines
// included) and the same instruction count; --icount scales guest time; --trace=cpu prints
// instructions and interrupts within its address filter; --stats reports real figures.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, nasmAvailable, requireTool, SHARED_GUESTS_DIR } from '../support/nasm.js';
import { runTsemu } from '../support/tsemu-process.js';

const haveNasm = requireTool('nasm', nasmAvailable());
const dir = mkdtempSync(join(tmpdir(), 'tsemu-tcg-clock-'));
const guest = (name: string) => join(dir, `${name}.bin`);
const FIXED = ['--accel', 'tcg', '--debug-exit', '--rtc-base', '2026-02-03T04:05:06'];

beforeAll(async () => {
  if (!haveNasm) return;
  for (const name of ['clock-sample', 'pit-hlt']) writeFileSync(guest(name), await assemble(join(SHARED_GUESTS_DIR, `${name}.asm`)));
});

function stat(stderr: string, label: string): number {
  const m = new RegExp(`^${label} +([\\d.]+)$`, 'm').exec(stderr);
  if (!m) throw new Error(`no '${label}' row in:\n${stderr}`);
  return Number(m[1]);
}

describe.runIf(haveNasm)('tcg virtual clock through tsemu', () => {
  it('runs a timer-sampling guest to byte-identical output and equal instruction counts', async () => {
    const a = await runTsemu(['--kernel', guest('clock-sample'), ...FIXED, '--stats']);
    const b = await runTsemu(['--kernel', guest('clock-sample'), ...FIXED, '--stats']);
    expect(a.status).toBe(47);
    expect(a.stdout).toMatch(/ticks: 5\r\npit count: 0x[0-9a-f]{8}\r\ntsc: 0x00000000 0x[0-9a-f]{8}\r\n/);
    expect(a.stdout).toContain('rtc: 0x26-0x02-0x03 0x04:0x05:0x06');
    expect(b.stdout).toBe(a.stdout);
    const instructions = stat(a.stderr, 'instructions retired');
    expect(instructions).toBeGreaterThan(5_000_000);
    expect(stat(b.stderr, 'instructions retired')).toBe(instructions);
    expect(stat(a.stderr, 'interrupts taken')).toBe(5);
    // Virtual time is cycles: one per instruction plus the port accesses' (stall-cycles.ts).
    const stall = stat(a.stderr, 'extra cycles of PAUSE and port I/O');
    expect(stall).toBeGreaterThan(0);
    expect(stat(a.stderr, 'virtual time ms')).toBeCloseTo((instructions + stall) / 1e6, 2);
    expect(stat(a.stderr, 'MIPS')).toBeGreaterThan(0);
    // The guest's loops are decoded once: a few hundred instructions decoded for millions run.
    expect(stat(a.stderr, 'blocks decoded')).toBeGreaterThan(0);
    expect(stat(a.stderr, 'instructions decoded into blocks')).toBeLessThan(instructions / 1000);
  });

  it('gives the same pit-hlt transcript twice and skips the idle time in HLT', async () => {
    const a = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--stats']);
    const b = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--stats']);
    expect(a.stdout).toBe('pit-hlt guest\r\nrtc seconds: 0x06\r\nticks: 20\r\n');
    expect(b.stdout).toBe(a.stdout);
    expect(stat(a.stderr, 'instructions retired')).toBe(stat(b.stderr, 'instructions retired'));
    expect(stat(a.stderr, 'HLT')).toBeGreaterThanOrEqual(20);
    // 20 ticks of 1 ms, nearly all of it asleep: skipped, not waited for.
    expect(stat(a.stderr, 'virtual time skipped in HLT ms')).toBeGreaterThan(19);
  });

  it('with --icount 0,sleep=on the guest sees the same run as when idle time is skipped at once', async () => {
    const skipped = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--stats']);
    const paced = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--stats', '--icount', '0,sleep=on']);
    expect(paced.stdout).toBe(skipped.stdout);
    expect(stat(paced.stderr, 'instructions retired')).toBe(stat(skipped.stderr, 'instructions retired'));
    // Virtual time still jumps over the idle stretches (the waiting in host time is checked by
    // the accelerator's own test, with a longer timer).
    expect(stat(paced.stderr, 'virtual time skipped in HLT ms')).toBeGreaterThan(19);
  });

  it('refuses a malformed --icount', async () => {
    const r = await runTsemu(['--kernel', guest('pit-hlt'), '--icount', '0,sleep=maybe']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid --icount '0,sleep=maybe'/);
  });

  it('scales guest time by 2^SHIFT per instruction with --icount', async () => {
    const r = await runTsemu(['--kernel', guest('clock-sample'), ...FIXED, '--icount', '2']);
    expect(r.status).toBe(47);
    expect(r.stdout).toContain('ticks: 20\r\n');
  });

  it('traces instructions and interrupts within the address range to --trace-file', async () => {
    const file = join(dir, 'trace.txt');
    // irq0_handler and what follows it: the first instruction of the handler is "push eax".
    const r = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--serial', 'none', '--trace', 'cpu:100000-10ffff', '--trace-file', file]);
    expect(r.status).toBe(35);
    expect(r.stderr).toBe('');
    const lines = readFileSync(file, 'latin1').split('\n');
    expect(lines[0]).toMatch(/^0010:00100020 {2}00100020 {2}bc [0-9a-f ]+ +mov esp,0x[0-9a-f]+$/);
    expect(lines.filter((l) => l.startsWith('-- interrupt 0x20 (external) at 0008:')).length).toBeGreaterThanOrEqual(20);
    expect(lines.some((l) => /^0008:[0-9a-f]{8} {2}[0-9a-f]{8} {2}f4 +hlt$/.test(l))).toBe(true);

    const narrow = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--serial', 'none', '--trace', 'cpu:0-fffff']);
    expect(narrow.stderr).toBe('');
  });

  it('traces the demo guest through real, protected and long mode with IPs as wide as the code', async () => {
    const r = await runTsemu(['--accel', 'tcg', '--trace', 'cpu', '--serial', 'none']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.some((l) => /^0000:7c00 {2}00007c00 {2}[0-9a-f ]+ +\S/.test(l))).toBe(true);
    expect(lines.some((l) => /^0008:[0-9a-f]{8} {2}[0-9a-f]{8} {2}/.test(l))).toBe(true);
    expect(lines.some((l) => /^0018:[0-9a-f]{16} {2}[0-9a-f]{16} {2}[0-9a-f ]+ +out dx,ax$/.test(l))).toBe(true);
  });

  it('accepts --jit=on and --jit=off and runs the interpreter for both', async () => {
    for (const jit of ['on', 'off']) {
      const r = await runTsemu(['--kernel', guest('pit-hlt'), ...FIXED, '--jit', jit]);
      expect(r.stdout).toContain('ticks: 20');
      expect(r.status).toBe(35);
    }
  });

  it.each([
    [['--jit', 'on'], '--jit=on needs the software CPU (--accel=tcg)'],
    [['--clock', 'virtual'], '--clock=virtual needs the software CPU (--accel=tcg)'],
    [['--trace', 'cpu'], '--trace=cpu needs the software CPU (--accel=tcg)'],
  ])('refuses %j with --accel=kvm in one line, before touching KVM', async (flags, message) => {
    const r = await runTsemu(['--accel', 'kvm', '--kernel', guest('pit-hlt'), ...flags]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`tsemu: ${message}: under KVM the guest runs on the host CPU in host time`]);
  });
});
