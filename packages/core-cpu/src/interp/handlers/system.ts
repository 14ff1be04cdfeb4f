/**
 * System instructions (SDM Vol. 2 pages of each; Vol. 3 chapters 2, 3, 5): descriptor-table
 * registers (LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR), the machine status word (LMSW/SMSW,
 * CLTS), MOV to/from CR0/CR2/CR3/CR4 and DR0-DR7, INVLPG, and the descriptor probes
 * LAR/LSL/VERR/VERW and ARPL. Privileged ones raise #GP(0) at CPL > 0 and work in real
 * mode (CPL 0), which is how a boot loader enters protected mode. Debug registers are only
 * stored: no breakpoints are raised yet.
 *
 * IA-32e mode (SDM Vol. 3, 2.5, 3.5.2, 7.2.3): in 64-bit mode LGDT/LIDT/SGDT/SIDT use a 10-byte
 * operand (64-bit base, which must be canonical), MOV CRn/DRn move 64 bits (CR8 is the TPR),
 * LLDT/LTR read 16-byte descriptors (LTR accepts only a 64-bit TSS), and SWAPGS exchanges
 * GS.base with IA32_KERNEL_GS_BASE. INVD/WBINVD are CPL 0 no-ops (no caches to manage),
 * ENDBR32/ENDBR64 are hint NOPs (no CET).
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { effectiveOffset, linear64, memoryLinear, readE, readMem, setReg64, writeE, writeMem } from '../addressing.js';
import { cpuEnvironmentOf } from '../../cpu-model/cpu-environment.js';
import { raise, Vector } from '../faults.js';
import {
  D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, isSegment, loadCache, loadNull, mmuOf,
  readDescriptor, readDescriptorUpper, sysWrite8, SYS_CALL_GATE16, SYS_CALL_GATE32, SYS_LDT, SYS_TASK_GATE, SYS_TSS16_AVAIL,
  SYS_TSS16_BUSY, SYS_TSS32_AVAIL, SYS_TSS32_BUSY, tryReadDescriptor, TYPE_CONFORMING, TYPE_READABLE,
  TYPE_WRITABLE,
} from '../protected/descriptor.js';
import { CR0_PE, CR0_TS, writeCr0, writeCr3, writeCr4 } from '../protected/privilege.js';
import { CpuFault } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { debugRegisters, syncBreakpoints } from '../debug-traps.js';
import { checkSegmentWrite } from '../protected/segment-checks.js';
import { probeWriteRange } from '../addressing.js';
import type { HandlerTable } from './types.js';

const FLAG_ZF = 0x40;
const FLAG_VM = 0x20000;
const CR4_DE = 1 << 3;

const EFER_LMA = 0x400;

/** IA-32e mode: 16-byte LDT/TSS descriptors. */
function longMode(cpu: SoftCpu): boolean {
  return (cpu.regs.efer & EFER_LMA) !== 0;
}

function privileged(cpu: SoftCpu): void {
  if (cpu.regs.cpl !== 0) raise(Vector.GP, 0);
}

/** LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW, ARPL: #UD in real and virtual-8086 mode. */
function protectedOnly(cpu: SoftCpu): void {
  if (!(cpu.regs.cr0 & 1) || cpu.regs.flags.get() & FLAG_VM) raise(Vector.UD);
}

function setZf(cpu: SoftCpu, on: boolean): void {
  const f = cpu.regs.flags;
  f.set(on ? f.get() | FLAG_ZF : f.get() & ~FLAG_ZF);
}

/** Reads the r/m16 selector operand. */
function selectorOperand(cpu: SoftCpu, insn: Instruction): number {
  return readE(cpu, insn, 2, insn.isMem ? memoryLinear(cpu, insn, 2) : 0) & 0xffff;
}

/** SLDT/STR/SMSW: 16 bits to memory, the operand size (zero-extended) to a register. */
function storeWord(cpu: SoftCpu, insn: Instruction, v: number): void {
  // REX.W: the register gets the value zero-extended to 64 bits (a 32-bit write clears 63:32).
  writeE(cpu, insn, insn.isMem ? 2 : insn.opSize === 8 ? 4 : insn.opSize, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, v);
}

function loadTableRegister(idt: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    if (!insn.isMem) raise(Vector.UD);
    privileged(cpu);
    const wide = insn.mode === 64;
    const lin = memoryLinear(cpu, insn, wide ? 10 : 6);
    const limit = readMem(cpu, lin, 2);
    let base = readMem(cpu, lin + 2, 4);
    let baseHi = 0;
    if (wide) {
      // 64-bit mode: always a 64-bit base, whatever the operand size; it must be canonical.
      baseHi = readMem(cpu, lin + 6, 4) | 0;
      if ((baseHi << 16) >> 16 !== baseHi) raise(Vector.GP, 0);
    } else if (insn.opSize === 2) base &= 0xffffff;
    const r = cpu.regs;
    if (idt) {
      r.idtLimit = limit;
      r.idtBase = base | 0;
      r.idtBaseHi = baseHi;
    } else {
      r.gdtLimit = limit;
      r.gdtBase = base | 0;
      r.gdtBaseHi = baseHi;
    }
  };
}

function storeTableRegister(idt: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    if (!insn.isMem) raise(Vector.UD);
    const r = cpu.regs;
    const wide = insn.mode === 64;
    const lin = memoryLinear(cpu, insn, wide ? 10 : 6);
    if (wide && mmuOf(cpu) !== null) {
      probeWriteRange(cpu, lin, 10);
    }
    // All 32 base bits are stored for either operand size (a 286 stored 0xFF in the top byte).
    writeMem(cpu, lin, 2, idt ? r.idtLimit : r.gdtLimit);
    writeMem(cpu, lin + 2, 4, idt ? r.idtBase : r.gdtBase);
    if (wide) writeMem(cpu, lin + 6, 4, idt ? r.idtBaseHi : r.gdtBaseHi);
  };
}

function lldt(cpu: SoftCpu, insn: Instruction): void {
  protectedOnly(cpu);
  privileged(cpu);
  const sel = selectorOperand(cpu, insn);
  const code = sel & 0xfffc;
  if (code === 0) {
    loadNull(cpu, Seg.LDTR, sel);
    return;
  }
  if (sel & 4) raise(Vector.GP, code);
  readDescriptor(cpu, sel, Vector.GP, 0);
  if (isSegment(desc.hi) || descType(desc.hi) !== SYS_LDT) raise(Vector.GP, code);
  if (longMode(cpu)) readDescriptorUpper(cpu, sel);
  if (!isPresent(desc.hi)) raise(Vector.NP, code);
  loadCache(cpu, Seg.LDTR, sel);
  if (longMode(cpu)) cpu.regs.seg.baseHi[Seg.LDTR] = desc.hi2;
}

function ltr(cpu: SoftCpu, insn: Instruction): void {
  protectedOnly(cpu);
  privileged(cpu);
  const sel = selectorOperand(cpu, insn);
  const code = sel & 0xfffc;
  if (code === 0) raise(Vector.GP, 0);
  if (sel & 4) raise(Vector.GP, code);
  readDescriptor(cpu, sel, Vector.GP, 0);
  const type = descType(desc.hi);
  const long = longMode(cpu);
  // IA-32e mode has only the 64-bit TSS (type 9, the 32-bit type's number).
  if (isSegment(desc.hi) || (type !== SYS_TSS32_AVAIL && (long || type !== SYS_TSS16_AVAIL))) raise(Vector.GP, code);
  if (long) readDescriptorUpper(cpu, sel);
  if (!isPresent(desc.hi)) raise(Vector.NP, code);
  desc.hi |= 2 << D_TYPE_SHIFT; // busy
  sysWrite8(cpu, desc.addr + 5, desc.hi >>> 8);
  loadCache(cpu, Seg.TR, sel);
  if (long) cpu.regs.seg.baseHi[Seg.TR] = desc.hi2;
}

/** DR0-DR7 per CPU live in debug-traps.ts (single-step sets DR6.BS there). */
const debugRegs = debugRegisters;

function debugIndex(cpu: SoftCpu, n: number): number {
  if (n > 7) raise(Vector.UD);
  if (n === 4 || n === 5) {
    if (cpu.regs.cr4 & CR4_DE) raise(Vector.UD);
    return n + 2;
  }
  return n;
}

function setGpr32(cpu: SoftCpu, n: number, v: number): void {
  cpu.regs.gpr.r32[n] = v;
  cpu.regs.gpr.hi[n] = 0;
}

/** MOV from CRn: 64 bits in 64-bit mode (CR8 only there, with REX.R), else 32. */
function readCr(cpu: SoftCpu, insn: Instruction): void {
  privileged(cpu);
  const r = cpu.regs;
  let v: number;
  let hi = 0;
  switch (insn.reg) {
    case 0: v = r.cr0; break;
    case 2: v = r.cr2; hi = r.cr2Hi; break;
    case 3: v = r.cr3; hi = r.cr3Hi; break;
    case 4: v = r.cr4; break;
    case 8:
      if (insn.mode !== 64) raise(Vector.UD);
      v = r.cr8 & 0xf;
      break;
    default: raise(Vector.UD);
  }
  if (insn.mode === 64) setReg64(cpu, insn.rm, v, hi);
  else setGpr32(cpu, insn.rm, v);
}

/** MOV to CRn: in 64-bit mode bits 63:32 must be 0 for CR0, CR4 and CR8 (#GP(0)). */
function writeCr(cpu: SoftCpu, insn: Instruction): void {
  privileged(cpu);
  const g = cpu.regs.gpr;
  const v = g.r32[insn.rm];
  const hi = insn.mode === 64 ? g.hi[insn.rm] : 0;
  switch (insn.reg) {
    case 0:
      if (hi !== 0) raise(Vector.GP, 0);
      writeCr0(cpu, v);
      break;
    case 2: cpu.regs.cr2 = v; cpu.regs.cr2Hi = hi; break;
    case 3:
      // Bits 63:52 are reserved (MAXPHYADDR and the PCID/LAM bits are not modelled).
      if (hi >>> 20 !== 0) raise(Vector.GP, 0);
      writeCr3(cpu, v, hi);
      break;
    case 4:
      if (hi !== 0) raise(Vector.GP, 0);
      writeCr4(cpu, v);
      break;
    case 8:
      if (insn.mode !== 64) raise(Vector.UD);
      if (hi !== 0 || v & ~0xf) raise(Vector.GP, 0);
      cpu.regs.cr8 = v;
      break;
    default: raise(Vector.UD);
  }
}

/** SWAPGS (SDM Vol. 2): 64-bit mode, CPL 0; exchanges GS.base and IA32_KERNEL_GS_BASE. */
function swapgs(cpu: SoftCpu, insn: Instruction): void {
  if (insn.mode !== 64) raise(Vector.UD);
  privileged(cpu);
  const s = cpu.regs.seg;
  const msrs = cpuEnvironmentOf(cpu).msrs;
  const lo = s.base[Seg.GS];
  const hi = s.baseHi[Seg.GS];
  s.base[Seg.GS] = msrs.kernelGsBase | 0;
  s.baseHi[Seg.GS] = msrs.kernelGsBaseHi | 0;
  msrs.kernelGsBase = lo >>> 0;
  msrs.kernelGsBaseHi = hi >>> 0;
}

/** INVLPG's address in 64-bit mode; a non-canonical one invalidates nothing (no fault). */
function invlpgAddress(cpu: SoftCpu, insn: Instruction): number | null {
  try {
    return linear64(cpu, insn);
  } catch (e) {
    if (e instanceof CpuFault) return null;
    throw e;
  }
}

/**
 * The descriptor named by `sel` for LAR/LSL/VERR/VERW, or false: null, outside its table,
 * or not visible at CPL/RPL (conforming code is always visible).
 */
function probe(cpu: SoftCpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0 || !tryReadDescriptor(cpu, sel)) return false;
  const hi = desc.hi;
  const conformingCode = isCode(hi) && (hi & (TYPE_CONFORMING << D_TYPE_SHIFT)) !== 0;
  if (conformingCode) return true;
  const dpl = descDpl(hi);
  return dpl >= cpu.regs.cpl && dpl >= (sel & 3);
}

const LAR_SYSTEM = (1 << SYS_TSS16_AVAIL) | (1 << SYS_LDT) | (1 << SYS_TSS16_BUSY) | (1 << SYS_CALL_GATE16) |
  (1 << SYS_TASK_GATE) | (1 << SYS_TSS32_AVAIL) | (1 << SYS_TSS32_BUSY) | (1 << SYS_CALL_GATE32);
const LSL_SYSTEM = (1 << SYS_TSS16_AVAIL) | (1 << SYS_LDT) | (1 << SYS_TSS16_BUSY) | (1 << SYS_TSS32_AVAIL) |
  (1 << SYS_TSS32_BUSY);
/** IA-32e mode (SDM Vol. 2, "LAR", "LSL"): only the LDT, the 64-bit TSS and (LAR) the 64-bit call gate. */
const LAR_SYSTEM_LONG = (1 << SYS_LDT) | (1 << SYS_TSS32_AVAIL) | (1 << SYS_TSS32_BUSY) | (1 << SYS_CALL_GATE32);
const LSL_SYSTEM_LONG = (1 << SYS_LDT) | (1 << SYS_TSS32_AVAIL) | (1 << SYS_TSS32_BUSY);

function larLsl(limit: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    protectedOnly(cpu);
    const sel = selectorOperand(cpu, insn);
    const types = longMode(cpu) ? (limit ? LSL_SYSTEM_LONG : LAR_SYSTEM_LONG) : limit ? LSL_SYSTEM : LAR_SYSTEM;
    const ok = probe(cpu, sel) && (isSegment(desc.hi) || (types >> descType(desc.hi)) & 1);
    setZf(cpu, !!ok);
    if (!ok) return;
    const v = limit ? descLimit(desc.lo, desc.hi) : desc.hi & (insn.opSize === 2 ? 0xff00 : 0x00f0ff00);
    const g = cpu.regs.gpr;
    if (insn.opSize === 2) g.r16[insn.reg << 1] = v;
    else setGpr32(cpu, insn.reg, v);
  };
}

function verify(write: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    protectedOnly(cpu);
    const sel = selectorOperand(cpu, insn);
    let ok = probe(cpu, sel) && isSegment(desc.hi);
    if (ok) {
      const hi = desc.hi;
      if (write) ok = !isCode(hi) && (hi & (TYPE_WRITABLE << D_TYPE_SHIFT)) !== 0;
      else ok = !isCode(hi) || (hi & (TYPE_READABLE << D_TYPE_SHIFT)) !== 0;
    }
    setZf(cpu, ok);
  };
}

export const SYSTEM_HANDLERS: HandlerTable = {
  lgdt_Ms: loadTableRegister(false),
  lidt_Ms: loadTableRegister(true),
  sgdt_Ms: storeTableRegister(false),
  sidt_Ms: storeTableRegister(true),
  lldt_Ew: lldt,
  ltr_Ew: ltr,
  sldt_Rv_Mw: (cpu, insn) => {
    protectedOnly(cpu);
    storeWord(cpu, insn, cpu.regs.seg.selector[Seg.LDTR]);
  },
  str_Rv_Mw: (cpu, insn) => {
    protectedOnly(cpu);
    storeWord(cpu, insn, cpu.regs.seg.selector[Seg.TR]);
  },
  smsw_Rv_Mw: (cpu, insn) => storeWord(cpu, insn, insn.isMem ? cpu.regs.cr0 & 0xffff : cpu.regs.cr0),
  /** LMSW loads PE, MP, EM, TS; it can set PE but never clear it. */
  lmsw_Ew: (cpu, insn) => {
    privileged(cpu);
    const v = selectorOperand(cpu, insn);
    const cr0 = cpu.regs.cr0;
    writeCr0(cpu, (cr0 & ~0xe) | (v & 0xf) | (cr0 & CR0_PE));
  },
  clts: (cpu) => {
    privileged(cpu);
    cpu.regs.cr0 &= ~CR0_TS;
  },
  mov_Ry_Cy: readCr,
  mov_Cy_Ry: writeCr,
  mov_Ry_Dy: (cpu, insn) => {
    privileged(cpu);
    setGpr32(cpu, insn.rm, debugRegs(cpu)[debugIndex(cpu, insn.reg)]);
  },
  mov_Dy_Ry: (cpu, insn) => {
    privileged(cpu);
    const n = debugIndex(cpu, insn.reg);
    let v = cpu.regs.gpr.r32[insn.rm];
    if (n === 6) v = (v & 0x0000e00f) | (0xffff0ff0 | 0);
    else if (n === 7) v = (v & ~0xd800) | 0x400;
    debugRegs(cpu)[n] = v;
    if (n === 7) syncBreakpoints(cpu);
  },
  /** INVLPG takes the linear address without a limit or access check and never faults on it. */
  invlpg_Mb: (cpu, insn) => {
    if (!insn.isMem) raise(Vector.UD);
    privileged(cpu);
    if (insn.mode === 64) {
      const lin = invlpgAddress(cpu, insn);
      if (lin !== null) mmuOf(cpu)?.invlpg(lin);
      return;
    }
    mmuOf(cpu)?.invlpg((cpu.regs.seg.base[insn.segment] + effectiveOffset(cpu, insn)) >>> 0);
  },
  swapgs,
  invd: (cpu) => privileged(cpu),
  wbinvd: (cpu) => privileged(cpu),
  endbr32: () => {},
  endbr64: () => {},
  lar_Gv_Rv_Mw: larLsl(false),
  lsl_Gv_Rv_Mw: larLsl(true),
  verr_Ew: verify(false),
  verw_Ew: verify(true),
  /** ARPL: raises the destination selector's RPL to the source's (ZF = 1 when it did). */
  arpl_Ew_Gw: (cpu, insn) => {
    protectedOnly(cpu);
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const dst = readE(cpu, insn, 2, lin);
    const src = cpu.regs.gpr.r16[insn.reg << 1];
    const raiseRpl = (dst & 3) < (src & 3);
    // Memory is written only when the RPL changes (so a read-only segment faults only then).
    if (raiseRpl) {
      if (insn.isMem) checkSegmentWrite(cpu, insn.segment);
      writeE(cpu, insn, 2, lin, (dst & ~3) | (src & 3));
    }
    setZf(cpu, raiseRpl);
  },
};
