/**
 * Data movement: MOV in its register, memory, immediate and moffs forms, LEA, XCHG,
 * MOVZX/MOVSX/MOVSXD, CBW/CWDE/CDQE and CWD/CDQ/CQO, LAHF/SAHF, XLAT, and MOV to/from segment
 * registers.
 *
 * 64-bit mode (SDM Vol. 1, 3.4.1.1): a 32-bit register destination clears bits 63:32, an 8- or
 * 16-bit one keeps them. REX.W gives 64-bit operands; MOV r64, imm64 (B8+r) is the only form
 * with a full 64-bit immediate, the others sign-extend imm32. The moffs forms carry a 64-bit
 * absolute address (32-bit with a 67 prefix), relative to FS/GS only.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { PREFIX_REX } from '../../decoder/instruction.js';
import { GprFile, GprSlot } from '../../state/gpr-file.js';
import { Seg } from '../../state/segment-cache.js';
import {
  canonicalLinear, effectiveOffset, getReg64, linearOf, memoryLinear, readE, readE8, readE16, readE32, readE64, readG,
  readG8, readG16, readG32, readG64, readMem, readMem64, setReg8, setReg64, setRegV, writeE, writeE8, writeE16, writeE32,
  writeE64, writeG, writeG8, writeG16, writeG32, writeG64, writeMem, writeMem64,
} from '../addressing.js';
import { raise, Vector } from '../faults.js';
import { offset64, offsetHi } from '../offset64.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadSegment } from '../protected/segment-load.js';
import { checkSegmentWrite } from '../protected/segment-checks.js';
import type { Handler, HandlerTable } from './types.js';
import { zReg } from './stack-ops.js';

const byteSize = () => 1;
const vSize = (insn: Instruction) => insn.opSize;

// The MOV forms are written one function each (not made by a factory) so each keeps its own
// type feedback and the size-specific operand helpers inline with constant sizes.

function movEbGb(cpu: SoftCpu, insn: Instruction): void {
  writeE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, readG8(cpu, insn));
}

function movEvGv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, readG16(cpu, insn));
  else if (insn.opSize === 4) writeE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0, readG32(cpu, insn));
  else {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
    const lo = readG64(cpu, insn);
    writeE64(cpu, insn, lin, lo, cpu.valueHi);
  }
}

function movGbEb(cpu: SoftCpu, insn: Instruction): void {
  writeG8(cpu, insn, readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0));
}

function movGvEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeG16(cpu, insn, readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0));
  else if (insn.opSize === 4) writeG32(cpu, insn, readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0));
  else {
    const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
    writeG64(cpu, insn, lo, cpu.valueHi);
  }
}

function movEbIb(cpu: SoftCpu, insn: Instruction): void {
  writeE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, insn.imm);
}

function movEvIz(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 2) writeE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, insn.imm);
  else if (insn.opSize === 4) writeE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0, insn.imm);
  else writeE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0, insn.imm, insn.imm >> 31);
}

/** LEA: the offset at the address size, truncated or zero-extended to the operand size. */
function lea(cpu: SoftCpu, insn: Instruction): void {
  if (insn.addrSize === 8) {
    const lo = offset64(cpu, insn);
    if (insn.opSize === 8) writeG64(cpu, insn, lo, offsetHi);
    else if (insn.opSize === 4) writeG32(cpu, insn, lo);
    else writeG16(cpu, insn, lo);
    return;
  }
  if (insn.opSize === 2) writeG16(cpu, insn, effectiveOffset(cpu, insn));
  else if (insn.opSize === 4) writeG32(cpu, insn, effectiveOffset(cpu, insn));
  else writeG64(cpu, insn, effectiveOffset(cpu, insn), 0);
}

function xchg(sizeOf: (i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    const size = sizeOf(insn);
    const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
    if (size === 8) {
      const a = readE64(cpu, insn, lin);
      const aHi = cpu.valueHi;
      const b = readG64(cpu, insn);
      writeE64(cpu, insn, lin, b, cpu.valueHi);
      writeG64(cpu, insn, a, aHi);
      return;
    }
    const a = readE(cpu, insn, size, lin);
    writeE(cpu, insn, size, lin, readG(cpu, insn, size));
    writeG(cpu, insn, size, a);
  };
}

/**
 * moffs: the address is the displacement itself, in the instruction's segment; in 64-bit
 * mode a 64-bit (or, with 67, zero-extended 32-bit) absolute address.
 */
function moffs(cpu: SoftCpu, insn: Instruction, size: number): number {
  if (insn.mode === 64) return canonicalLinear(cpu, insn.segment, insn.disp, insn.addrSize === 8 ? insn.detail.dispHi | 0 : 0);
  return linearOf(cpu, insn, insn.disp >>> 0, size);
}

// MOVZX/MOVSX: the source size is fixed by the opcode, the destination is the operand size.
function movzxGvEb(cpu: SoftCpu, insn: Instruction): void {
  const v = readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0);
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else if (insn.opSize === 4) writeG32(cpu, insn, v);
  else writeG64(cpu, insn, v, 0);
}

function movzxGvEw(cpu: SoftCpu, insn: Instruction): void {
  const v = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else if (insn.opSize === 4) writeG32(cpu, insn, v);
  else writeG64(cpu, insn, v, 0);
}

function movsxGvEb(cpu: SoftCpu, insn: Instruction): void {
  const v = (readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0) << 24) >> 24;
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else if (insn.opSize === 4) writeG32(cpu, insn, v);
  else writeG64(cpu, insn, v, v >> 31);
}

function movsxGvEw(cpu: SoftCpu, insn: Instruction): void {
  const v = (readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0) << 16) >> 16;
  if (insn.opSize === 2) writeG16(cpu, insn, v);
  else if (insn.opSize === 4) writeG32(cpu, insn, v);
  else writeG64(cpu, insn, v, v >> 31);
}

/** MOV Sreg, r/m16 (real mode: base = selector * 16; protected mode: descriptor checks). Loading CS this way is #UD. */
function movSregFrom(cpu: SoftCpu, insn: Instruction): void {
  const seg = insn.reg & 7;
  if (seg === Seg.CS || seg > Seg.GS) raise(Vector.UD);
  const sel = readE(cpu, insn, 2, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
  loadSegment(cpu, seg, sel);
}

function movSregTo(cpu: SoftCpu, insn: Instruction): void {
  const seg = insn.reg & 7;
  if (seg > Seg.GS) raise(Vector.UD);
  const sel = cpu.regs.seg.selector[seg];
  // To memory always 16 bits; to a register the operand size (upper bits zero on P6).
  if (!insn.isMem && insn.opSize === 8) setReg64(cpu, insn.rm, sel, 0);
  else writeE(cpu, insn, insn.isMem ? 2 : insn.opSize, insn.isMem ? memoryLinear(cpu, insn, 2) : 0, sel);
}

/**
 * MOVSXD (63 /r in 64-bit mode): with REX.W, a doubleword sign-extended to 64 bits; without,
 * a plain 32-bit move (zero-extending, as Intel documents it), or 16 bits with 66.
 */
function movsxd(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 8) {
    const v = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0);
    writeG64(cpu, insn, v, (v | 0) >> 31);
  } else if (insn.opSize === 4) writeG32(cpu, insn, readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0));
  else writeG16(cpu, insn, readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0));
}

/** MOV r, imm (B8+r): REX.W takes a full 64-bit immediate. */
function movZvIv(cpu: SoftCpu, insn: Instruction): void {
  const n = zReg(insn);
  if (insn.opSize === 8) setReg64(cpu, n, insn.imm, insn.detail.immHi);
  else setRegV(cpu, n, insn.opSize, insn.imm);
}

function movRaxOv(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  const lin = moffs(cpu, insn, size);
  if (size === 8) setReg64(cpu, 0, readMem64(cpu, lin), cpu.valueHi);
  else setRegV(cpu, 0, size, readMem(cpu, lin, size));
}

function movOvRax(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  const lin = moffs(cpu, insn, size);
  checkSegmentWrite(cpu, insn.segment);
  const g = cpu.regs.gpr;
  if (size === 8) writeMem64(cpu, lin, g.r32[0], g.hi[0]);
  else writeMem(cpu, lin, size, g.r32[0]);
}

/** XCHG rAX, r (90+r; 90 itself without REX.B is NOP and decodes as such). */
function xchgZvRax(cpu: SoftCpu, insn: Instruction): void {
  const n = zReg(insn);
  const size = insn.opSize;
  const g = cpu.regs.gpr;
  if (size === 8) {
    const lo = getReg64(cpu, n);
    const hi = cpu.valueHi;
    setReg64(cpu, n, g.r32[0], g.hi[0]);
    setReg64(cpu, 0, lo, hi);
    return;
  }
  const a = size === 2 ? g.r16[0] : g.r32[0];
  setRegV(cpu, 0, size, size === 2 ? g.r16[n << 1] : g.r32[n]);
  setRegV(cpu, n, size, a);
}

/** CBW / CWDE / CDQE: sign-extends the lower half of rAX into the whole. */
function cbw(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  if (insn.opSize === 2) g.r16[0] = (g.r8[0] << 24) >> 24;
  else if (insn.opSize === 4) setRegV(cpu, 0, 4, (g.r16[0] << 16) >> 16);
  else g.hi[0] = g.r32[0] >> 31;
}

/** CWD / CDQ / CQO: fills rDX with the sign of rAX. */
function cwd(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  if (insn.opSize === 2) g.r16[2 << 1] = g.r16[0] & 0x8000 ? 0xffff : 0;
  else if (insn.opSize === 4) setRegV(cpu, 2, 4, g.r32[0] < 0 ? -1 : 0);
  else {
    const sign = g.hi[0] >> 31;
    setReg64(cpu, 2, sign, sign);
  }
}

/** XLAT: AL = [seg: rBX + AL] at the address size. */
function xlat(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  if (insn.mode === 64) {
    let lo = g.r32[3] >>> 0;
    let hi = 0;
    if (insn.addrSize === 8) {
      const sum = lo + g.r8[0];
      hi = (g.hi[3] + (sum > 0xffffffff ? 1 : 0)) | 0;
      lo = sum >>> 0;
    } else lo = (lo + g.r8[0]) >>> 0;
    g.r8[0] = cpu.mem.read8(canonicalLinear(cpu, insn.segment, lo, hi));
    return;
  }
  const base = insn.addrSize === 2 ? g.r16[3 << 1] : g.r32[3] >>> 0;
  const off = (base + g.r8[0]) & (insn.addrSize === 2 ? 0xffff : 0xffffffff);
  g.r8[0] = readMem(cpu, linearOf(cpu, insn, off >>> 0, 1), 1);
}

export const DATA_HANDLERS: HandlerTable = {
  mov_Eb_Gb: movEbGb,
  mov_Ev_Gv: movEvGv,
  mov_Gb_Eb: movGbEb,
  mov_Gv_Ev: movGvEv,
  mov_Eb_Ib: movEbIb,
  mov_Ev_Iz: movEvIz,
  mov_Zb_Ib: (cpu, insn) => setReg8(cpu, insn, zReg(insn), insn.imm),
  mov_Zv_Iv: movZvIv,
  mov_AL_Ob: (cpu, insn) => void (cpu.regs.gpr.r8[0] = readMem(cpu, moffs(cpu, insn, 1), 1)),
  mov_rAX_Ov: movRaxOv,
  mov_Ob_AL: (cpu, insn) => {
    const lin = moffs(cpu, insn, 1);
    checkSegmentWrite(cpu, insn.segment);
    writeMem(cpu, lin, 1, cpu.regs.gpr.r8[0]);
  },
  mov_Ov_rAX: movOvRax,
  lea_Gv_M: lea,
  xchg_Eb_Gb: xchg(byteSize),
  xchg_Ev_Gv: xchg(vSize),
  xchg_Zv_rAX: xchgZvRax,
  movzx_Gv_Eb: movzxGvEb,
  movzx_Gv_Ew: movzxGvEw,
  movsx_Gv_Eb: movsxGvEb,
  movsx_Gv_Ew: movsxGvEw,
  movsxd_Gv_Ez: movsxd,
  cbw,
  cwd,
  lahf: (cpu) => void (cpu.regs.gpr.r8[1] = cpu.regs.flags.get() & 0xd5 | 0x02),
  sahf: (cpu) => {
    const f = cpu.regs.flags;
    f.set((f.get() & ~0xd5) | (cpu.regs.gpr.r8[1] & 0xd5));
  },
  xlat_BXb: xlat,
  mov_Sw_Rv_Mw: movSregFrom,
  mov_Rv_Mw_Sw: movSregTo,
};

// ---- MOV v-forms fixed to one size and operand kind, which the run loop picks once per decoded
// instruction (soft-cpu.ts, as for the ALU forms in generated/alu-forms.ts): each does exactly
// what movEvGv / movGvEv / movEvIz do for that size and kind, without the size and isMem tests.

function movEvGvR16(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = g.r16[insn.reg << 1];
}
function movEvGvR32(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  g.r32[insn.rm] = g.r32[insn.reg];
  g.r32[insn.rm | GprSlot.High] = 0;
}
function movEvGvM16(cpu: SoftCpu, insn: Instruction): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, cpu.regs.gpr.r16[insn.reg << 1]);
}
function movEvGvM32(cpu: SoftCpu, insn: Instruction): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, cpu.regs.gpr.r32[insn.reg] >>> 0);
}

function movGvEvR16(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  g.r16[insn.reg << 1] = g.r16[insn.rm << 1];
}
function movGvEvR32(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  g.r32[insn.reg] = g.r32[insn.rm];
  g.r32[insn.reg | GprSlot.High] = 0;
}
function movGvEvM16(cpu: SoftCpu, insn: Instruction): void {
  const v = cpu.mem.read16(memoryLinear(cpu, insn, 2));
  cpu.regs.gpr.r16[insn.reg << 1] = v;
}
function movGvEvM32(cpu: SoftCpu, insn: Instruction): void {
  const v = cpu.mem.read32(memoryLinear(cpu, insn, 4));
  const g = cpu.regs.gpr;
  g.r32[insn.reg] = v;
  g.r32[insn.reg | GprSlot.High] = 0;
}

function movEvIzR16(cpu: SoftCpu, insn: Instruction): void {
  cpu.regs.gpr.r16[insn.rm << 1] = insn.imm;
}
function movEvIzR32(cpu: SoftCpu, insn: Instruction): void {
  const g = cpu.regs.gpr;
  g.r32[insn.rm] = insn.imm;
  g.r32[insn.rm | GprSlot.High] = 0;
}
function movEvIzM16(cpu: SoftCpu, insn: Instruction): void {
  cpu.mem.write16(memoryLinear(cpu, insn, 2), insn.imm & 0xffff);
}
function movEvIzM32(cpu: SoftCpu, insn: Instruction): void {
  cpu.mem.write32(memoryLinear(cpu, insn, 4), insn.imm >>> 0);
}

/** By key: [16-bit register, 32-bit register, 16-bit memory, 32-bit memory] (index: (opSize === 4) | isMem << 1). */
export const MOV_VARIANTS: Readonly<Record<string, readonly [Handler, Handler, Handler, Handler]>> = {
  mov_Ev_Gv: [movEvGvR16, movEvGvR32, movEvGvM16, movEvGvM32],
  mov_Gv_Ev: [movGvEvR16, movGvEvR32, movGvEvM16, movGvEvM32],
  mov_Ev_Iz: [movEvIzR16, movEvIzR32, movEvIzM16, movEvIzM32],
};

// MOVZX/MOVSX likewise (the source size is the opcode's; the variant fixes the destination's).
export const byteOfRm = (insn: Instruction): number => GprFile.byteIndex(insn.rm, (insn.prefixes & PREFIX_REX) !== 0);
export const movzxByte = (cpu: SoftCpu, insn: Instruction): number => cpu.mem.read8(memoryLinear(cpu, insn, 1));
export const movzxWord = (cpu: SoftCpu, insn: Instruction): number => cpu.mem.read16(memoryLinear(cpu, insn, 2));

/** By key: [16-bit register, 32-bit register, 16-bit memory, 32-bit memory], as MOV_VARIANTS. */
export const MOVX_VARIANTS: Readonly<Record<string, readonly [Handler, Handler, Handler, Handler]>> = {
  movzx_Gv_Eb: [
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = cpu.regs.gpr.r8[byteOfRm(insn)]),
    (cpu, insn) => writeG32(cpu, insn, cpu.regs.gpr.r8[byteOfRm(insn)]),
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = movzxByte(cpu, insn)),
    (cpu, insn) => writeG32(cpu, insn, movzxByte(cpu, insn)),
  ],
  movzx_Gv_Ew: [
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = cpu.regs.gpr.r16[insn.rm << 1]),
    (cpu, insn) => writeG32(cpu, insn, cpu.regs.gpr.r16[insn.rm << 1]),
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = movzxWord(cpu, insn)),
    (cpu, insn) => writeG32(cpu, insn, movzxWord(cpu, insn)),
  ],
  movsx_Gv_Eb: [
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = (cpu.regs.gpr.r8[byteOfRm(insn)] << 24) >> 24),
    (cpu, insn) => writeG32(cpu, insn, (cpu.regs.gpr.r8[byteOfRm(insn)] << 24) >> 24),
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = (movzxByte(cpu, insn) << 24) >> 24),
    (cpu, insn) => writeG32(cpu, insn, (movzxByte(cpu, insn) << 24) >> 24),
  ],
  movsx_Gv_Ew: [
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = cpu.regs.gpr.r16[insn.rm << 1]),
    (cpu, insn) => writeG32(cpu, insn, (cpu.regs.gpr.r16[insn.rm << 1] << 16) >> 16),
    (cpu, insn) => void (cpu.regs.gpr.r16[insn.reg << 1] = movzxWord(cpu, insn)),
    (cpu, insn) => writeG32(cpu, insn, (movzxWord(cpu, insn) << 16) >> 16),
  ],
};

/** LEA with a 32-bit operand size: 32-bit addressing without the general handler's size tests (the common case). */
function leaM32(cpu: SoftCpu, insn: Instruction): void {
  if (insn.addrSize !== 4) {
    lea(cpu, insn);
    return;
  }
  const g = cpu.regs.gpr;
  g.r32[insn.reg] = effectiveOffset(cpu, insn);
  g.r32[insn.reg | GprSlot.High] = 0;
}

/** LEA's variants (its operand is always a memory form; opSize 2 keeps the general handler). */
export const LEA_VARIANTS: readonly [Handler, Handler, Handler, Handler] = [lea, lea, lea, leaM32];
