/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP, in ModRM /digit order)
 * in all their forms, plus TEST, INC, DEC, NOT and NEG. Results are computed unmasked and
 * recorded for the lazy flags; stores mask to the operand size. LOCK needs nothing extra
 * in a single-threaded interpreter.
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import {
  memoryLinear, readE8, readE16, readE32, readG8, readG16, readG32, writeE8, writeE16, writeE32,
} from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import { ALU_FORM_HANDLERS } from '../../generated/alu-forms.js';
import type { HandlerTable } from './types.js';

// Each handler below is its own function (no factory closures) so V8 keeps per-handler type
// feedback and folds the operand-size branches of the size-specific helpers.

function testEbGb(cpu: SoftCpu, insn: Instruction): void {
  const a = readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0);
  const b = readG8(cpu, insn);
  cpu.regs.flags.record(FlagOp.LOGIC, 8, a, b, a & b);
}

function testEbIb(cpu: SoftCpu, insn: Instruction): void {
  const a = readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0);
  const b = insn.imm;
  cpu.regs.flags.record(FlagOp.LOGIC, 8, a, b, a & b);
}

function testEvGv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const a = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
    const b = readG16(cpu, insn);
    cpu.regs.flags.record(FlagOp.LOGIC, 16, a, b, a & b);
  } else {
    const size = insn.opSize;
    const a = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
    const b = readG32(cpu, insn);
    cpu.regs.flags.record(FlagOp.LOGIC, size << 3, a, b, a & b);
  }
}

function testEvIz(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const a = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
    const b = insn.imm;
    cpu.regs.flags.record(FlagOp.LOGIC, 16, a, b, a & b);
  } else {
    const size = insn.opSize;
    const a = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
    const b = insn.imm;
    cpu.regs.flags.record(FlagOp.LOGIC, size << 3, a, b, a & b);
  }
}

function testAlIb(cpu: SoftCpu, insn: Instruction): void {
  const a = cpu.regs.gpr.r8[0];
  const b = insn.imm;
  cpu.regs.flags.record(FlagOp.LOGIC, 8, a, b, a & b);
}

function testRaxIz(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  const b = insn.imm;
  if (insn.opSize === 2) {
    const a = g.r16[0];
    cpu.regs.flags.record(FlagOp.LOGIC, 16, a, b, a & b);
  } else {
    const a = g.r32[0] >>> 0;
    cpu.regs.flags.record(FlagOp.LOGIC, insn.opSize << 3, a, b, a & b);
  }
}

function incEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const r = a + 1;
  cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 8, a, 1, r);
  writeE8(cpu, insn, lin, r);
}

function decEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const r = a - 1;
  cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 8, a, 1, r);
  writeE8(cpu, insn, lin, r);
}

function incEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const r = a + 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 16, a, 1, r);
    writeE16(cpu, insn, lin, r);
  } else {
    const size = insn.opSize;
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const a = readE32(cpu, insn, lin);
    const r = a + 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, size << 3, a, 1, r);
    writeE32(cpu, insn, lin, r);
  }
}

function decEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const r = a - 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 16, a, 1, r);
    writeE16(cpu, insn, lin, r);
  } else {
    const size = insn.opSize;
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const a = readE32(cpu, insn, lin);
    const r = a - 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, size << 3, a, 1, r);
    writeE32(cpu, insn, lin, r);
  }
}

/** INC/DEC r16/r32 (0x40-0x4F outside 64-bit mode): the register is in the opcode. */
function incZv(cpu: SoftCpu, insn: Instruction): void {
  const n = insn.opcode & 7;
  const g = cpu.regs.gpr;
  if (insn.opSize === 2) {
    const a = g.r16[n << 1];
    const r = a + 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 16, a, 1, r);
    g.r16[n << 1] = r;
  } else {
    const a = g.r32[n] >>> 0;
    const r = a + 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, insn.opSize << 3, a, 1, r);
    g.r32[n] = r;
  }
}

function decZv(cpu: SoftCpu, insn: Instruction): void {
  const n = insn.opcode & 7;
  const g = cpu.regs.gpr;
  if (insn.opSize === 2) {
    const a = g.r16[n << 1];
    const r = a - 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 16, a, 1, r);
    g.r16[n << 1] = r;
  } else {
    const a = g.r32[n] >>> 0;
    const r = a - 1;
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, insn.opSize << 3, a, 1, r);
    g.r32[n] = r;
  }
}

function notEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  writeE8(cpu, insn, lin, ~readE8(cpu, insn, lin));
}

function notEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    writeE16(cpu, insn, lin, ~readE16(cpu, insn, lin));
  } else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0;
    writeE32(cpu, insn, lin, ~readE32(cpu, insn, lin));
  }
}

function negEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const b = readE8(cpu, insn, lin);
  const r = -b;
  cpu.regs.flags.record(FlagOp.NEG, 8, 0, b, r);
  writeE8(cpu, insn, lin, r);
}

function negEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const b = readE16(cpu, insn, lin);
    const r = -b;
    cpu.regs.flags.record(FlagOp.NEG, 16, 0, b, r);
    writeE16(cpu, insn, lin, r);
  } else {
    const size = insn.opSize;
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const b = readE32(cpu, insn, lin);
    const r = -b;
    cpu.regs.flags.record(FlagOp.NEG, size << 3, 0, b, r);
    writeE32(cpu, insn, lin, r);
  }
}

export const ALU_HANDLERS: HandlerTable = {
  test_Eb_Gb: testEbGb,
  test_Ev_Gv: testEvGv,
  test_Eb_Ib: testEbIb,
  test_Ev_Iz: testEvIz,
  test_AL_Ib: testAlIb,
  test_rAX_Iz: testRaxIz,
  inc_Eb: incEb,
  dec_Eb: decEb,
  inc_Ev: incEv,
  dec_Ev: decEv,
  inc_Zv: incZv,
  dec_Zv: decZv,
  not_Eb: notEb,
  not_Ev: notEv,
  neg_Eb: negEb,
  neg_Ev: negEv,
};

// The eight operations in their ModRM and accumulator forms, one function each (generated: src/generated/alu-forms.ts).
Object.assign(ALU_HANDLERS, ALU_FORM_HANDLERS);
