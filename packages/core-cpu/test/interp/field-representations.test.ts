/**
 * The software CPU's hot objects keep one hidden class for the whole run: a field that first
 * holds a value of 2^31 or more must not change the shape of its objects, or V8 throws away
 * every optimised function that had read one (WIDE_ZERO in devices/platform/wide-zero.ts;
 * Instruction's int32 fields). Checked with V8's own %HaveSameMap: after one object of a pair
 * took a large value, both must still share their hidden class.
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { Jit } from '../../src/jit/jit.js';
import { VirtualClock } from '../../src/tcg/virtual-clock.js';
import { dec } from '../decoder/decode-helpers.js';
import { testCpu } from './test-machine.js';

// Natives syntax is parsed per function: enabling it here, before the checker is compiled, is enough.
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b);') as (a: object, b: object) => boolean;

const BEYOND_SMI = 2 ** 31 + 12345;

describe('hidden classes of the hot objects', () => {
  it('checks what it claims: a plain object changes class when a small-integer field gets a large value', () => {
    class Plain { n = 0; }
    const a = new Plain();
    const b = new Plain();
    expect(haveSameMap(a, b)).toBe(true);
    a.n = BEYOND_SMI;
    expect(haveSameMap(a, b)).toBe(false);
  });

  it('SoftCpu keeps its class when the retired count passes 2^31', () => {
    const one = testCpu([0xf4]).cpu;
    const two = testCpu([0xf4]).cpu;
    one.retired = BEYOND_SMI;
    one.run(1);
    expect(one.retired).toBe(BEYOND_SMI + 1);
    expect(haveSameMap(one, two)).toBe(true);
  });

  it('the MMU keeps its class when the last physical address passes 2^31', () => {
    const one = testCpu([0xf4]).cpu.mmu!;
    const two = testCpu([0xf4]).cpu.mmu!;
    one.lastPhys = 0xfee00000;
    expect(haveSameMap(one, two)).toBe(true);
  });

  it("the JIT's counters keep their class past 2^31", () => {
    const one = new Jit();
    const two = new Jit();
    one.counters.retired += BEYOND_SMI;
    one.counters.entries += BEYOND_SMI;
    one.counters.compileNs += BEYOND_SMI;
    expect(haveSameMap(one.counters, two.counters)).toBe(true);
  });

  it('the virtual clock keeps its class past 2^31 ns', () => {
    const clockOne = new VirtualClock({ shift: 0, epochMs: 0 });
    const clockTwo = new VirtualClock({ shift: 0, epochMs: 0 });
    let count = BEYOND_SMI;
    clockOne.bindCounter(() => count);
    count += BEYOND_SMI;
    clockOne.bindCounter(() => count);
    expect(clockOne.nowNs()).toBe(BEYOND_SMI);
    expect(haveSameMap(clockOne, clockTwo)).toBe(true);
  });

  it('an Instruction keeps its class for a moffs and a far pointer above 2^31, read back unsigned', () => {
    const low = dec(CpuMode.Bits32, 'a1 00 10 00 00').insn;
    const moffs = dec(CpuMode.Bits32, 'a1 00 10 00 c1').insn;
    const far = dec(CpuMode.Bits32, 'ea 78 56 34 c1 08 00').insn;
    expect(moffs.disp >>> 0).toBe(0xc1001000);
    expect(far.imm >>> 0).toBe(0xc1345678);
    expect(far.detail.imm2).toBe(8);
    expect(haveSameMap(far.detail, low.detail)).toBe(true);
    expect(haveSameMap(moffs, low)).toBe(true);
    expect(haveSameMap(far, low)).toBe(true);
  });
});

describe('a moffs above 2^31 is an unsigned offset', () => {
  it('faults past a 64 KiB real-mode limit (MOV AX,[0x80001000] with a 67 prefix: #GP)', () => {
    const { cpu } = testCpu([0x67, 0xa1, 0x00, 0x10, 0x00, 0x80, 0xf4], { haltingIvt: true });
    cpu.run(10);
    expect(cpu.lastException).toBe(13);
  });

  it('reads below the limit (MOV AX,[0x1000] with a 67 prefix)', () => {
    const { cpu, memory } = testCpu([0x67, 0xa1, 0x00, 0x10, 0x00, 0x00, 0xf4], { haltingIvt: true });
    memory.write16(0x1000, 0xbeef);
    cpu.run(10);
    expect(cpu.lastException).toBe(-1);
    expect(cpu.regs.gpr.r16[0]).toBe(0xbeef);
  });
});
