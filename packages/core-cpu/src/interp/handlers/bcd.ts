/**
 * Decimal adjust: DAA, DAS (packed BCD), AAA, AAS, AAM, AAD (unpacked BCD), per the SDM Vol. 2
 * pseudocode. All of them are #UD in 64-bit mode (the decoder marks them i64).
 *
 * The flags the SDM leaves undefined, as this host's Intel CPU sets them (measured for every
 * AL and flag input in a native 32-bit process, test/differential/muldiv-vs-cpu.test.ts):
 * - DAA, DAS, AAA, AAS, AAM: those of a logic operation on the final AL (OF = 0; SF, ZF, PF
 *   from AL; AAM also clears AF and CF), as Bochs documents for the P6 family;
 * - AAD: all six flags of the 8-bit ADD it performs, AL + low byte of (AH * imm8).
 * The 80286 differs: its DAA/DAS OF is the overflow of the adjusting addition/subtraction,
 * and its AAA/AAS SF, ZF, PF do not follow the masked AL. The P6 behaviour wins here.
 *
 * AAA/AAS adjust AX as a whole (AX +/- 0x106): from the 286 on, the +/-6 on AL carries or
 * borrows into AH on top of the +/-1 (the 8086 touched AL only).
 */
import { AF, CF, FlagOp, OF } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

const ADJUST_EAGER = CF | AF | OF;

/** AL is final: CF and AF as computed, OF clear, SF ZF PF from AL. */
function adjusted(cpu: SoftCpu, al: number, carry: number, aux: number): void {
  cpu.regs.flags.recordResultOnly(8, al, 0, (carry ? CF : 0) | (aux ? AF : 0), ADJUST_EAGER);
}

function daa(cpu: SoftCpu): void {
  const g = cpu.regs.gpr;
  const f = cpu.regs.flags;
  const oldAl = g.r8[0];
  const oldCf = f.cf();
  let al = oldAl;
  let carry = 0;
  let aux = 0;
  if ((oldAl & 0x0f) > 9 || f.af()) {
    al += 6;
    carry = oldCf | (al > 0xff ? 1 : 0);
    aux = 1;
  }
  if (oldAl > 0x99 || oldCf) {
    al += 0x60;
    carry = 1;
  } else carry = 0;
  g.r8[0] = al;
  adjusted(cpu, al & 0xff, carry, aux);
}

function das(cpu: SoftCpu): void {
  const g = cpu.regs.gpr;
  const f = cpu.regs.flags;
  const oldAl = g.r8[0];
  const oldCf = f.cf();
  let al = oldAl;
  let carry = 0;
  let aux = 0;
  if ((oldAl & 0x0f) > 9 || f.af()) {
    al -= 6;
    carry = oldCf | (al < 0 ? 1 : 0);
    aux = 1;
  }
  // Unlike DAA, the SDM keeps the borrow of the low-digit step when this step does not run.
  if (oldAl > 0x99 || oldCf) {
    al -= 0x60;
    carry = 1;
  }
  g.r8[0] = al;
  adjusted(cpu, al & 0xff, carry, aux);
}

function asciiAdjust(cpu: SoftCpu, delta: number): void {
  const g = cpu.regs.gpr;
  const adjust = (g.r8[0] & 0x0f) > 9 || cpu.regs.flags.af() !== 0;
  if (adjust) g.r16[0] += delta;
  g.r8[0] &= 0x0f;
  adjusted(cpu, g.r8[0], adjust ? 1 : 0, adjust ? 1 : 0);
}

function aam(cpu: SoftCpu, insn: Instruction): void {
  const base = insn.imm & 0xff;
  if (base === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  const al = g.r8[0];
  g.r8[1] = Math.floor(al / base);
  g.r8[0] = al % base;
  adjusted(cpu, g.r8[0], 0, 0);
}

function aad(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  const al = g.r8[0];
  const product = (g.r8[1] * (insn.imm & 0xff)) & 0xff;
  const sum = al + product;
  g.r16[0] = sum & 0xff;
  cpu.regs.flags.record(FlagOp.ADD, 8, al, product, sum);
}

export const BCD_HANDLERS: HandlerTable = {
  daa,
  das,
  aaa: (cpu) => asciiAdjust(cpu, 0x106),
  aas: (cpu) => asciiAdjust(cpu, -0x106),
  aam_Ib: aam,
  aad_Ib: aad,
};
