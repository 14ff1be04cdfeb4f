/**
 * Operands: effective addresses (16-, 32- and 64-bit addressing),
 * linear addresses through the segment base, and register/memory reads and writes by size.
 * These are the interpreter's hot helpers: plain functions on typed arrays, no allocation.
 */
import type { Instruction } from '../decoder/instruction.js';
import { PREFIX_REX } from '../decoder/instruction.js';
import { GprFile, GprSlot } from '../state/gpr-file.js';
import { SegField } from '../state/segment-cache.js';
import { offset64, offsetHi } from './offset64.js';
import { raise, Vector } from './faults.js';
import type { SoftCpu } from './soft-cpu.js';
import {
  checkedMemoryLinear, checkedSegmentLinear, SegmentTest,
} from './protected/segment-checks.js';

const SS = 2;

/** Offset of the ModRM memory operand inside its segment. */
export function effectiveOffset(cpu: SoftCpu, insn: Instruction): number {
  const g = cpu.regs.gpr;
  if (insn.addrSize === 2) {
    let off = insn.disp;
    if (insn.base >= 0) off += g.r16[insn.base << 1];
    if (insn.index >= 0) off += g.r16[insn.index << 1];
    return off & 0xffff;
  }
  if (insn.addrSize === 4) {
    // The one place 32-bit addressing is summed (LEA and 64-bit mode's address-size prefix call
    // this too). Not split into a helper of its own: one more level of calls to inline on every
    // memory operand measured 0-5% slower on the bench's memory-bound loops (four pairs).
    let off = insn.disp;
    if (insn.base >= 0) off += g.r32[insn.base];
    // EIP-relative: an address-size prefix on RIP-relative addressing in 64-bit mode (no base).
    // `=== true`: a plain truth test of a boolean is V8's generic ToBoolean (about ten machine
    // instructions); a compare with true is two.
    else if (insn.mode === 64 && insn.detail.ripRelative === true) off += cpu.regs.rip;
    if (insn.index >= 0) off += g.r32[insn.index] << insn.scale;
    return off >>> 0;
  }
  throw new Error('effectiveOffset: 64-bit addressing goes through linear64()');
}

// ---- 64-bit mode. A linear address is a canonical 64-bit address held in a JS number as its
// signed value (exact: |value| <= 2^47); the MMU takes negative numbers as sign-extended.
// Segment bases are zero except FS and GS; there are no limit checks.

const TWO_32 = 4294967296;

/**
 * The 64-bit linear address lo + hi * 2^32 after adding the FS/GS base of `seg`; a
 * non-canonical address raises #SS(0) for stack references and #GP(0) otherwise.
 */
export function canonicalLinear(cpu: SoftCpu, seg: number, lo: number, hi: number, stack = seg === SS): number {
  if (seg >= 4) {
    const s = cpu.regs.seg;
    const sum = (lo >>> 0) + (s.base[seg] >>> 0);
    lo = sum | 0;
    hi = (hi + s.baseHi[seg] + (sum >= TWO_32 ? 1 : 0)) | 0;
  }
  if ((hi << 16) >> 16 !== hi) raise(stack ? Vector.SS : Vector.GP, 0);
  return hi * TWO_32 + (lo >>> 0);
}

/**
 * Linear address of the ModRM memory operand in 64-bit mode (address size 8, or 4 with a 67
 * prefix: the 32-bit offset is zero-extended). RIP-relative uses the next instruction's RIP,
 * which the run loop has already stored in regs.rip/ripHi.
 */
export function linear64(cpu: SoftCpu, insn: Instruction): number {
  let lo: number;
  let hi: number;
  if (insn.addrSize === 8) {
    lo = offset64(cpu, insn);
    hi = offsetHi;
  } else {
    lo = effectiveOffset(cpu, insn);
    hi = 0;
  }
  return canonicalLinear(cpu, insn.segment, lo, hi, isStackReference(insn));
}

/**
 * Whether a 64-bit memory operand is a stack reference for the canonical check (#SS rather
 * than #GP): SS, or an RSP/RBP base under any override but FS/GS, since 64-bit mode ignores
 * the ES/CS/SS/DS overrides (measured on the host CPU).
 */
export function isStackReference(insn: Instruction): boolean {
  const base = insn.base;
  return insn.segment === SS || ((base === 4 || base === 5) && insn.segment < 4);
}

/**
 * Linear address of an access of `size` bytes at `offset` in segment `seg`, after the limit
 * check (expand-up data here; expand-down, code, null: protected/segment-checks.ts): past the limit is
 * #SS(0) for the stack segment and #GP(0) otherwise, in real mode as in protected mode
 * (a word at offset 0xFFFF faults on a 286 and on a P6 alike).
 */
export function segmentLinear(cpu: SoftCpu, seg: number, offset: number, size: number): number {
  const f = cpu.regs.seg.fields;
  // Anything but a usable expand-up data segment takes the full checks (protected/segment-checks.ts).
  if ((f[SegField.Attr | seg] & SegmentTest.SimpleMask) !== SegmentTest.SimpleValue) return checkedSegmentLinear(cpu, seg, offset, size);
  if (offset + size - 1 > f[SegField.Limit | seg] >>> 0) raise(seg === SS ? Vector.SS : Vector.GP, 0);
  return (f[seg] + offset) >>> 0; // SegField.Base is 0
}

/** Linear address of `offset` in the instruction's memory segment. */
export function linearOf(cpu: SoftCpu, insn: Instruction, offset: number, size = 1): number {
  return segmentLinear(cpu, insn.segment, offset, size);
}

/**
 * Linear address of the ModRM memory operand. The fast path takes a usable, writable,
 * expand-up data segment; any other segment goes through the full checks, including the
 * write check for instructions that store to their ModRM operand (SDM Vol. 3, 5.4).
 */
export function memoryLinear(cpu: SoftCpu, insn: Instruction, size = 1): number {
  if (insn.mode === 64) return linear64(cpu, insn);
  const f = cpu.regs.seg.fields;
  const seg = insn.segment;
  const offset = effectiveOffset(cpu, insn);
  if ((f[SegField.Attr | seg] & SegmentTest.WritableSimpleMask) !== SegmentTest.WritableSimpleValue) return checkedMemoryLinear(cpu, insn, offset, size);
  if (offset + size - 1 > f[SegField.Limit | seg] >>> 0) raise(seg === SS ? Vector.SS : Vector.GP, 0);
  return (f[seg] + offset) >>> 0; // SegField.Base is 0
}

// ---- registers by size

export function getReg8(cpu: SoftCpu, insn: Instruction, n: number): number {
  return cpu.regs.gpr.r8[GprFile.byteIndex(n, (insn.prefixes & PREFIX_REX) !== 0)];
}
export function setReg8(cpu: SoftCpu, insn: Instruction, n: number, v: number): void {
  cpu.regs.gpr.r8[GprFile.byteIndex(n, (insn.prefixes & PREFIX_REX) !== 0)] = v;
}

/** A register of `size` bytes (2 or 4); 32-bit writes clear the high half as in 64-bit mode. */
export function getRegV(cpu: SoftCpu, n: number, size: number): number {
  const g = cpu.regs.gpr;
  return size === 2 ? g.r16[n << 1] : g.r32[n] >>> 0;
}
export function setRegV(cpu: SoftCpu, n: number, size: number, v: number): void {
  const g = cpu.regs.gpr;
  if (size === 2) g.r16[n << 1] = v;
  else {
    g.r32[n] = v;
    g.r32[n | GprSlot.High] = 0;
  }
}

// ---- memory by size

export function readMem(cpu: SoftCpu, linear: number, size: number): number {
  const m = cpu.mem;
  return size === 1 ? m.read8(linear) : size === 2 ? m.read16(linear) : m.read32(linear);
}
export function writeMem(cpu: SoftCpu, linear: number, size: number, v: number): void {
  const m = cpu.mem;
  if (size === 1) m.write8(linear, v & 0xff);
  else if (size === 2) m.write16(linear, v & 0xffff);
  else m.write32(linear, v >>> 0);
}

// ---- the ModRM E operand, given its linear address (computed once for read-modify-write)

export function readE(cpu: SoftCpu, insn: Instruction, size: number, linear: number): number {
  if (insn.isMem) return readMem(cpu, linear, size);
  return size === 1 ? getReg8(cpu, insn, insn.rm) : getRegV(cpu, insn.rm, size);
}
export function writeE(cpu: SoftCpu, insn: Instruction, size: number, linear: number, v: number): void {
  if (insn.isMem) writeMem(cpu, linear, size, v);
  else if (size === 1) setReg8(cpu, insn, insn.rm, v);
  else setRegV(cpu, insn.rm, size, v);
}
export function readG(cpu: SoftCpu, insn: Instruction, size: number): number {
  return size === 1 ? getReg8(cpu, insn, insn.reg) : getRegV(cpu, insn.reg, size);
}
export function writeG(cpu: SoftCpu, insn: Instruction, size: number, v: number): void {
  if (size === 1) setReg8(cpu, insn, insn.reg, v);
  else setRegV(cpu, insn.reg, size, v);
}

// ---- the same, one function per size: called with a constant size, they inline into a
// handler without the size branches (the generic forms above stay for the rarer handlers).

export function readE8(cpu: SoftCpu, insn: Instruction, linear: number): number {
  if (insn.isMem) return cpu.mem.read8(linear);
  return cpu.regs.gpr.r8[GprFile.byteIndex(insn.rm, (insn.prefixes & PREFIX_REX) !== 0)];
}
export function readE16(cpu: SoftCpu, insn: Instruction, linear: number): number {
  return insn.isMem ? cpu.mem.read16(linear) : cpu.regs.gpr.r16[insn.rm << 1];
}
export function readE32(cpu: SoftCpu, insn: Instruction, linear: number): number {
  return insn.isMem ? cpu.mem.read32(linear) : cpu.regs.gpr.r32[insn.rm] >>> 0;
}
export function writeE8(cpu: SoftCpu, insn: Instruction, linear: number, v: number): void {
  if (insn.isMem) cpu.mem.write8(linear, v & 0xff);
  else cpu.regs.gpr.r8[GprFile.byteIndex(insn.rm, (insn.prefixes & PREFIX_REX) !== 0)] = v;
}
export function writeE16(cpu: SoftCpu, insn: Instruction, linear: number, v: number): void {
  if (insn.isMem) cpu.mem.write16(linear, v & 0xffff);
  else cpu.regs.gpr.r16[insn.rm << 1] = v;
}
export function writeE32(cpu: SoftCpu, insn: Instruction, linear: number, v: number): void {
  if (insn.isMem) cpu.mem.write32(linear, v >>> 0);
  else {
    const g = cpu.regs.gpr;
    g.r32[insn.rm] = v;
    g.r32[insn.rm | GprSlot.High] = 0;
  }
}
export function readG8(cpu: SoftCpu, insn: Instruction): number {
  return cpu.regs.gpr.r8[GprFile.byteIndex(insn.reg, (insn.prefixes & PREFIX_REX) !== 0)];
}
export function readG16(cpu: SoftCpu, insn: Instruction): number {
  return cpu.regs.gpr.r16[insn.reg << 1];
}
export function readG32(cpu: SoftCpu, insn: Instruction): number {
  return cpu.regs.gpr.r32[insn.reg] >>> 0;
}
export function writeG8(cpu: SoftCpu, insn: Instruction, v: number): void {
  cpu.regs.gpr.r8[GprFile.byteIndex(insn.reg, (insn.prefixes & PREFIX_REX) !== 0)] = v;
}
export function writeG16(cpu: SoftCpu, insn: Instruction, v: number): void {
  cpu.regs.gpr.r16[insn.reg << 1] = v;
}
export function writeG32(cpu: SoftCpu, insn: Instruction, v: number): void {
  const g = cpu.regs.gpr;
  g.r32[insn.reg] = v;
  g.r32[insn.reg | GprSlot.High] = 0;
}

/** Sign-extends the low `size` bytes of v to a 32-bit signed number. */
export function signExtend(v: number, size: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

export const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

// ---- 64-bit operands: the low half is returned (or passed) as a number, the high half
// travels in cpu.valueHi (reads) or a second argument (writes), so nothing is allocated.

export function getReg64(cpu: SoftCpu, n: number): number {
  const g = cpu.regs.gpr;
  cpu.valueHi = g.hi[n];
  return g.r32[n] >>> 0;
}
export function setReg64(cpu: SoftCpu, n: number, lo: number, hi: number): void {
  const g = cpu.regs.gpr;
  g.r32[n] = lo;
  g.hi[n] = hi;
}

/** Reads 8 bytes: returns bits 31:0, leaves bits 63:32 in cpu.valueHi. */
export function readMem64(cpu: SoftCpu, linear: number): number {
  const m = cpu.mem;
  const lo = m.read32(linear);
  cpu.valueHi = m.read32(linear + 4) | 0;
  return lo;
}

/**
 * Writes 8 bytes. A write that crosses a page is checked on both pages before either is
 * written, so a #PF on the second page leaves memory unchanged (as the CPU does).
 */
export function writeMem64(cpu: SoftCpu, linear: number, lo: number, hi: number): void {
  const m = cpu.mem;
  if ((linear & 0xfff) > 0xff8) probeWriteRange(cpu, linear, 8);
  m.write32(linear, lo >>> 0);
  m.write32(linear + 4, hi >>> 0);
}

export function readE64(cpu: SoftCpu, insn: Instruction, linear: number): number {
  return insn.isMem ? readMem64(cpu, linear) : getReg64(cpu, insn.rm);
}
export function writeE64(cpu: SoftCpu, insn: Instruction, linear: number, lo: number, hi: number): void {
  if (insn.isMem) writeMem64(cpu, linear, lo, hi);
  else setReg64(cpu, insn.rm, lo, hi);
}
export function readG64(cpu: SoftCpu, insn: Instruction): number {
  return getReg64(cpu, insn.reg);
}
export function writeG64(cpu: SoftCpu, insn: Instruction, lo: number, hi: number): void {
  setReg64(cpu, insn.reg, lo, hi);
}

/**
 * Checks that `size` bytes from `linear` can be written, raising the #PF the write would raise
 * and writing nothing: a multi-part store across pages probes first so a fault leaves memory
 * unchanged. Each further page is probed at its first byte, the address the CPU reports in CR2.
 */
export function probeWriteRange(cpu: SoftCpu, linear: number, size: number): void {
  const m = cpu.mem;
  if (m.probeWrite === undefined) return;
  m.probeWrite(linear);
  const end = linear + size;
  for (let page = linear - (linear & 0xfff) + 0x1000; page < end; page += 0x1000) m.probeWrite(page);
}
