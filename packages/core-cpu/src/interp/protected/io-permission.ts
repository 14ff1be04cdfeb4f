/**
 * Protected-mode I/O permission (SDM Vol. 1, 19.5 "Protected-Mode I/O"; Vol. 3, 20.2.8 for
 * virtual-8086 mode): IN/OUT/INS/OUTS are allowed at CPL <= IOPL; otherwise (and always in
 * virtual-8086 mode) every bit of the TSS I/O permission bitmap covering the accessed ports
 * must be clear. The bitmap starts at the 16-bit offset stored at TSS+0x66; a bitmap byte
 * past the TSS limit, or a TSS without a bitmap (16-bit TSS, limit < 0x67), counts as set.
 */
import { Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { linearBase, sysRead16, SYS_TSS32_AVAIL, SYS_TSS32_BUSY } from './descriptor.js';

const FLAG_VM = 0x20000;
const IO_MAP_BASE_OFFSET = 0x66;

/** Raises #GP(0) unless the current privilege or the TSS bitmap allows `size` bytes at `port`. */
export function checkIoPermission(cpu: SoftCpu, port: number, size: number): void {
  const r = cpu.regs;
  if (!(r.cr0 & 1)) return;
  if (!(r.flags.raw & FLAG_VM) && r.cpl <= ((r.flags.raw >> 12) & 3)) return;
  if (!ioBitmapAllows(cpu, port, size)) raise(Vector.GP, 0);
}

/** True when the bitmap bits for ports port..port+size-1 are all clear. */
export function ioBitmapAllows(cpu: SoftCpu, port: number, size: number): boolean {
  const s = cpu.regs.seg;
  const type = s.attr[Seg.TR] & 0xf;
  if (type !== SYS_TSS32_AVAIL && type !== SYS_TSS32_BUSY) return false;
  const limit = s.limit[Seg.TR] >>> 0;
  if (limit < IO_MAP_BASE_OFFSET + 1) return false;
  const base = linearBase(s.base[Seg.TR], s.baseHi[Seg.TR]);
  const at = sysRead16(cpu, base + IO_MAP_BASE_OFFSET) + (port >>> 3);
  // Two bytes are always read: an access may straddle a byte of the bitmap.
  if (at + 1 > limit) return false;
  const bits = sysRead16(cpu, base + at);
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}
