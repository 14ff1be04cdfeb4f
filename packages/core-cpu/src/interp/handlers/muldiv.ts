/**
 * MUL, IMUL (one-, two- and three-operand forms) and DIV, IDIV at 8/16/32/64-bit operand size
 * (SDM Vol. 2: MUL, IMUL, DIV, IDIV). 64-bit operands use ../../alu/wide.ts (128-bit products
 * in RDX:RAX, 128/64 division).
 *
 * Wide arithmetic without BigInt: a 32x32 product is built from 16-bit partial products
 * (each exact in a double), and a 64/32 division is a two-digit long division in base 2^16
 * whose partial dividends stay below 2^48, so the double quotient floors exactly.
 *
 * Flags, measured on the real CPU through the KVM sandbox (test/differential/muldiv-vs-cpu):
 * - MUL/IMUL: CF = OF as the SDM defines them; of the "undefined" flags, SF and PF follow the
 *   low half of the product (the destination for the two/three-operand forms: SF its sign
 *   bit, PF its low byte), while ZF and AF are always clear, even for a zero product; the
 *   same for every form and size.
 * - DIV/IDIV: every arithmetic flag keeps its value (all six are "undefined" in the SDM).
 * #DE (divide by zero, or a quotient that does not fit, including the most negative dividend
 * divided by -1) is raised before any register is written.
 */
import { EagerFlags, FlagBit } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { divU128, geU64, mulS64, mulU64, neg64, wide } from '../../alu/wide.js';
import { memoryLinear, readE, readE64, readG, readG64, setReg64, signExtend, writeG, writeG64 } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { Handler, HandlerTable } from './types.js';
import { GprSlot } from '../../state/gpr-file.js';

const TWO_32 = 4294967296;
export const MUL_EAGER: number = EagerFlags.Mul;


/** High 32 bits of the unsigned product of two uint32 values, exact. */
export function mulHighU32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const p1 = aL * bH;
  const p2 = aH * bL;
  const mid = ((aL * bL) >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  return (aH * bH + (p1 >>> 16) + (p2 >>> 16) + (mid >>> 16)) >>> 0;
}

/** High 32 bits of the signed product of two int32 values (as a uint32 bit pattern). */
export function mulHighS32(a: number, b: number): number {
  let hi = mulHighU32(a >>> 0, b >>> 0);
  if (a < 0) hi -= b;
  if (b < 0) hi -= a;
  return hi >>> 0;
}

// Results of the 64/32 division helper (module scratch: no allocation per instruction).
let quotient = 0;
let remainder = 0;

/**
 * Unsigned (hi:lo) / d for hi < d (so the quotient fits in 32 bits); leaves the quotient and
 * the remainder in `quotient` / `remainder`.
 */
function divide64By32(hi: number, lo: number, d: number): void {
  let t = hi * 65536 + (lo >>> 16);
  const qHi = Math.floor(t / d);
  t = (t - qHi * d) * 65536 + (lo & 0xffff);
  const qLo = Math.floor(t / d);
  remainder = t - qLo * d;
  quotient = qHi * 65536 + qLo;
}

/** Records MUL/IMUL flags: CF = OF = `overflow`, AF and ZF clear, SF and PF from the low half. */
function mulFlags(cpu: SoftCpu, bits: number, low: number, overflow: boolean): void {
  cpu.regs.flags.recordResultOnly(bits, low, 0, overflow ? FlagBit.CF | FlagBit.OF : 0, EagerFlags.Mul);
}

function sourceOperand(cpu: SoftCpu, insn: Instruction, size: number): number {
  return readE(cpu, insn, size, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
}

/** The 64-bit r/m operand: returns bits 31:0, bits 63:32 in cpu.valueHi. */
function sourceOperand64(cpu: SoftCpu, insn: Instruction): number {
  return readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
}

/** True when the signed 128-bit product in wide.w0..w3 does not fit in 64 bits. */
function signedOverflow128(): boolean {
  const ext = (wide.w1 >> 31) >>> 0;
  return wide.w2 !== ext || wide.w3 !== ext;
}

// ---- 64-bit operand size (REX.W)

function mulEv64(cpu: SoftCpu, insn: Instruction): void {
  const lo = sourceOperand64(cpu, insn);
  const g = cpu.regs.gpr;
  mulU64(g.r32[0], g.hi[0], lo, cpu.valueHi);
  setReg64(cpu, 0, wide.w0, wide.w1);
  setReg64(cpu, 2, wide.w2, wide.w3);
  cpu.regs.flags.recordResultOnly(64, wide.w0, wide.w1, (wide.w2 | wide.w3) !== 0 ? FlagBit.CF | FlagBit.OF : 0, EagerFlags.Mul);
}

function imulEv64(cpu: SoftCpu, insn: Instruction): void {
  const lo = sourceOperand64(cpu, insn);
  const g = cpu.regs.gpr;
  mulS64(g.r32[0], g.hi[0], lo, cpu.valueHi);
  setReg64(cpu, 0, wide.w0, wide.w1);
  setReg64(cpu, 2, wide.w2, wide.w3);
  cpu.regs.flags.recordResultOnly(64, wide.w0, wide.w1, signedOverflow128() ? FlagBit.CF | FlagBit.OF : 0, EagerFlags.Mul);
}

/** Two- and three-operand IMUL at 64 bits: the product truncated to 64 bits into the reg operand. */
function imulTruncated64(cpu: SoftCpu, insn: Instruction, aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulS64(aLo, aHi, bLo, bHi);
  writeG64(cpu, insn, wide.w0, wide.w1);
  cpu.regs.flags.recordResultOnly(64, wide.w0, wide.w1, signedOverflow128() ? FlagBit.CF | FlagBit.OF : 0, EagerFlags.Mul);
}

function divEv64(cpu: SoftCpu, insn: Instruction): void {
  const dLo = sourceOperand64(cpu, insn);
  const dHi = cpu.valueHi;
  if ((dLo | dHi) === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  // The quotient fits in 64 bits exactly when RDX < divisor.
  if (geU64(g.r32[2], g.hi[2], dLo, dHi)) raise(Vector.DE);
  divU128(g.hi[2], g.r32[2], g.hi[0], g.r32[0], dLo, dHi);
  setReg64(cpu, 0, wide.lo, wide.hi);
  setReg64(cpu, 2, wide.remLo, wide.remHi);
}

function idivEv64(cpu: SoftCpu, insn: Instruction): void {
  let dLo = sourceOperand64(cpu, insn);
  let dHi = cpu.valueHi;
  if ((dLo | dHi) === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  let n0 = g.r32[0] >>> 0;
  let n1 = g.hi[0] >>> 0;
  let n2 = g.r32[2] >>> 0;
  let n3 = g.hi[2] >>> 0;
  // Divide magnitudes, then apply the signs (quotient negative when the signs differ, the
  // remainder takes the dividend's sign).
  const negative = g.hi[2] < 0;
  if (negative) {
    let t = (~n0 >>> 0) + 1;
    n0 = t >>> 0;
    t = (~n1 >>> 0) + (t > 0xffffffff ? 1 : 0);
    n1 = t >>> 0;
    t = (~n2 >>> 0) + (t > 0xffffffff ? 1 : 0);
    n2 = t >>> 0;
    n3 = ((~n3 >>> 0) + (t > 0xffffffff ? 1 : 0)) >>> 0;
  }
  const divisorNegative = dHi < 0;
  if (divisorNegative) {
    neg64(dLo, dHi);
    dLo = wide.lo;
    dHi = wide.hi;
  }
  if (geU64(n2, n3, dLo, dHi)) raise(Vector.DE);
  divU128(n3, n2, n1, n0, dLo, dHi);
  const quotientNegative = negative !== divisorNegative;
  const qHi = wide.hi >>> 0;
  // At most 2^63 - 1, or 2^63 for a negative quotient.
  if (qHi > 0x80000000 || (qHi === 0x80000000 && (!quotientNegative || wide.lo !== 0))) raise(Vector.DE);
  const qLo = wide.lo;
  const rLo = wide.remLo;
  const rHi = wide.remHi;
  if (quotientNegative) neg64(qLo, qHi);
  else {
    wide.lo = qLo;
    wide.hi = qHi;
  }
  setReg64(cpu, 0, wide.lo, wide.hi);
  if (negative) neg64(rLo, rHi);
  else {
    wide.lo = rLo;
    wide.hi = rHi;
  }
  setReg64(cpu, 2, wide.lo, wide.hi);
}

// ---- one-operand MUL / IMUL: AX <- AL * src, DX:AX <- AX * src, EDX:EAX <- EAX * src

function mulEb(cpu: SoftCpu, insn: Instruction): void {
  const src = sourceOperand(cpu, insn, 1);
  const g = cpu.regs.gpr;
  const p = g.r8[0] * src;
  g.r16[0] = p;
  mulFlags(cpu, 8, p, p > 0xff);
}

function imulEb(cpu: SoftCpu, insn: Instruction): void {
  const src = signExtend(sourceOperand(cpu, insn, 1), 1);
  const g = cpu.regs.gpr;
  const p = signExtend(g.r8[0], 1) * src;
  g.r16[0] = p;
  mulFlags(cpu, 8, p, p !== signExtend(p, 1));
}

function mulEv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) return mulEv64(cpu, insn);
  const src = sourceOperand(cpu, insn, size);
  const g = cpu.regs.gpr;
  if (size === 2) {
    const p = g.r16[0] * src;
    const hi = p >>> 16;
    g.r16[0] = p;
    g.r16[4] = hi;
    mulFlags(cpu, 16, p, hi !== 0);
    return;
  }
  mul32(cpu, src);
}

/** MUL at 32 bits: EDX:EAX <- EAX * src (src unsigned). */
export function mul32(cpu: SoftCpu, src: number): void {
  const g = cpu.regs.gpr;
  const a = g.r32[0] >>> 0;
  const lo = Math.imul(a, src);
  const hi = mulHighU32(a, src);
  g.r32[0] = lo;
  g.r32[GprSlot.High] = 0;
  g.r32[2] = hi;
  g.r32[2 | GprSlot.High] = 0;
  mulFlags(cpu, 32, lo, hi !== 0);
}

function imulEv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) return imulEv64(cpu, insn);
  const src = signExtend(sourceOperand(cpu, insn, size), size);
  const g = cpu.regs.gpr;
  if (size === 2) {
    const p = signExtend(g.r16[0], 2) * src;
    g.r16[0] = p;
    g.r16[4] = p >> 16;
    mulFlags(cpu, 16, p, p !== signExtend(p, 2));
    return;
  }
  imul32(cpu, src);
}

/** One-operand IMUL at 32 bits: EDX:EAX <- EAX * src (src signed). */
export function imul32(cpu: SoftCpu, src: number): void {
  const g = cpu.regs.gpr;
  const a = g.r32[0];
  const lo = Math.imul(a, src);
  const hi = mulHighS32(a, src);
  g.r32[0] = lo;
  g.r32[GprSlot.High] = 0;
  g.r32[2] = hi;
  g.r32[2 | GprSlot.High] = 0;
  mulFlags(cpu, 32, lo, hi !== (lo >> 31) >>> 0);
}

// ---- two- and three-operand IMUL: the product truncated to the operand size

function imulTruncated(cpu: SoftCpu, insn: Instruction, a: number, b: number): void {
  if (insn.opSize === 2) imulTruncated16(cpu, insn, a, b);
  else imulTruncated32(cpu, insn, a, b);
}

export function imulTruncated16(cpu: SoftCpu, insn: Instruction, a: number, b: number): void {
  const p = signExtend(a, 2) * signExtend(b, 2);
  writeG(cpu, insn, 2, p);
  mulFlags(cpu, 16, p, p !== signExtend(p, 2));
}

export function imulTruncated32(cpu: SoftCpu, insn: Instruction, a: number, b: number): void {
  const sa = a | 0;
  const sb = b | 0;
  const lo = Math.imul(sa, sb);
  writeG(cpu, insn, 4, lo);
  // The double product is exact below 2^53; at or above that it cannot equal a 32-bit value.
  mulFlags(cpu, 32, lo, sa * sb !== lo);
}

function imulGvEv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) {
    const bLo = sourceOperand64(cpu, insn);
    const bHi = cpu.valueHi;
    const aLo = readG64(cpu, insn);
    return imulTruncated64(cpu, insn, aLo, cpu.valueHi, bLo, bHi);
  }
  const src = sourceOperand(cpu, insn, size);
  imulTruncated(cpu, insn, readG(cpu, insn, size), src);
}

function imulGvEvImm(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) {
    const aLo = sourceOperand64(cpu, insn);
    return imulTruncated64(cpu, insn, aLo, cpu.valueHi, insn.imm, insn.imm >> 31);
  }
  imulTruncated(cpu, insn, sourceOperand(cpu, insn, size), insn.imm);
}

// ---- DIV / IDIV: flags are left as they were (measured)

function divEb(cpu: SoftCpu, insn: Instruction): void {
  const d = sourceOperand(cpu, insn, 1);
  if (d === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  const n = g.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xff) raise(Vector.DE);
  g.r8[0] = q;
  g.r8[1] = n - q * d;
}

function idivEb(cpu: SoftCpu, insn: Instruction): void {
  const d = signExtend(sourceOperand(cpu, insn, 1), 1);
  if (d === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  const n = signExtend(g.r16[0], 2);
  const q = Math.trunc(n / d);
  if (q > 0x7f || q < -0x80) raise(Vector.DE);
  g.r8[0] = q;
  g.r8[1] = n - q * d;
}

function divEv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) return divEv64(cpu, insn);
  const d = sourceOperand(cpu, insn, size) >>> 0;
  if (d === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  if (size === 2) {
    const n = g.r16[4] * 65536 + g.r16[0];
    const q = Math.floor(n / d);
    if (q > 0xffff) raise(Vector.DE);
    g.r16[0] = q;
    g.r16[4] = n - q * d;
    return;
  }
  div32(cpu, d);
}

/** DIV at 32 bits: EDX:EAX / d (d unsigned, nonzero), #DE when the quotient does not fit. */
export function div32(cpu: SoftCpu, d: number): void {
  const g = cpu.regs.gpr;
  const hi = g.r32[2] >>> 0;
  if (hi >= d) raise(Vector.DE);
  divide64By32(hi, g.r32[0] >>> 0, d);
  g.r32[0] = quotient;
  g.r32[GprSlot.High] = 0;
  g.r32[2] = remainder;
  g.r32[2 | GprSlot.High] = 0;
}

function idivEv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (size === 8) return idivEv64(cpu, insn);
  const d = signExtend(sourceOperand(cpu, insn, size), size);
  if (d === 0) raise(Vector.DE);
  const g = cpu.regs.gpr;
  if (size === 2) {
    const n = (g.r16[4] << 16) | g.r16[0];
    const q = Math.trunc(n / d);
    if (q > 0x7fff || q < -0x8000) raise(Vector.DE);
    g.r16[0] = q;
    g.r16[4] = n - q * d;
    return;
  }
  idiv32(cpu, d);
}

/** IDIV at 32 bits: EDX:EAX / d (d signed, nonzero). */
export function idiv32(cpu: SoftCpu, d: number): void {
  const g = cpu.regs.gpr;
  // Divide magnitudes, then apply the signs: the quotient is negative when the signs differ,
  // the remainder takes the dividend's sign.
  let hi = g.r32[2] >>> 0;
  let lo = g.r32[0] >>> 0;
  const negative = hi >= 0x80000000;
  if (negative) {
    lo = (TWO_32 - lo) % TWO_32;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  const dAbs = Math.abs(d);
  if (hi >= dAbs) raise(Vector.DE);
  divide64By32(hi, lo, dAbs);
  const quotientNegative = negative !== d < 0;
  if (quotient > (quotientNegative ? 0x80000000 : 0x7fffffff)) raise(Vector.DE);
  g.r32[0] = quotientNegative ? -quotient : quotient;
  g.r32[GprSlot.High] = 0;
  g.r32[2] = negative ? -remainder : remainder;
  g.r32[2 | GprSlot.High] = 0;
}

export const MULDIV_HANDLERS: HandlerTable = {
  mul_Eb: mulEb,
  imul_Eb: imulEb,
  div_Eb: divEb,
  idiv_Eb: idivEb,
  mul_Ev: mulEv,
  imul_Ev: imulEv,
  div_Ev: divEv,
  idiv_Ev: idivEv,
  imul_Gv_Ev: imulGvEv,
  imul_Gv_Ev_Iz: imulGvEvImm,
  imul_Gv_Ev_Ibs: imulGvEvImm,
};

// ---- Variants fixed to one operand size and operand kind, which the run loop picks once per
// decoded instruction (loop-handlers.ts), as MOV_VARIANTS in handlers/data.ts: the 32-bit
// forms without the size dispatch and the generic operand read; each does exactly what the
// general handler does for that size and kind. 16-bit one-operand forms keep the general handler.

export const mem32 = (cpu: SoftCpu, insn: Instruction): number => cpu.mem.read32(memoryLinear(cpu, insn, 4));
export const mem16 = (cpu: SoftCpu, insn: Instruction): number => cpu.mem.read16(memoryLinear(cpu, insn, 2));

export function nonzero(d: number): number {
  if (d === 0) raise(Vector.DE);
  return d;
}

type Variants = readonly [Handler, Handler, Handler, Handler];

/** By key: [16-bit register, 32-bit register, 16-bit memory, 32-bit memory]. */
export const MULDIV_VARIANTS: Readonly<Record<string, Variants>> = {
  mul_Ev: [mulEv, (c, i) => mul32(c, c.regs.gpr.r32[i.rm] >>> 0), mulEv, (c, i) => mul32(c, mem32(c, i))],
  imul_Ev: [imulEv, (c, i) => imul32(c, c.regs.gpr.r32[i.rm]), imulEv, (c, i) => imul32(c, mem32(c, i) | 0)],
  div_Ev: [divEv, (c, i) => div32(c, nonzero(c.regs.gpr.r32[i.rm] >>> 0)), divEv, (c, i) => div32(c, nonzero(mem32(c, i)))],
  idiv_Ev: [idivEv, (c, i) => idiv32(c, nonzero(c.regs.gpr.r32[i.rm])), idivEv, (c, i) => idiv32(c, nonzero(mem32(c, i) | 0))],
  imul_Gv_Ev: [
    (c, i) => imulTruncated16(c, i, c.regs.gpr.r16[i.reg << 1], c.regs.gpr.r16[i.rm << 1]),
    (c, i) => imulTruncated32(c, i, c.regs.gpr.r32[i.reg], c.regs.gpr.r32[i.rm]),
    (c, i) => {
      const src = mem16(c, i);
      imulTruncated16(c, i, c.regs.gpr.r16[i.reg << 1], src);
    },
    (c, i) => {
      const src = mem32(c, i);
      imulTruncated32(c, i, c.regs.gpr.r32[i.reg], src);
    },
  ],
  imul_Gv_Ev_Iz: [
    (c, i) => imulTruncated16(c, i, c.regs.gpr.r16[i.rm << 1], i.imm),
    (c, i) => imulTruncated32(c, i, c.regs.gpr.r32[i.rm], i.imm),
    (c, i) => imulTruncated16(c, i, mem16(c, i), i.imm),
    (c, i) => imulTruncated32(c, i, mem32(c, i), i.imm),
  ],
  imul_Gv_Ev_Ibs: [
    (c, i) => imulTruncated16(c, i, c.regs.gpr.r16[i.rm << 1], i.imm),
    (c, i) => imulTruncated32(c, i, c.regs.gpr.r32[i.rm], i.imm),
    (c, i) => imulTruncated16(c, i, mem16(c, i), i.imm),
    (c, i) => imulTruncated32(c, i, mem32(c, i), i.imm),
  ],
};
