/**
 * Shifts and rotates: ROL ROR RCL RCR SHL SHR SAR (group 2, ModRM /digit order; /6 is the
 * undocumented SAL alias of SHL) with a count of 1, CL or an immediate, and the double
 * shifts SHLD/SHRD.
 *
 * Rules (SDM Vol. 2, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD"), with the flags the
 * SDM leaves undefined set the way the Intel CPU of the development host (a recent Xeon) sets
 * them, measured by test/differential/shift-flags-vs-cpu.test.ts (an 80286 differs: see the
 * SingleStepTests notes, where its OF for counts above 1 comes from the last step instead):
 * - the count is masked to 5 bits, or 6 bits for a 64-bit operand (REX.W); a masked count of 0 changes no flag
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
 * - 64-bit operands follow the same rules at width 64 (RCL/RCR rotate 65 bits, and a 6-bit
 *   count never reaches 65), measured in test/differential/shift64-vs-cpu.test.ts.
 * shiftRotate, doubleShift and their 64-bit forms are exported so unit tests can drive them
 * without a CPU.
 */
import { EagerFlags, FlagBit, type LazyFlags } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { bit64, shl64, shr64, sar64, wide } from '../../alu/wide.js';
import { memoryLinear, readE, readE64, readG, readG64, writeE, writeE64 } from '../addressing.js';
import { probeWriteRange } from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { Handler, HandlerTable } from './types.js';

/** Group-2 operations in ModRM.reg order (SAL, /6, is SHL). */
export const ShiftOp = { ROL: 0, ROR: 1, RCL: 2, RCR: 3, SHL: 4, SHR: 5, SAL: 6, SAR: 7 } as const;
export type ShiftOp = (typeof ShiftOp)[keyof typeof ShiftOp];

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
export const SHIFT_EAGER: number = EagerFlags.Shift;

/**
 * Rotates leave SF ZF AF PF as they were and write CF and OF: those two move to the eager part
 * of the lazy flags (`raw`), the others stay derived from the pending record, so nothing is
 * folded (get() is the same as after folding everything and writing the two bits).
 */
export function setRotateFlags(f: LazyFlags, cf: number, of: number): void {
  f.raw = (f.raw & ~EagerFlags.Rotate) | cf | (of << 11);
  f.lazy &= ~EagerFlags.Rotate;
}

/** ROL/ROR by an immediate other than 1: the hardware writes CF only. */
export function setCarryOnly(f: LazyFlags, cf: number): void {
  f.raw = (f.raw & ~FlagBit.CF) | cf;
  f.lazy &= ~FlagBit.CF;
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
      f.recordResultOnly(bits, r, 0, cf | ((((v >>> top) ^ (v >>> (top - 1))) & 1) << 11), EagerFlags.Shift);
      return r >>> 0;
    case ShiftOp.SHR:
      if (count < bits) {
        r = v >>> count;
        cf = (v >>> (count - 1)) & 1;
      } else {
        r = 0;
        cf = count === bits ? v >>> top : 0;
      }
      f.recordResultOnly(bits, r, 0, cf | ((v >>> top) << 11), EagerFlags.Shift);
      return r >>> 0;
    default: {
      // SAR: sign-extend to 32 bits, so counts up to 31 fill with the sign at every size.
      const s = (v << (32 - bits)) >> (32 - bits);
      r = (s >> count) & mask;
      cf = (s >> (count - 1)) & 1;
      f.recordResultOnly(bits, r, 0, cf, EagerFlags.Shift);
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
  f.recordResultOnly(bits, r, 0, cf | (of << 11), EagerFlags.Shift);
  return r;
}

/**
 * The 64-bit form of shiftRotate: `op` on (hi:lo) with the unmasked count (masked to 6 bits
 * here). The result is left in wide.lo / wide.hi (the value itself for a masked count of 0).
 */
export function shiftRotate64(f: LazyFlags, op: number, lo: number, hi: number, count: number, immediateCount = false): void {
  count &= 0x3f;
  lo |= 0;
  hi |= 0;
  wide.lo = lo;
  wide.hi = hi;
  if (count === 0) return;
  const top = hi >>> 31;
  const next = (hi >>> 30) & 1;
  let cf: number;
  switch (op) {
    case ShiftOp.ROL: {
      shr64(lo, hi, 64 - count);
      const wLo = wide.lo;
      const wHi = wide.hi;
      shl64(lo, hi, count);
      wide.lo |= wLo;
      wide.hi |= wHi;
      cf = wide.lo & 1;
      if (immediateCount && count !== 1) setCarryOnly(f, cf);
      else setRotateFlags(f, cf, top ^ next);
      return;
    }
    case ShiftOp.ROR: {
      shl64(lo, hi, 64 - count);
      const wLo = wide.lo;
      const wHi = wide.hi;
      shr64(lo, hi, count);
      wide.lo |= wLo;
      wide.hi |= wHi;
      cf = wide.hi >>> 31;
      if (immediateCount && count !== 1) setCarryOnly(f, cf);
      else setRotateFlags(f, cf, top ^ (lo & 1));
      return;
    }
    case ShiftOp.RCL: {
      const carryIn = f.cf();
      cf = bit64(lo, hi, 64 - count);
      let wLo = 0;
      let wHi = 0;
      if (count > 1) {
        shr64(lo, hi, 65 - count);
        wLo = wide.lo;
        wHi = wide.hi;
      }
      if (carryIn) {
        if (count - 1 < 32) wLo |= 1 << (count - 1);
        else wHi |= 1 << (count - 33);
      }
      shl64(lo, hi, count);
      wide.lo |= wLo;
      wide.hi |= wHi;
      setRotateFlags(f, cf, top ^ next);
      return;
    }
    case ShiftOp.RCR: {
      const carryIn = f.cf();
      cf = bit64(lo, hi, count - 1);
      let wLo = 0;
      let wHi = 0;
      if (count > 1) {
        shl64(lo, hi, 65 - count);
        wLo = wide.lo;
        wHi = wide.hi;
      }
      if (carryIn) {
        if (64 - count < 32) wLo |= 1 << (64 - count);
        else wHi |= 1 << (32 - count);
      }
      shr64(lo, hi, count);
      wide.lo |= wLo;
      wide.hi |= wHi;
      setRotateFlags(f, cf, top ^ carryIn);
      return;
    }
    case ShiftOp.SHL:
    case ShiftOp.SAL:
      cf = bit64(lo, hi, 64 - count);
      shl64(lo, hi, count);
      f.recordResultOnly(64, wide.lo, wide.hi, cf | ((top ^ next) << 11), EagerFlags.Shift);
      return;
    case ShiftOp.SHR:
      cf = bit64(lo, hi, count - 1);
      shr64(lo, hi, count);
      f.recordResultOnly(64, wide.lo, wide.hi, cf | (top << 11), EagerFlags.Shift);
      return;
    default:
      cf = bit64(lo, hi, count - 1);
      sar64(lo, hi, count);
      f.recordResultOnly(64, wide.lo, wide.hi, cf, EagerFlags.Shift);
  }
}

/**
 * The 64-bit form of doubleShift: SHLD/SHRD of (dHi:dLo) with bits from (sHi:sLo), count
 * masked to 6 bits; the result is left in wide.lo / wide.hi.
 */
export function doubleShift64(f: LazyFlags, left: boolean, dLo: number, dHi: number, sLo: number, sHi: number, count: number): void {
  count &= 0x3f;
  wide.lo = dLo | 0;
  wide.hi = dHi | 0;
  if (count === 0) return;
  let cf: number;
  let of: number;
  if (left) {
    cf = bit64(dLo, dHi, 64 - count);
    of = ((dHi >>> 31) ^ (dHi >>> 30)) & 1;
    shr64(sLo, sHi, 64 - count);
    const wLo = wide.lo;
    const wHi = wide.hi;
    shl64(dLo, dHi, count);
    wide.lo |= wLo;
    wide.hi |= wHi;
  } else {
    cf = bit64(dLo, dHi, count - 1);
    of = ((dHi >>> 31) ^ sLo) & 1;
    shl64(sLo, sHi, 64 - count);
    const wLo = wide.lo;
    const wHi = wide.hi;
    shr64(dLo, dHi, count);
    wide.lo |= wLo;
    wide.hi |= wHi;
  }
  f.recordResultOnly(64, wide.lo, wide.hi, cf | (of << 11), EagerFlags.Shift);
}

const byteSize = (): number => 1;
const vSize = (insn: Instruction): number => insn.opSize;

const COUNT_ONE = 0;
const COUNT_CL = 1;
const COUNT_IMM = 2;

/**
 * RCL/RCR read CF and write it before the result is stored: a memory destination is probed
 * first, so a store that faults (a copy-on-write page) leaves CF for the restarted instruction.
 */
function probeDestination(cpu: SoftCpu, linear: number, size: number): void {
  probeWriteRange(cpu, linear, size);
}

function group2(op: number, sizeOf: (i: Instruction) => number, countFrom: number) {
  const readsCarry = op === ShiftOp.RCL || op === ShiftOp.RCR;
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    if (readsCarry && insn.isMem) probeDestination(cpu, lin, size);
    if (size === 8) {
      const lo = readE64(cpu, insn, lin);
      const count = countFrom === COUNT_ONE ? 1 : countFrom === COUNT_CL ? cpu.regs.gpr.r8[4] : insn.imm;
      shiftRotate64(cpu.regs.flags, op, lo, cpu.valueHi, count, countFrom === COUNT_IMM && !insn.isMem);
      writeE64(cpu, insn, lin, wide.lo, wide.hi);
      return;
    }
    const v = readE(cpu, insn, size, lin);
    const count = countFrom === COUNT_ONE ? 1 : countFrom === COUNT_CL ? cpu.regs.gpr.r8[4] : insn.imm;
    writeE(cpu, insn, size, lin, shiftRotate(cpu.regs.flags, op, size, v, count, countFrom === COUNT_IMM && !insn.isMem));
  };
}

function double(left: boolean, countFromCl: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = insn.opSize;
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    if (size === 8) {
      const dLo = readE64(cpu, insn, lin);
      const dHi = cpu.valueHi;
      const sLo = readG64(cpu, insn);
      const count = countFromCl ? cpu.regs.gpr.r8[4] : insn.imm;
      doubleShift64(cpu.regs.flags, left, dLo, dHi, sLo, cpu.valueHi, count);
      writeE64(cpu, insn, lin, wide.lo, wide.hi);
      return;
    }
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
