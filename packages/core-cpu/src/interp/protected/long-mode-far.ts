/**
 * Far JMP, far CALL and far RET in IA-32e mode, from 64-bit or compatibility code (SDM Vol. 2
 * "JMP", "CALL", "RET", IA-32e branches; Vol. 3, 5.8.3.1 "IA-32e Mode Call Gates").
 *
 * A code-segment target may be 64-bit (L = 1: the offset must be canonical) or compatibility
 * (L = 0: the offset is limit-checked); L = 1 with D = 1 is #GP. Call gates are 16 bytes and
 * lead only to 64-bit code; a CALL through one to an inner level takes RSPn from the 64-bit
 * TSS, loads a null SS (RPL = new CPL) and pushes SS, RSP, CS, RIP as 8-byte values (no
 * parameter copy). Task gates and TSS targets are #GP in IA-32e mode. As elsewhere, every
 * check and push happens before the first register is committed.
 */
import { Attr, Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  D_DB, D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, isSegment, loadCache, readDescriptor,
  readDescriptorUpper, setAccessed, SYS_CALL_GATE32, TYPE_CONFORMING,
} from './descriptor.js';
import { checkDirectCodeTarget, checkReturnCode, loadOuterStack } from './far-transfer.js';
import {
  lf, lfAt, lfCommit, lfOnCurrentStack, lfPush, loadNullStack, readTss64Stack, returnStackRead,
} from './long-mode-interrupts.js';
import { syncPrivilege } from './privilege.js';
import { invalidateDataSegments } from './segment-load.js';
import { commitFrameSp, frameOnCurrentStack, framePush } from './stack-frame.js';

const D_L = 1 << 21;
const CONFORMING = TYPE_CONFORMING << D_TYPE_SHIFT;
const TWO_32 = 4294967296;

function canonical(hi: number): boolean {
  return (hi << 16) >> 16 === hi;
}

function in64(cpu: SoftCpu): boolean {
  return (cpu.regs.seg.attr[Seg.CS] & Attr.L) !== 0;
}

/** Checks the target offset for the code segment in `desc` (#GP(0)); returns true for 64-bit code. */
function checkTarget(selector: number, lo: number, hi: number): boolean {
  const h = desc.hi;
  if (h & D_L) {
    if (h & D_DB) raise(Vector.GP, selector & 0xfffc);
    if (!canonical(hi)) raise(Vector.GP, 0);
    return true;
  }
  if (hi !== 0 || lo > descLimit(desc.lo, h)) raise(Vector.GP, 0);
  return false;
}

function enterCode(cpu: SoftCpu, selector: number, cpl: number, lo: number, hi: number, to64: boolean): void {
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, (selector & 0xfffc) | cpl);
  cpu.regs.rip = lo | 0;
  cpu.regs.ripHi = to64 ? hi : 0;
}

/** Pushes the return CS:rIP of `size` bytes each on the current stack and commits rSP. */
function pushReturn(cpu: SoftCpu, size: number): void {
  const r = cpu.regs;
  if (in64(cpu)) {
    lfOnCurrentStack(cpu, 0);
    lfPush(cpu, size, r.seg.selector[Seg.CS], 0);
    lfPush(cpu, size, size === 2 ? r.rip & 0xffff : r.rip, size === 8 ? r.ripHi : 0);
    lfCommit(cpu);
  } else {
    frameOnCurrentStack(cpu, 0);
    framePush(cpu, size, r.seg.selector[Seg.CS]);
    framePush(cpu, size, size === 2 ? r.rip & 0xffff : r.rip);
    commitFrameSp(cpu);
  }
}

/**
 * Far JMP (`call` false) or CALL to selector:offset (hi:lo; hi is 0 unless the operand
 * was m16:64) with operand size `size`, in IA-32e mode.
 */
export function longModeFarTransfer(cpu: SoftCpu, selector: number, lo: number, hi: number, size: number, call: boolean): void {
  const r = cpu.regs;
  const cpl = r.cpl;
  const code = selector & 0xfffc;
  if (code === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP, 0);
  const h = desc.hi;
  if (isSegment(h)) {
    checkDirectCodeTarget(selector, h, cpl);
    if (size === 2) lo &= 0xffff;
    const to64 = checkTarget(selector, lo >>> 0, hi);
    if (call) pushReturn(cpu, size);
    enterCode(cpu, selector, cpl, lo, hi, to64);
    return;
  }
  if (descType(h) !== SYS_CALL_GATE32) raise(Vector.GP, code);
  callGate64(cpu, selector, call);
}

function callGate64(cpu: SoftCpu, gateSelector: number, call: boolean): void {
  const r = cpu.regs;
  const cpl = r.cpl;
  const gateCode = gateSelector & 0xfffc;
  const ghi = desc.hi;
  const glo = desc.lo;
  if (descDpl(ghi) < cpl || descDpl(ghi) < (gateSelector & 3)) raise(Vector.GP, gateCode);
  if (!isPresent(ghi)) raise(Vector.NP, gateCode);
  readDescriptorUpper(cpu, gateSelector);
  const offLo = ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0;
  const offHi = desc.hi2;
  const target = glo >>> 16;
  const tcode = target & 0xfffc;
  if (tcode === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, target, Vector.GP, 0);
  const thi = desc.hi;
  const dpl = descDpl(thi);
  if (!isCode(thi) || !(thi & D_L) || thi & D_DB || dpl > cpl) raise(Vector.GP, tcode);
  if (!isPresent(thi)) raise(Vector.NP, tcode);
  if (!canonical(offHi)) raise(Vector.GP, 0);
  const conforming = (thi & CONFORMING) !== 0;
  if (!call) {
    if (!conforming && dpl !== cpl) raise(Vector.GP, tcode);
    enterCode(cpu, target, cpl, offLo, offHi, true);
    return;
  }
  const g = r.gpr;
  const from64 = in64(cpu);
  const oldSs = r.seg.selector[Seg.SS];
  const oldRsp = g.r32[4];
  const oldRspHi = from64 ? g.hi[4] : 0;
  const inner = !conforming && dpl < cpl;
  if (inner) {
    readTss64Stack(cpu, 4 + dpl * 8, 0);
    if (!canonical(lf.hi)) raise(Vector.SS, 0);
    lfAt(lf.lo, lf.hi, dpl, 0);
    lfPush(cpu, 8, oldSs, 0);
    lfPush(cpu, 8, oldRsp, oldRspHi);
  } else {
    lfAt(oldRsp, oldRspHi, cpl, 0);
  }
  lfPush(cpu, 8, r.seg.selector[Seg.CS], 0);
  lfPush(cpu, 8, r.rip, from64 ? r.ripHi : 0);
  if (inner) loadNullStack(cpu, dpl);
  lfCommit(cpu);
  enterCode(cpu, target, inner ? dpl : cpl, offLo, offHi, true);
  if (inner) syncPrivilege(cpu);
}

/** Far RET (releasing `release` bytes of parameters) with operand size `size` in IA-32e mode. */
export function longModeFarReturn(cpu: SoftCpu, size: number, release: number): void {
  const r = cpu.regs;
  const g = r.gpr;
  const cpl = r.cpl;
  const from64 = in64(cpu);
  const lo = returnStackRead(cpu, from64, 0, size);
  const hi = size === 8 ? cpu.valueHi : 0;
  const cs = returnStackRead(cpu, from64, size, size) & 0xffff;
  if ((cs & 0xfffc) === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, cs, Vector.GP, 0);
  checkReturnCode(cs, cpl);
  const to64 = checkTarget(cs, lo, hi);
  const rpl = cs & 3;
  if (rpl === cpl) {
    enterCode(cpu, cs, rpl, lo, hi, to64);
    advanceSp(cpu, from64, 2 * size + release);
    return;
  }
  const clo = desc.lo;
  const chi = desc.hi;
  const caddr = desc.addr;
  const spLo = returnStackRead(cpu, from64, 2 * size + release, size);
  const spHi = size === 8 ? cpu.valueHi : 0;
  const ss = returnStackRead(cpu, from64, 3 * size + release, size) & 0xffff;
  const nullSs = (ss & 0xfffc) === 0 && to64 && rpl !== 3;
  if (!nullSs) {
    loadOuterStack(cpu, ss, rpl);
    setAccessed(cpu);
    loadCache(cpu, Seg.SS, ss);
  } else loadNullStack(cpu, rpl);
  g.r32[4] = spLo | 0;
  g.hi[4] = spHi;
  advanceSp(cpu, to64 || size === 8, release);
  desc.lo = clo;
  desc.hi = chi;
  desc.addr = caddr;
  enterCode(cpu, cs, rpl, lo, hi, to64);
  invalidateDataSegments(cpu);
  syncPrivilege(cpu);
}

/** rSP += n: all 64 bits in 64-bit mode, else ESP (SP with a 16-bit stack). */
function advanceSp(cpu: SoftCpu, wide: boolean, n: number): void {
  const g = cpu.regs.gpr;
  if (wide) {
    const sum = (g.r32[4] >>> 0) + n;
    g.r32[4] = sum | 0;
    if (sum >= TWO_32) g.hi[4] = (g.hi[4] + 1) | 0;
  } else if (cpu.regs.seg.attr[Seg.SS] & Attr.Db) g.r32[4] = g.r32[4] + n;
  else g.r16[8] = g.r16[8] + n;
}
