/**
 * Data-access segment checks in protected mode (SDM Vol. 3, 5.3 "Limit Checking", 5.4 "Type
 * Checking", 3.4.5.1 expand-down segments): the slow path behind addressing.ts's
 * segmentLinear, reached only when the segment is not a plain expand-up data segment.
 *
 * - an unusable (null) segment register: #GP(0) (#SS(0) for SS);
 * - execute-only code: #GP(0), as neither a read nor a write is allowed;
 * - expand-down data: valid offsets are limit+1 .. 0xFFFF (B = 0) or 0xFFFFFFFF (B = 1);
 * - real mode and virtual-8086 mode: the plain limit check (attributes are not consulted).
 *
 * Writes into read-only data or readable code are not caught here: segmentLinear does not
 * know whether the access is a read or a write (see checkSegmentWrite for the hook).
 */
import { ATTR_UNUSABLE } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';

const SS = 2;
const FLAG_VM = 0x20000;
const ATTR_S = 0x10;
const ATTR_CODE = 0x8;
const ATTR_EXPAND_DOWN = 0x4;
const ATTR_READABLE = 0x2;
const ATTR_WRITABLE = 0x2;
const ATTR_DB = 0x4000;

/**
 * The attribute test segmentLinear makes first: true for a usable expand-up data segment
 * (S = 1, code = 0, expand-down = 0), for which the plain limit check is complete.
 */
export const SIMPLE_MASK = ATTR_UNUSABLE | ATTR_S | ATTR_CODE | ATTR_EXPAND_DOWN;
export const SIMPLE_VALUE = ATTR_S;

/** Linear address of `size` bytes at `offset` in `seg` after the full checks (slow path). */
export function checkedSegmentLinear(cpu: SoftCpu, seg: number, offset: number, size: number): number {
  const r = cpu.regs;
  const s = r.seg;
  const vector = seg === SS ? Vector.SS : Vector.GP;
  const end = offset + size - 1;
  if (!(r.cr0 & 1) || r.flags.raw & FLAG_VM) {
    if (end > s.limit[seg] >>> 0) raise(vector, 0);
    return (s.base[seg] + offset) >>> 0;
  }
  const a = s.attr[seg];
  if (a & ATTR_UNUSABLE) raise(vector, 0);
  if (a & ATTR_S && a & ATTR_CODE) {
    if (!(a & ATTR_READABLE)) raise(vector, 0);
  } else if (a & ATTR_S && a & ATTR_EXPAND_DOWN) {
    const upper = a & ATTR_DB ? 0xffffffff : 0xffff;
    if (offset <= s.limit[seg] >>> 0 || end > upper) raise(vector, 0);
    return (s.base[seg] + offset) >>> 0;
  }
  if (end > s.limit[seg] >>> 0) raise(vector, 0);
  return (s.base[seg] + offset) >>> 0;
}

/**
 * The write-side check (SDM Vol. 3, 5.4): in protected mode a write through a code segment
 * or a read-only data segment is #GP(0) (#SS(0) for SS). Cheap enough to call before a write
 * whose segment is known; not wired into the generic write helpers yet.
 */
export function checkSegmentWrite(cpu: SoftCpu, seg: number): void {
  const r = cpu.regs;
  if (!(r.cr0 & 1) || r.flags.raw & FLAG_VM) return;
  const a = r.seg.attr[seg];
  if ((a & (ATTR_S | ATTR_CODE | ATTR_WRITABLE)) !== (ATTR_S | ATTR_WRITABLE)) raise(seg === SS ? Vector.SS : Vector.GP, 0);
}
