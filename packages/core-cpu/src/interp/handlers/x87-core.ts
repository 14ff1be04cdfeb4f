/**
 * What every x87 handler shares (SDM Vol. 1, chapter 8; Vol. 3A, 2.5 and 6.15):
 * - entry checks: CR0.EM or CR0.TS -> #NM; a waiting instruction that finds an unmasked
 *   exception pending (FSW.ES) raises #MF when CR0.NE = 1, or signals FERR# (the injectable
 *   FpuState.ferr, IRQ13 on a PC) when CR0.NE = 0 and then proceeds (a real CPU would stall
 *   until the IRQ13 handler cleared the error; that freeze is not modelled);
 * - the last-instruction pointers FIP/FCS, FOP, FDP/FDS for non-control instructions;
 * - stack access: ST(i) -> R((TOP + i) & 7), push/pop with the abridged tags, stack overflow
 *   and underflow (IE + SF, C1 = 1 / 0) and their masked response (the real indefinite);
 * - merging an operation's FSW bits: a pre-computation exception (IE, DE, ZE) that is
 *   unmasked leaves the destination and the stack alone; post-computation ones (OE, UE, PE)
 *   deliver the result (bias-adjusted by the library for OE/UE). Either sets ES and B.
 * - memory operands through memoryLinear(), with the data pointer recorded.
 * Scratch values are module-level: nothing is allocated per instruction.
 */
import { probeWriteRange } from '../addressing.js';
import { modrmOf, type Instruction } from '../../decoder/instruction.js';
import { Float80, setIndefinite } from '../../fpu/float80.js';
import { FSW_B, FSW_ES, FpuState } from '../../fpu/fpu-state.js';
import { FSW_C1, FSW_DE, FSW_EXCEPTIONS, FSW_IE, FSW_OE, FSW_SF, FSW_UE, FSW_ZE } from '../../fpu/round.js';
import { memoryLinear } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';

export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_NE = 1 << 5;
const EFLAGS_VM = 1 << 17;
const CS = 1;
const TWO_32 = 4294967296;

/** Pre-computation exceptions: when unmasked, nothing is written (SDM Vol. 1, 8.5). */
export const PRE_EXCEPTIONS = FSW_IE | FSW_DE | FSW_ZE;

/** Scratch operands and results. */
export const OP_A = new Float80();
export const OP_B = new Float80();
export const RES = new Float80();
export const RES2 = new Float80();

/** #NM checks of an ESC (D8-DF) instruction. */
function checkDeviceAvailable(cpu: SoftCpu): FpuState {
  const r = cpu.regs;
  if (r.cr0 & (CR0_EM | CR0_TS)) raise(Vector.NM);
  return r.fpu;
}

/** A pending unmasked exception is taken by the next waiting instruction. */
export function checkPending(cpu: SoftCpu, fpu: FpuState): void {
  if (fpu.sw & FSW_ES) {
    if (cpu.regs.cr0 & CR0_NE) raise(Vector.MF);
    if (fpu.ferr !== null) fpu.ferr();
  }
}

/** Start of a non-waiting control instruction (FNINIT, FNSTSW, FNSTENV ...). */
export function enterNoWait(cpu: SoftCpu): FpuState {
  return checkDeviceAvailable(cpu);
}

/** Start of a waiting control instruction (FLDCW, FLDENV, FRSTOR ...): no pointer update. */
export function enterControl(cpu: SoftCpu): FpuState {
  const fpu = checkDeviceAvailable(cpu);
  checkPending(cpu, fpu);
  return fpu;
}

/** Start of a non-control instruction: checks, then FIP/FCS and FOP. */
export function enter(cpu: SoftCpu, insn: Instruction): FpuState {
  const fpu = checkDeviceAvailable(cpu);
  checkPending(cpu, fpu);
  const r = cpu.regs;
  // RIP already points past the instruction; FIP is its first byte (prefixes included).
  if (insn.mode === 64) {
    const lo = (r.rip >>> 0) - insn.length;
    fpu.fip = lo >>> 0;
    fpu.fipHi = lo < 0 ? (r.ripHi - 1) | 0 : r.ripHi;
  } else {
    fpu.fip = insn.mode === 16 ? (r.rip - insn.length) & 0xffff : (r.rip - insn.length) >>> 0;
    fpu.fipHi = 0;
  }
  fpu.fcs = r.seg.selector[CS];
  fpu.fop = ((insn.opcode & 7) << 8) | modrmOf(insn);
  return fpu;
}

/** True in protected mode outside virtual-8086 mode (the environment layout switch). */
export function protectedLayout(cpu: SoftCpu): boolean {
  const r = cpu.regs;
  return (r.cr0 & CR0_PE) !== 0 && (r.flags.get() & EFLAGS_VM) === 0;
}

// ---- memory operands

/** Whether the last memLinear() address wraps at 4 GiB (everything but 64-bit mode). */
let wrap32 = true;

/** Linear address of the memory operand (limit-checked for `size` bytes), recording FDP/FDS. */
export function memLinear(cpu: SoftCpu, insn: Instruction, size: number, fpu: FpuState | null): number {
  const lin = memoryLinear(cpu, insn, size);
  wrap32 = insn.mode !== 64;
  if (fpu !== null) {
    const s = cpu.regs.seg;
    fpu.fds = s.selector[insn.segment];
    if (wrap32) {
      fpu.fdp = (lin - s.base[insn.segment]) >>> 0;
      if (insn.addrSize === 2) fpu.fdp &= 0xffff;
      fpu.fdpHi = 0;
    } else {
      // 64-bit mode: segment bases are 0 except FS/GS; FDP holds the address as computed.
      const off = lin - (insn.segment >= 4 ? s.base[insn.segment] >>> 0 : 0);
      fpu.fdp = off >>> 0;
      fpu.fdpHi = Math.floor(off / TWO_32) | 0;
    }
  }
  return lin;
}

/** `lin + k` in the address space of the last memLinear() call. */
export function at(lin: number, k: number): number {
  const a = lin + k;
  return wrap32 ? a >>> 0 : a;
}

export function read16(cpu: SoftCpu, lin: number): number {
  return cpu.mem.read16(lin);
}
export function read32(cpu: SoftCpu, lin: number): number {
  return cpu.mem.read32(lin) >>> 0;
}
/** Reads an 80-bit value. */
export function read80(cpu: SoftCpu, lin: number, out: Float80): Float80 {
  const m = cpu.mem;
  out.lo = m.read32(lin) >>> 0;
  out.hi = m.read32(at(lin, 4)) >>> 0;
  out.se = m.read16(at(lin, 8));
  return out;
}

/** Checks both ends of a multi-byte write first, so a #PF leaves memory unchanged. */
export function probeWrite(cpu: SoftCpu, lin: number, size: number): void {
  const m = cpu.mem;
  if (m.probeWrite !== undefined && ((lin & 0xfff) + size > 0x1000 || size > 0x1000)) probeWriteRange(cpu, lin, size);
}

export function write16(cpu: SoftCpu, lin: number, v: number): void {
  cpu.mem.write16(lin, v & 0xffff);
}
export function write32(cpu: SoftCpu, lin: number, v: number): void {
  cpu.mem.write32(lin, v >>> 0);
}
export function write64(cpu: SoftCpu, lin: number, lo: number, hi: number): void {
  probeWrite(cpu, lin, 8);
  cpu.mem.write32(lin, lo >>> 0);
  cpu.mem.write32(at(lin, 4), hi >>> 0);
}
export function write80(cpu: SoftCpu, lin: number, v: Float80): void {
  probeWrite(cpu, lin, 10);
  const m = cpu.mem;
  m.write32(lin, v.lo >>> 0);
  m.write32(at(lin, 4), v.hi >>> 0);
  m.write16(at(lin, 8), v.se & 0xffff);
}

// ---- the register stack

export function isEmpty(fpu: FpuState, i: number): boolean {
  return (fpu.valid & (1 << ((fpu.top + i) & 7))) === 0;
}

export function getSt(fpu: FpuState, i: number, out: Float80): Float80 {
  return fpu.regs.load((fpu.top + i) & 7, out);
}

export function setSt(fpu: FpuState, i: number, v: Float80): void {
  const r = (fpu.top + i) & 7;
  fpu.regs.store(r, v);
  fpu.valid |= 1 << r;
}

export function push(fpu: FpuState, v: Float80): void {
  fpu.top = (fpu.top - 1) & 7;
  fpu.regs.store(fpu.top, v);
  fpu.valid |= 1 << fpu.top;
}

export function pop(fpu: FpuState): void {
  fpu.valid &= ~(1 << fpu.top);
  fpu.top = (fpu.top + 1) & 7;
}

export function setC1(fpu: FpuState, flags: number): void {
  fpu.sw = (fpu.sw & ~FSW_C1) | (flags & FSW_C1);
}

/**
 * ORs exception flags into FSW (ES and B when one is unmasked). Returns true when an
 * unmasked one is among them.
 */
export function signal(fpu: FpuState, flags: number): boolean {
  fpu.sw |= flags & (FSW_EXCEPTIONS | FSW_SF);
  if (flags & ~fpu.cw & FSW_EXCEPTIONS) {
    fpu.sw |= FSW_ES | FSW_B;
    return true;
  }
  return false;
}

/** Stack underflow (an empty operand register): IE + SF, C1 = 0. True when IE is unmasked. */
export function underflow(fpu: FpuState): boolean {
  fpu.sw &= ~FSW_C1;
  return signal(fpu, FSW_IE | FSW_SF);
}

/** Stack overflow (pushing onto a full ST(7)): IE + SF, C1 = 1. True when IE is unmasked. */
export function overflow(fpu: FpuState): boolean {
  fpu.sw |= FSW_C1;
  return signal(fpu, FSW_IE | FSW_SF);
}

/** Pushes `v`, or on a full stack the masked overflow response (the indefinite). */
export function pushChecked(fpu: FpuState, v: Float80): void {
  if (!isEmpty(fpu, 7)) {
    if (overflow(fpu)) return;
    setIndefinite(v);
  } else {
    fpu.sw &= ~FSW_C1;
  }
  push(fpu, v);
}

/**
 * Merges the FSW bits of an operation whose result goes to a register. `ccMask` selects the
 * condition codes the operation defines (C1 always follows `flags`). Returns false when an
 * unmasked pre-computation exception suppresses the result.
 */
export function commit(fpu: FpuState, flags: number, ccMask: number): boolean {
  const pre = flags & PRE_EXCEPTIONS;
  if (pre & ~fpu.cw) {
    signal(fpu, pre);
    return false;
  }
  fpu.sw = (fpu.sw & ~(ccMask | FSW_C1)) | (flags & (ccMask | FSW_C1));
  signal(fpu, flags);
  return true;
}

/**
 * Merges the FSW bits of a store to memory. An unmasked IE, OE or UE leaves memory (and the
 * stack) unchanged (SDM Vol. 1, 8.5.4-8.5.5); returns false then.
 */
export function commitStore(fpu: FpuState, flags: number): boolean {
  const suppressing = flags & (FSW_IE | FSW_DE | FSW_OE | FSW_UE);
  if (suppressing & ~fpu.cw) {
    signal(fpu, suppressing);
    return false;
  }
  setC1(fpu, flags);
  signal(fpu, flags);
  return true;
}
