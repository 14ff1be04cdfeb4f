/**
 * Building a stack frame before committing anything: far CALL, call gates and interrupt
 * delivery push onto either the current stack or a new inner one (from the TSS), and a
 * fault part-way must leave SS:ESP and CS:EIP as they were (SDM Vol. 3, 5.8.5, 6.12.1).
 * `frame` is module scratch describing the target stack; `framePush` checks its limit
 * (expand-up or expand-down) and writes; the caller commits with `commitFrameSp`.
 */
import { Priv } from '../../mmu/paging-walk.js';
import { Attr, Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  desc, descBase, descLimit, isPresent, mmuOf, readDescriptor, sysRead16, sysRead32,
  SYS_TSS32_AVAIL, SYS_TSS32_BUSY,
} from './descriptor.js';
import { checkStackDescriptor } from './segment-load.js';

const ATTR_EXPAND_DOWN_DATA = 0x1c; // S | code | expand-down bits of the attribute word
const EXPAND_DOWN = 0x14;

export const frame = {
  base: 0, limit: 0, attr: 0, sp: 0, priv: 0 as Priv,
  /** Error code for #SS when the frame does not fit (selector | EXT, or EXT alone). */
  errorCode: 0,
};

/** Targets the current SS (same privilege). */
export function frameOnCurrentStack(cpu: SoftCpu, errorCode: number): void {
  const s = cpu.regs.seg;
  frame.base = s.base[Seg.SS];
  frame.limit = s.limit[Seg.SS] >>> 0;
  frame.attr = s.attr[Seg.SS];
  frame.sp = frame.attr & Attr.Db ? cpu.regs.gpr.r32[4] >>> 0 : cpu.regs.gpr.r16[8];
  frame.priv = cpu.regs.cpl === 3 ? Priv.USER : Priv.SUPERVISOR;
  frame.errorCode = errorCode;
}

/** Targets the stack described by `desc` (just validated) at `sp`, for privilege `cpl`. */
export function frameOnNewStack(sp: number, cpl: number, errorCode: number): void {
  frame.base = descBase(desc.lo, desc.hi);
  frame.limit = descLimit(desc.lo, desc.hi);
  frame.attr = (desc.hi >>> 8) & 0xf0ff;
  frame.sp = frame.attr & Attr.Db ? sp >>> 0 : sp & 0xffff;
  frame.priv = cpl === 3 ? Priv.USER : Priv.SUPERVISOR;
  frame.errorCode = errorCode;
}

function inLimit(offset: number, size: number): boolean {
  const end = offset + size - 1;
  if ((frame.attr & ATTR_EXPAND_DOWN_DATA) === EXPAND_DOWN) {
    return offset > frame.limit && end <= (frame.attr & Attr.Db ? 0xffffffff : 0xffff);
  }
  return end <= frame.limit;
}

/** Pushes `size` (2 or 4) bytes onto the frame's stack; #SS(frame.errorCode) if it does not fit. */
export function framePush(cpu: SoftCpu, size: number, v: number): void {
  const sp = frame.attr & Attr.Db ? (frame.sp - size) >>> 0 : (frame.sp - size) & 0xffff;
  if (!inLimit(sp, size)) raise(Vector.SS, frame.errorCode);
  const lin = (frame.base + sp) >>> 0;
  const m = mmuOf(cpu);
  if (m) {
    if (size === 2) m.write16(lin, v & 0xffff, frame.priv);
    else m.write32(lin, v >>> 0, frame.priv);
  } else if (size === 2) cpu.mem.write16(lin, v & 0xffff);
  else cpu.mem.write32(lin, v >>> 0);
  frame.sp = sp;
}

/** Writes the frame's stack pointer to ESP (SP only for a 16-bit stack). */
export function commitFrameSp(cpu: SoftCpu): void {
  const g = cpu.regs.gpr;
  if (frame.attr & Attr.Db) g.r32[4] = frame.sp;
  else g.r16[8] = frame.sp;
}

/** Inner stack from the current TSS for privilege `dpl` (SDM Vol. 3, 7.2.1, 7.7). */
export const tssStack = { ss: 0, sp: 0 };

export function readTssStack(cpu: SoftCpu, dpl: number, ext: number): void {
  const s = cpu.regs.seg;
  const type = s.attr[Seg.TR] & 0xf;
  const limit = s.limit[Seg.TR] >>> 0;
  const trCode = (s.selector[Seg.TR] & 0xfffc) | ext;
  const base = s.base[Seg.TR];
  if (type === SYS_TSS32_AVAIL || type === SYS_TSS32_BUSY) {
    const at = 4 + dpl * 8;
    if (at + 5 > limit) raise(Vector.TS, trCode);
    tssStack.sp = sysRead32(cpu, base + at);
    tssStack.ss = sysRead16(cpu, base + at + 4);
  } else {
    const at = 2 + dpl * 4;
    if (at + 3 > limit) raise(Vector.TS, trCode);
    tssStack.sp = sysRead16(cpu, base + at);
    tssStack.ss = sysRead16(cpu, base + at + 2);
  }
}

/** Reads and checks tssStack.ss as the stack for `dpl`: #TS on a bad one, #SS if absent. Leaves it in `desc`. */
export function checkTssStackSegment(cpu: SoftCpu, dpl: number, ext: number): void {
  const ss = tssStack.ss;
  if ((ss & 0xfffc) === 0) raise(Vector.TS, ext);
  readDescriptor(cpu, ss, Vector.TS, ext);
  checkStackDescriptor(ss, dpl, Vector.TS, (ss & 0xfffc) | ext);
  if (!isPresent(desc.hi)) raise(Vector.SS, (ss & 0xfffc) | ext);
}
