/**
 * Bit operations: BT BTS BTR BTC (register and immediate bit offsets), BSF BSR and BSWAP.
 *
 * SDM Vol. 2 "BT": an immediate offset is taken modulo the operand width; a register offset
 * with a register operand likewise, but with a memory operand it is a signed bit string
 * index: the operand-sized unit at EA + size * (offset >> log2(width)) is accessed (the
 * address wraps at the address size, as the EA does). CF gets the selected bit.
 * The flags the SDM leaves undefined are set as the Intel CPU here does (checked by
 * test/differential/shift-flags-vs-cpu.test.ts): BT* keep OF SF ZF AF PF; BSF/BSR set ZF
 * from the source, PF from the index found and clear CF OF SF AF, and (as P6 and later
 * hardware do) leave the destination unchanged when the source is 0.
 * BSWAP of a 16-bit register is undefined; Intel hardware writes 0, and so does this.
 * 64-bit operands (REX.W): offsets modulo 64, a register bit offset into memory is a signed
 * 64-bit index (the quadword at EA + 8 * (offset >> 6)), BSWAP reverses all eight bytes.
 */
import { AF, ARITH_FLAGS, CF, OF, PF, ZF, type LazyFlags } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { sar64, wide } from '../../alu/wide.js';
import {
  canonicalLinear, effectiveOffset, isStackReference, getReg64, linearOf, memoryLinear, readE, readE64, readG, readMem, readMem64,
  setReg64, setRegV, writeG, writeG64, writeMem, writeMem64,
} from '../addressing.js';
import { offset64, offsetHi } from '../offset64.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';
import { zReg } from './stack-ops.js';

/** BT (reads only), BTS, BTR, BTC in Group 8 ModRM.reg order minus 4. */
export const BitOp = { BT: 0, BTS: 1, BTR: 2, BTC: 3 } as const;
export type BitOp = (typeof BitOp)[keyof typeof BitOp];

/** Replaces the arithmetic flags in `which` with `values`, keeping the rest (computed if lazy). */
function setSomeFlags(f: LazyFlags, which: number, values: number): void {
  f.set((f.get() & ~which) | (values & which));
}

/** Applies bit operation `op` to bit `bit` (already reduced) of `value`; writes CF; returns the new value. */
export function bitOp(f: LazyFlags, op: number, value: number, bit: number): number {
  const m = 1 << bit;
  setSomeFlags(f, CF, (value >>> bit) & 1);
  switch (op) {
    case BitOp.BTS:
      return (value | m) >>> 0;
    case BitOp.BTR:
      return (value & ~m) >>> 0;
    case BitOp.BTC:
      return (value ^ m) >>> 0;
    default:
      return value;
  }
}

/**
 * BSF (forward) or BSR: the index of the lowest/highest set bit, or -1 for 0. Flags as the
 * hardware sets them: ZF = (source is 0), PF from the index (from 0 when there is none),
 * CF OF SF AF cleared.
 */
export function bitScan(f: LazyFlags, forward: boolean, value: number, bits: number): number {
  if (value === 0) {
    f.set((f.raw & ~ARITH_FLAGS) | ZF | PF);
    return -1;
  }
  const index = forward ? 31 - Math.clz32(value & -value) : 31 - Math.clz32(value);
  // As a logic result: SF and PF from the index (SF is 0 there), ZF forced to 0.
  f.recordResultOnly(bits, index, 0, 0, CF | OF | AF | ZF);
  return index;
}

export function byteSwap32(v: number): number {
  return ((v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** BT* on a 64-bit value (hi:lo), bit 0-63: writes CF, leaves the new value in wide.lo / wide.hi. */
export function bitOp64(f: LazyFlags, op: number, lo: number, hi: number, bit: number): void {
  if (bit < 32) {
    wide.lo = bitOp(f, op, lo, bit) | 0;
    wide.hi = hi | 0;
  } else {
    wide.hi = bitOp(f, op, hi, bit - 32) | 0;
    wide.lo = lo | 0;
  }
}

/**
 * Linear address of the operand-sized unit a BT* with a register bit offset `gLo`/`gHi`
 * (sign-extended to 64 bits) reaches in 64-bit mode: the effective address plus the signed
 * byte offset of the unit, wrapping at the address size.
 */
function bitStringLinear64(cpu: SoftCpu, insn: Instruction, size: number, gLo: number, gHi: number): number {
  // Byte offset of the unit: (offset >> log2(width)) * size = (offset >> 3) with the low
  // bits of the unit cleared.
  sar64(gLo, gHi, 3);
  const dLo = wide.lo & -size;
  const dHi = wide.hi;
  if (insn.addrSize === 8) {
    const lo = offset64(cpu, insn);
    const sum = lo + (dLo >>> 0);
    return canonicalLinear(cpu, insn.segment, sum | 0, (offsetHi + dHi + (sum > 0xffffffff ? 1 : 0)) | 0, isStackReference(insn));
  }
  return canonicalLinear(cpu, insn.segment, (effectiveOffset(cpu, insn) + dLo) | 0, 0);
}

function bitTest64(cpu: SoftCpu, insn: Instruction, op: number, immediate: boolean): void {
  const f = cpu.regs.flags;
  if (!insn.isMem) {
    const lo = getReg64(cpu, insn.rm);
    const hi = cpu.valueHi;
    const bit = (immediate ? insn.imm : cpu.regs.gpr.r32[insn.reg]) & 63;
    bitOp64(f, op, lo, hi, bit);
    if (op !== BitOp.BT) setReg64(cpu, insn.rm, wide.lo, wide.hi);
    return;
  }
  let lin: number;
  let bit: number;
  if (immediate) {
    lin = memoryLinear(cpu, insn, 8);
    bit = insn.imm & 63;
  } else {
    const g = cpu.regs.gpr;
    bit = g.r32[insn.reg] & 63;
    lin = bitStringLinear64(cpu, insn, 8, g.r32[insn.reg], g.hi[insn.reg]);
  }
  const lo = readMem64(cpu, lin);
  bitOp64(f, op, lo, cpu.valueHi, bit);
  if (op !== BitOp.BT) writeMem64(cpu, lin, wide.lo, wide.hi);
}

function bitTest(op: number, immediate: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = insn.opSize;
    if (size === 8) return bitTest64(cpu, insn, op, immediate);
    const widthMask = (size << 3) - 1;
    if (!insn.isMem) {
      const v = readE(cpu, insn, size, 0);
      const bit = (immediate ? insn.imm : readG(cpu, insn, size)) & widthMask;
      const r = bitOp(cpu.regs.flags, op, v, bit);
      if (op !== BitOp.BT) setRegV(cpu, insn.rm, size, r);
      return;
    }
    if (insn.mode === 64) {
      // 16/32-bit operands with 64-bit addressing: the same unit arithmetic, sign-extended.
      let lin: number;
      let bit: number;
      if (immediate) {
        lin = memoryLinear(cpu, insn, size);
        bit = insn.imm & widthMask;
      } else {
        const g = readG(cpu, insn, size);
        const index = size === 2 ? (g << 16) >> 16 : g | 0;
        bit = index & widthMask;
        lin = bitStringLinear64(cpu, insn, size, index, index >> 31);
      }
      const v = readMem(cpu, lin, size);
      const r = bitOp(cpu.regs.flags, op, v, bit);
      if (op !== BitOp.BT) writeMem(cpu, lin, size, r);
      return;
    }
    let offset = effectiveOffset(cpu, insn);
    let bit: number;
    if (immediate) {
      bit = insn.imm & widthMask;
    } else {
      const g = readG(cpu, insn, size);
      // Signed bit index: units of `size` bytes before or after the EA.
      const index = size === 2 ? (g << 16) >> 16 : g | 0;
      bit = index & widthMask;
      offset += (index >> (size === 2 ? 4 : 5)) * size;
      offset = insn.addrSize === 2 ? offset & 0xffff : offset >>> 0;
    }
    const lin = linearOf(cpu, insn, offset, size);
    const v = readMem(cpu, lin, size);
    const r = bitOp(cpu.regs.flags, op, v, bit);
    if (op !== BitOp.BT) writeMem(cpu, lin, size, r);
  };
}

function scan(forward: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    const size = insn.opSize;
    if (size === 8) {
      const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
      const hi = cpu.valueHi;
      let index: number;
      if (lo === 0 && hi === 0) index = bitScan(cpu.regs.flags, forward, 0, 64);
      else if (forward) index = lo !== 0 ? bitScan(cpu.regs.flags, true, lo, 64) : 32 + bitScan(cpu.regs.flags, true, hi, 64);
      else index = hi !== 0 ? 32 + bitScan(cpu.regs.flags, false, hi, 64) : bitScan(cpu.regs.flags, false, lo, 64);
      if (index >= 0) {
        // PF follows the index found (recorded as the result of the scan).
        cpu.regs.flags.r = index;
        writeG64(cpu, insn, index, 0);
      }
      return;
    }
    const v = readE(cpu, insn, size, insn.isMem ? memoryLinear(cpu, insn, size) : 0);
    const index = bitScan(cpu.regs.flags, forward, v, size << 3);
    if (index >= 0) writeG(cpu, insn, size, index);
  };
}

export const BITOP_HANDLERS: HandlerTable = {
  bt_Ev_Gv: bitTest(BitOp.BT, false),
  bts_Ev_Gv: bitTest(BitOp.BTS, false),
  btr_Ev_Gv: bitTest(BitOp.BTR, false),
  btc_Ev_Gv: bitTest(BitOp.BTC, false),
  bt_Ev_Ib: bitTest(BitOp.BT, true),
  bts_Ev_Ib: bitTest(BitOp.BTS, true),
  btr_Ev_Ib: bitTest(BitOp.BTR, true),
  btc_Ev_Ib: bitTest(BitOp.BTC, true),
  bsf_Gv_Ev: scan(true),
  bsr_Gv_Ev: scan(false),
  bswap_Zv: (cpu, insn) => {
    const size = insn.opSize;
    const n = zReg(insn);
    const g = cpu.regs.gpr;
    if (size === 2) g.r16[n << 1] = 0;
    else if (size === 4) setRegV(cpu, n, 4, byteSwap32(g.r32[n]));
    else setReg64(cpu, n, byteSwap32(g.hi[n]), byteSwap32(g.r32[n]));
  },
};
