/**
 * Shifts and rotates: ROL ROR RCL RCR SHL SHR SAR (group 2, ModRM /digit order; /6 is the
 * undocumented SAL alias of SHL) with a count of 1, CL or an immediate, and the double
 * shifts SHLD/SHRD.
 *
 * Rules (SDM Vol. 2, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD"), with the flags the
 * SDM leaves undefined set the way the Intel CPU of the development host (a recent Xeon) sets
 * them, measured by test/differential/shift-flags-vs-cpu.test.ts (an 80286 differs: see the
 * SingleStepTests notes, where its OF for counts above 1 comes from the last step instead):
 * - the count is masked to 5 bits for every operand size; a masked count of 0 changes no flag
 *   and no value, but the destination is still written back, as on the hardware (a read-only
 *   page raises #PF for `shl byte [m], 0`; a 32-bit register is zero-extended in 64-bit mode);
 * - CF is the last bit shifted (or rotated) out; shifts of an 8/16-bit operand by its width or
 *   more shift zeros (SAR: copies of the sign) through CF as a wider shifter would;
 * - OF is written for every nonzero count, and for counts above 1 (undefined in the SDM) it is
 *   the OF of the first one-bit step, i.e. the count-1 formula applied to the original operand
 *   (not to the result): SHL/ROL/RCL/SHLD: dest[top] XOR dest[top-1]; SHR: dest[top];
 *   SAR: 0; ROR: dest[top] XOR dest[0]; RCR: dest[top] XOR CF-in; SHRD: dest[top] XOR src[0];
 * - except that ROL/ROR reg, imm8 (C0/C1, register operand) with a masked count other than 1
 *   leave OF unchanged: measured on this Intel CPU, where the memory and CL forms write it;
 * - AF after a shift with a nonzero count: cleared; rotates leave SF ZF AF PF alone;
 * - ROL/ROR rotate by count mod width but still write CF and OF when that is 0 and the masked
 *   count is not; RCL/RCR rotate through CF by count mod 9 (8-bit) or mod 17 (16-bit), and a
 *   rotation of 0 there writes nothing;
 * - SHLD/SHRD of a 16-bit operand by more than 16 (undefined) shift through dest again after
 *   src: the 48-bit pattern dest:src:dest, shifted left (SHLD) or right (SHRD).
 * shiftRotate and doubleShift are exported so unit tests can drive them without a CPU.
 */
import { AF, CF, OF, type LazyFlags } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { memoryLinear, readE, readG, writeE } from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

/** Group-2 operations in ModRM.reg order (SAL, /6, is SHL). */
export const ShiftOp = { ROL: 0, ROR: 1, RCL: 2, RCR: 3, SHL: 4, SHR: 5, SAL: 6, SAR: 7 } as const;
export type ShiftOp = (typeof ShiftOp)[keyof typeof ShiftOp];

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
const ROTATE_FLAGS = CF | OF;
const SHIFT_EAGER = CF | OF | AF;

/** Rotates leave SF ZF AF PF as they were: fold everything and write CF and OF. */
function setRotateFlags(f: LazyFlags, cf: number, of: number): void {
  f.set((f.get() & ~ROTATE_FLAGS) | cf | (of << 11));
}

/** ROL/ROR by an immediate other than 1: the hardware writes CF only. */
function setCarryOnly(f: LazyFlags, cf: number): void {
  f.set((f.get() & ~CF) | cf);
}

/**
 * Applies group-2 operation `op` to the `size`-byte `value` with the unmasked count `count`,
 * updates the flags, and returns the result (masked to the size). A masked count of 0 returns
 * the value and leaves the flags alone. `immediateCount` is true for the C0/C1 (imm8) forms on a
 * register, whose ROL/ROR keep OF for counts other than 1.
 */
export function shiftRotate(f: LazyFlags, op: number, size: number, value: number, count: number, immediateCount = false): number {
  count &= 0x1f;
  if (count === 0) return value;
  const bits = size << 3;
  const mask = MASK[size];
  const v = value & mask;
  const top = bits - 1;
  let r: number;
  let cf: number;
  switch (op) {
    case ShiftOp.ROL: {
      const c = count & top;
      r = c === 0 ? v : ((v << c) | (v >>> (bits - c))) & mask;
      cf = r & 1;
      if (immediateCount && count !== 1) setCarryOnly(f, cf);
      else setRotateFlags(f, cf, ((v >>> top) ^ (v >>> (top - 1))) & 1);
      return r >>> 0;
    }
    case ShiftOp.ROR: {
      const c = count & top;
      r = c === 0 ? v : ((v >>> c) | (v << (bits - c))) & mask;
      cf = (r >>> top) & 1;
      if (immediateCount && count !== 1) setCarryOnly(f, cf);
      else setRotateFlags(f, cf, ((v >>> top) ^ v) & 1);
      return r >>> 0;
    }
    case ShiftOp.RCL: {
      const c = size === 1 ? count % 9 : size === 2 ? count % 17 : count;
      if (c === 0) return v;
      const carryIn = f.cf();
      // The bits that wrap around come from above the carry: none for a rotation by 1.
      r = (v << c) | (carryIn << (c - 1));
      if (c > 1) r |= v >>> (bits + 1 - c);
      r &= mask;
      cf = (v >>> (bits - c)) & 1;
      setRotateFlags(f, cf, ((v >>> top) ^ (v >>> (top - 1))) & 1);
      return r >>> 0;
    }
    case ShiftOp.RCR: {
      const c = size === 1 ? count % 9 : size === 2 ? count % 17 : count;
      if (c === 0) return v;
      const carryIn = f.cf();
      r = (v >>> c) | (carryIn << (bits - c));
      if (c > 1) r |= v << (bits + 1 - c);
      r &= mask;
      cf = (v >>> (c - 1)) & 1;
      setRotateFlags(f, cf, ((v >>> top) & 1) ^ carryIn);
      return r >>> 0;
    }
    case ShiftOp.SHL:
    case ShiftOp.SAL:
      if (count < bits) {
        r = (v << count) & mask;
        cf = (v >>> (bits - count)) & 1;
      } else {
        r = 0;
        cf = count === bits ? v & 1 : 0;
      }
      f.recordResultOnly(bits, r, 0, cf | ((((v >>> top) ^ (v >>> (top - 1))) & 1) << 11), SHIFT_EAGER);
      return r >>> 0;
    case ShiftOp.SHR:
      if (count < bits) {
        r = v >>> count;
        cf = (v >>> (count - 1)) & 1;
      } else {
        r = 0;
        cf = count === bits ? v >>> top : 0;
      }
      f.recordResultOnly(bits, r, 0, cf | ((v >>> top) << 11), SHIFT_EAGER);
      return r >>> 0;
    default: {
      // SAR: sign-extend to 32 bits, so counts up to 31 fill with the sign at every size.
      const s = (v << (32 - bits)) >> (32 - bits);
      r = (s >> count) & mask;
      cf = (s >> (count - 1)) & 1;
      f.recordResultOnly(bits, r, 0, cf, SHIFT_EAGER);
      return r >>> 0;
    }
  }
}

/**
 * SHLD (left = true) or SHRD of the `size`-byte `dest` with bits from `src`, count unmasked.
 * Returns the result (masked); a masked count of 0 changes nothing.
 */
export function doubleShift(f: LazyFlags, left: boolean, size: number, dest: number, src: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return dest;
  const bits = size << 3;
  const mask = MASK[size];
  const top = bits - 1;
  const d = dest & mask;
  const s = src & mask;
  let r: number;
  let cf: number;
  if (size === 2) {
    // The 32-bit pattern dest:src (SHLD) or src:dest (SHRD), with dest again beyond it for
    // counts past 16, as the P6 shifter does.
    if (left) {
      const hi = (d << 16) | s;
      r = count <= 16 ? (hi << count) >>> 16 : ((s << (count - 16)) | (d >>> (32 - count))) & 0xffff;
      cf = count <= 16 ? (hi >>> (32 - count)) & 1 : (s >>> (32 - count)) & 1;
    } else {
      const lo = (s << 16) | d;
      r = count <= 16 ? (lo >>> count) & 0xffff : ((s >>> (count - 16)) | (d << (32 - count))) & 0xffff;
      cf = count <= 16 ? (lo >>> (count - 1)) & 1 : (s >>> (count - 17)) & 1;
    }
    r &= 0xffff;
  } else if (left) {
    r = (d << count) | (s >>> (bits - count));
    cf = (d >>> (bits - count)) & 1;
  } else {
    r = (d >>> count) | (s << (bits - count));
    cf = (d >>> (count - 1)) & 1;
  }
  r = (r & mask) >>> 0;
  const of = left ? ((d >>> top) ^ (d >>> (top - 1))) & 1 : ((d >>> top) ^ s) & 1;
  f.recordResultOnly(bits, r, 0, cf | (of << 11), SHIFT_EAGER);
  return r;
}

const byteSize = (): number => 1;
const vSize = (insn: Instruction): number => insn.opSize;

const COUNT_ONE = 0;
const COUNT_CL = 1;
const COUNT_IMM = 2;

function operandSize(insn: Instruction, sizeOf: (i: Instruction) => number): number {
  const size = sizeOf(insn);
  if (size === 8) throw new Error('64-bit operand size is not implemented in the interpreter yet');
  return size;
}

function group2(op: number, sizeOf: (i: Instruction) => number, countFrom: number) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = operandSize(insn, sizeOf);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const v = readE(cpu, insn, size, lin);
    const count = countFrom === COUNT_ONE ? 1 : countFrom === COUNT_CL ? cpu.regs.gpr.r8[4] : insn.imm;
    writeE(cpu, insn, size, lin, shiftRotate(cpu.regs.flags, op, size, v, count, countFrom === COUNT_IMM && !insn.isMem));
  };
}

function double(left: boolean, countFromCl: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = operandSize(insn, vSize);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    const d = readE(cpu, insn, size, lin);
    const count = countFromCl ? cpu.regs.gpr.r8[4] : insn.imm;
    writeE(cpu, insn, size, lin, doubleShift(cpu.regs.flags, left, size, d, readG(cpu, insn, size), count));
  };
}

export const SHIFT_HANDLERS: HandlerTable = {
  shld_Ev_Gv_Ib: double(true, false),
  shld_Ev_Gv_CL: double(true, true),
  shrd_Ev_Gv_Ib: double(false, false),
  shrd_Ev_Gv_CL: double(false, true),
};

const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'] as const;
for (let op = 0; op < 8; op++) {
  // /6 decodes to the shl keys; a `sal_*` key, should the table grow one, gets the same code.
  const name = NAMES[op];
  SHIFT_HANDLERS[`${name}_Eb_1`] = group2(op, byteSize, COUNT_ONE);
  SHIFT_HANDLERS[`${name}_Ev_1`] = group2(op, vSize, COUNT_ONE);
  SHIFT_HANDLERS[`${name}_Eb_CL`] = group2(op, byteSize, COUNT_CL);
  SHIFT_HANDLERS[`${name}_Ev_CL`] = group2(op, vSize, COUNT_CL);
  SHIFT_HANDLERS[`${name}_Eb_Ib`] = group2(op, byteSize, COUNT_IMM);
  SHIFT_HANDLERS[`${name}_Ev_Ib`] = group2(op, vSize, COUNT_IMM);
}
