/**
 * Protected-mode far JMP, far CALL and far RET (SDM Vol. 2 "JMP", "CALL", "RET"; Vol. 3,
 * 5.8): direct transfers to conforming/non-conforming code segments, call gates (same
 * privilege and to an inner level with the TSS stack switch and parameter copy), and
 * returns to the same or an outer level. Every check happens before the first register
 * is committed; pushes go through the uncommitted `frame`.
 */
import { Attr, Seg } from '../../state/segment-cache.js';
import { segmentLinear } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, isSegment, loadCache, readDescriptor,
  setAccessed, SYS_CALL_GATE16, SYS_CALL_GATE32, SYS_TASK_GATE, SYS_TSS16_AVAIL, SYS_TSS32_AVAIL, TYPE_CONFORMING,
} from './descriptor.js';
import { syncPrivilege } from './privilege.js';
import { TaskSource, taskGateTransfer, tssTransfer } from './task-switch.js';
import { checkStackDescriptor, invalidateDataSegments } from './segment-load.js';
import {
  checkTssStackSegment, commitFrameSp, frameOnCurrentStack, frameOnNewStack, framePush, readTssStack, tssStack,
} from './stack-frame.js';

const EFER_LMA = 0x400;

function legacyOnly(cpu: SoftCpu, size: number): void {
  if (cpu.regs.efer & EFER_LMA || size === 8) throw new Error('far transfers in long mode are not implemented in the interpreter yet');
}
const CONFORMING = TYPE_CONFORMING << D_TYPE_SHIFT;


/** Loads CS from `desc` with RPL = cpl and jumps to `offset`. */
function enterCode(cpu: SoftCpu, selector: number, cpl: number, offset: number): void {
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, (selector & 0xfffc) | cpl);
  cpu.regs.rip = offset | 0;
}

function pushReturn(cpu: SoftCpu, size: number): void {
  const r = cpu.regs;
  framePush(cpu, size, r.seg.selector[Seg.CS]);
  framePush(cpu, size, size === 2 ? r.rip & 0xffff : r.rip);
}

/**
 * A far JMP/CALL straight to a code segment (no gate), legacy or IA-32e mode: code, privilege
 * (conforming: DPL <= CPL; else RPL <= CPL and DPL = CPL) and presence, with the selector as
 * the error code (SDM Vol. 3, 5.8.1).
 */
export function checkDirectCodeTarget(selector: number, hi: number, cpl: number): void {
  const code = selector & 0xfffc;
  if (!isCode(hi)) raise(Vector.GP, code);
  if (hi & CONFORMING) {
    if (descDpl(hi) > cpl) raise(Vector.GP, code);
  } else if ((selector & 3) > cpl || descDpl(hi) !== cpl) raise(Vector.GP, code);
  if (!isPresent(hi)) raise(Vector.NP, code);
}

/** Far JMP (`call` false) or far CALL to selector:offset in protected mode. */
export function protectedFarTransfer(cpu: SoftCpu, selector: number, offset: number, size: number, call: boolean): void {
  legacyOnly(cpu, size);
  const r = cpu.regs;
  const cpl = r.cpl;
  const code = selector & 0xfffc;
  if (code === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP, 0);
  const hi = desc.hi;
  if (isSegment(hi)) {
    checkDirectCodeTarget(selector, hi, cpl);
    if (size === 2) offset &= 0xffff;
    if (offset >>> 0 > descLimit(desc.lo, hi)) raise(Vector.GP, 0);
    if (call) {
      frameOnCurrentStack(cpu, 0);
      pushReturn(cpu, size);
      commitFrameSp(cpu);
    }
    enterCode(cpu, selector, cpl, offset);
    return;
  }
  const type = descType(hi);
  if (type === SYS_CALL_GATE16 || type === SYS_CALL_GATE32) callGate(cpu, selector, call);
  else if (type === SYS_TASK_GATE) taskGateTransfer(cpu, selector, call ? TaskSource.CALL : TaskSource.JMP, r.rip);
  else if (type === SYS_TSS16_AVAIL || type === SYS_TSS32_AVAIL) tssTransfer(cpu, selector, call ? TaskSource.CALL : TaskSource.JMP, r.rip);
  else raise(Vector.GP, code);
}

function callGate(cpu: SoftCpu, gateSelector: number, call: boolean): void {
  const r = cpu.regs;
  const cpl = r.cpl;
  const gateCode = gateSelector & 0xfffc;
  const ghi = desc.hi;
  const glo = desc.lo;
  if (descDpl(ghi) < cpl || descDpl(ghi) < (gateSelector & 3)) raise(Vector.GP, gateCode);
  if (!isPresent(ghi)) raise(Vector.NP, gateCode);
  const gate32 = descType(ghi) === SYS_CALL_GATE32;
  const gsize = gate32 ? 4 : 2;
  const offset = gate32 ? ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0 : glo & 0xffff;
  const params = ghi & 0x1f;
  const target = glo >>> 16;
  const tcode = target & 0xfffc;
  if (tcode === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, target, Vector.GP, 0);
  const thi = desc.hi;
  const dpl = descDpl(thi);
  if (!isCode(thi) || dpl > cpl) raise(Vector.GP, tcode);
  if (!isPresent(thi)) raise(Vector.NP, tcode);
  if (offset > descLimit(desc.lo, thi)) raise(Vector.GP, 0);
  const conforming = (thi & CONFORMING) !== 0;
  if (!call) {
    if (!conforming && dpl !== cpl) raise(Vector.GP, tcode);
    enterCode(cpu, target, cpl, offset);
    return;
  }
  if (conforming || dpl === cpl) {
    frameOnCurrentStack(cpu, 0);
    pushReturn(cpu, gsize);
    commitFrameSp(cpu);
    enterCode(cpu, target, cpl, offset);
    return;
  }
  // Inner privilege: new stack from the TSS; the target descriptor is kept in locals
  // because reading the stack descriptor reuses `desc`.
  const tlo = desc.lo;
  const taddr = desc.addr;
  readTssStack(cpu, dpl, 0);
  const newSs = tssStack.ss;
  checkTssStackSegment(cpu, dpl, 0);
  const slo = desc.lo;
  const shi = desc.hi;
  const saddr = desc.addr;
  frameOnNewStack(tssStack.sp, dpl, newSs & 0xfffc);
  const s = r.seg;
  const g = r.gpr;
  const oldBig = (s.attr[Seg.SS] & Attr.Db) !== 0;
  const oldSp = oldBig ? g.r32[4] >>> 0 : g.r16[8];
  framePush(cpu, gsize, s.selector[Seg.SS]);
  framePush(cpu, gsize, gsize === 2 ? oldSp & 0xffff : g.r32[4]);
  for (let i = params - 1; i >= 0; i--) {
    const at = oldBig ? (oldSp + i * gsize) >>> 0 : (oldSp + i * gsize) & 0xffff;
    const lin = segmentLinear(cpu, Seg.SS, at, gsize);
    framePush(cpu, gsize, gsize === 2 ? cpu.mem.read16(lin) : cpu.mem.read32(lin));
  }
  pushReturn(cpu, gsize);
  // Commit: SS:ESP, then CS:EIP at the new CPL.
  desc.lo = slo;
  desc.hi = shi;
  desc.addr = saddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.SS, newSs);
  commitFrameSp(cpu);
  desc.lo = tlo;
  desc.hi = thi;
  desc.addr = taddr;
  enterCode(cpu, target, dpl, offset);
  syncPrivilege(cpu);
}

/**
 * Checks the descriptor of a return CS (far RET, IRET) already read into `desc`: code,
 * RPL >= CPL, DPL rules by conformance, present.
 */
export function checkReturnCode(selector: number, cpl: number): void {
  const hi = desc.hi;
  const code = selector & 0xfffc;
  const rpl = selector & 3;
  if (!isCode(hi) || rpl < cpl) raise(Vector.GP, code);
  if (hi & CONFORMING ? descDpl(hi) > rpl : descDpl(hi) !== rpl) raise(Vector.GP, code);
  if (!isPresent(hi)) raise(Vector.NP, code);
}

/** Reads `size` bytes at `offset` in SS (limit-checked, #SS(0)). */
export function stackRead(cpu: SoftCpu, offset: number, size: number): number {
  const off = cpu.regs.seg.attr[Seg.SS] & Attr.Db ? offset >>> 0 : offset & 0xffff;
  const lin = segmentLinear(cpu, Seg.SS, off, size);
  return size === 2 ? cpu.mem.read16(lin) : cpu.mem.read32(lin) >>> 0;
}

/**
 * Loads SS:ESP for a return to outer privilege `rpl` (far RET, IRET), after the return CS
 * has been checked (the caller loads it from `desc` after this returns).
 */
export function loadOuterStack(cpu: SoftCpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, ss, Vector.GP, 0);
  checkStackDescriptor(ss, rpl, Vector.GP, ss & 0xfffc);
  if (!isPresent(desc.hi)) raise(Vector.SS, ss & 0xfffc);
}

/** Far RET (with `imm` bytes of parameters released) in protected mode. */
export function protectedFarReturn(cpu: SoftCpu, size: number, imm: number): void {
  legacyOnly(cpu, size);
  const r = cpu.regs;
  const g = r.gpr;
  const cpl = r.cpl;
  const big = (r.seg.attr[Seg.SS] & Attr.Db) !== 0;
  const sp = big ? g.r32[4] >>> 0 : g.r16[8];
  const eip = stackRead(cpu, sp, size);
  const cs = stackRead(cpu, sp + size, size) & 0xffff;
  if ((cs & 0xfffc) === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, cs, Vector.GP, 0);
  checkReturnCode(cs, cpl);
  if (eip > descLimit(desc.lo, desc.hi)) raise(Vector.GP, 0);
  const rpl = cs & 3;
  if (rpl === cpl) {
    enterCode(cpu, cs, rpl, eip);
    if (big) g.r32[4] = sp + 2 * size + imm;
    else g.r16[8] = sp + 2 * size + imm;
    return;
  }
  const clo = desc.lo;
  const chi = desc.hi;
  const caddr = desc.addr;
  const newSp = stackRead(cpu, sp + 2 * size + imm, size);
  const ss = stackRead(cpu, sp + 3 * size + imm, size) & 0xffff;
  loadOuterStack(cpu, ss, rpl);
  setAccessed(cpu);
  loadCache(cpu, Seg.SS, ss);
  if (r.seg.attr[Seg.SS] & Attr.Db) g.r32[4] = newSp + imm;
  else g.r16[8] = newSp + imm;
  desc.lo = clo;
  desc.hi = chi;
  desc.addr = caddr;
  enterCode(cpu, cs, rpl, eip);
  invalidateDataSegments(cpu);
  syncPrivilege(cpu);
}
