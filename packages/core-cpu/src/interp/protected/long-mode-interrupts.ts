/**
 * Interrupt and exception delivery in IA-32e mode, and IRET there (SDM Vol. 3, 6.14
 * "Exception and Interrupt Handling in 64-bit Mode"; Vol. 2, "INT n" IA-32e branch, "IRET").
 *
 * The IDT holds 16-byte gates (64-bit interrupt 0xE or trap 0xF; anything else, task gates
 * included, is #GP). The target must be a 64-bit code segment. The stack is IST[n] when the
 * gate names one, else RSPn from the 64-bit TSS on a privilege change (SS becomes a null
 * selector with RPL = new CPL), else the current one; RSP is aligned down to 16, and SS:RSP,
 * RFLAGS, CS, RIP and any error code are always pushed as 8-byte values. Delivery works
 * the same from 64-bit and compatibility mode. Every check and push happens before anything
 * is committed; pushes go through the MMU with the new privilege.
 */
import { Priv } from '../../mmu/paging-walk.js';
import { Attr, ATTR_DPL_SHIFT, Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import {
  D_DB, D_TYPE_SHIFT, desc, descDpl, descLimit, isCode, isPresent, linearBase, loadCache, mmuOf, readDescriptor,
  setAccessed, sysRead32, TYPE_CONFORMING,
} from './descriptor.js';
import { checkReturnCode, loadOuterStack, stackRead } from './far-transfer.js';
import { syncPrivilege } from './privilege.js';
import { invalidateDataSegments } from './segment-load.js';

const FLAG_TF = 0x100;
const FLAG_IF = 0x200;
const FLAG_IOPL = 0x3000;
const FLAG_NT = 0x4000;
const FLAG_RF = 0x10000;
const FLAG_VM = 0x20000;
const FLAG_VIF = 0x80000;
const FLAG_VIP = 0x100000;
const D_L = 1 << 21;
const TWO_32 = 4294967296;
const GATE_INT64 = 0xe;
const GATE_TRAP64 = 0xf;

/** The frame being built: a 64-bit stack pointer (lo unsigned, hi signed) and the write privilege. */
export const lf = { lo: 0, hi: 0, priv: Priv.SUPERVISOR as Priv, errorCode: 0 };

function canonical(hi: number): boolean {
  return (hi << 16) >> 16 === hi;
}

/** Pushes 8 bytes (`size` 8) or 4/2 (IRET/far-call frames of smaller operand sizes) below lf. */
export function lfPush(cpu: SoftCpu, size: number, lo: number, hi: number): void {
  let l = lf.lo - size;
  let h = lf.hi;
  if (l < 0) {
    l += TWO_32;
    h = (h - 1) | 0;
  }
  if (!canonical(h)) raise(Vector.SS, lf.errorCode);
  const lin = h * TWO_32 + l;
  const m = mmuOf(cpu);
  if (m) {
    if ((lin & 0xfff) > 0x1000 - size) {
      m.translateWrite(lin, lf.priv, 0);
      m.translateWrite(lin + size - 1, lf.priv, 0);
    }
    if (size === 2) m.write16(lin, lo & 0xffff, lf.priv);
    else {
      m.write32(lin, lo >>> 0, lf.priv);
      if (size === 8) m.write32(lin + 4, hi >>> 0, lf.priv);
    }
  } else if (size === 2) cpu.mem.write16(lin, lo & 0xffff);
  else {
    cpu.mem.write32(lin, lo >>> 0);
    if (size === 8) cpu.mem.write32(lin + 4, hi >>> 0);
  }
  lf.lo = l;
  lf.hi = h;
}

/** Targets the current RSP (same privilege) for a long-mode frame. */
export function lfOnCurrentStack(cpu: SoftCpu, errorCode: number): void {
  const g = cpu.regs.gpr;
  lf.lo = g.r32[4] >>> 0;
  lf.hi = g.hi[4];
  lf.priv = cpu.regs.cpl === 3 ? Priv.USER : Priv.SUPERVISOR;
  lf.errorCode = errorCode;
}

export function lfAt(lo: number, hi: number, cpl: number, errorCode: number): void {
  lf.lo = lo >>> 0;
  lf.hi = hi;
  lf.priv = cpl === 3 ? Priv.USER : Priv.SUPERVISOR;
  lf.errorCode = errorCode;
}

export function lfCommit(cpu: SoftCpu): void {
  const g = cpu.regs.gpr;
  g.r32[4] = lf.lo | 0;
  g.hi[4] = lf.hi;
}

/** Reads the 8-byte stack pointer at `offset` in the 64-bit TSS into lf (#TS(TR | ext) past its limit). */
export function readTss64Stack(cpu: SoftCpu, offset: number, ext: number): void {
  const s = cpu.regs.seg;
  if (offset + 7 > s.limit[Seg.TR] >>> 0) raise(Vector.TS, (s.selector[Seg.TR] & 0xfffc) | ext);
  const base = linearBase(s.base[Seg.TR], s.baseHi[Seg.TR]);
  lf.lo = sysRead32(cpu, base + offset);
  lf.hi = sysRead32(cpu, base + offset + 4) | 0;
}

/** A null SS with RPL = `cpl`, as an inner-privilege transfer in IA-32e mode leaves it. */
export function loadNullStack(cpu: SoftCpu, cpl: number): void {
  const s = cpu.regs.seg;
  s.selector[Seg.SS] = cpl;
  s.base[Seg.SS] = 0;
  s.baseHi[Seg.SS] = 0;
  s.limit[Seg.SS] = 0;
  // Usable for 64-bit stack accesses (which ignore it); DPL keeps the privilege readable.
  s.attr[Seg.SS] = Attr.Unusable | (cpl << ATTR_DPL_SHIFT);
}

/**
 * Delivers `vector` through the long-mode IDT; the pushed RIP is the current regs.rip/ripHi
 * (the faulting instruction for faults, the next one for traps, INT n and interrupts).
 */
export function longModeInterrupt(cpu: SoftCpu, vector: number, errorCode: number, software: boolean, fault: boolean): void {
  const r = cpu.regs;
  const ext = software ? 0 : 1;
  const idtCode = vector * 8 + 2 + ext;
  if (vector * 16 + 15 > r.idtLimit) raise(Vector.GP, idtCode);
  const at = linearBase(r.idtBase, r.idtBaseHi) + vector * 16;
  const glo = sysRead32(cpu, at);
  const ghi = sysRead32(cpu, at + 4);
  const offHi = sysRead32(cpu, at + 8) | 0;
  const type = (ghi >>> 8) & 0x1f; // includes S: a code/data descriptor is not a gate
  if (type !== GATE_INT64 && type !== GATE_TRAP64) raise(Vector.GP, idtCode);
  const cpl = r.cpl;
  if (software && descDpl(ghi) < cpl) raise(Vector.GP, vector * 8 + 2);
  if (!isPresent(ghi)) raise(Vector.NP, idtCode);
  const offLo = ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0;
  const ist = ghi & 7;
  const target = glo >>> 16;
  const tcode = target & 0xfffc;
  if (tcode === 0) raise(Vector.GP, ext);
  readDescriptor(cpu, target, Vector.GP, ext);
  const thi = desc.hi;
  const dpl = descDpl(thi);
  if (!isCode(thi) || !(thi & D_L) || thi & D_DB || dpl > cpl) raise(Vector.GP, tcode | ext);
  if (!isPresent(thi)) raise(Vector.NP, tcode | ext);
  if (!canonical(offHi)) raise(Vector.GP, ext);
  const inner = (thi & (TYPE_CONFORMING << D_TYPE_SHIFT)) === 0 && dpl < cpl;
  const newCpl = inner ? dpl : cpl;
  const s = r.seg;
  const g = r.gpr;
  const oldSs = s.selector[Seg.SS];
  const oldRsp = g.r32[4];
  const oldRspHi = g.hi[4];
  if (ist !== 0) readTss64Stack(cpu, 0x24 + (ist - 1) * 8, ext);
  else if (inner) readTss64Stack(cpu, 4 + dpl * 8, ext);
  else {
    lf.lo = oldRsp >>> 0;
    lf.hi = oldRspHi;
  }
  if (!canonical(lf.hi)) raise(Vector.SS, ext);
  lfAt(lf.lo & ~0xf, lf.hi, newCpl, ext);
  const flags = r.flags.get();
  lfPush(cpu, 8, oldSs, 0);
  lfPush(cpu, 8, oldRsp, oldRspHi);
  lfPush(cpu, 8, fault ? flags | FLAG_RF : flags, 0);
  lfPush(cpu, 8, s.selector[Seg.CS], 0);
  lfPush(cpu, 8, r.rip, r.ripHi);
  if (errorCode >= 0) lfPush(cpu, 8, errorCode, 0);
  // Commit.
  if (inner) loadNullStack(cpu, dpl);
  lfCommit(cpu);
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, tcode | newCpl);
  r.rip = offLo | 0;
  r.ripHi = offHi;
  r.flags.set(flags & ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (type === GATE_INT64 ? FLAG_IF : 0)));
  if (inner) syncPrivilege(cpu);
}

/** Reads `size` bytes at rSP + offset: 64-bit stack addressing, or SS:ESP from compatibility mode. */
export function returnStackRead(cpu: SoftCpu, from64: boolean, offset: number, size: number): number {
  if (from64) return stackRead64(cpu, offset, size);
  cpu.valueHi = 0;
  if (size === 8) throw new Error('64-bit operand size outside 64-bit mode');
  return stackRead(cpu, (cpu.regs.gpr.r32[4] >>> 0) + offset, size);
}

/** Reads `size` bytes at RSP + offset (64-bit stack addressing, #SS(0) when not canonical). */
export function stackRead64(cpu: SoftCpu, offset: number, size: number): number {
  const g = cpu.regs.gpr;
  let lo = (g.r32[4] >>> 0) + offset;
  let hi = g.hi[4];
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi = (hi + 1) | 0;
  }
  if (!canonical(hi)) raise(Vector.SS, 0);
  const lin = hi * TWO_32 + lo;
  if (size === 8) {
    const v = cpu.mem.read32(lin);
    cpu.valueHi = cpu.mem.read32(lin + 4) | 0;
    return v;
  }
  cpu.valueHi = 0;
  return size === 2 ? cpu.mem.read16(lin) : cpu.mem.read32(lin) >>> 0;
}

/**
 * IRET in IA-32e mode with operand size `size` (IRETQ = 8). From 64-bit mode SS:RSP are
 * always popped; from compatibility mode only on a return to an outer level. NT = 1 is
 * #GP(0) (no task returns in IA-32e mode); the VM flag is never loaded.
 */
export function longModeIret(cpu: SoftCpu, size: number, from64: boolean): void {
  const r = cpu.regs;
  const g = r.gpr;
  const old = r.flags.get();
  if (old & FLAG_NT) raise(Vector.GP, 0);
  const cpl = r.cpl;
  const ripLo = returnStackRead(cpu, from64, 0, size);
  const ripHi = cpu.valueHi;
  const cs = returnStackRead(cpu, from64, size, size) & 0xffff;
  const popped = returnStackRead(cpu, from64, 2 * size, size);
  if ((cs & 0xfffc) === 0) raise(Vector.GP, 0);
  readDescriptor(cpu, cs, Vector.GP, 0);
  checkReturnCode(cs, cpl);
  const chi = desc.hi;
  const clo = desc.lo;
  const caddr = desc.addr;
  const to64 = (chi & D_L) !== 0;
  if (to64 && chi & D_DB) raise(Vector.GP, cs & 0xfffc);
  if (to64) {
    if (!canonical(ripHi)) raise(Vector.GP, 0);
  } else if (ripLo > descLimit(clo, chi)) raise(Vector.GP, 0);
  const rpl = cs & 3;
  const iopl = (old >> 12) & 3;
  let mask = size === 2 ? 0x7fd5 : 0x00257fd5 | FLAG_RF;
  if (cpl === 0 && size !== 2) mask |= FLAG_VIF | FLAG_VIP;
  if (cpl > 0) mask &= ~FLAG_IOPL;
  if (cpl > iopl) mask &= ~FLAG_IF;
  const newFlags = (old & ~mask) | (popped & mask);
  const popStack = from64 || rpl > cpl;
  let spLo = 0;
  let spHi = 0;
  let ss = 0;
  if (popStack) {
    spLo = returnStackRead(cpu, from64, 3 * size, size);
    spHi = size === 8 ? cpu.valueHi : 0;
    ss = returnStackRead(cpu, from64, 4 * size, size) & 0xffff;
    // A null SS is allowed when returning to 64-bit code at CPL < 3 (SDM "IRET", IA-32e mode).
    if ((ss & 0xfffc) === 0 && to64 && rpl !== 3) {
      if ((ss & 3) !== rpl) raise(Vector.GP, 0);
    } else {
      loadOuterStack(cpu, ss, rpl);
      setAccessed(cpu);
    }
  }
  // Commit: SS:RSP, then CS:RIP and RFLAGS.
  if (popStack) {
    if ((ss & 0xfffc) === 0) loadNullStack(cpu, rpl);
    else loadCache(cpu, Seg.SS, ss);
    g.r32[4] = spLo | 0;
    g.hi[4] = spHi;
  } else {
    // Same level from compatibility mode: ESP (or SP with a 16-bit stack) moves.
    if (r.seg.attr[Seg.SS] & 0x4000) g.r32[4] = (g.r32[4] >>> 0) + 3 * size;
    else g.r16[8] = g.r16[8] + 3 * size;
  }
  desc.lo = clo;
  desc.hi = chi;
  desc.addr = caddr;
  setAccessed(cpu);
  loadCache(cpu, Seg.CS, cs);
  r.rip = ripLo | 0;
  r.ripHi = to64 ? ripHi : 0;
  r.flags.set(newFlags & ~FLAG_VM);
  if (rpl > cpl) invalidateDataSegments(cpu);
  syncPrivilege(cpu);
}
