/**
 * System instructions (SDM Vol. 2 pages of each; Vol. 3 chapters 2, 3, 5): descriptor-table
 * registers (LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR), the machine status word (LMSW/SMSW,
 * CLTS), MOV to/from CR0/CR2/CR3/CR4 and DR0-DR7, INVLPG, and the descriptor probes
 * LAR/LSL/VERR/VERW and ARPL. Privileged ones raise #GP(0) at CPL > 0 and work in real
 * mode (CPL 0), which is how a boot loader enters protected mode. Debug registers are only
 * stored: no breakpoints are raised yet.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { effectiveOffset, memoryLinear, readE, readMem, writeE, writeMem } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import {
  D_TYPE_SHIFT, desc, descDpl, descLimit, descType, isCode, isPresent, isSegment, loadCache, loadNull, mmuOf,
  readDescriptor, sysWrite8, SYS_CALL_GATE16, SYS_CALL_GATE32, SYS_LDT, SYS_TASK_GATE, SYS_TSS16_AVAIL,
  SYS_TSS16_BUSY, SYS_TSS32_AVAIL, SYS_TSS32_BUSY, tryReadDescriptor, TYPE_CONFORMING, TYPE_READABLE,
  TYPE_WRITABLE,
} from '../protected/descriptor.js';
import { CR0_PE, CR0_TS, writeCr0, writeCr3, writeCr4 } from '../protected/privilege.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

const FLAG_ZF = 0x40;
const FLAG_VM = 0x20000;
const CR4_DE = 1 << 3;

/** Long mode changes operand widths here (10-byte table registers, 64-bit CRn): not done yet. */
function legacyOnly(insn: Instruction): void {
  if (insn.addrSize === 8) throw new Error('64-bit mode system instructions are not implemented in the interpreter yet');
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
  if (insn.opSize === 8) throw new Error('64-bit operand size is not implemented in the interpreter yet');
  writeE(cpu, insn, insn.isMem ? 2 : insn.opSize, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, v);
}

function loadTableRegister(idt: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    legacyOnly(insn);
    if (!insn.isMem) raise(Vector.UD);
    privileged(cpu);
    const lin = memoryLinear(cpu, insn, 6);
    const limit = readMem(cpu, lin, 2);
    let base = readMem(cpu, lin + 2, 4);
    if (insn.opSize === 2) base &= 0xffffff;
    const r = cpu.regs;
    if (idt) {
      r.idtLimit = limit;
      r.idtBase = base | 0;
      r.idtBaseHi = 0;
    } else {
      r.gdtLimit = limit;
      r.gdtBase = base | 0;
      r.gdtBaseHi = 0;
    }
  };
}

function storeTableRegister(idt: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    legacyOnly(insn);
    if (!insn.isMem) raise(Vector.UD);
    const r = cpu.regs;
    const lin = memoryLinear(cpu, insn, 6);
    // All 32 base bits are stored for either operand size (a 286 stored 0xFF in the top byte).
    writeMem(cpu, lin, 2, idt ? r.idtLimit : r.gdtLimit);
    writeMem(cpu, lin + 2, 4, idt ? r.idtBase : r.gdtBase);
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
  if (!isPresent(desc.hi)) raise(Vector.NP, code);
  loadCache(cpu, Seg.LDTR, sel);
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
  if (isSegment(desc.hi) || (type !== SYS_TSS16_AVAIL && type !== SYS_TSS32_AVAIL)) raise(Vector.GP, code);
  if (!isPresent(desc.hi)) raise(Vector.NP, code);
  desc.hi |= 2 << D_TYPE_SHIFT; // busy
  sysWrite8(cpu, desc.addr + 5, desc.hi >>> 8);
  loadCache(cpu, Seg.TR, sel);
}

/** DR0-DR7 per CPU (only stored until debug traps exist). */
const DEBUG_REGS = new WeakMap<SoftCpu, Int32Array>();
function debugRegs(cpu: SoftCpu): Int32Array {
  let d = DEBUG_REGS.get(cpu);
  if (!d) {
    d = new Int32Array(8);
    d[6] = 0xffff0ff0 | 0;
    d[7] = 0x400;
    DEBUG_REGS.set(cpu, d);
  }
  return d;
}

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

function readCr(cpu: SoftCpu, insn: Instruction): void {
  legacyOnly(insn);
  privileged(cpu);
  const r = cpu.regs;
  let v: number;
  switch (insn.reg) {
    case 0: v = r.cr0; break;
    case 2: v = r.cr2; break;
    case 3: v = r.cr3; break;
    case 4: v = r.cr4; break;
    default: raise(Vector.UD);
  }
  setGpr32(cpu, insn.rm, v);
}

function writeCr(cpu: SoftCpu, insn: Instruction): void {
  legacyOnly(insn);
  privileged(cpu);
  const v = cpu.regs.gpr.r32[insn.rm];
  switch (insn.reg) {
    case 0: writeCr0(cpu, v); break;
    case 2: cpu.regs.cr2 = v; cpu.regs.cr2Hi = 0; break;
    case 3: writeCr3(cpu, v); break;
    case 4: writeCr4(cpu, v); break;
    default: raise(Vector.UD);
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

function larLsl(limit: boolean) {
  return (cpu: SoftCpu, insn: Instruction): void => {
    protectedOnly(cpu);
    if (insn.opSize === 8) throw new Error('64-bit operand size is not implemented in the interpreter yet');
    const sel = selectorOperand(cpu, insn);
    const ok = probe(cpu, sel) && (isSegment(desc.hi) || ((limit ? LSL_SYSTEM : LAR_SYSTEM) >> descType(desc.hi)) & 1);
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
  },
  /** INVLPG takes the linear address without a limit or access check and never faults on it. */
  invlpg_Mb: (cpu, insn) => {
    if (!insn.isMem) raise(Vector.UD);
    privileged(cpu);
    mmuOf(cpu)?.invlpg((cpu.regs.seg.base[insn.segment] + effectiveOffset(cpu, insn)) >>> 0);
  },
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
    if (raiseRpl) writeE(cpu, insn, 2, lin, (dst & ~3) | (src & 3));
    setZf(cpu, raiseRpl);
  },
};
