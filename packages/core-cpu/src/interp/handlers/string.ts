/**
 * String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, with and without REP/REPE/REPNE
 * (SDM Vol. 2, "REP/REPE/REPZ/REPNE/REPNZ" and each instruction's page).
 *
 * - The source is seg:rSI (DS unless overridden); the destination is always ES:rDI.
 *   The address size picks SI/DI/CX or ESI/EDI/ECX; DF picks the direction.
 * - Every element is limit-checked on its own, and rSI/rDI/rCX are committed after each
 *   element, so a fault in the middle of a REP leaves the registers describing the work
 *   that remains and the run loop's rewind of RIP restarts it exactly (SDM: "a repeating
 *   string operation can be suspended by an exception or interrupt").
 * - A REP runs at most REP_CHUNK elements per step; if work remains RIP is set back to the
 *   instruction, so the next step continues it and interrupts can be taken in between
 *   (what hardware does between iterations), and a huge rCX never blocks the host.
 * - F3 with CMPS/SCAS is REPE, F2 is REPNE; with the others both mean REP.
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { CpuMode, PREFIX_REP, PREFIX_REPNE } from '../../decoder/instruction.js';
import type { GprFile } from '../../state/gpr-file.js';
import { Seg } from '../../state/segment-cache.js';
import { readMem, segmentLinear, writeMem } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

/** Elements a REP executes per step before yielding back to the run loop. */
export const REP_CHUNK = 4096;

const RAX = 0;
const RCX = 1;
const RDX = 2;
const RSI = 6;
const RDI = 7;
const EFLAGS_DF = 0x400;
const ANY_REP = PREFIX_REP | PREFIX_REPNE;

/** How a repeated compare ends: never early, on ZF = 0 (REPE), on ZF = 1 (REPNE). */
const UNTIL_NONE = 0;
const UNTIL_NOT_EQUAL = 1;
const UNTIL_EQUAL = 2;

// ---- index registers at the address size (2: SI DI CX, 4: ESI EDI ECX)

function index(g: GprFile, a16: boolean, n: number): number {
  return a16 ? g.r16[n << 1] : g.r32[n] >>> 0;
}

function setIndex(g: GprFile, a16: boolean, n: number, v: number): void {
  if (a16) g.r16[n << 1] = v;
  else {
    g.r32[n] = v;
    g.hi[n] = 0;
  }
}

function checkSizes(insn: Instruction): boolean {
  if (insn.opSize === 8) throw new Error('64-bit operand size is not implemented in the interpreter yet');
  if (insn.addrSize === 8) throw new Error('64-bit addressing is not implemented in the interpreter yet');
  return insn.addrSize === 2;
}

function step(cpu: SoftCpu, size: number): number {
  return cpu.regs.flags.raw & EFLAGS_DF ? -size : size;
}

/** Points RIP back at the instruction so the next step resumes the REP. */
function resumeLater(cpu: SoftCpu, insn: Instruction): void {
  const start = cpu.regs.rip - insn.length;
  cpu.regs.rip = insn.mode === CpuMode.Bits16 ? start & 0xffff : start | 0;
}

function accumulator(cpu: SoftCpu, size: number): number {
  const g = cpu.regs.gpr;
  return size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0] >>> 0;
}

function setAccumulator(cpu: SoftCpu, size: number, v: number): void {
  const g = cpu.regs.gpr;
  if (size === 1) g.r8[0] = v;
  else if (size === 2) g.r16[0] = v;
  else {
    g.r32[RAX] = v;
    g.hi[RAX] = 0;
  }
}

/** Protected mode at CPL > IOPL: #GP(0), as if every I/O bitmap bit were set (see io-ops.ts). */
function checkIo(cpu: SoftCpu): void {
  if (cpu.regs.cr0 & 1 && cpu.regs.cpl > ((cpu.regs.flags.get() >> 12) & 3)) raise(Vector.GP, 0);
}

const byteSize = (): number => 1;
const vSize = (insn: Instruction): number => insn.opSize;

// ---- one element of each instruction; each commits its index registers itself

function movsOne(cpu: SoftCpu, insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const si = index(g, a16, RSI);
  const di = index(g, a16, RDI);
  const v = readMem(cpu, segmentLinear(cpu, insn.segment, si, size), size);
  writeMem(cpu, segmentLinear(cpu, Seg.ES, di, size), size, v);
  setIndex(g, a16, RSI, si + delta);
  setIndex(g, a16, RDI, di + delta);
}

function stosOne(cpu: SoftCpu, _insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const di = index(g, a16, RDI);
  writeMem(cpu, segmentLinear(cpu, Seg.ES, di, size), size, accumulator(cpu, size));
  setIndex(g, a16, RDI, di + delta);
}

function lodsOne(cpu: SoftCpu, insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const si = index(g, a16, RSI);
  setAccumulator(cpu, size, readMem(cpu, segmentLinear(cpu, insn.segment, si, size), size));
  setIndex(g, a16, RSI, si + delta);
}

function cmpsOne(cpu: SoftCpu, insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const si = index(g, a16, RSI);
  const di = index(g, a16, RDI);
  const a = readMem(cpu, segmentLinear(cpu, insn.segment, si, size), size);
  const b = readMem(cpu, segmentLinear(cpu, Seg.ES, di, size), size);
  cpu.regs.flags.record(FlagOp.SUB, size << 3, a, b, a - b);
  setIndex(g, a16, RSI, si + delta);
  setIndex(g, a16, RDI, di + delta);
}

function scasOne(cpu: SoftCpu, _insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const di = index(g, a16, RDI);
  const a = accumulator(cpu, size);
  const b = readMem(cpu, segmentLinear(cpu, Seg.ES, di, size), size);
  cpu.regs.flags.record(FlagOp.SUB, size << 3, a, b, a - b);
  setIndex(g, a16, RDI, di + delta);
}

function insOne(cpu: SoftCpu, _insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const di = index(g, a16, RDI);
  const linear = segmentLinear(cpu, Seg.ES, di, size);
  // The destination is written once before the port is read, so a page fault on it is taken
  // before the read's side effects (a FIFO byte would otherwise be lost on the restart).
  writeMem(cpu, linear, size, 0);
  writeMem(cpu, linear, size, cpu.io.read(g.r16[RDX << 1], size as 1 | 2 | 4));
  setIndex(g, a16, RDI, di + delta);
}

function outsOne(cpu: SoftCpu, insn: Instruction, a16: boolean, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const si = index(g, a16, RSI);
  const v = readMem(cpu, segmentLinear(cpu, insn.segment, si, size), size);
  cpu.io.write(g.r16[RDX << 1], size as 1 | 2 | 4, v);
  setIndex(g, a16, RSI, si + delta);
}

type Element = (cpu: SoftCpu, insn: Instruction, a16: boolean, size: number, delta: number) => void;

/**
 * A string handler: one element, or a REP loop of at most REP_CHUNK elements. `compare`
 * marks CMPS/SCAS (REPE/REPNE end early on ZF); `io` marks INS/OUTS (the I/O permission
 * check, done once per instruction as the SDM's pseudocode does before the loop).
 */
function stringOp(element: Element, sizeOf: (insn: Instruction) => number, compare: boolean, io: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const a16 = checkSizes(insn);
    if (io) checkIo(cpu);
    const size = sizeOf(insn);
    const delta = step(cpu, size);
    const prefixes = insn.prefixes;
    if ((prefixes & ANY_REP) === 0) {
      element(cpu, insn, a16, size, delta);
      return;
    }
    const until = !compare ? UNTIL_NONE : prefixes & PREFIX_REPNE ? UNTIL_EQUAL : UNTIL_NOT_EQUAL;
    const g = cpu.regs.gpr;
    const flags = cpu.regs.flags;
    let cx = index(g, a16, RCX);
    for (let n = 0; cx !== 0; n++) {
      if (n === REP_CHUNK) {
        resumeLater(cpu, insn);
        return;
      }
      element(cpu, insn, a16, size, delta);
      cx = a16 ? (cx - 1) & 0xffff : (cx - 1) >>> 0;
      setIndex(g, a16, RCX, cx);
      if (until === UNTIL_NOT_EQUAL ? flags.zf() === 0 : until === UNTIL_EQUAL && flags.zf() === 1) return;
    }
  };
}

export const STRING_HANDLERS: HandlerTable = {
  movs_Yb_Xb: stringOp(movsOne, byteSize, false, false),
  movs_Yv_Xv: stringOp(movsOne, vSize, false, false),
  cmps_Xb_Yb: stringOp(cmpsOne, byteSize, true, false),
  cmps_Xv_Yv: stringOp(cmpsOne, vSize, true, false),
  stos_Yb_AL: stringOp(stosOne, byteSize, false, false),
  stos_Yv_rAX: stringOp(stosOne, vSize, false, false),
  lods_AL_Xb: stringOp(lodsOne, byteSize, false, false),
  lods_rAX_Xv: stringOp(lodsOne, vSize, false, false),
  scas_AL_Yb: stringOp(scasOne, byteSize, true, false),
  scas_rAX_Yv: stringOp(scasOne, vSize, true, false),
  ins_Yb_DX: stringOp(insOne, byteSize, false, true),
  ins_Yz_DX: stringOp(insOne, vSize, false, true),
  outs_DX_Xb: stringOp(outsOne, byteSize, false, true),
  outs_DX_Xz: stringOp(outsOne, vSize, false, true),
};
