// REP STOS and REP MOVS done a run at a time (handlers/string-runs.ts) against a model of the
// element loop written here: one element after another, upwards or downwards (STD first), each
// read before it is written. Random sizes, counts past pages and past REP_CHUNK, unaligned addresses, and
// copies onto themselves both ways; then the cases a run must leave to the element loop:
// a 16-bit offset that wraps, a write over decoded code, a segment limit in the middle.
// REPE/REPNE SCAS in runs against the element loop itself (a memory that is not the MMU's
// fast path keeps runs off).
import { describe, expect, it } from 'vitest';
import type { LinearMemory } from '../../src/interp/linear-memory.js';
import type { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { CODE, testCpu } from './test-machine.js';

const ECX = 1, ESI = 6, EDI = 7;
const AREA = 0x10000;
const AREA_END = 0x30000;

let seed = 0x51f15e;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return ((seed ^ (seed >>> 15)) >>> 0) % n;
}

/**
 * Element loop model: copies or fills `count` elements of `size` in `mem`, upwards from `src`
 * and `dst`, or downwards (DF = 1) from the elements there.
 */
function model(mem: Uint8Array, op: 'stos' | 'movs', size: number, src: number, dst: number, count: number, value: number, down: boolean): void {
  const step = down ? -size : size;
  for (let k = 0; k < count; k++) {
    const element: number[] = [];
    for (let i = 0; i < size; i++) element.push(op === 'stos' ? (value >>> (8 * i)) & 0xff : mem[src + k * step + i]);
    for (let i = 0; i < size; i++) mem[dst + k * step + i] = element[i];
  }
}

const OPCODES = {
  stos: { 1: [0xf3, 0xaa], 2: [0x66, 0xf3, 0xab], 4: [0xf3, 0xab] },
  movs: { 1: [0xf3, 0xa4], 2: [0x66, 0xf3, 0xa5], 4: [0xf3, 0xa5] },
} as const;

describe('REP STOS and REP MOVS in runs', () => {
  it('leave memory and ESI/EDI/ECX as the element loop does, over 400 random cases in both directions', async () => {
    for (let round = 0; round < 400; round++) {
      // A turn of the event loop now and then (see test/support/jit-setup.ts).
      if (round % 50 === 49) await new Promise<void>((resolve) => setImmediate(resolve));
      const op = rand(2) === 0 ? 'stos' : 'movs';
      const size = [1, 2, 4][rand(3)] as 1 | 2 | 4;
      const down = rand(2) === 0;
      const { cpu, memory } = testCpu([...(down ? [0xfd] : []), ...OPCODES[op][size], 0xf4], { flat32: true });
      const count = rand(4) === 0 ? 4096 + rand(9000) : rand(3000);
      const bytes = count * size;
      // The lowest address of each operand's elements.
      const src = AREA + rand(0x8000);
      // Destinations near the source too: copies onto themselves, in both directions.
      const dst = rand(2) === 0 ? Math.max(AREA, src + rand(64) - 32) : AREA + rand(0x8000);
      if (Math.max(src, dst) + bytes > AREA_END) continue;
      const start = new Uint8Array(AREA_END);
      for (let a = AREA; a < AREA_END; a++) start[a] = rand(256);
      memory.writeBytes(AREA, start.subarray(AREA));
      const value = rand(2) === 0 ? 0 : rand(0x7fffffff);
      // Downwards the registers start at the highest element.
      const first = down && count > 0 ? bytes - size : 0;
      const g = cpu.regs.gpr.r32;
      g[0] = value;
      g[ECX] = count;
      g[ESI] = src + first;
      g[EDI] = dst + first;
      cpu.run(100000);
      expect(cpu.halted).toBe(true);
      const expected = start.slice();
      model(expected, op, size, src + first, dst + first, count, value, down);
      const got = memory.readBytes(AREA, AREA_END - AREA);
      const context = `${op} size ${size} count ${count} ${down ? 'down' : 'up'} src ${src.toString(16)} dst ${dst.toString(16)}`;
      expect(Buffer.from(got).equals(Buffer.from(expected.subarray(AREA))), context).toBe(true);
      const moved = down ? -bytes : bytes;
      expect([g[ECX], g[EDI] >>> 0, g[ESI] >>> 0], context).toEqual([0, dst + first + moved, op === 'movs' ? src + first + moved : src + first]);
      // One instruction per REP_CHUNK (4096) elements begun, then the HLT (and the STD before).
      expect(cpu.retired, context).toBe(Math.max(1, Math.ceil(count / 4096)) + 1 + (down ? 1 : 0));
    }
  });

  it('wraps a 16-bit DI at 64 KiB element by element, also under a 4 GiB limit (unreal mode)', () => {
    // ES base 0x10080: the wrap falls inside a page, so only the wrap check splits the run.
    const { cpu, memory } = testCpu([0xf3, 0xaa, 0xf4], { es: 0x1008 }); // rep stosb
    cpu.regs.seg.limit[0] = -1; // ES: the limit does not stop the run, the wrap must
    const g = cpu.regs.gpr.r16;
    g[0] = 0x5a;
    g[ECX << 1] = 0x20;
    g[EDI << 1] = 0xfff0;
    cpu.run(100);
    expect(memory.readBytes(0x10080 + 0xfff0, 0x10).every((b) => b === 0x5a)).toBe(true);
    expect(memory.readBytes(0x10080, 0x10).every((b) => b === 0x5a)).toBe(true);
    expect(memory.read8(0x10080 + 0x10000)).not.toBe(0x5a);
    expect([g[ECX << 1], g[EDI << 1]]).toEqual([0, 0x10]);
  });

  it('sends a write over decoded code to the code-write hook, so the new code runs', () => {
    // The code at 0x7c20 runs once (decoded), then REP STOSB overwrites its first byte and
    // runs it again: the second time it must be the new byte.
    const target = CODE + 0x20;
    const { cpu, memory } = testCpu([0xf4], { flat32: true });
    const program = [
      0xe8, ...le32(target - (CODE + 5)), //     call target (decodes it)
      0xbf, ...le32(target), //                  mov edi, target
      0xb9, 0x01, 0x00, 0x00, 0x00, //           mov ecx, 1
      0xb0, 0x40, //                             mov al, 0x40 (inc eax)
      0xf3, 0xaa, //                             rep stosb
      0xe8, ...le32(target - (CODE + 24)), //    call target
      0xf4,
    ];
    memory.writeBytes(CODE, Uint8Array.from(program));
    memory.writeBytes(target, Uint8Array.from([0x90, 0xc3])); // nop; ret, then inc eax; ret
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    // EAX: 0x40 from MOV AL, then the rewritten byte (INC EAX) ran once.
    expect(cpu.regs.gpr.r32[0]).toBe(0x41);
  });

  it('writes a run over a page of decoded code at once, the hook hearing of it, and the new code runs', () => {
    // 0x20000: 4,095 x INC EAX, then RET. Called once (decoded), overwritten with NOPs but for its
    // last 3 INCs and the RET by REP STOSD, called again: EAX = 3, as under the element loop.
    const program = [
      0xe8, ...le32(0x20000 - (CODE + 5)), //   call 0x20000
      0xbf, ...le32(0x20000), //                 mov edi, 0x20000
      0xb9, ...le32(1023), //                    mov ecx, 1023
      0xb8, ...le32(0x90909090), //              mov eax, 0x90909090
      0xf3, 0xab, //                             rep stosd
      0x31, 0xc0, //                             xor eax, eax
      0xe8, ...le32(0x20000 - (CODE + 31)), //   call 0x20000
      0xf4,
    ];
    const results = [false, true].map((loopOnly) => {
      const { cpu, memory } = testCpu(program, loopOnly ? { flat32: true, wrapMemory: elementLoopOnly } : { flat32: true });
      memory.writeBytes(0x20000, new Uint8Array(4095).fill(0x40));
      memory.write8(0x20fff, 0xc3);
      cpu.run(100_000);
      expect(cpu.halted).toBe(true);
      return { eax: cpu.regs.gpr.r32[0], edi: cpu.regs.gpr.r32[EDI], retired: cpu.retired, hooks: cpu.mmu!.counters.codeWrites };
    });
    expect(results[0].eax).toBe(3);
    expect([results[0].eax, results[0].edi, results[0].retired]).toEqual([results[1].eax, results[1].edi, results[1].retired]);
    // One call of the hook for the run, against one per element in the element loop.
    expect(results[0].hooks).toBe(1);
    expect(results[1].hooks).toBe(1023);
  });

  it('stops at a segment limit in the middle of a run with the registers of the element loop', () => {
    const { cpu, memory } = testCpu([0x66, 0xf3, 0xab, 0xf4], { es: 0x1000, haltingIvt: true }); // rep stosd
    cpu.regs.seg.limit[0] = 0xfff; // ES
    const g = cpu.regs.gpr.r32;
    g[0] = 0x11223344;
    g[ECX] = 0x800;
    g[EDI] = 0;
    cpu.run(100);
    expect(cpu.lastException).toBe(13);
    // 1024 dwords fit below the limit; the 1025th faults, and ECX/EDI describe what is left.
    expect([g[ECX], g[EDI]]).toEqual([0x400, 0x1000]);
    expect(memory.read32(0x10ffc)).toBe(0x11223344);
  });
});

/** The same memory through an object that is not a PagedLinearMemory: string runs stay off. */
function elementLoopOnly(paged: PagedLinearMemory): LinearMemory {
  return {
    read8: (a) => paged.read8(a),
    read16: (a) => paged.read16(a),
    read32: (a) => paged.read32(a),
    write8: (a, v) => paged.write8(a, v),
    write16: (a, v) => paged.write16(a, v),
    write32: (a, v) => paged.write32(a, v),
    fetch8: (a) => paged.fetch8(a),
  };
}

describe('REPE and REPNE SCAS in runs', () => {
  it('stop where the element loop stops, with its ECX, EDI, EFLAGS and instruction count, over 400 random cases', async () => {
    let ended = 0;
    for (let round = 0; round < 400; round++) {
      // A turn of the event loop now and then (see test/support/jit-setup.ts).
      if (round % 50 === 49) await new Promise<void>((resolve) => setImmediate(resolve));
      const size = [1, 2, 4][rand(3)] as 1 | 2 | 4;
      const repne = rand(2) === 0;
      const code = [...(size === 2 ? [0x66] : []), repne ? 0xf2 : 0xf3, size === 1 ? 0xae : 0xaf, 0xf4];
      const count = rand(4) === 0 ? 4096 + rand(9000) : rand(3000);
      const dst = AREA + rand(0x8000);
      // Few distinct values, so equal and unequal elements both come up; sometimes a long
      // stretch of one value (strlen over a long string, memchr that never finds).
      const start = new Uint8Array(AREA_END);
      const fillValue = rand(4);
      for (let a = AREA; a < AREA_END; a++) start[a] = rand(8) === 0 ? rand(4) : fillValue;
      const accumulator = rand(2) === 0 ? fillValue * 0x01010101 : rand(4) * 0x01010101;
      // Drawn once: both runs start from the same EFLAGS (a REP with ECX = 0 leaves them).
      const flagsBefore = 0x2 | (rand(2) === 0 ? 0x40 : 0);
      const results = [false, true].map((loopOnly) => {
        const { cpu, memory } = testCpu(code, loopOnly ? { flat32: true, wrapMemory: elementLoopOnly } : { flat32: true });
        memory.writeBytes(AREA, start.subarray(AREA));
        const g = cpu.regs.gpr.r32;
        g[0] = accumulator;
        g[ECX] = count;
        g[EDI] = dst;
        cpu.regs.flags.set(flagsBefore);
        cpu.run(100000);
        expect(cpu.halted).toBe(true);
        return [g[ECX], g[EDI] >>> 0, cpu.regs.flags.get(), cpu.retired];
      });
      const context = `${repne ? 'repne' : 'repe'} scas size ${size} count ${count} edi ${dst.toString(16)} eax ${accumulator.toString(16)}`;
      expect(results[0], context).toEqual(results[1]);
      if (results[0][0] !== 0) ended++;
    }
    // The cases must include REPs ended by a comparison, not only by ECX.
    expect(ended).toBeGreaterThan(100);
  });
});

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
