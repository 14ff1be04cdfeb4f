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
 * - REP STOS, REP MOVS and REPE/REPNE SCAS upwards through RAM do runs of elements at once
 *   where that cannot differ from the element loop (string-runs.ts).
 * - A REP runs at most REP_CHUNK elements per step; if work remains RIP is set back to the
 *   instruction, so the next step continues it and interrupts can be taken in between
 *   (what hardware does between iterations), and a huge rCX never blocks the host.
 * - F3 with CMPS/SCAS is REPE, F2 is REPNE; with the others both mean REP.
 * - 64-bit mode: RSI/RDI/RCX (or ESI/EDI/ECX with 67, zero-extended on write) address flat
 *   memory, FS/GS overrides add their base, addresses must be canonical; REX.W moves
 *   quadwords (MOVSQ STOSQ LODSQ CMPSQ SCASQ). A REP with 67 and ECX = 0 runs no element
 *   but still zero-extends RCX (and RSI/RDI for MOVS, RDI for STOS), as the hardware does
 *   (test/differential/string64-vs-cpu.test.ts).
 */
import { FlagOp } from '../../alu/lazy-flags.js';
import { wide } from '../../alu/wide.js';
import type { Instruction } from '../../decoder/instruction.js';
import { CpuMode, PREFIX_REP, PREFIX_REPNE } from '../../decoder/instruction.js';
import type { GprFile } from '../../state/gpr-file.js';
import { Seg } from '../../state/segment-cache.js';
import { canonicalLinear, readMem, readMem64, segmentLinear, writeMem, writeMem64 } from '../addressing.js';
import { checkIoPermission } from '../protected/io-permission.js';
import { checkSegmentWrite } from '../protected/segment-checks.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';
import { movsRun, scasRun, stosRun, type StringRun } from './string-runs.js';
import { ADDR16, ADDR32, ADDR32_IN_64, ADDR64, addressMode, index, setIndex } from './string-index.js';
import { portAccessStall } from './stall-cycles.js';

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

/** Linear address of `size` bytes at seg:index register n. */
function addressOf(cpu: SoftCpu, seg: number, am: number, n: number, size: number): number {
  const g = cpu.regs.gpr;
  if (am === ADDR64) return canonicalLinear(cpu, seg, g.r32[n], g.hi[n]);
  if (am === ADDR32_IN_64) return canonicalLinear(cpu, seg, g.r32[n], 0);
  return segmentLinear(cpu, seg, index(g, am, n), size);
}

/** The destination ES:rDI of a storing string instruction: ES must be writable (SDM Vol. 3, 5.4). */
function storeAddressOf(cpu: SoftCpu, am: number, size: number): number {
  const linear = addressOf(cpu, Seg.ES, am, RDI, size);
  if (am !== ADDR64 && am !== ADDR32_IN_64) checkSegmentWrite(cpu, Seg.ES);
  return linear;
}

/** Index register n += delta at the address size. */
function advance(g: GprFile, am: number, n: number, delta: number): void {
  if (am === ADDR64) {
    const sum = (g.r32[n] >>> 0) + delta;
    g.r32[n] = sum;
    g.hi[n] = (g.hi[n] + (sum > 0xffffffff ? 1 : sum < 0 ? -1 : 0)) | 0;
  } else setIndex(g, am, n, index(g, am, n) + delta);
}

function step(cpu: SoftCpu, size: number): number {
  return cpu.regs.flags.raw & EFLAGS_DF ? -size : size;
}

/** Points RIP back at the instruction so the next step resumes the REP. */
function resumeLater(cpu: SoftCpu, insn: Instruction): void {
  const r = cpu.regs;
  const start = r.rip - insn.length;
  if (insn.mode === CpuMode.Bits64 && (r.rip >>> 0) < insn.length) r.ripHi = (r.ripHi - 1) | 0;
  r.rip = insn.mode === CpuMode.Bits16 ? start & 0xffff : start | 0;
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

/** Reads an element of `size` bytes (1-8); a quadword's bits 63:32 go to wide.hi. */
function readElement(cpu: SoftCpu, linear: number, size: number): number {
  if (size === 8) {
    const lo = readMem64(cpu, linear);
    wide.hi = cpu.valueHi;
    return lo;
  }
  return readMem(cpu, linear, size);
}

function writeElement(cpu: SoftCpu, linear: number, size: number, v: number, hi: number): void {
  if (size === 8) writeMem64(cpu, linear, v, hi);
  else writeMem(cpu, linear, size, v);
}

/** Records the flags of CMPS/SCAS: a - b at the element size (a quadword's high halves given). */
function compareFlags(cpu: SoftCpu, size: number, a: number, aHi: number, b: number, bHi: number): void {
  const f = cpu.regs.flags;
  if (size !== 8) {
    f.record(FlagOp.SUB, size << 3, a, b, a - b);
    return;
  }
  const d = (a >>> 0) - (b >>> 0);
  f.record64(FlagOp.SUB, a | 0, aHi, b | 0, bHi, d | 0, (aHi - bHi - (d < 0 ? 1 : 0)) | 0);
}

/** Protected mode at CPL > IOPL or virtual-8086 mode: the TSS I/O bitmap (protected/io-permission.ts). */
function checkIo(cpu: SoftCpu, size: number): void {
  if (cpu.regs.cr0 & 1) checkIoPermission(cpu, cpu.regs.gpr.r16[4], size);
}

const byteSize = (): number => 1;
const vSize = (insn: Instruction): number => insn.opSize;
/** INS/OUTS: z-sized, so REX.W still moves doublewords. */
const zSize = (insn: Instruction): number => (insn.opSize === 2 ? 2 : 4);

// ---- one element of each instruction; each commits its index registers itself

function movsOne(cpu: SoftCpu, insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const v = readElement(cpu, addressOf(cpu, insn.segment, am, RSI, size), size);
  const hi = wide.hi;
  writeElement(cpu, storeAddressOf(cpu, am, size), size, v, hi);
  advance(g, am, RSI, delta);
  advance(g, am, RDI, delta);
}

function stosOne(cpu: SoftCpu, _insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  writeElement(cpu, storeAddressOf(cpu, am, size), size, accumulator(cpu, size), g.hi[RAX]);
  advance(g, am, RDI, delta);
}

function lodsOne(cpu: SoftCpu, insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const v = readElement(cpu, addressOf(cpu, insn.segment, am, RSI, size), size);
  setAccumulator(cpu, size, v);
  if (size === 8) g.hi[RAX] = wide.hi;
  advance(g, am, RSI, delta);
}

function cmpsOne(cpu: SoftCpu, insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const a = readElement(cpu, addressOf(cpu, insn.segment, am, RSI, size), size);
  const aHi = wide.hi;
  const b = readElement(cpu, addressOf(cpu, Seg.ES, am, RDI, size), size);
  compareFlags(cpu, size, a, aHi, b, wide.hi);
  advance(g, am, RSI, delta);
  advance(g, am, RDI, delta);
}

function scasOne(cpu: SoftCpu, _insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const a = accumulator(cpu, size);
  const b = readElement(cpu, addressOf(cpu, Seg.ES, am, RDI, size), size);
  compareFlags(cpu, size, a, g.hi[RAX], b, wide.hi);
  advance(g, am, RDI, delta);
}

function insOne(cpu: SoftCpu, _insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const linear = storeAddressOf(cpu, am, size);
  // The destination is written once before the port is read, so a page fault on it is taken
  // before the read's side effects (a FIFO byte would otherwise be lost on the restart).
  writeMem(cpu, linear, size, 0);
  writeMem(cpu, linear, size, cpu.io.read(g.r16[RDX << 1], size as 1 | 2 | 4));
  portAccessStall(cpu);
  advance(g, am, RDI, delta);
}

function outsOne(cpu: SoftCpu, insn: Instruction, am: number, size: number, delta: number): void {
  const g = cpu.regs.gpr;
  const v = readMem(cpu, addressOf(cpu, insn.segment, am, RSI, size), size);
  cpu.io.write(g.r16[RDX << 1], size as 1 | 2 | 4, v);
  portAccessStall(cpu);
  advance(g, am, RSI, delta);
}

type Element = (cpu: SoftCpu, insn: Instruction, am: number, size: number, delta: number) => void;

/**
 * A string handler: one element, or a REP loop of at most REP_CHUNK elements. `compare`
 * marks CMPS/SCAS (REPE/REPNE end early on ZF); `io` marks INS/OUTS (the I/O permission
 * check, done once per instruction as the SDM's pseudocode does before the loop).
 */
function stringOp(element: Element, sizeOf: (insn: Instruction) => number, compare: boolean, io: boolean, run: StringRun | null = null) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const am = addressMode(insn);
    const size = sizeOf(insn);
    if (io) checkIo(cpu, size);
    const delta = step(cpu, size);
    const prefixes = insn.prefixes;
    if ((prefixes & ANY_REP) === 0) {
      element(cpu, insn, am, size, delta);
      return;
    }
    const until = !compare ? UNTIL_NONE : prefixes & PREFIX_REPNE ? UNTIL_EQUAL : UNTIL_NOT_EQUAL;
    const g = cpu.regs.gpr;
    const flags = cpu.regs.flags;
    if (am === ADDR32_IN_64) {
      // Measured on Intel hardware: with a 32-bit address size the REP writes ECX (clearing
      // RCX[63:32]), and REP MOVS / REP STOS their index registers too, before the first
      // element: with ECX = 0, and also when the first element faults.
      g.hi[RCX] = 0;
      if (element === movsOne) g.hi[RSI] = 0;
      if (element === movsOne || element === stosOne) g.hi[RDI] = 0;
      if (g.r32[RCX] === 0) return;
    }
    // REPE/REPNE CMPS and SCAS interrupted by a fault leave EFLAGS as they were before the
    // instruction, not as the last completed comparison set them (measured on the host CPU).
    const flagsBefore = compare ? flags.get() : 0;
    // In 16/32-bit addressing, STOS, MOVS and SCAS may do whole runs at once (string-runs.ts).
    const runs = run !== null && (am === ADDR16 || am === ADDR32) ? run : null;
    try {
      for (let n = 0; ;) {
        // rCX at the address size (RCX: both halves) is re-read: the element commits it.
        if (am === ADDR64 ? (g.r32[RCX] | g.hi[RCX]) === 0 : index(g, am, RCX) === 0) return;
        if (n === REP_CHUNK) {
          resumeLater(cpu, insn);
          return;
        }
        const done = runs === null ? 0 : runs(cpu, insn, am, size, REP_CHUNK - n, delta < 0);
        if (done > 0) {
          n += done;
          // A compare run stops at the element that ends the REP, having recorded its flags.
          if (until === UNTIL_NOT_EQUAL ? flags.zf() === 0 : until === UNTIL_EQUAL && flags.zf() === 1) return;
          continue;
        }
        element(cpu, insn, am, size, delta);
        advance(g, am, RCX, -1);
        n++;
        if (until === UNTIL_NOT_EQUAL ? flags.zf() === 0 : until === UNTIL_EQUAL && flags.zf() === 1) return;
      }
    } catch (e) {
      if (compare) flags.set(flagsBefore);
      throw e;
    }
  };
}

export const STRING_HANDLERS: HandlerTable = {
  movs_Yb_Xb: stringOp(movsOne, byteSize, false, false, movsRun),
  movs_Yv_Xv: stringOp(movsOne, vSize, false, false, movsRun),
  cmps_Xb_Yb: stringOp(cmpsOne, byteSize, true, false),
  cmps_Xv_Yv: stringOp(cmpsOne, vSize, true, false),
  stos_Yb_AL: stringOp(stosOne, byteSize, false, false, stosRun),
  stos_Yv_rAX: stringOp(stosOne, vSize, false, false, stosRun),
  lods_AL_Xb: stringOp(lodsOne, byteSize, false, false),
  lods_rAX_Xv: stringOp(lodsOne, vSize, false, false),
  scas_AL_Yb: stringOp(scasOne, byteSize, true, false, scasRun),
  scas_rAX_Yv: stringOp(scasOne, vSize, true, false, scasRun),
  ins_Yb_DX: stringOp(insOne, byteSize, false, true),
  ins_Yz_DX: stringOp(insOne, zSize, false, true),
  outs_DX_Xb: stringOp(outsOne, byteSize, false, true),
  outs_DX_Xz: stringOp(outsOne, zSize, false, true),
};
