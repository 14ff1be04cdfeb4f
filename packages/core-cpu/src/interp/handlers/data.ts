/**
 * Data movement: MOV in its register, memory, immediate and moffs forms, LEA, XCHG,
 * MOVZX/MOVSX, CBW/CWDE and CWD/CDQ, LAHF/SAHF, XLAT, and MOV to/from segment registers
 * in real mode.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import {
  effectiveOffset, linearOf, memoryLinear, readE, readE8, readE16, readE32, readG, readG8, readG16, readG32, readMem,
  setRegV, writeE, writeE8, writeE16, writeE32, writeG, writeG8, writeG16, writeG32, writeMem,
} from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadSegment } from '../protected/segment-load.js';
import type { HandlerTable } from './types.js';

const byteSize = () => 1;
const vSize = (insn: Instruction) => insn.opSize;

// The MOV forms are written one function each (not made by a factory) so each keeps its own
// type feedback and the size-specific operand helpers inline with constant sizes.

function movEbGb(cpu: SoftCpu, insn: Instruction): void {
  writeE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, readG8(cpu, insn));
}

function movEvGv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, readG16(cpu, insn));
  else writeE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0, readG32(cpu, insn));
}

function movGbEb(cpu: SoftCpu, insn: Instruction): void {
  writeG8(cpu, insn, readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0));
}

function movGvEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeG16(cpu, insn, readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0));
  else writeG32(cpu, insn, readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0));
}

function movEbIb(cpu: SoftCpu, insn: Instruction): void {
  writeE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, insn.imm);
}

function movEvIz(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, insn.imm);
  else writeE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0, insn.imm);
}

function lea(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeG16(cpu, insn, effectiveOffset(cpu, insn));
  else writeG32(cpu, insn, effectiveOffset(cpu, insn));
}

function xchg(sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const a = readE(cpu, insn, size, lin);
    writeE(cpu, insn, size, lin, readG(cpu, insn, size));
    writeG(cpu, insn, size, a);
  };
}

/** moffs: the address is the displacement itself, in the instruction's segment. */
const moffs = (cpu: SoftCpu, insn: Instruction, size: number) => linearOf(cpu, insn, insn.disp >>> 0, size);

// MOVZX/MOVSX: the source size is fixed by the opcode, the destination is the operand size.
function movzxGvEb(cpu: SoftCpu, insn: Instruction): void {
  const v = readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0);
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else writeG32(cpu, insn, v);
}

function movzxGvEw(cpu: SoftCpu, insn: Instruction): void {
  const v = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else writeG32(cpu, insn, v);
}

function movsxGvEb(cpu: SoftCpu, insn: Instruction): void {
  const v = (readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0) << 24) >> 24;
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else writeG32(cpu, insn, v);
}

function movsxGvEw(cpu: SoftCpu, insn: Instruction): void {
  const v = (readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0) << 16) >> 16;
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else writeG32(cpu, insn, v);
}

/** MOV Sreg, r/m16 (real mode: base = selector * 16; protected mode: descriptor checks). Loading CS this way is #UD. */
function movSregFrom(cpu: SoftCpu, insn: Instruction): void {
  const seg = insn.reg & 7;
  if (seg === Seg.CS || seg > Seg.GS) raise(Vector.UD);
  const sel = readE(cpu, insn, 2, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
  loadSegment(cpu, seg, sel);
}

function movSregTo(cpu: SoftCpu, insn: Instruction): void {
  const seg = insn.reg & 7;
  if (seg > Seg.GS) raise(Vector.UD);
  const sel = cpu.regs.seg.selector[seg];
  // To memory always 16 bits; to a register the operand size (upper bits zero on P6).
  writeE(cpu, insn, insn.isMem ? 2 : insn.opSize, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, sel);
}

export const DATA_HANDLERS: HandlerTable = {
  mov_Eb_Gb: movEbGb,
  mov_Ev_Gv: movEvGv,
  mov_Gb_Eb: movGbEb,
  mov_Gv_Ev: movGvEv,
  mov_Eb_Ib: movEbIb,
  mov_Ev_Iz: movEvIz,
  mov_Zb_Ib: (cpu, insn) => {
    const n = insn.opcode & 7 | ((insn.rex & 1) << 3);
    cpu.regs.gpr.r8[insn.prefixes & 0x40 ? n << 2 : n < 4 ? n << 2 : ((n - 4) << 2) | 1] = insn.imm;
  },
  mov_Zv_Iv: (cpu, insn) => setRegV(cpu, (insn.opcode & 7) | ((insn.rex & 1) << 3), insn.opSize, insn.imm),
  mov_AL_Ob: (cpu, insn) => void (cpu.regs.gpr.r8[0] = readMem(cpu, moffs(cpu, insn, 1), 1)),
  mov_rAX_Ov: (cpu, insn) => setRegV(cpu, 0, insn.opSize, readMem(cpu, moffs(cpu, insn, insn.opSize), insn.opSize)),
  mov_Ob_AL: (cpu, insn) => writeMem(cpu, moffs(cpu, insn, 1), 1, cpu.regs.gpr.r8[0]),
  mov_Ov_rAX: (cpu, insn) => writeMem(cpu, moffs(cpu, insn, insn.opSize), insn.opSize, cpu.regs.gpr.r32[0]),
  lea_Gv_M: lea,
  xchg_Eb_Gb: xchg(byteSize),
  xchg_Ev_Gv: xchg(vSize),
  xchg_Zv_rAX: (cpu, insn) => {
    const n = (insn.opcode & 7) | ((insn.rex & 1) << 3);
    const size = insn.opSize;
    const g = cpu.regs.gpr;
    const a = size === 2 ? g.r16[0] : g.r32[0];
    setRegV(cpu, 0, size, size === 2 ? g.r16[n << 1] : g.r32[n]);
    setRegV(cpu, n, size, a);
  },
  movzx_Gv_Eb: movzxGvEb,
  movzx_Gv_Ew: movzxGvEw,
  movsx_Gv_Eb: movsxGvEb,
  movsx_Gv_Ew: movsxGvEw,
  cbw: (cpu, insn) => {
    const g = cpu.regs.gpr;
    if (insn.opSize === 2) g.r16[0] = (g.r8[0] << 24) >> 24;
    else setRegV(cpu, 0, 4, (g.r16[0] << 16) >> 16);
  },
  cwd: (cpu, insn) => {
    const g = cpu.regs.gpr;
    if (insn.opSize === 2) g.r16[2 << 1] = g.r16[0] & 0x8000 ? 0xffff : 0;
    else setRegV(cpu, 2, 4, g.r32[0] < 0 ? -1 : 0);
  },
  lahf: (cpu) => void (cpu.regs.gpr.r8[1] = cpu.regs.flags.get() & 0xd5 | 0x02),
  sahf: (cpu) => {
    const f = cpu.regs.flags;
    f.set((f.get() & ~0xd5) | (cpu.regs.gpr.r8[1] & 0xd5));
  },
  xlat_BXb: (cpu, insn) => {
    const g = cpu.regs.gpr;
    const base = insn.addrSize === 2 ? g.r16[3 << 1] : g.r32[3] >>> 0;
    const off = (base + g.r8[0]) & (insn.addrSize === 2 ? 0xffff : 0xffffffff);
    g.r8[0] = readMem(cpu, linearOf(cpu, insn, off >>> 0, 1), 1);
  },
  mov_Sw_Rv_Mw: movSregFrom,
  mov_Rv_Mw_Sw: movSregTo,
};
