/**
 * Shift and rotate handlers fixed to one operation, count source, operand size and operand
 * kind, which the run loop picks once per decoded instruction (loop-handlers.ts) for the forms
 * the Linux boot runs most (SHL SHR SAR ROL ROR, SHLD SHRD). Each does exactly what shift.ts's
 * group2/double do for that case (same results, same flags, same write-back of a zero count);
 * RCL/RCR keep the general handlers. The per-form helpers are exported so the JIT can call them
 * from translated code (jit/inline-handlers.ts).
 */
import type { LazyFlags } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import { memoryLinear } from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';
import { setCarryOnly, setRotateFlags, SHIFT_EAGER, SHIFT_HANDLERS } from './shift.js';
import type { Handler } from './types.js';
import { GprSlot } from '../../state/gpr-file.js';

// ---- Variants fixed to one operation, count source, operand size and operand kind, which the
// run loop picks once per decoded instruction (loop-handlers.ts), for the forms the Linux boot
// runs most (SHL SHR SAR ROL ROR, SHLD SHRD). Each does exactly what group2/double do for that
// case (same results, same flags, same write-back of a zero count); RCL/RCR keep the general
// handlers. The count is passed unmasked, as shiftRotate takes it. The small per-operation
// helpers below inline into each variant with a constant size, so the variants carry no op
// switch and no size test (the shared group2 body is polymorphic on both).

export function shl32(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = v << count;
  f.recordResultOnly(32, r, 0, ((v >>> (32 - count)) & 1) | ((((v >>> 31) ^ (v >>> 30)) & 1) << 11), SHIFT_EAGER);
  return r;
}
export function shl16(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = count < 16 ? (v << count) & 0xffff : 0;
  const cf = count < 16 ? (v >>> (16 - count)) & 1 : count === 16 ? v & 1 : 0;
  f.recordResultOnly(16, r, 0, cf | ((((v >>> 15) ^ (v >>> 14)) & 1) << 11), SHIFT_EAGER);
  return r;
}
export function shr32(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = v >>> count;
  f.recordResultOnly(32, r, 0, ((v >>> (count - 1)) & 1) | ((v >>> 31) << 11), SHIFT_EAGER);
  return r;
}
export function shr16(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = count < 16 ? v >>> count : 0;
  const cf = count < 16 ? (v >>> (count - 1)) & 1 : count === 16 ? v >>> 15 : 0;
  f.recordResultOnly(16, r, 0, cf | ((v >>> 15) << 11), SHIFT_EAGER);
  return r;
}
export function sar32(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = v >> count;
  f.recordResultOnly(32, r, 0, (v >> (count - 1)) & 1, SHIFT_EAGER);
  return r;
}
export function sar16(f: LazyFlags, v: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return v;
  const s = (v << 16) >> 16;
  const r = (s >> count) & 0xffff;
  f.recordResultOnly(16, r, 0, (s >> (count - 1)) & 1, SHIFT_EAGER);
  return r;
}
/** ROL; `keepOf`: the register form with an immediate count other than 1 writes CF only. */
export function rol32(f: LazyFlags, v: number, count: number, keepOf: boolean): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = (v << count) | (v >>> (32 - count));
  if (keepOf && count !== 1) setCarryOnly(f, r & 1);
  else setRotateFlags(f, r & 1, ((v >>> 31) ^ (v >>> 30)) & 1);
  return r;
}
export function rol16(f: LazyFlags, v: number, count: number, keepOf: boolean): number {
  count &= 0x1f;
  if (count === 0) return v;
  const c = count & 15;
  const r = c === 0 ? v : ((v << c) | (v >>> (16 - c))) & 0xffff;
  if (keepOf && count !== 1) setCarryOnly(f, r & 1);
  else setRotateFlags(f, r & 1, ((v >>> 15) ^ (v >>> 14)) & 1);
  return r;
}
export function ror32(f: LazyFlags, v: number, count: number, keepOf: boolean): number {
  count &= 0x1f;
  if (count === 0) return v;
  const r = (v >>> count) | (v << (32 - count));
  if (keepOf && count !== 1) setCarryOnly(f, r >>> 31);
  else setRotateFlags(f, r >>> 31, ((v >>> 31) ^ v) & 1);
  return r;
}
export function ror16(f: LazyFlags, v: number, count: number, keepOf: boolean): number {
  count &= 0x1f;
  if (count === 0) return v;
  const c = count & 15;
  const r = c === 0 ? v : ((v >>> c) | (v << (16 - c))) & 0xffff;
  if (keepOf && count !== 1) setCarryOnly(f, (r >>> 15) & 1);
  else setRotateFlags(f, (r >>> 15) & 1, ((v >>> 15) ^ v) & 1);
  return r;
}
/** SHLD/SHRD at 32 bits (16 bits keeps doubleShift: its counts past 16 are odd). */
export function shld32(f: LazyFlags, d: number, s: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return d;
  const r = (d << count) | (s >>> (32 - count));
  f.recordResultOnly(32, r, 0, ((d >>> (32 - count)) & 1) | ((((d >>> 31) ^ (d >>> 30)) & 1) << 11), SHIFT_EAGER);
  return r;
}
export function shrd32(f: LazyFlags, d: number, s: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return d;
  const r = (d >>> count) | (s << (32 - count));
  f.recordResultOnly(32, r, 0, ((d >>> (count - 1)) & 1) | ((((d >>> 31) ^ s) & 1) << 11), SHIFT_EAGER);
  return r;
}

// Per operation, size and operand kind: read, shift by `count`, write back as writeE does (a
// 32-bit register write clears bits 63:32; memory: the address is computed once, then read,
// flags, write, in group2's order).
export function setR32(cpu: SoftCpu, insn: Instruction, r: number): void {
  const g = cpu.regs.gpr;
  g.r32[insn.rm] = r;
  g.r32[insn.rm | GprSlot.High] = 0;
}
export function shlR16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = shl16(cpu.regs.flags, g.r16[insn.rm << 1], count);
}
export function shlR32(cpu: SoftCpu, insn: Instruction, count: number): void {
  setR32(cpu, insn, shl32(cpu.regs.flags, cpu.regs.gpr.r32[insn.rm], count));
}
export function shlM16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, shl16(cpu.regs.flags, cpu.mem.read16(lin), count) & 0xffff);
}
export function shlM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, shl32(cpu.regs.flags, cpu.mem.read32(lin), count) >>> 0);
}
export function shrR16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = shr16(cpu.regs.flags, g.r16[insn.rm << 1], count);
}
export function shrR32(cpu: SoftCpu, insn: Instruction, count: number): void {
  setR32(cpu, insn, shr32(cpu.regs.flags, cpu.regs.gpr.r32[insn.rm], count));
}
export function shrM16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, shr16(cpu.regs.flags, cpu.mem.read16(lin), count) & 0xffff);
}
export function shrM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, shr32(cpu.regs.flags, cpu.mem.read32(lin), count) >>> 0);
}
export function sarR16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = sar16(cpu.regs.flags, g.r16[insn.rm << 1], count);
}
export function sarR32(cpu: SoftCpu, insn: Instruction, count: number): void {
  setR32(cpu, insn, sar32(cpu.regs.flags, cpu.regs.gpr.r32[insn.rm], count));
}
export function sarM16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, sar16(cpu.regs.flags, cpu.mem.read16(lin), count) & 0xffff);
}
export function sarM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, sar32(cpu.regs.flags, cpu.mem.read32(lin), count) >>> 0);
}
export function rolR16(cpu: SoftCpu, insn: Instruction, count: number, keepOf: boolean): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = rol16(cpu.regs.flags, g.r16[insn.rm << 1], count, keepOf);
}
export function rolR32(cpu: SoftCpu, insn: Instruction, count: number, keepOf: boolean): void {
  setR32(cpu, insn, rol32(cpu.regs.flags, cpu.regs.gpr.r32[insn.rm], count, keepOf));
}
export function rolM16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, rol16(cpu.regs.flags, cpu.mem.read16(lin), count, false) & 0xffff);
}
export function rolM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, rol32(cpu.regs.flags, cpu.mem.read32(lin), count, false) >>> 0);
}
export function rorR16(cpu: SoftCpu, insn: Instruction, count: number, keepOf: boolean): void {
  const g = cpu.regs.gpr;
  g.r16[insn.rm << 1] = ror16(cpu.regs.flags, g.r16[insn.rm << 1], count, keepOf);
}
export function rorR32(cpu: SoftCpu, insn: Instruction, count: number, keepOf: boolean): void {
  setR32(cpu, insn, ror32(cpu.regs.flags, cpu.regs.gpr.r32[insn.rm], count, keepOf));
}
export function rorM16(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 2);
  cpu.mem.write16(lin, ror16(cpu.regs.flags, cpu.mem.read16(lin), count, false) & 0xffff);
}
export function rorM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, ror32(cpu.regs.flags, cpu.mem.read32(lin), count, false) >>> 0);
}
export function shldR32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const g = cpu.regs.gpr;
  setR32(cpu, insn, shld32(cpu.regs.flags, g.r32[insn.rm], g.r32[insn.reg], count));
}
export function shldM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, shld32(cpu.regs.flags, cpu.mem.read32(lin), cpu.regs.gpr.r32[insn.reg], count) >>> 0);
}
export function shrdR32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const g = cpu.regs.gpr;
  setR32(cpu, insn, shrd32(cpu.regs.flags, g.r32[insn.rm], g.r32[insn.reg], count));
}
export function shrdM32(cpu: SoftCpu, insn: Instruction, count: number): void {
  const lin = memoryLinear(cpu, insn, 4);
  cpu.mem.write32(lin, shrd32(cpu.regs.flags, cpu.mem.read32(lin), cpu.regs.gpr.r32[insn.reg], count) >>> 0);
}

type Variants = readonly [Handler, Handler, Handler, Handler];

/**
 * By key: [16-bit register, 32-bit register, 16-bit memory, 32-bit memory], as MOV_VARIANTS
 * (handlers/data.ts). Each entry is its own function literal, so each keeps its own type
 * feedback (one shared closure body would be polymorphic again). The count: 1, CL or imm8;
 * ROL/ROR keep OF only in the register form with an immediate (keepOf below).
 */
export const SHIFT_VARIANTS: Readonly<Record<string, Variants>> = {
  shl_Ev_1: [
    (c, i) => shlR16(c, i, 1), (c, i) => shlR32(c, i, 1),
    (c, i) => shlM16(c, i, 1), (c, i) => shlM32(c, i, 1),
  ],
  shl_Ev_CL: [
    (c, i) => shlR16(c, i, c.regs.gpr.r8[4]), (c, i) => shlR32(c, i, c.regs.gpr.r8[4]),
    (c, i) => shlM16(c, i, c.regs.gpr.r8[4]), (c, i) => shlM32(c, i, c.regs.gpr.r8[4]),
  ],
  shl_Ev_Ib: [
    (c, i) => shlR16(c, i, i.imm), (c, i) => shlR32(c, i, i.imm),
    (c, i) => shlM16(c, i, i.imm), (c, i) => shlM32(c, i, i.imm),
  ],
  shr_Ev_1: [
    (c, i) => shrR16(c, i, 1), (c, i) => shrR32(c, i, 1),
    (c, i) => shrM16(c, i, 1), (c, i) => shrM32(c, i, 1),
  ],
  shr_Ev_CL: [
    (c, i) => shrR16(c, i, c.regs.gpr.r8[4]), (c, i) => shrR32(c, i, c.regs.gpr.r8[4]),
    (c, i) => shrM16(c, i, c.regs.gpr.r8[4]), (c, i) => shrM32(c, i, c.regs.gpr.r8[4]),
  ],
  shr_Ev_Ib: [
    (c, i) => shrR16(c, i, i.imm), (c, i) => shrR32(c, i, i.imm),
    (c, i) => shrM16(c, i, i.imm), (c, i) => shrM32(c, i, i.imm),
  ],
  sar_Ev_1: [
    (c, i) => sarR16(c, i, 1), (c, i) => sarR32(c, i, 1),
    (c, i) => sarM16(c, i, 1), (c, i) => sarM32(c, i, 1),
  ],
  sar_Ev_CL: [
    (c, i) => sarR16(c, i, c.regs.gpr.r8[4]), (c, i) => sarR32(c, i, c.regs.gpr.r8[4]),
    (c, i) => sarM16(c, i, c.regs.gpr.r8[4]), (c, i) => sarM32(c, i, c.regs.gpr.r8[4]),
  ],
  sar_Ev_Ib: [
    (c, i) => sarR16(c, i, i.imm), (c, i) => sarR32(c, i, i.imm),
    (c, i) => sarM16(c, i, i.imm), (c, i) => sarM32(c, i, i.imm),
  ],
  rol_Ev_1: [
    (c, i) => rolR16(c, i, 1, false), (c, i) => rolR32(c, i, 1, false),
    (c, i) => rolM16(c, i, 1), (c, i) => rolM32(c, i, 1),
  ],
  rol_Ev_CL: [
    (c, i) => rolR16(c, i, c.regs.gpr.r8[4], false), (c, i) => rolR32(c, i, c.regs.gpr.r8[4], false),
    (c, i) => rolM16(c, i, c.regs.gpr.r8[4]), (c, i) => rolM32(c, i, c.regs.gpr.r8[4]),
  ],
  rol_Ev_Ib: [
    (c, i) => rolR16(c, i, i.imm, true), (c, i) => rolR32(c, i, i.imm, true),
    (c, i) => rolM16(c, i, i.imm), (c, i) => rolM32(c, i, i.imm),
  ],
  ror_Ev_1: [
    (c, i) => rorR16(c, i, 1, false), (c, i) => rorR32(c, i, 1, false),
    (c, i) => rorM16(c, i, 1), (c, i) => rorM32(c, i, 1),
  ],
  ror_Ev_CL: [
    (c, i) => rorR16(c, i, c.regs.gpr.r8[4], false), (c, i) => rorR32(c, i, c.regs.gpr.r8[4], false),
    (c, i) => rorM16(c, i, c.regs.gpr.r8[4]), (c, i) => rorM32(c, i, c.regs.gpr.r8[4]),
  ],
  ror_Ev_Ib: [
    (c, i) => rorR16(c, i, i.imm, true), (c, i) => rorR32(c, i, i.imm, true),
    (c, i) => rorM16(c, i, i.imm), (c, i) => rorM32(c, i, i.imm),
  ],
  shld_Ev_Gv_Ib: [
    SHIFT_HANDLERS.shld_Ev_Gv_Ib, (c, i) => shldR32(c, i, i.imm),
    SHIFT_HANDLERS.shld_Ev_Gv_Ib, (c, i) => shldM32(c, i, i.imm),
  ],
  shld_Ev_Gv_CL: [
    SHIFT_HANDLERS.shld_Ev_Gv_CL, (c, i) => shldR32(c, i, c.regs.gpr.r8[4]),
    SHIFT_HANDLERS.shld_Ev_Gv_CL, (c, i) => shldM32(c, i, c.regs.gpr.r8[4]),
  ],
  shrd_Ev_Gv_Ib: [
    SHIFT_HANDLERS.shrd_Ev_Gv_Ib, (c, i) => shrdR32(c, i, i.imm),
    SHIFT_HANDLERS.shrd_Ev_Gv_Ib, (c, i) => shrdM32(c, i, i.imm),
  ],
  shrd_Ev_Gv_CL: [
    SHIFT_HANDLERS.shrd_Ev_Gv_CL, (c, i) => shrdR32(c, i, c.regs.gpr.r8[4]),
    SHIFT_HANDLERS.shrd_Ev_Gv_CL, (c, i) => shrdM32(c, i, c.regs.gpr.r8[4]),
  ],
};
