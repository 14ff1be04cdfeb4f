/**
 * The stack: pushes and pops through SS with a 16- or 32-bit stack pointer (SS.B), and
 * real-mode segment loads. Pushes compute the new pointer, write, then commit, so a fault
 * on the write leaves SP unchanged.
 */
import { Seg } from '../state/segment-cache.js';
import { segmentLinear } from './addressing.js';
import type { SoftCpu } from './soft-cpu.js';

const RSP = 4;
const ATTR_DB = 0x4000;

function stack32(cpu: SoftCpu): boolean {
  return (cpu.regs.seg.attr[Seg.SS] & ATTR_DB) !== 0;
}

export function push16(cpu: SoftCpu, v: number): void {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const sp = (g.r32[RSP] - 2) >>> 0;
    cpu.mem.write16(segmentLinear(cpu, Seg.SS, sp, 2), v & 0xffff);
    g.r32[RSP] = sp;
  } else {
    const sp = (g.r16[RSP << 1] - 2) & 0xffff;
    cpu.mem.write16(segmentLinear(cpu, Seg.SS, sp, 2), v & 0xffff);
    g.r16[RSP << 1] = sp;
  }
}

export function push32(cpu: SoftCpu, v: number): void {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const sp = (g.r32[RSP] - 4) >>> 0;
    cpu.mem.write32(segmentLinear(cpu, Seg.SS, sp, 4), v >>> 0);
    g.r32[RSP] = sp;
  } else {
    const sp = (g.r16[RSP << 1] - 4) & 0xffff;
    cpu.mem.write32(segmentLinear(cpu, Seg.SS, sp, 4), v >>> 0);
    g.r16[RSP << 1] = sp;
  }
}

export function pop16(cpu: SoftCpu): number {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const v = cpu.mem.read16(segmentLinear(cpu, Seg.SS, g.r32[RSP] >>> 0, 2));
    g.r32[RSP] = g.r32[RSP] + 2;
    return v;
  }
  const sp = g.r16[RSP << 1];
  const v = cpu.mem.read16(segmentLinear(cpu, Seg.SS, sp, 2));
  g.r16[RSP << 1] = sp + 2;
  return v;
}

export function pop32(cpu: SoftCpu): number {
  const g = cpu.regs.gpr;
  if (stack32(cpu)) {
    const v = cpu.mem.read32(segmentLinear(cpu, Seg.SS, g.r32[RSP] >>> 0, 4));
    g.r32[RSP] = g.r32[RSP] + 4;
    return v;
  }
  const sp = g.r16[RSP << 1];
  const v = cpu.mem.read32(segmentLinear(cpu, Seg.SS, sp, 4));
  g.r16[RSP << 1] = sp + 4;
  return v;
}

export function pushV(cpu: SoftCpu, size: number, v: number): void {
  if (size === 2) push16(cpu, v);
  else push32(cpu, v);
}

export function popV(cpu: SoftCpu, size: number): number {
  return size === 2 ? pop16(cpu) : pop32(cpu);
}

/** A segment load in real mode: base = selector * 16; limit and attributes are kept. */
export function loadRealModeSegment(cpu: SoftCpu, seg: number, selector: number): void {
  cpu.regs.seg.selector[seg] = selector;
  cpu.regs.seg.base[seg] = selector << 4;
  cpu.regs.seg.baseHi[seg] = 0;
}
