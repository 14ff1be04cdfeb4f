/**
 * x87 control and state-save instructions (SDM Vol. 2 and Vol. 1, 8.1.10 / Figures 8-9 to
 * 8-12): FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW (m16 and AX), FLDENV/FNSTENV, FRSTOR/FNSAVE in
 * the 14/94-byte (16-bit operand size) and 28/108-byte (32-bit) layouts, each in its real-mode
 * form (20-bit linear pointers, FOP beside FIP) or protected-mode form (offset + selector),
 * FWAIT, FNOP and the 8087/287 leftovers FNENI/FNDISI/FNSETPM (no-ops since the 387), and
 * FXSAVE/FXRSTOR (0F AE /0 /1, the 512-byte area; FXSAVE64 with REX.W in 64-bit mode).
 *
 * Reserved halves of the 32-bit environment are stored as 1s (as Bochs does; the differential
 * test checks CW/SW/TW against the hardware). FNSTENV masks all exceptions after storing;
 * FNSAVE reinitializes the FPU.
 *
 * FXSAVE on this CPU model (no SSE, CPUID.01H:EDX.FXSR only): bytes 0-23 and the eight
 * 16-byte register slots (the 10 value bytes; the 6 reserved bytes are not written) hold the
 * x87 state; MXCSR and MXCSR_MASK (bytes 24-31) are stored as 0 because there is no MXCSR;
 * the XMM area (160 and up) is neither written nor read, as on a Pentium II, which saves only
 * x87/MMX state. FXRSTOR reads the same fields. Both need a 16-byte aligned operand (#GP(0)),
 * raise #UD when CR0.EM = 1 and #NM when CR0.TS = 1, and do not check for pending exceptions.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Float80 } from '../../fpu/float80.js';
import { FSW_B, FSW_ES, type FpuState } from '../../fpu/fpu-state.js';
import { FSW_EXCEPTIONS, FSW_SF } from '../../fpu/round.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { Handler, HandlerTable } from './types.js';
import {
  CR0_EM, CR0_MP, CR0_TS, at, checkPending, enterControl, enterNoWait, memLinear, probeWrite, protectedLayout,
  read16, read32, read80, write16, write32, write80,
} from './x87-core.js';

const REG = new Float80();

/** Environment sizes by layout: 16-bit 14 bytes, 32-bit 28 bytes. */
function envSize(insn: Instruction): number {
  return insn.opSize === 2 ? 14 : 28;
}

/** Stores the environment at `lin` in the layout for the operand size and mode. */
function storeEnv(cpu: SoftCpu, insn: Instruction, fpu: FpuState, lin: number): void {
  const cw = fpu.cw;
  const sw = fpu.statusWord();
  const tw = fpu.tagWord();
  const prot = protectedLayout(cpu);
  if (insn.opSize === 2) {
    write16(cpu, lin, cw);
    write16(cpu, at(lin, 2), sw);
    write16(cpu, at(lin, 4), tw);
    if (prot) {
      write16(cpu, at(lin, 6), fpu.fip);
      write16(cpu, at(lin, 8), fpu.fcs);
      write16(cpu, at(lin, 10), fpu.fdp);
      write16(cpu, at(lin, 12), fpu.fds);
    } else {
      const ip = realLinear(fpu.fcs, fpu.fip);
      const dp = realLinear(fpu.fds, fpu.fdp);
      write16(cpu, at(lin, 6), ip);
      write16(cpu, at(lin, 8), ((ip >>> 4) & 0xf000) | fpu.fop);
      write16(cpu, at(lin, 10), dp);
      write16(cpu, at(lin, 12), (dp >>> 4) & 0xf000);
    }
    return;
  }
  write32(cpu, lin, 0xffff0000 | cw);
  write32(cpu, at(lin, 4), 0xffff0000 | sw);
  write32(cpu, at(lin, 8), 0xffff0000 | tw);
  if (prot) {
    write32(cpu, at(lin, 12), fpu.fip);
    write32(cpu, at(lin, 16), (fpu.fcs & 0xffff) | (fpu.fop << 16));
    write32(cpu, at(lin, 20), fpu.fdp);
    write32(cpu, at(lin, 24), 0xffff0000 | fpu.fds);
  } else {
    const ip = realLinear(fpu.fcs, fpu.fip);
    const dp = realLinear(fpu.fds, fpu.fdp);
    write32(cpu, at(lin, 12), 0xffff0000 | (ip & 0xffff));
    write32(cpu, at(lin, 16), ((ip & 0xffff0000) >>> 4) | fpu.fop);
    write32(cpu, at(lin, 20), 0xffff0000 | (dp & 0xffff));
    write32(cpu, at(lin, 24), (dp & 0xffff0000) >>> 4);
  }
}

/** Real-mode pointer: selector * 16 + offset (what the real-mode layouts store). */
function realLinear(selector: number, offset: number): number {
  return ((selector & 0xffff) * 16 + (offset >>> 0)) >>> 0;
}

function loadEnv(cpu: SoftCpu, insn: Instruction, fpu: FpuState, lin: number): void {
  const prot = protectedLayout(cpu);
  let cw: number;
  let sw: number;
  let tw: number;
  if (insn.opSize === 2) {
    cw = read16(cpu, lin);
    sw = read16(cpu, at(lin, 2));
    tw = read16(cpu, at(lin, 4));
    if (prot) {
      fpu.fip = read16(cpu, at(lin, 6));
      fpu.fcs = read16(cpu, at(lin, 8));
      fpu.fdp = read16(cpu, at(lin, 10));
      fpu.fds = read16(cpu, at(lin, 12));
      fpu.fop = 0;
    } else {
      const w = read16(cpu, at(lin, 8));
      fpu.fip = read16(cpu, at(lin, 6)) | ((w & 0xf000) << 4);
      fpu.fop = w & 0x7ff;
      fpu.fdp = read16(cpu, at(lin, 10)) | ((read16(cpu, at(lin, 12)) & 0xf000) << 4);
      fpu.fcs = 0;
      fpu.fds = 0;
    }
  } else {
    cw = read16(cpu, lin);
    sw = read16(cpu, at(lin, 4));
    tw = read16(cpu, at(lin, 8));
    if (prot) {
      fpu.fip = read32(cpu, at(lin, 12));
      const w = read32(cpu, at(lin, 16));
      fpu.fcs = w & 0xffff;
      fpu.fop = (w >>> 16) & 0x7ff;
      fpu.fdp = read32(cpu, at(lin, 20));
      fpu.fds = read16(cpu, at(lin, 24));
    } else {
      const w = read32(cpu, at(lin, 16));
      fpu.fip = ((read16(cpu, at(lin, 12)) | ((w << 4) & 0xffff0000)) >>> 0);
      fpu.fop = w & 0x7ff;
      fpu.fdp = ((read16(cpu, at(lin, 20)) | ((read32(cpu, at(lin, 24)) << 4) & 0xffff0000)) >>> 0);
      fpu.fcs = 0;
      fpu.fds = 0;
    }
  }
  fpu.fipHi = 0;
  fpu.fdpHi = 0;
  fpu.setControlWord(cw);
  fpu.setStatusWord(sw);
  fpu.setTagWord(tw);
}

const fnstenv: Handler = (cpu, insn) => {
  const fpu = enterNoWait(cpu);
  const lin = memLinear(cpu, insn, envSize(insn), null);
  probeWrite(cpu, lin, envSize(insn));
  storeEnv(cpu, insn, fpu, lin);
  fpu.cw |= FSW_EXCEPTIONS;
};

const fldenv: Handler = (cpu, insn) => {
  const fpu = enterControl(cpu);
  const lin = memLinear(cpu, insn, envSize(insn), null);
  touch(cpu, lin, envSize(insn));
  loadEnv(cpu, insn, fpu, lin);
};

/** Reads both ends of a state image first, so a #PF part-way leaves the FPU unchanged. */
function touch(cpu: SoftCpu, lin: number, size: number): void {
  cpu.mem.read8(lin);
  cpu.mem.read8(at(lin, size - 1));
}

const fnsave: Handler = (cpu, insn) => {
  const fpu = enterNoWait(cpu);
  const env = envSize(insn);
  const lin = memLinear(cpu, insn, env + 80, null);
  probeWrite(cpu, lin, env + 80);
  storeEnv(cpu, insn, fpu, lin);
  for (let i = 0; i < 8; i++) write80(cpu, at(lin, env + 10 * i), fpu.regs.load(fpu.phys(i), REG));
  fpu.init();
};

const frstor: Handler = (cpu, insn) => {
  const fpu = enterControl(cpu);
  const env = envSize(insn);
  const lin = memLinear(cpu, insn, env + 80, null);
  touch(cpu, lin, env + 80);
  loadEnv(cpu, insn, fpu, lin);
  for (let i = 0; i < 8; i++) fpu.regs.store(fpu.phys(i), read80(cpu, at(lin, env + 10 * i), REG));
};

// ---- FXSAVE / FXRSTOR

/** #UD with CR0.EM, #NM with CR0.TS; 16-byte alignment; no pending-exception check. */
function fxArea(cpu: SoftCpu, insn: Instruction): number {
  const cr0 = cpu.regs.cr0;
  if (cr0 & CR0_EM) raise(Vector.UD);
  if (cr0 & CR0_TS) raise(Vector.NM);
  const lin = memLinear(cpu, insn, 512, null);
  if (lin & 15) raise(Vector.GP, 0);
  return lin;
}

const fxsave: Handler = (cpu, insn) => {
  const lin = fxArea(cpu, insn);
  const fpu = cpu.regs.fpu;
  probeWrite(cpu, lin, 160);
  write16(cpu, lin, fpu.cw);
  write16(cpu, at(lin, 2), fpu.statusWord());
  write16(cpu, at(lin, 4), fpu.valid & 0xff);
  write16(cpu, at(lin, 6), fpu.fop);
  if (insn.mode === 64 && insn.opSize === 8) {
    write32(cpu, at(lin, 8), fpu.fip);
    write32(cpu, at(lin, 12), fpu.fipHi);
    write32(cpu, at(lin, 16), fpu.fdp);
    write32(cpu, at(lin, 20), fpu.fdpHi);
  } else {
    write32(cpu, at(lin, 8), fpu.fip);
    write32(cpu, at(lin, 12), fpu.fcs & 0xffff);
    write32(cpu, at(lin, 16), fpu.fdp);
    write32(cpu, at(lin, 20), fpu.fds & 0xffff);
  }
  write32(cpu, at(lin, 24), 0);
  write32(cpu, at(lin, 28), 0);
  for (let i = 0; i < 8; i++) write80(cpu, at(lin, 32 + 16 * i), fpu.regs.load(fpu.phys(i), REG));
};

const fxrstor: Handler = (cpu, insn) => {
  const lin = fxArea(cpu, insn);
  const fpu = cpu.regs.fpu;
  touch(cpu, lin, 160);
  const cw = read16(cpu, lin);
  const sw = read16(cpu, at(lin, 2));
  const ftw = cpu.mem.read8(at(lin, 4));
  const fop = read16(cpu, at(lin, 6)) & 0x7ff;
  const fip = read32(cpu, at(lin, 8));
  const w12 = read32(cpu, at(lin, 12));
  const fdp = read32(cpu, at(lin, 16));
  const w20 = read32(cpu, at(lin, 20));
  const wide = insn.mode === 64 && insn.opSize === 8;
  fpu.setControlWord(cw);
  fpu.setStatusWord(sw);
  fpu.valid = ftw;
  fpu.fop = fop;
  fpu.fip = fip;
  fpu.fdp = fdp;
  fpu.fipHi = wide ? w12 | 0 : 0;
  fpu.fdpHi = wide ? w20 | 0 : 0;
  fpu.fcs = wide ? 0 : w12 & 0xffff;
  fpu.fds = wide ? 0 : w20 & 0xffff;
  for (let i = 0; i < 8; i++) fpu.regs.store(fpu.phys(i), read80(cpu, at(lin, 32 + 16 * i), REG));
};

// ---- the rest

const fninit: Handler = (cpu) => {
  enterNoWait(cpu).init();
};

const fnclex: Handler = (cpu) => {
  const fpu = enterNoWait(cpu);
  fpu.sw &= ~(FSW_EXCEPTIONS | FSW_SF | FSW_ES | FSW_B);
};

const fldcw: Handler = (cpu, insn) => {
  const fpu = enterControl(cpu);
  fpu.setControlWord(read16(cpu, memLinear(cpu, insn, 2, null)));
};

const fnstcw: Handler = (cpu, insn) => {
  const fpu = enterNoWait(cpu);
  write16(cpu, memLinear(cpu, insn, 2, null), fpu.cw);
};

const fnstswMem: Handler = (cpu, insn) => {
  const fpu = enterNoWait(cpu);
  write16(cpu, memLinear(cpu, insn, 2, null), fpu.statusWord());
};

const fnstswAx: Handler = (cpu) => {
  const fpu = enterNoWait(cpu);
  cpu.regs.gpr.r16[0] = fpu.statusWord();
};

/** WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set; then pending exceptions. */
const fwait: Handler = (cpu) => {
  const r = cpu.regs;
  if ((r.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) raise(Vector.NM);
  checkPending(cpu, r.fpu);
};

const fnop: Handler = (cpu) => {
  enterControl(cpu);
};

const legacyNop: Handler = (cpu) => {
  enterNoWait(cpu);
};

export const X87_CONTROL_HANDLERS: HandlerTable = {
  fninit,
  fnclex,
  fldcw_Mw: fldcw,
  fnstcw_Mw: fnstcw,
  fnstsw_Mw: fnstswMem,
  fnstsw_AX: fnstswAx,
  fnstenv_Menv: fnstenv,
  fldenv_Menv: fldenv,
  fnsave_Mstate: fnsave,
  frstor_Mstate: frstor,
  fwait,
  fnop,
  fneni: legacyNop,
  fndisi: legacyNop,
  fnsetpm: legacyNop,
  /** 0F AE /0 and /1 memory forms: keys for rows `fxsave`/`fxrstor` with operand `M`. */
  fxsave_M: fxsave,
  fxrstor_M: fxrstor,
};
