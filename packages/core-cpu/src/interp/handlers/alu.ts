/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP, in ModRM /digit order)
 * in all their forms, plus TEST, INC, DEC, NOT and NEG. Results are computed unmasked and
 * recorded for the lazy flags; stores mask to the operand size. LOCK needs nothing extra
 * in a single-threaded interpreter.
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { memoryLinear, readE, readG, writeE, writeG } from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

const OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
type AluName = (typeof OPS)[number];

/** Computes `a op b` at `size` bytes, records its flags, and returns the (unmasked) result. */
function alu(cpu: SoftCpu, op: AluName, size: number, a: number, b: number): number {
  const f = cpu.regs.flags;
  const bits = size << 3;
  let r: number;
  switch (op) {
    case 'add':
      r = a + b;
      f.record(FlagOp.ADD, bits, a, b, r);
      return r;
    case 'adc':
      r = a + b + f.cf();
      f.record(FlagOp.ADD, bits, a, b, r);
      return r;
    case 'sub':
    case 'cmp':
      r = a - b;
      f.record(FlagOp.SUB, bits, a, b, r);
      return r;
    case 'sbb':
      r = a - b - f.cf();
      f.record(FlagOp.SUB, bits, a, b, r);
      return r;
    case 'and':
      r = a & b;
      break;
    case 'or':
      r = a | b;
      break;
    case 'xor':
      r = a ^ b;
      break;
  }
  f.record(FlagOp.LOGIC, bits, a, b, r);
  return r;
}

const byteSize = () => 1;
const vSize = (insn: Instruction) => insn.opSize;

function eFirst(op: AluName, sizeOf: (i: Instruction) => number, immediate: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const a = readE(cpu, insn, size, lin);
    const b = immediate ? insn.imm : readG(cpu, insn, size);
    const r = alu(cpu, op, size, a, b);
    if (op !== 'cmp') writeE(cpu, insn, size, lin, r);
  };
}

function gFirst(op: AluName, sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const b = readE(cpu, insn, size, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
    const r = alu(cpu, op, size, readG(cpu, insn, size), b);
    if (op !== 'cmp') writeG(cpu, insn, size, r);
  };
}

function accumulator(op: AluName, sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const g = cpu.regs.gpr;
    const a = size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0] >>> 0;
    const r = alu(cpu, op, size, a, insn.imm);
    if (op === 'cmp') return;
    if (size === 1) g.r8[0] = r;
    else if (size === 2) g.r16[0] = r;
    else {
      g.r32[0] = r;
      g.hi[0] = 0;
    }
  };
}

function test(sizeOf: (i: Instruction) => number, source: 'G' | 'I') {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const a = readE(cpu, insn, size, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
    alu(cpu, 'and', size, a, source === 'G' ? readG(cpu, insn, size) : insn.imm);
  };
}

function incDec(sizeOf: (i: Instruction) => number, delta: 1 | -1) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const a = readE(cpu, insn, size, lin);
    const r = a + delta;
    cpu.regs.flags.recordKeepCarry(delta > 0 ? FlagOp.ADD : FlagOp.SUB, size << 3, a, 1, r);
    writeE(cpu, insn, size, lin, r);
  };
}

/** INC/DEC r16/r32 (0x40-0x4F outside 64-bit mode): the register is in the opcode. */
function incDecZ(delta: 1 | -1) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const n = insn.opcode & 7;
    const g = cpu.regs.gpr;
    const size = insn.opSize;
    const a = size === 2 ? g.r16[n << 1] : g.r32[n] >>> 0;
    const r = a + delta;
    cpu.regs.flags.recordKeepCarry(delta > 0 ? FlagOp.ADD : FlagOp.SUB, size << 3, a, 1, r);
    if (size === 2) g.r16[n << 1] = r;
    else g.r32[n] = r;
  };
}

function not(sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    writeE(cpu, insn, size, lin, ~readE(cpu, insn, size, lin));
  };
}

function neg(sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const b = readE(cpu, insn, size, lin);
    const r = -b;
    cpu.regs.flags.record(FlagOp.NEG, size << 3, 0, b, r);
    writeE(cpu, insn, size, lin, r);
  };
}

export const ALU_HANDLERS: HandlerTable = {
  test_Eb_Gb: test(byteSize, 'G'),
  test_Ev_Gv: test(vSize, 'G'),
  test_Eb_Ib: test(byteSize, 'I'),
  test_Ev_Iz: test(vSize, 'I'),
  test_AL_Ib: (cpu, insn) => void alu(cpu, 'and', 1, cpu.regs.gpr.r8[0], insn.imm),
  test_rAX_Iz: (cpu, insn) => void alu(cpu, 'and', insn.opSize, insn.opSize === 2 ? cpu.regs.gpr.r16[0] : cpu.regs.gpr.r32[0] >>> 0, insn.imm),
  inc_Eb: incDec(byteSize, 1),
  dec_Eb: incDec(byteSize, -1),
  inc_Ev: incDec(vSize, 1),
  dec_Ev: incDec(vSize, -1),
  inc_Zv: incDecZ(1),
  dec_Zv: incDecZ(-1),
  not_Eb: not(byteSize),
  not_Ev: not(vSize),
  neg_Eb: neg(byteSize),
  neg_Ev: neg(vSize),
};

for (const op of OPS) {
  ALU_HANDLERS[`${op}_Eb_Gb`] = eFirst(op, byteSize, false);
  ALU_HANDLERS[`${op}_Ev_Gv`] = eFirst(op, vSize, false);
  ALU_HANDLERS[`${op}_Gb_Eb`] = gFirst(op, byteSize);
  ALU_HANDLERS[`${op}_Gv_Ev`] = gFirst(op, vSize);
  ALU_HANDLERS[`${op}_AL_Ib`] = accumulator(op, byteSize);
  ALU_HANDLERS[`${op}_rAX_Iz`] = accumulator(op, vSize);
  ALU_HANDLERS[`${op}_Eb_Ib`] = eFirst(op, byteSize, true);
  ALU_HANDLERS[`${op}_Ev_Iz`] = eFirst(op, vSize, true);
  ALU_HANDLERS[`${op}_Ev_Ibs`] = eFirst(op, vSize, true);
}
