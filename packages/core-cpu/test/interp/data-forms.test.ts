// The one-function-per-form MOV, MOVZX/MOVSX and LEA handlers against a reference written
// with the generic size-parameterised operand helpers: same registers and memory for every
// form, operand size and register/memory operand.
import { describe, expect, it } from 'vitest';
import { Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { effectiveOffset, memoryLinear, readE, readG, signExtend, writeE, writeG } from '../../src/interp/addressing.js';
import { DATA_HANDLERS } from '../../src/interp/handlers/data.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { testCpu } from './test-machine.js';

const DS = 3;
const MEM = 0x1000;

type Ref = (cpu: SoftCpu, insn: Instruction, size: number) => void;
const lin = (cpu: SoftCpu, insn: Instruction, size: number) => (insn.isMem ? memoryLinear(cpu, insn, size) : 0);
const extend = (from: number, signed: boolean): Ref => (cpu, insn) => {
  const v = readE(cpu, insn, from, lin(cpu, insn, from));
  writeG(cpu, insn, insn.opSize, signed ? signExtend(v, from) : v);
};

const CASES: [string, number[], Ref, boolean][] = [
  ['mov_Eb_Gb', [1], (cpu, insn) => writeE(cpu, insn, 1, lin(cpu, insn, 1), readG(cpu, insn, 1)), false],
  ['mov_Ev_Gv', [2, 4], (cpu, insn, s) => writeE(cpu, insn, s, lin(cpu, insn, s), readG(cpu, insn, s)), false],
  ['mov_Gb_Eb', [1], (cpu, insn) => writeG(cpu, insn, 1, readE(cpu, insn, 1, lin(cpu, insn, 1))), false],
  ['mov_Gv_Ev', [2, 4], (cpu, insn, s) => writeG(cpu, insn, s, readE(cpu, insn, s, lin(cpu, insn, s))), false],
  ['mov_Eb_Ib', [1], (cpu, insn) => writeE(cpu, insn, 1, lin(cpu, insn, 1), insn.imm), false],
  ['mov_Ev_Iz', [2, 4], (cpu, insn, s) => writeE(cpu, insn, s, lin(cpu, insn, s), insn.imm), false],
  ['lea_Gv_M', [2, 4], (cpu, insn, s) => writeG(cpu, insn, s, effectiveOffset(cpu, insn)), true],
  ['movzx_Gv_Eb', [2, 4], extend(1, false), false],
  ['movzx_Gv_Ew', [2, 4], extend(2, false), false],
  ['movsx_Gv_Eb', [2, 4], extend(1, true), false],
  ['movsx_Gv_Ew', [2, 4], extend(2, true), false],
];

let seed = 0x2468ace;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed ^ (seed >>> 15)) >>> 0;
}

describe('specialised data-movement handlers', () => {
  it('match the generic reference in registers and memory for every form, size and operand kind', () => {
    const { cpu, memory } = testCpu([0xf4]);
    const insn = newInstruction();
    for (const [key, sizes, ref, memOnly] of CASES) {
      const handler = DATA_HANDLERS[key];
      for (const size of sizes) {
        for (let n = 0; n < 32; n++) {
          insn.opSize = size === 4 ? 4 : 2;
          insn.addrSize = 2;
          insn.isMem = memOnly || (n & 1) === 1;
          insn.base = n & 2 ? 6 : -1; // [bp]/[si]-style base exercised for LEA
          insn.index = -1;
          insn.disp = MEM;
          insn.segment = DS;
          insn.reg = rand() & 7;
          insn.rm = rand() & 7;
          insn.imm = size === 1 ? rand() & 0xff : size === 2 ? rand() & 0xffff : rand();
          const regs = Array.from({ length: 8 }, (_, r) => (r === 6 ? 0 : rand()));
          const mem = rand();
          const load = () => {
            for (let r = 0; r < 8; r++) {
              cpu.regs.gpr.r32[r] = regs[r];
              cpu.regs.gpr.hi[r] = 0x5a;
            }
            memory.write32(MEM, mem);
          };
          const snapshot = () => [...cpu.regs.gpr.r32, ...cpu.regs.gpr.hi, memory.read32(MEM)];
          load();
          handler(cpu, insn);
          const got = snapshot();
          load();
          ref(cpu, insn, size);
          expect(got, `${key} size ${size} case ${n}`).toEqual(snapshot());
        }
      }
    }
  });
});
