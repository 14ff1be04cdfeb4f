/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP, in ModRM /digit order)
 * in all their forms, plus TEST, INC, DEC, NOT and NEG. Results are computed unmasked and
 * recorded for the lazy flags after the store (a store that faults leaves EFLAGS alone);
 * stores mask to the operand size. LOCK needs nothing extra
 * in a single-threaded interpreter. 64-bit operands (REX.W) go to a function of their own
 * working on 32-bit halves; a 32-bit register result clears bits 63:32.
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import {
  memoryLinear, readE8, readE16, readE32, readE64, readG8, readG16, readG32, readG64, writeE8, writeE16, writeE32,
  writeE64,
} from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import { ALU_FORM_HANDLERS } from '../../generated/alu-forms.js';
import type { Handler, HandlerTable } from './types.js';
import { GprSlot } from '../../state/gpr-file.js';

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
  } else if (insn.opSize === 4) {
    const a = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0);
    const b = readG32(cpu, insn);
    cpu.regs.flags.record(FlagOp.LOGIC, 32, a, b, a & b);
  } else {
    const a = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
    const aHi = cpu.valueHi;
    const b = readG64(cpu, insn);
    const bHi = cpu.valueHi;
    cpu.regs.flags.record64(FlagOp.LOGIC, a | 0, aHi, b | 0, bHi, a & b, aHi & bHi);
  }
}

function testEvIz(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const a = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
    const b = insn.imm;
    cpu.regs.flags.record(FlagOp.LOGIC, 16, a, b, a & b);
  } else if (insn.opSize === 4) {
    const a = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0);
    const b = insn.imm;
    cpu.regs.flags.record(FlagOp.LOGIC, 32, a, b, a & b);
  } else {
    const a = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
    const aHi = cpu.valueHi;
    const bHi = insn.imm >> 31;
    cpu.regs.flags.record64(FlagOp.LOGIC, a | 0, aHi, insn.imm, bHi, a & insn.imm, aHi & bHi);
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
  } else if (insn.opSize === 4) {
    const a = g.r32[0] >>> 0;
    cpu.regs.flags.record(FlagOp.LOGIC, 32, a, b, a & b);
  } else {
    const a = g.r32[0];
    const aHi = g.hi[0];
    const bHi = b >> 31;
    cpu.regs.flags.record64(FlagOp.LOGIC, a, aHi, b, bHi, a & b, aHi & bHi);
  }
}

function incEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const r = a + 1;
  writeE8(cpu, insn, lin, r);
  cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 8, a, 1, r);
}

function decEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const r = a - 1;
  writeE8(cpu, insn, lin, r);
  cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 8, a, 1, r);
}

function incEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const r = a + 1;
    writeE16(cpu, insn, lin, r);
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 16, a, 1, r);
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    const a = readE32(cpu, insn, lin);
    const r = a + 1;
    writeE32(cpu, insn, lin, r);
    cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 32, a, 1, r);
  } else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
    const a = readE64(cpu, insn, lin);
    const aHi = cpu.valueHi;
    const s = a + 1;
    const r = s | 0;
    const rHi = (aHi + (s > 0xffffffff ? 1 : 0)) | 0;
    writeE64(cpu, insn, lin, r, rHi);
    cpu.regs.flags.recordKeepCarry64(FlagOp.ADD, a | 0, aHi, 1, 0, r, rHi);
  }
}

function decEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const r = a - 1;
    writeE16(cpu, insn, lin, r);
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 16, a, 1, r);
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    const a = readE32(cpu, insn, lin);
    const r = a - 1;
    writeE32(cpu, insn, lin, r);
    cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 32, a, 1, r);
  } else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
    const a = readE64(cpu, insn, lin);
    const aHi = cpu.valueHi;
    const s = a - 1;
    const r = s | 0;
    const rHi = (aHi - (s < 0 ? 1 : 0)) | 0;
    writeE64(cpu, insn, lin, r, rHi);
    cpu.regs.flags.recordKeepCarry64(FlagOp.SUB, a | 0, aHi, 1, 0, r, rHi);
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
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    writeE32(cpu, insn, lin, ~readE32(cpu, insn, lin));
  } else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
    const lo = readE64(cpu, insn, lin);
    writeE64(cpu, insn, lin, ~lo, ~cpu.valueHi);
  }
}

function negEb(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const b = readE8(cpu, insn, lin);
  const r = -b;
  writeE8(cpu, insn, lin, r);
  cpu.regs.flags.record(FlagOp.NEG, 8, 0, b, r);
}

function negEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const b = readE16(cpu, insn, lin);
    const r = -b;
    writeE16(cpu, insn, lin, r);
    cpu.regs.flags.record(FlagOp.NEG, 16, 0, b, r);
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    const b = readE32(cpu, insn, lin);
    const r = -b;
    writeE32(cpu, insn, lin, r);
    cpu.regs.flags.record(FlagOp.NEG, 32, 0, b, r);
  } else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
    const b = readE64(cpu, insn, lin);
    const bHi = cpu.valueHi;
    // 0 - (bHi:b): the low half borrows unless it is zero.
    const r = -b | 0;
    const rHi = (-bHi - (b !== 0 ? 1 : 0)) | 0;
    writeE64(cpu, insn, lin, r, rHi);
    cpu.regs.flags.record64(FlagOp.NEG, 0, 0, b | 0, bHi, r, rHi);
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

// ---- INC/DEC Ev fixed to one operand size and kind, picked once per decoded instruction by the
// run loop (loop-handlers.ts), as ALU_FORM_VARIANTS: the same stores and flags as incEv/decEv.

function incR32(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  const a = g.r32[insn.rm] >>> 0;
  const r = a + 1;
  g.r32[insn.rm] = r;
  g.r32[insn.rm | GprSlot.High] = 0;
  cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 32, a, 1, r);
}
function incM32(cpu: SoftCpu, insn: Instruction): void {
  const lin = memoryLinear(cpu, insn, 4);
  const a = cpu.mem.read32(lin);
  const r = a + 1;
  cpu.mem.write32(lin, r >>> 0);
  cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 32, a, 1, r);
}
function decR32(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  const a = g.r32[insn.rm] >>> 0;
  const r = a - 1;
  g.r32[insn.rm] = r;
  g.r32[insn.rm | GprSlot.High] = 0;
  cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 32, a, 1, r);
}
function decM32(cpu: SoftCpu, insn: Instruction): void {
  const lin = memoryLinear(cpu, insn, 4);
  const a = cpu.mem.read32(lin);
  const r = a - 1;
  cpu.mem.write32(lin, r >>> 0);
  cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 32, a, 1, r);
}

/** INC/DEC r32 in the opcode (40+r, 48+r: outside 64-bit mode, where those bytes are REX). */
function incZvR32(cpu: SoftCpu, insn: Instruction): void {
  const n = insn.opcode & 7;
  const g = cpu.regs.gpr;
  const a = g.r32[n] >>> 0;
  const r = a + 1;
  cpu.regs.flags.recordKeepCarry(FlagOp.ADD, 32, a, 1, r);
  g.r32[n] = r;
}
function decZvR32(cpu: SoftCpu, insn: Instruction): void {
  const n = insn.opcode & 7;
  const g = cpu.regs.gpr;
  const a = g.r32[n] >>> 0;
  const r = a - 1;
  cpu.regs.flags.recordKeepCarry(FlagOp.SUB, 32, a, 1, r);
  g.r32[n] = r;
}

/**
 * By key: [16-bit register, 32-bit register, 16-bit memory, 32-bit memory]; 16-bit keeps the
 * general form (and so do the memory slots of the register-only 40+r/48+r forms).
 */
export const INC_DEC_VARIANTS: Readonly<Record<string, readonly [Handler, Handler, Handler, Handler]>> = {
  inc_Ev: [incEv, incR32, incEv, incM32],
  dec_Ev: [decEv, decR32, decEv, decM32],
  inc_Zv: [incZv, incZvR32, incZv, incZv],
  dec_Zv: [decZv, decZvR32, decZv, decZv],
};
