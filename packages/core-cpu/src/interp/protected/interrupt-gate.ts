/**
 * Interrupt and exception delivery through the IDT in protected mode, and IRET (SDM Vol. 3,
 * 6.10-6.12; Vol. 2 "INT n/INTO/INT3/INT1", "IRET"). Interrupt and trap gates, 16- and
 * 32-bit, at the same privilege or to an inner one with the TSS stack switch. Error codes
 * for a bad gate name the IDT entry (vector*8 + 2, the IDT bit) plus EXT when the event
 * was not a software INT. Task gates and task returns (NT) go to task-switch.ts, and
 * virtual-8086 mode's interrupts and IRETs to v86.ts.
 */
import { Attr, Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, setAccessed, loadCache, readDescriptor,
  sysRead32, SYS_INT_GATE16, SYS_INT_GATE32, SYS_TASK_GATE, SYS_TRAP_GATE16, SYS_TRAP_GATE32, TYPE_CONFORMING,
} from './descriptor.js';
import { checkReturnCode, loadOuterStack, stackRead } from './far-transfer.js';
import { longModeInterrupt, longModeIret } from './long-mode-interrupts.js';
import { syncPrivilege } from './privilege.js';
import { interruptTaskGate, taskReturn } from './task-switch.js';
import { interruptFromV86, iretToV86, v86Iret } from './v86.js';
import { invalidateDataSegments } from './segment-load.js';
import {
  checkTssStackSegment, commitFrameSp, frameOnCurrentStack, frameOnNewStack, framePush, readTssStack, tssStack,
} from './stack-frame.js';

const FLAG_TF = 0x100;
const FLAG_IF = 0x200;
const FLAG_IOPL = 0x3000;
const FLAG_NT = 0x4000;
const FLAG_RF = 0x10000;
const FLAG_VM = 0x20000;
const EFER_LMA = 0x400;

/**
 * Delivers `vector` through the IDT. `errorCode` < 0 pushes none; `software` marks INT n /
 * INT3 / INTO (gate DPL checked against CPL, EXT = 0); `returnIp` is the EIP pushed.
 * `fault` sets RF in the pushed EFLAGS image, as P6 and later do for faults (SDM Vol. 3,
 * 17.3.1.1), so that the restarted instruction does not re-trigger an instruction breakpoint.
 */
export function protectedModeInterrupt(
  cpu: SoftCpu, vector: number, errorCode: number, returnIp: number, software: boolean, fault = false,
): void {
  const r = cpu.regs;
  if (r.efer & EFER_LMA) {
    longModeInterrupt(cpu, vector, errorCode, software, fault);
    return;
  }
  const ext = software ? 0 : 1;
  const idtCode = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > r.idtLimit) raise(Vector.GP, idtCode);
  const at = (r.idtBase + vector * 8) >>> 0;
  desc.lo = sysRead32(cpu, at);
  desc.hi = sysRead32(cpu, at + 4);
  const glo = desc.lo;
  const ghi = desc.hi;
  const type = descType(ghi);
  const isGate = type === SYS_INT_GATE16 || type === SYS_INT_GATE32 || type === SYS_TRAP_GATE16 ||
    type === SYS_TRAP_GATE32 || type === SYS_TASK_GATE;
  if (!isGate || ghi & 0x1000) raise(Vector.GP, idtCode); // S = 1 is not a gate either
  const cpl = r.cpl;
  if (software && descDpl(ghi) < cpl) raise(Vector.GP, vector * 8 + 2);
  if (!isPresent(ghi)) raise(Vector.NP, idtCode);
  if (type === SYS_TASK_GATE) {
    interruptTaskGate(cpu, (glo >>> 16) & 0xffff, returnIp, errorCode, ext);
    return;
  }
  const gate32 = type === SYS_INT_GATE32 || type === SYS_TRAP_GATE32;
  const gsize = gate32 ? 4 : 2;
  const offset = gate32 ? ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0 : glo & 0xffff;
  const target = glo >>> 16;
  const tcode = target & 0xfffc;
  if (tcode === 0) raise(Vector.GP, ext);
  readDescriptor(cpu, target, Vector.GP, ext);
  const thi = desc.hi;
  const dpl = descDpl(thi);
  if (!isCode(thi) || dpl > cpl) raise(Vector.GP, tcode | ext);
  if (!isPresent(thi)) raise(Vector.NP, tcode | ext);
  if (offset > descLimit(desc.lo, thi)) raise(Vector.GP, ext);
  const flags = r.flags.get();
  if (flags & FLAG_VM) {
    const isIntGate = type === SYS_INT_GATE16 || type === SYS_INT_GATE32;
    interruptFromV86(cpu, target, offset, gsize, isIntGate, errorCode, returnIp, ext, fault);
    return;
  }
  const s = r.seg;
  const g = r.gpr;
  const inner = (thi & (TYPE_CONFORMING << D_TYPE_SHIFT)) === 0 && dpl < cpl;
  const tlo = desc.lo;
  const taddr = desc.addr;
  let newSs = 0;
  let slo = 0;
  let shi = 0;
  let saddr = 0;
  if (inner) {
    readTssStack(cpu, dpl, ext);
    newSs = tssStack.ss;
    checkTssStackSegment(cpu, dpl, ext);
    slo = desc.lo;
    shi = desc.hi;
    saddr = desc.addr;
    frameOnNewStack(tssStack.sp, dpl, (newSs & 0xfffc) | ext);
    framePush(cpu, gsize, s.selector[Seg.SS]);
    framePush(cpu, gsize, s.attr[Seg.SS] & Attr.Db ? g.r32[4] : g.r16[8]);
  } else frameOnCurrentStack(cpu, ext);
  framePush(cpu, gsize, fault ? flags | FLAG_RF : flags);
  framePush(cpu, gsize, s.selector[Seg.CS]);
  framePush(cpu, gsize, gsize === 2 ? returnIp & 0xffff : returnIp);
  if (errorCode >= 0) framePush(cpu, gsize, errorCode);
  // Commit.
  if (inner) {
    desc.lo = slo;
    desc.hi = shi;
    desc.addr = saddr;
    setAccessed(cpu);
    loadCache(cpu, Seg.SS, newSs);
  }
  commitFrameSp(cpu);
  desc.lo = tlo;
  desc.hi = thi;
  desc.addr = taddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, tcode | (inner ? dpl : cpl));
  r.rip = offset | 0;
  const isInterruptGate = type === SYS_INT_GATE16 || type === SYS_INT_GATE32;
  r.flags.set(flags & ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (isInterruptGate ? FLAG_IF : 0)));
  if (inner) syncPrivilege(cpu);
}

/** IRET in protected mode (not from virtual-8086 mode, not a task return). */
export function protectedIret(cpu: SoftCpu, size: number): void {
  const r = cpu.regs;
  const g = r.gpr;
  if (r.efer & EFER_LMA) {
    longModeIret(cpu, size, (r.seg.attr[Seg.CS] & 0x2000) !== 0);
    return;
  }
  const old = r.flags.get();
  if (old & FLAG_VM) {
    v86Iret(cpu, size);
    return;
  }
  if (old & FLAG_NT) {
    taskReturn(cpu, r.rip);
    return;
  }
  const cpl = r.cpl;
  const big = (r.seg.attr[Seg.SS] & Attr.Db) !== 0;
  const sp = big ? g.r32[4] >>> 0 : g.r16[8];
  const eip = stackRead(cpu, sp, size);
  const cs = stackRead(cpu, sp + size, size) & 0xffff;
  const popped = stackRead(cpu, sp + 2 * size, size);
  if (size === 4 && popped & FLAG_VM && cpl === 0) {
    iretToV86(cpu, sp);
    return;
  }
  if ((cs & 0xfffc) === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, cs, Vector.GP, 0);
  checkReturnCode(cs, cpl);
  if (eip > descLimit(desc.lo, desc.hi)) raise(Vector.GP, 0);
  const rpl = cs & 3;
  // EFLAGS: IOPL only at CPL 0, IF only when CPL <= IOPL; VM/VIF/VIP kept; 16-bit: low word.
  const iopl = (old >> 12) & 3;
  let mask = size === 2 ? 0x7fd5 : 0x00257fd5 | FLAG_RF;
  if (cpl > 0) mask &= ~FLAG_IOPL;
  if (cpl > iopl) mask &= ~FLAG_IF;
  const newFlags = (old & ~mask) | (popped & mask);
  const clo = desc.lo;
  const chi = desc.hi;
  const caddr = desc.addr;
  if (rpl === cpl) {
    setAccessed(cpu);
    loadCache(cpu, Seg.CS, cs);
    r.rip = eip | 0;
    if (big) g.r32[4] = sp + 3 * size;
    else g.r16[8] = sp + 3 * size;
    r.flags.set(newFlags);
    syncPrivilege(cpu);
    return;
  }
  const newSp = stackRead(cpu, sp + 3 * size, size);
  const ss = stackRead(cpu, sp + 4 * size, size) & 0xffff;
  loadOuterStack(cpu, ss, rpl);
  setAccessed(cpu);
  loadCache(cpu, Seg.SS, ss);
  if (r.seg.attr[Seg.SS] & Attr.Db) g.r32[4] = newSp;
  else g.r16[8] = newSp;
  desc.lo = clo;
  desc.hi = chi;
  desc.addr = caddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, cs);
  r.rip = eip | 0;
  r.flags.set(newFlags);
  invalidateDataSegments(cpu);
  syncPrivilege(cpu);
}
