// The handlers the run loop picks per decoded instruction (loop-handlers.ts: variants fixed to
// one operand size and register/memory kind) against the table's general handler for the same
// instruction: from the same random registers, flags and memory, both must leave the same
// registers (all 64 bits), EFLAGS, memory and exception. Instructions are decoded from real
// bytes, in 32-bit and 64-bit mode (REX.B/REX.R reach r8-r15; REX.W picks no variant).
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { OPCODE_TABLE } from '../../src/decoder/opcode-table.js';
import { CpuFault } from '../../src/interp/faults.js';
import { DISPATCH } from '../../src/interp/handlers/index.js';
import { loopHandler } from '../../src/interp/loop-handlers.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { testCpu } from './test-machine.js';

const MEM = 0x2000;
const STACK = 0x8000;

let seed = 0x1234567;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed ^ (seed >>> 15)) >>> 0;
}

/** Operand values that hit the edges (0, signs, all ones) half the time. */
function value(): number {
  const edges = [0, 1, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000];
  return rand() & 1 ? edges[rand() % edges.length] : rand();
}

/** Opcode bytes (after any prefix) and the ModRM reg field they fix (-1: free), immediate bytes. */
const FORMS: [number[], number, number][] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((d): [number[], number, number][] => [[[0xc1], d, 1], [[0xd1], d, 0], [[0xd3], d, 0]]),
  [[0x0f, 0xa4], -1, 1], [[0x0f, 0xa5], -1, 0], [[0x0f, 0xac], -1, 1], [[0x0f, 0xad], -1, 0],
  [[0xf7], 4, 0], [[0xf7], 5, 0], [[0xf7], 6, 0], [[0xf7], 7, 0],
  [[0x0f, 0xaf], -1, 0], [[0x69], -1, 4], [[0x6b], -1, 1],
  [[0x0f, 0xb6], -1, 0], [[0x0f, 0xb7], -1, 0], [[0x0f, 0xbe], -1, 0], [[0x0f, 0xbf], -1, 0],
  [[0xff], 0, 0], [[0xff], 1, 0],
  [[0x01], -1, 0], [[0x03], -1, 0], [[0x11], -1, 0], [[0x19], -1, 0], [[0x81], 5, 4], [[0x83], 2, 1],
  [[0x89], -1, 0], [[0x8b], -1, 0], [[0xc7], 0, 4], [[0x8d], -1, 0],
];
/** Register-in-opcode forms: PUSH/POP r, INC/DEC r (not in 64-bit mode: those bytes are REX there). */
const ZFORMS = [0x50, 0x58, 0x40, 0x48];

interface Outcome {
  regs: bigint[];
  flags: number;
  mem: number[];
  stack: number[];
  fault: number;
}

function outcome(cpu: SoftCpu, read: (a: number) => number, fault: number): Outcome {
  return {
    regs: Array.from({ length: 16 }, (_, n) => cpu.regs.gpr.get64(n)),
    flags: cpu.regs.flags.get(),
    mem: [0, 4, 8].map((o) => read(MEM + o)),
    stack: [-8, -4, 0, 4].map((o) => read(STACK + o)),
    fault,
  };
}

describe('run-loop handler variants', () => {
  it('leave registers, flags, memory and faults as the general handler does, for every size and kind', () => {
    const { cpu, memory } = testCpu([0xf4], { flat32: true });
    const insn = newInstruction();
    let bytes: number[] = [];
    const src = { fetch8: (a: number) => bytes[a] ?? 0x90 };
    const picked = new Set<string>();
    let compared = 0;

    const check = (mode: CpuMode, what: string): void => {
      if (decode(src, 0, mode, insn) !== DecodeStatus.Ok) throw new Error(`${what} does not decode`);
      const variant = loopHandler(insn);
      const general = DISPATCH[insn.entry.index];
      if (variant !== general) picked.add(`${OPCODE_TABLE[insn.entry.index].key}/${insn.opSize}${insn.isMem ? 'm' : 'r'}`);
      const regs = Array.from({ length: 16 }, () => value());
      const his = Array.from({ length: 16 }, () => rand());
      regs[4] = STACK;
      his[4] = 0;
      const mem = [value(), value(), value()];
      const stack = [value(), value(), value(), value()];
      const flags = rand() & 0x8d5;
      const lazy = rand() & 1;
      const run = (h: typeof variant): Outcome => {
        for (let n = 0; n < 16; n++) {
          cpu.regs.gpr.r32[n] = regs[n];
          cpu.regs.gpr.hi[n] = his[n];
        }
        // Half the cases start from a lazily recorded ADD, whose CF the handler may read.
        cpu.regs.flags.set(flags | 2);
        if (lazy) cpu.regs.flags.record(0, 32, regs[1], regs[2], regs[1] + regs[2]);
        mem.forEach((v, i) => memory.write32(MEM + i * 4, v));
        stack.forEach((v, i) => memory.write32(STACK - 8 + i * 4, v));
        let fault = -1;
        try {
          h(cpu, insn);
        } catch (e) {
          if (!(e instanceof CpuFault)) throw e;
          fault = e.vector;
        }
        return outcome(cpu, (a) => memory.read32(a), fault);
      };
      const want = run(general);
      expect(run(variant), `${what}: ${bytes.map((b) => b.toString(16)).join(' ')}`).toEqual(want);
      compared++;
    };

    for (let round = 0; round < 60; round++) {
      for (const [opcode, digit, immBytes] of FORMS) {
        for (const mode of [CpuMode.Bits32, CpuMode.Bits64]) {
          for (const prefix of [[], [0x66]]) {
            for (const isMem of [false, true]) {
              const reg = digit >= 0 ? digit : rand() & 7;
              // Memory: [disp32] through a SIB byte with no base and no index (the same in both modes).
              const modrm = isMem ? [(reg << 3) | 4, 0x25, MEM & 0xff, MEM >> 8, 0, 0] : [0xc0 | (reg << 3) | (rand() & 7)];
              if (opcode[0] === 0x8d && !isMem) continue;
              const rex = mode === CpuMode.Bits64 ? [0x40 | (rand() & 0xf)] : [];
              const imm = Array.from({ length: immBytes }, () => (rand() & 3) === 0 ? 1 : rand() & 0xff);
              bytes = [...prefix, ...rex, ...opcode, ...modrm, ...imm];
              check(mode, 'form');
            }
          }
        }
      }
      for (const op of ZFORMS) {
        for (const prefix of [[], [0x66]]) {
          bytes = [...prefix, op | (rand() & 7)];
          check(CpuMode.Bits32, 'register form');
          if (op === 0x50 || op === 0x58) {
            bytes = [...prefix, 0x40 | (rand() & 1), op | (rand() & 7)];
            check(CpuMode.Bits64, 'register form');
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(10000);
    // The groups this test exists for do pick variants.
    for (const key of [
      'shl_Ev_Ib/4r', 'sar_Ev_CL/2m', 'ror_Ev_1/4m', 'shrd_Ev_Gv_CL/4m', 'mul_Ev/4r', 'imul_Gv_Ev_Ibs/2m', 'movzx_Gv_Eb/4r',
      'movsx_Gv_Ew/2m', 'inc_Ev/4m', 'dec_Zv/4r', 'push_Zv/4r', 'pop_Zv/4r', 'add_Ev_Gv/4r', 'mov_Gv_Ev/4m',
    ]) expect(picked).toContain(key);
  });
});
