/**
 * Virtual-8086 mode (SDM Vol. 3, chapter 20, without VME): entering it by IRET from CPL 0
 * with EFLAGS.VM set in the popped image (20.2.1), IRET inside it (IOPL-sensitive), and
 * interrupts/exceptions taken from it to a CPL 0 handler through an interrupt or trap gate
 * (20.3.1.1): the handler's stack gets GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP (and an error
 * code) and the data segment registers are zeroed. Segment arithmetic in the mode is real
 * mode's (selector << 4, 64 KiB limits) at CPL 3 (cpu-registers.ts reports CPL 3 when VM=1).
 */
import { Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadRealModeSegment, popV } from '../stack.js';
import { D_TYPE_SHIFT, desc, descDpl, loadCache, loadNull, setAccessed, TYPE_CONFORMING } from './descriptor.js';
import { stackRead } from './far-transfer.js';
import { syncPrivilege } from './privilege.js';
import {
  checkTssStackSegment, commitFrameSp, frameOnNewStack, framePush, readTssStack, tssStack,
} from './stack-frame.js';

const FLAG_TF = 0x100;
const FLAG_IF = 0x200;
const FLAG_IOPL = 0x3000;
const FLAG_NT = 0x4000;
const FLAG_RF = 0x10000;
const FLAG_VM = 0x20000;
/** EFLAGS bits an IRET to virtual-8086 mode loads (CF..ID less the reserved ones, VIF/VIP kept out). */
const IRET_V86_MASK = 0x00277fd5;
/** Present, DPL 3, read/write accessed data, 16-bit: every segment register in the mode. */
export const V86_ATTR = 0xf3;
const V86_SEGS = [Seg.ES, Seg.CS, Seg.SS, Seg.DS, Seg.FS, Seg.GS] as const;

/** Loads `seg` the virtual-8086 way: base = selector << 4, limit 0xFFFF, DPL 3 data. */
export function loadV86Segment(cpu: SoftCpu, seg: number, selector: number): void {
  loadRealModeSegment(cpu, seg, selector);
  cpu.regs.seg.limit[seg] = 0xffff;
  cpu.regs.seg.attr[seg] = V86_ATTR;
}

/**
 * IRETD at CPL 0 whose popped EFLAGS has VM set: pops EIP, CS, EFLAGS, ESP, SS, ES, DS, FS,
 * GS (all doublewords; everything is read before anything changes) and resumes in
 * virtual-8086 mode.
 */
export function iretToV86(cpu: SoftCpu, sp: number): void {
  const r = cpu.regs;
  const eip = stackRead(cpu, sp, 4);
  const cs = stackRead(cpu, sp + 4, 4) & 0xffff;
  const flags = stackRead(cpu, sp + 8, 4);
  const esp = stackRead(cpu, sp + 12, 4);
  const ss = stackRead(cpu, sp + 16, 4) & 0xffff;
  const es = stackRead(cpu, sp + 20, 4) & 0xffff;
  const ds = stackRead(cpu, sp + 24, 4) & 0xffff;
  const fs = stackRead(cpu, sp + 28, 4) & 0xffff;
  const gs = stackRead(cpu, sp + 32, 4) & 0xffff;
  r.flags.set((flags & IRET_V86_MASK) | FLAG_VM);
  loadV86Segment(cpu, Seg.CS, cs);
  loadV86Segment(cpu, Seg.SS, ss);
  loadV86Segment(cpu, Seg.ES, es);
  loadV86Segment(cpu, Seg.DS, ds);
  loadV86Segment(cpu, Seg.FS, fs);
  loadV86Segment(cpu, Seg.GS, gs);
  r.gpr.r32[4] = esp;
  r.rip = eip & 0xffff;
  syncPrivilege(cpu);
}

/**
 * IRET executed in virtual-8086 mode: #GP(0) unless IOPL = 3; then a real-mode style return
 * that leaves IOPL and VM as they are (SDM Vol. 2 "IRET", virtual-8086 mode).
 */
export function v86Iret(cpu: SoftCpu, size: number): void {
  const r = cpu.regs;
  const old = r.flags.get();
  if ((old & FLAG_IOPL) !== FLAG_IOPL) raise(Vector.GP, 0);
  const ip = popV(cpu, size);
  const cs = popV(cpu, size) & 0xffff;
  const popped = popV(cpu, size);
  const keep = size === 2 ? ~0xffff | FLAG_IOPL : FLAG_VM | FLAG_IOPL | 0x180000;
  const load = size === 2 ? 0x7fd5 & ~FLAG_IOPL : 0x00257fd5 & ~FLAG_IOPL;
  r.flags.set((old & keep) | (popped & load) | FLAG_VM);
  loadV86Segment(cpu, Seg.CS, cs);
  r.rip = size === 2 ? ip & 0xffff : ip | 0;
}

/** The IOPL-sensitive instructions (CLI/STI go through CPL > IOPL): #GP(0) in the mode unless IOPL = 3. */
export function checkV86Iopl(cpu: SoftCpu): void {
  const raw = cpu.regs.flags.raw;
  if (raw & FLAG_VM && (raw & FLAG_IOPL) !== FLAG_IOPL) raise(Vector.GP, 0);
}

/**
 * Delivers an interrupt or exception from virtual-8086 mode through an interrupt/trap gate
 * whose target code descriptor (already checked for type and presence) is in `desc`. The
 * handler must be non-conforming DPL 0 code (#GP(target selector) otherwise).
 */
export function interruptFromV86(
  cpu: SoftCpu, target: number, offset: number, gsize: number, isInterruptGate: boolean,
  errorCode: number, returnIp: number, ext: number, fault: boolean,
): void {
  const r = cpu.regs;
  const s = r.seg;
  const thi = desc.hi;
  if (descDpl(thi) !== 0 || thi & (TYPE_CONFORMING << D_TYPE_SHIFT)) raise(Vector.GP, (target & 0xfffc) | ext);
  const tlo = desc.lo;
  const taddr = desc.addr;
  readTssStack(cpu, 0, ext);
  const newSs = tssStack.ss;
  checkTssStackSegment(cpu, 0, ext);
  const slo = desc.lo;
  const shi = desc.hi;
  const saddr = desc.addr;
  frameOnNewStack(tssStack.sp, 0, (newSs & 0xfffc) | ext);
  const flags = r.flags.get();
  framePush(cpu, gsize, s.selector[Seg.GS]);
  framePush(cpu, gsize, s.selector[Seg.FS]);
  framePush(cpu, gsize, s.selector[Seg.DS]);
  framePush(cpu, gsize, s.selector[Seg.ES]);
  framePush(cpu, gsize, s.selector[Seg.SS]);
  framePush(cpu, gsize, r.gpr.r32[4]);
  framePush(cpu, gsize, fault ? flags | FLAG_RF : flags);
  framePush(cpu, gsize, s.selector[Seg.CS]);
  framePush(cpu, gsize, returnIp & 0xffff);
  if (errorCode >= 0) framePush(cpu, gsize, errorCode);
  // Commit: the data segment registers are zeroed (null, unusable) after they were pushed.
  for (const seg of V86_SEGS) if (seg !== Seg.CS && seg !== Seg.SS) loadNull(cpu, seg, 0);
  desc.lo = slo;
  desc.hi = shi;
  desc.addr = saddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.SS, newSs);
  commitFrameSp(cpu);
  desc.lo = tlo;
  desc.hi = thi;
  desc.addr = taddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, target & 0xfffc);
  r.rip = offset | 0;
  r.flags.set(flags & ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (isInterruptGate ? FLAG_IF : 0)));
  syncPrivilege(cpu);
}
