/**
 * The stack: pushes and pops through SS with a 16- or 32-bit stack pointer (SS.B), and
 * real-mode segment loads. Pushes compute the new pointer, write, then commit, so a fault
 * on the write leaves SP unchanged.
 *
 * 64-bit mode (SDM Vol. 1, 6.2.5; Vol. 3, 6.14.2): the stack pointer is all of RSP, SS's base
 * and limit are ignored, and a non-canonical stack address raises #SS(0). Pushes are 8 bytes
 * (or 2 with a 66 prefix); 32-bit pushes do not exist there.
 */
import { Attr, Seg, SegField } from '../state/segment-cache.js';
import { canonicalLinear, readMem64, segmentLinear, writeMem64 } from './addressing.js';
import type { SoftCpu } from './soft-cpu.js';

/**
 * A const enum, so that tsc writes the numbers in: a module's `const` stays a variable in the
 * bundle, loaded and checked at every push and pop (see Attr in state/segment-cache.ts).
 */
const enum Stack {
  RSP = 4,
  EferLma = 0x400,
}
const TWO_32 = 4294967296;

function stack32(cpu: SoftCpu): boolean {
  // Through SegmentCache.fields, the array segmentLinear reads next.
  return (cpu.regs.seg.fields[SegField.Attr | Seg.SS] & Attr.Db) !== 0;
}

/** True in 64-bit mode (IA-32e with CS.L): the stack pointer is all of RSP. */
export function stack64(cpu: SoftCpu): boolean {
  const r = cpu.regs;
  return (r.efer & Stack.EferLma) !== 0 && (r.seg.attr[Seg.CS] & Attr.L) !== 0;
}

/** RSP + delta (|delta| < 2^32) with the carry into bits 63:32. */
export function addRsp(cpu: SoftCpu, delta: number): void {
  const g = cpu.regs.gpr;
  const sum = (g.r32[Stack.RSP] >>> 0) + delta;
  g.r32[Stack.RSP] = sum | 0;
  if (sum >= TWO_32) g.hi[Stack.RSP] = (g.hi[Stack.RSP] + 1) | 0;
  else if (sum < 0) g.hi[Stack.RSP] = (g.hi[Stack.RSP] - 1) | 0;
}

/** The canonical linear address RSP + delta (64-bit mode; #SS(0) when not canonical). */
export function stackAddress64(cpu: SoftCpu, delta: number): number {
  const g = cpu.regs.gpr;
  let lo = (g.r32[Stack.RSP] >>> 0) + delta;
  let hi = g.hi[Stack.RSP];
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi = (hi + 1) | 0;
  } else if (lo < 0) {
    lo += TWO_32;
    hi = (hi - 1) | 0;
  }
  return canonicalLinear(cpu, Seg.SS, lo, hi);
}

/** Pushes the 64-bit value hi:lo (64-bit mode). */
export function push64(cpu: SoftCpu, lo: number, hi: number): void {
  writeMem64(cpu, stackAddress64(cpu, -8), lo, hi);
  addRsp(cpu, -8);
}

/** Pops 8 bytes (64-bit mode): returns bits 31:0, bits 63:32 in cpu.valueHi. */
export function pop64(cpu: SoftCpu): number {
  const v = readMem64(cpu, stackAddress64(cpu, 0));
  addRsp(cpu, 8);
  return v;
}

/** Reads 8 bytes at RSP + offset without moving RSP (returns lo, hi in cpu.valueHi). */
export function peek64(cpu: SoftCpu, offset: number): number {
  return readMem64(cpu, stackAddress64(cpu, offset));
}

export function push16(cpu: SoftCpu, v: number): void {
  const g = cpu.regs.gpr;
  if (stack64(cpu)) {
    cpu.mem.write16(stackAddress64(cpu, -2), v & 0xffff);
    addRsp(cpu, -2);
  } else if (stack32(cpu)) {
    const sp = (g.r32[Stack.RSP] - 2) >>> 0;
    cpu.mem.write16(segmentLinear(cpu, Seg.SS, sp, 2), v & 0xffff);
    g.r32[Stack.RSP] = sp;
  } else {
    const sp = (g.r16[Stack.RSP << 1] - 2) & 0xffff;
    cpu.mem.write16(segmentLinear(cpu, Seg.SS, sp, 2), v & 0xffff);
    g.r16[Stack.RSP << 1] = sp;
  }
}

export function push32(cpu: SoftCpu, v: number): void {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const sp = (g.r32[Stack.RSP] - 4) >>> 0;
    cpu.mem.write32(segmentLinear(cpu, Seg.SS, sp, 4), v >>> 0);
    g.r32[Stack.RSP] = sp;
  } else {
    const sp = (g.r16[Stack.RSP << 1] - 4) & 0xffff;
    cpu.mem.write32(segmentLinear(cpu, Seg.SS, sp, 4), v >>> 0);
    g.r16[Stack.RSP << 1] = sp;
  }
}

export function pop16(cpu: SoftCpu): number {
  const g = cpu.regs.gpr;
  if (stack64(cpu)) {
    const v = cpu.mem.read16(stackAddress64(cpu, 0));
    addRsp(cpu, 2);
    return v;
  }
  if (stack32(cpu)) {
    const v = cpu.mem.read16(segmentLinear(cpu, Seg.SS, g.r32[Stack.RSP] >>> 0, 2));
    g.r32[Stack.RSP] = g.r32[Stack.RSP] + 2;
    return v;
  }
  const sp = g.r16[Stack.RSP << 1];
  const v = cpu.mem.read16(segmentLinear(cpu, Seg.SS, sp, 2));
  g.r16[Stack.RSP << 1] = sp + 2;
  return v;
}

export function pop32(cpu: SoftCpu): number {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const v = cpu.mem.read32(segmentLinear(cpu, Seg.SS, g.r32[Stack.RSP] >>> 0, 4));
    g.r32[Stack.RSP] = g.r32[Stack.RSP] + 4;
    return v;
  }
  const sp = g.r16[Stack.RSP << 1];
  const v = cpu.mem.read32(segmentLinear(cpu, Seg.SS, sp, 4));
  g.r16[Stack.RSP << 1] = sp + 4;
  return v;
}

/** Pushes a value of `size` bytes; for 8, `hi` is bits 63:32 (default: zero-extension). */
export function pushV(cpu: SoftCpu, size: number, v: number, hi = 0): void {
  if (size === 2) push16(cpu, v);
  else if (size === 8) push64(cpu, v, hi);
  else push32(cpu, v);
}

/** Pops `size` bytes; for 8, bits 63:32 are left in cpu.valueHi. */
export function popV(cpu: SoftCpu, size: number): number {
  return size === 2 ? pop16(cpu) : size === 8 ? pop64(cpu) : pop32(cpu);
}

/** A segment load in real mode: base = selector * 16; limit and attributes are kept. */
export function loadRealModeSegment(cpu: SoftCpu, seg: number, selector: number): void {
  cpu.regs.seg.selector[seg] = selector;
  cpu.regs.seg.base[seg] = selector << 4;
  cpu.regs.seg.baseHi[seg] = 0;
}
