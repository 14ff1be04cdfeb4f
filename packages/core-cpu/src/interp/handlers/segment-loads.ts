/**
 * Far-pointer loads LES LDS LSS LFS LGS (SDM Vol. 2, "LDS/LES/LFS/LGS/LSS") and BOUND
 * (SDM Vol. 2, "BOUND"). Both read a pair from a memory operand; a register operand is #UD.
 *
 * The pointer is offset (operand size) then a 16-bit selector. The segment is loaded before
 * the register, and nothing is written until both halves are read, so a fault leaves the
 * state unchanged. Protected-mode descriptor checks are in ../protected/segment-load.ts.
 * In 64-bit mode LES/LDS/BOUND do not exist (the decoder gives #UD); LSS/LFS/LGS with REX.W
 * take an m16:64 pointer (Intel; AMD ignores REX.W there).
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { memoryLinear, readG, readMem, readMem64, signExtend, writeG, writeG64 } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadSegment } from '../protected/segment-load.js';
import type { HandlerTable } from './types.js';

function checkOpSize(insn: Instruction): void {
  if (insn.opSize === 8) throw new Error('BOUND has no 64-bit form (the decoder should have raised #UD)');
}

function farPointerLoad(seg: number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    if (!insn.isMem) raise(Vector.UD);
    const size = insn.opSize;
    if (size === 8) {
      const linear = memoryLinear(cpu, insn, 10);
      const lo = readMem64(cpu, linear);
      const hi = cpu.valueHi;
      loadSegment(cpu, seg, readMem(cpu, linear + 8, 2));
      writeG64(cpu, insn, lo, hi);
      return;
    }
    const linear = memoryLinear(cpu, insn, size + 2);
    const offset = readMem(cpu, linear, size);
    const selector = readMem(cpu, linear + size, 2);
    // LSS, like MOV SS and POP SS, should hold off interrupts for one instruction (SDM Vol. 2,
    // "LSS"); the run loop has no interrupt shadow yet, so that arrives with it.
    loadSegment(cpu, seg, selector);
    writeG(cpu, insn, size, offset);
  };
}

export const SEGMENT_LOAD_HANDLERS: HandlerTable = {
  les_Gz_Mp: farPointerLoad(Seg.ES),
  lds_Gz_Mp: farPointerLoad(Seg.DS),
  lss_Gv_Mp: farPointerLoad(Seg.SS),
  lfs_Gv_Mp: farPointerLoad(Seg.FS),
  lgs_Gv_Mp: farPointerLoad(Seg.GS),
  /** #BR when the signed index is below the lower bound or above the upper one (inclusive). */
  bound_Gv_Ma: (cpu, insn) => {
    checkOpSize(insn);
    if (!insn.isMem) raise(Vector.UD);
    const size = insn.opSize;
    const linear = memoryLinear(cpu, insn, size * 2);
    const lower = signExtend(readMem(cpu, linear, size), size);
    const upper = signExtend(readMem(cpu, linear + size, size), size);
    const value = signExtend(readG(cpu, insn, size), size);
    if (value < lower || value > upper) raise(Vector.BR);
  },
};
