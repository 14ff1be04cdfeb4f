/**
 * Hardware task switches (SDM Vol. 3, 7.3 "Task Switching"; Vol. 2 "JMP", "CALL", "IRET",
 * "INT n"): JMP/CALL far to a TSS or task gate, interrupts and exceptions through a task gate
 * in the IDT, and IRET with EFLAGS.NT (return to the back-linked task). 32-bit (type 9/11) and
 * 16-bit (type 1/3) TSS formats (SDM Vol. 3, Figures 7-2 and 7-11).
 *
 * Order, as in SDM 7.3 steps 1-14: the new TSS descriptor is checked (#GP/#TS/#NP with the
 * selector as error code) before anything changes; then the old task's state is saved, busy
 * bits and the back-link/NT are updated, TR, CR0.TS, CR3 and every register are loaded, and
 * only then are the new LDT and segment descriptors checked: a fault there is raised in the
 * context of the new task (#TS(selector), #NP, #SS), as the SDM specifies.
 */
import { Attr, Seg } from '../../state/segment-cache.js';
import { CpuFault, raise, Vector } from '../faults.js';
import { deliverException } from '../interrupts.js';
import { noteFlagsLoaded, taskSwitchTrap } from '../debug-traps.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, isSegment, loadCache, loadNull, readDescriptor,
  setAccessed, sysRead16, sysRead32, sysWrite32, sysWrite8, SYS_LDT, SYS_TSS16_AVAIL, SYS_TSS16_BUSY,
  SYS_TSS32_AVAIL, SYS_TSS32_BUSY, TYPE_CONFORMING, TYPE_READABLE,
} from './descriptor.js';
import { CR0_TS, syncPrivilege, writeCr3 } from './privilege.js';
import { isWritableData } from './segment-load.js';
import { framePush, frameOnCurrentStack, commitFrameSp } from './stack-frame.js';
import { loadV86Segment } from './v86.js';

/** Why the task switch happens: decides busy bits, the back-link and NT (SDM Vol. 3, Table 7-2). */
export const TaskSource = { JMP: 0, CALL: 1, IRET: 2, INT: 3 } as const;
export type TaskSource = (typeof TaskSource)[keyof typeof TaskSource];

const FLAG_NT = 0x4000;
const FLAG_VM = 0x20000;
const CR0_PG = 0x80000000;
const BUSY = 2 << D_TYPE_SHIFT;

/** The 32-bit TSS's minimum limit (0x67) and the 16-bit one's (0x2b) (SDM Vol. 3, 7.2.2). */
const TSS32_MIN_LIMIT = 0x67;
const TSS16_MIN_LIMIT = 0x2b;

/** Register order in the TSS: EAX ECX EDX EBX ESP EBP ESI EDI; segments ES CS SS DS FS GS. */
const SEG_ORDER = [Seg.ES, Seg.CS, Seg.SS, Seg.DS, Seg.FS, Seg.GS] as const;

// Scratch for the incoming task's image (no allocation per switch).
const gprs = new Int32Array(8);
const sels = new Uint16Array(6);

/**
 * JMP/CALL far through a task gate (`desc` holds the gate, named by `gateSelector`): the gate's
 * DPL must admit CPL and RPL (#GP(gate)), it must be present (#NP(gate)), then the TSS it
 * names is switched to.
 */
export function taskGateTransfer(cpu: SoftCpu, gateSelector: number, source: TaskSource, returnIp: number): void {
  const hi = desc.hi;
  const code = gateSelector & 0xfffc;
  const dpl = descDpl(hi);
  if (dpl < cpu.regs.cpl || dpl < (gateSelector & 3)) raise(Vector.GP, code);
  if (!isPresent(hi)) raise(Vector.NP, code);
  switchTask(cpu, (desc.lo >>> 16) & 0xffff, source, returnIp, -1, 0);
}

/** JMP/CALL far directly to a TSS descriptor (in `desc`): DPL must admit CPL and RPL. */
export function tssTransfer(cpu: SoftCpu, selector: number, source: TaskSource, returnIp: number): void {
  const dpl = descDpl(desc.hi);
  if (dpl < cpu.regs.cpl || dpl < (selector & 3)) raise(Vector.GP, selector & 0xfffc);
  switchTask(cpu, selector, source, returnIp, -1, 0);
}

/** IRET with EFLAGS.NT = 1: back to the task whose selector is in the current TSS's link field. */
export function taskReturn(cpu: SoftCpu, returnIp: number): void {
  const link = sysRead16(cpu, cpu.regs.seg.base[Seg.TR]);
  switchTask(cpu, link, TaskSource.IRET, returnIp, -1, 0);
}

/** An interrupt or exception through a task gate in the IDT; `errorCode` < 0 pushes none. */
export function interruptTaskGate(cpu: SoftCpu, tssSelector: number, returnIp: number, errorCode: number, ext: number): void {
  switchTask(cpu, tssSelector, TaskSource.INT, returnIp, errorCode, ext);
}

/** True when `type` is a TSS (16 or 32-bit, available or busy). */
function isTss(type: number): boolean {
  return type === SYS_TSS16_AVAIL || type === SYS_TSS16_BUSY || type === SYS_TSS32_AVAIL || type === SYS_TSS32_BUSY;
}

/**
 * The task switch proper. `returnIp` is the EIP saved in the old TSS (the next instruction for
 * JMP/CALL/IRET/INT n, the faulting one for a fault); `ext` is OR-ed into error codes.
 */
export function switchTask(cpu: SoftCpu, selector: number, source: TaskSource, returnIp: number, errorCode: number, ext: number): void {
  const r = cpu.regs;
  const s = r.seg;
  const code = selector & 0xfffc;
  const badVector = source === TaskSource.IRET ? Vector.TS : Vector.GP;
  // Step 1-3: the new TSS descriptor, which only the GDT may hold.
  if (selector & 4 || code === 0) raise(badVector, code | ext);
  readDescriptor(cpu, selector, badVector, ext);
  const nlo = desc.lo;
  const nhi = desc.hi;
  const naddr = desc.addr;
  const ntype = descType(nhi);
  if (isSegment(nhi) || !isTss(ntype)) raise(badVector, code | ext);
  const nbusy = (ntype & 2) !== 0;
  if (source === TaskSource.IRET ? !nbusy : nbusy) raise(badVector, code | ext);
  if (!isPresent(nhi)) raise(Vector.NP, code | ext);
  const n32 = ntype === SYS_TSS32_AVAIL || ntype === SYS_TSS32_BUSY;
  const nbase = ((nlo >>> 16) | ((nhi & 0xff) << 16) | (nhi & 0xff000000)) >>> 0;
  const nlimit = descLimit(nlo, nhi);
  if (nlimit < (n32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT)) raise(Vector.TS, code | ext);

  // Step 4-8: the old task's state into its TSS (the current TR), busy bit, NT.
  const oldSel = s.selector[Seg.TR];
  const obase = s.base[Seg.TR] >>> 0;
  const otype = s.attr[Seg.TR] & 0xf;
  const o32 = otype === SYS_TSS32_AVAIL || otype === SYS_TSS32_BUSY;
  let oflags = r.flags.get();
  if (source === TaskSource.IRET) oflags &= ~FLAG_NT;
  if (source === TaskSource.JMP || source === TaskSource.IRET) clearBusy(cpu, oldSel);
  const g = r.gpr;
  if (o32) {
    sysWrite32(cpu, obase + 0x20, returnIp);
    sysWrite32(cpu, obase + 0x24, oflags);
    for (let i = 0; i < 8; i++) sysWrite32(cpu, obase + 0x28 + i * 4, g.r32[i]);
    for (let i = 0; i < 6; i++) sysWrite16(cpu, obase + 0x48 + i * 4, s.selector[SEG_ORDER[i]]);
  } else {
    sysWrite16(cpu, obase + 0x0e, returnIp);
    sysWrite16(cpu, obase + 0x10, oflags);
    for (let i = 0; i < 8; i++) sysWrite16(cpu, obase + 0x12 + i * 2, g.r16[i << 1]);
    for (let i = 0; i < 4; i++) sysWrite16(cpu, obase + 0x22 + i * 2, s.selector[SEG_ORDER[i]]);
  }

  // Step 9-10: read the new image, back-link and busy bit for CALL/INT.
  let eip: number;
  let nflags: number;
  let cr3 = 0;
  let ldt: number;
  if (n32) {
    cr3 = sysRead32(cpu, nbase + 0x1c);
    eip = sysRead32(cpu, nbase + 0x20);
    nflags = sysRead32(cpu, nbase + 0x24);
    for (let i = 0; i < 8; i++) gprs[i] = sysRead32(cpu, nbase + 0x28 + i * 4);
    for (let i = 0; i < 6; i++) sels[i] = sysRead16(cpu, nbase + 0x48 + i * 4);
    ldt = sysRead16(cpu, nbase + 0x60);
  } else {
    eip = sysRead16(cpu, nbase + 0x0e);
    nflags = sysRead16(cpu, nbase + 0x10);
    for (let i = 0; i < 8; i++) gprs[i] = sysRead16(cpu, nbase + 0x12 + i * 2);
    for (let i = 0; i < 4; i++) sels[i] = sysRead16(cpu, nbase + 0x22 + i * 2);
    sels[4] = 0;
    sels[5] = 0;
    ldt = sysRead16(cpu, nbase + 0x2a);
  }
  if (source === TaskSource.CALL || source === TaskSource.INT) {
    sysWrite16(cpu, nbase, oldSel);
    nflags |= FLAG_NT;
  }
  if (source !== TaskSource.IRET) {
    desc.lo = nlo;
    desc.hi = nhi;
    desc.addr = naddr;
    setBusy(cpu);
  }

  // Step 11-12: commit TR, CR0.TS, CR3, registers. From here faults belong to the new task.
  desc.lo = nlo;
  desc.hi = nhi | BUSY;
  loadCache(cpu, Seg.TR, selector);
  r.cr0 |= CR0_TS;
  if (n32 && r.cr0 & CR0_PG) writeCr3(cpu, cr3);
  r.rip = n32 ? eip | 0 : eip & 0xffff;
  // A 16-bit TSS has only FLAGS: the upper half of EFLAGS is cleared (no VM from a 16-bit task).
  r.flags.set(n32 ? nflags : nflags & 0xffff);
  for (let i = 0; i < 8; i++) {
    if (n32) {
      g.r32[i] = gprs[i];
      g.hi[i] = 0;
    } else g.r16[i << 1] = gprs[i];
  }
  // Selectors first, with the descriptor caches marked unusable until checked (so a fault on a
  // later one leaves no stale base from the old task in use).
  for (let i = 0; i < 6; i++) s.selector[SEG_ORDER[i]] = sels[i];
  s.selector[Seg.LDTR] = ldt;

  // Step 13: LDT, then the segment registers. A fault here belongs to the new task: it is
  // delivered now, with the new task's EIP as the return address (the run loop would rewind
  // to the old task's instruction), and the switching instruction completes.
  try {
    loadTaskLdt(cpu, ldt, ext);
    if (nflags & FLAG_VM && n32) {
      for (let i = 0; i < 6; i++) loadV86Segment(cpu, SEG_ORDER[i], sels[i]);
    } else loadTaskSegments(cpu, ext);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    syncPrivilege(cpu);
    deliverException(cpu, e);
    return;
  }
  syncPrivilege(cpu);
  noteFlagsLoaded(cpu);
  // The T flag (bit 0 of the 32-bit TSS's word at 0x64): #DB with DR6.BT once the switch is
  // done, before the new task's first instruction (SDM Vol. 3, 17.3.1.5).
  const debugTrap = n32 && (sysRead16(cpu, nbase + 0x64) & 1) !== 0;

  // Step 14: an exception's error code goes on the new task's stack.
  if (errorCode >= 0) {
    frameOnCurrentStack(cpu, ext);
    framePush(cpu, n32 ? 4 : 2, errorCode);
    commitFrameSp(cpu);
  }
  if (debugTrap) taskSwitchTrap(cpu);
}

function sysWrite16(cpu: SoftCpu, linear: number, v: number): void {
  sysWrite8(cpu, linear, v);
  sysWrite8(cpu, linear + 1, v >>> 8);
}

/** Sets the busy bit of the TSS descriptor in `desc`. */
function setBusy(cpu: SoftCpu): void {
  desc.hi |= BUSY;
  sysWrite8(cpu, desc.addr + 5, desc.hi >>> 8);
}

/** Clears the busy bit of the (GDT) TSS descriptor `selector`. */
function clearBusy(cpu: SoftCpu, selector: number): void {
  const at = (cpu.regs.gdtBase + (selector & 0xfff8) + 5) >>> 0;
  if ((selector & 0xfff8) + 7 > cpu.regs.gdtLimit) return;
  const access = sysRead32(cpu, at - 1) >>> 8;
  sysWrite8(cpu, at, access & ~2);
}

/** The new task's LDT: null is allowed; otherwise a present LDT descriptor in the GDT (#TS). */
function loadTaskLdt(cpu: SoftCpu, ldt: number, ext: number): void {
  const code = ldt & 0xfffc;
  if (code === 0) {
    loadNull(cpu, Seg.LDTR, ldt);
    return;
  }
  cpu.regs.seg.attr[Seg.LDTR] = Attr.Unusable;
  if (ldt & 4) raise(Vector.TS, code | ext);
  readDescriptor(cpu, ldt, Vector.TS, ext);
  if (isSegment(desc.hi) || descType(desc.hi) !== SYS_LDT) raise(Vector.TS, code | ext);
  if (!isPresent(desc.hi)) raise(Vector.TS, code | ext);
  loadCache(cpu, Seg.LDTR, ldt);
}

/**
 * CS, SS, then DS/ES/FS/GS of the new task in protected mode (SDM Vol. 3, 7.3 step 13 and
 * Table 7-1): CPL is the new CS's RPL; a bad selector or descriptor is #TS(selector), a
 * non-present data segment #NP(selector), a non-present stack #SS(selector).
 */
function loadTaskSegments(cpu: SoftCpu, ext: number): void {
  const s = cpu.regs.seg;
  for (const seg of SEG_ORDER) s.attr[seg] = Attr.Unusable;
  const cs = s.selector[Seg.CS];
  const cpl = cs & 3;
  // CS.
  const csCode = cs & 0xfffc;
  if (csCode === 0) raise(Vector.TS, ext);
  readDescriptor(cpu, cs, Vector.TS, ext);
  const chi = desc.hi;
  if (!isCode(chi)) raise(Vector.TS, csCode | ext);
  if (chi & (TYPE_CONFORMING << D_TYPE_SHIFT) ? descDpl(chi) > cpl : descDpl(chi) !== cpl) raise(Vector.TS, csCode | ext);
  if (!isPresent(chi)) raise(Vector.NP, csCode | ext);
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, cs);
  // SS.
  const ss = s.selector[Seg.SS];
  const ssCode = ss & 0xfffc;
  if (ssCode === 0) raise(Vector.TS, ext);
  readDescriptor(cpu, ss, Vector.TS, ext);
  if ((ss & 3) !== cpl || !isWritableData(desc.hi) || descDpl(desc.hi) !== cpl) raise(Vector.TS, ssCode | ext);
  if (!isPresent(desc.hi)) raise(Vector.SS, ssCode | ext);
  setAccessed(cpu);
  loadCache(cpu, Seg.SS, ss);
  // Data segments.
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const sel = s.selector[seg];
    const code = sel & 0xfffc;
    if (code === 0) {
      loadNull(cpu, seg, sel);
      continue;
    }
    readDescriptor(cpu, sel, Vector.TS, ext);
    const hi = desc.hi;
    if (!isSegment(hi) || (isCode(hi) && !(hi & (TYPE_READABLE << D_TYPE_SHIFT)))) raise(Vector.TS, code | ext);
    const conformingCode = isCode(hi) && (hi & (TYPE_CONFORMING << D_TYPE_SHIFT)) !== 0;
    if (!conformingCode && ((sel & 3) > descDpl(hi) || cpl > descDpl(hi))) raise(Vector.TS, code | ext);
    if (!isPresent(hi)) raise(Vector.NP, code | ext);
    setAccessed(cpu);
    loadCache(cpu, seg, sel);
  }
}
