/**
 * Control flow: JMP, Jcc, CALL, RET (near and far), LOOP/JCXZ, INT/INTO/IRET, SETcc and
 * CMOVcc (they share the condition evaluation), HLT. Protected-mode far transfers, IDT
 * delivery and IRET live in ../protected/.
 * Branch targets wrap to the operand size (a 16-bit operand size truncates EIP to 16 bits).
 * In 64-bit mode near branches always have a 64-bit operand size (Intel ignores 66 there,
 * the decoder's f64), targets are 64-bit with the carry into ripHi, and a non-canonical
 * target raises #GP(0) on the branch itself (SDM Vol. 2, "JMP", "CALL", "RET").
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { memoryLinear, readE, readE64, readMem, readMem64, setReg64, writeE, writeG } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import { softwareInterrupt } from '../interrupts.js';
import { protectedFarReturn, protectedFarTransfer } from '../protected/far-transfer.js';
import { protectedIret } from '../protected/interrupt-gate.js';
import { checkV86Iopl } from '../protected/v86.js';
import type { SoftCpu } from '../soft-cpu.js';
import { longModeFarReturn, longModeFarTransfer } from '../protected/long-mode-far.js';
import { addRsp, loadRealModeSegment, peek64, pop16, pop32, popV, push16, push32, push64, pushV } from '../stack.js';
import type { Handler, HandlerTable } from './types.js';
import { GprSlot } from '../../state/gpr-file.js';

const FLAG_VM = 0x20000;
const EFER_LMA = 0x400;
const TWO_32 = 4294967296;

const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;

/** Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc opcodes). */
export function condition(cpu: SoftCpu, cc: number): boolean {
  const f = cpu.regs.flags;
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = f.of() === 1; break;
    case 1: r = f.cf() === 1; break;
    case 2: r = f.zf() === 1; break;
    case 3: r = (f.cf() | f.zf()) === 1; break;
    case 4: r = f.sf() === 1; break;
    case 5: r = f.pf() === 1; break;
    case 6: r = f.sf() !== f.of(); break;
    default: r = f.zf() === 1 || f.sf() !== f.of(); break;
  }
  return cc & 1 ? !r : r;
}

function setIp(cpu: SoftCpu, size: number, target: number): void {
  cpu.regs.rip = size === 2 ? target & 0xffff : target | 0;
}

/** Jumps to the 64-bit address hi:lo; #GP(0) (RIP unchanged) when it is not canonical. */
export function jump64(cpu: SoftCpu, lo: number, hi: number): void {
  if ((hi << 16) >> 16 !== hi) raise(Vector.GP, 0);
  cpu.regs.rip = lo | 0;
  cpu.regs.ripHi = hi;
}

/** Scratch for a computed 64-bit target: bits 63:32 of the last relativeTarget. */
let targetHi = 0;

/** RIP + the signed 32-bit displacement: returns bits 31:0, bits 63:32 in targetHi. */
function relativeTarget(cpu: SoftCpu, disp: number): number {
  const r = cpu.regs;
  const sum = (r.rip >>> 0) + disp;
  if (sum >= TWO_32) {
    targetHi = (r.ripHi + 1) | 0;
    return sum - TWO_32;
  }
  if (sum < 0) {
    targetHi = (r.ripHi - 1) | 0;
    return sum + TWO_32;
  }
  targetHi = r.ripHi;
  return sum;
}

function relative64(cpu: SoftCpu, insn: Instruction): void {
  const lo = relativeTarget(cpu, insn.imm);
  jump64(cpu, lo, targetHi);
}

function relative(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 8) relative64(cpu, insn);
  else setIp(cpu, insn.opSize, cpu.regs.rip + insn.imm);
}

/** Decrements the count register of the address size (RCX, ECX or CX); true when not zero. */
function counter(cpu: SoftCpu, insn: Instruction): boolean {
  const g = cpu.regs.gpr;
  if (insn.addrSize === 2) return (g.r16[2] = g.r16[2] - 1) !== 0;
  if (insn.addrSize === 8) {
    const lo = g.r32[1];
    if (lo === 0) g.hi[1] = (g.hi[1] - 1) | 0;
    g.r32[1] = lo - 1;
    return g.r32[1] !== 0 || g.hi[1] !== 0;
  }
  // ECX in 64-bit mode (67 prefix) is a 32-bit register write: bits 63:32 clear.
  if (insn.mode === 64) g.hi[1] = 0;
  return (g.r32[1] = g.r32[1] - 1) !== 0;
}

/**
 * Near CALL in 64-bit mode. The return address is stored before the target is checked: a
 * non-canonical target raises #GP(0) with RSP unchanged but the bytes below it written, as
 * the host CPU does (measured by the random-sequence differential test).
 */
function call64(cpu: SoftCpu, lo: number, hi: number): void {
  const r = cpu.regs;
  const g = r.gpr;
  const spLo = g.r32[4];
  const spHi = g.hi[4];
  push64(cpu, r.rip, r.ripHi);
  if ((hi << 16) >> 16 !== hi) {
    g.r32[4] = spLo;
    g.hi[4] = spHi;
    raise(Vector.GP, 0);
  }
  r.rip = lo | 0;
  r.ripHi = hi;
}

function jmpEv64(cpu: SoftCpu, insn: Instruction): void {
  const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
  jump64(cpu, lo, cpu.valueHi);
}

/** CMOVcc r64, r/m64: the source is read (and may fault) whatever the condition. */
function cmov64(cpu: SoftCpu, insn: Instruction, cc: number): void {
  const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
  if (condition(cpu, cc)) setReg64(cpu, insn.reg, lo, cpu.valueHi);
}

/** Near RET in 64-bit mode: RSP moves only once the target proved canonical. */
function ret64(cpu: SoftCpu, release: number): void {
  const lo = peek64(cpu, 0);
  jump64(cpu, lo, cpu.valueHi);
  addRsp(cpu, 8 + release);
}

/** Far JMP/CALL through a memory pointer: m16:16, m16:32, or m16:64 with REX.W. */
function farPointer(cpu: SoftCpu, insn: Instruction, call: boolean): void {
  if (!insn.isMem) raise(Vector.UD);
  const lin = memoryLinear(cpu, insn, insn.opSize + 2);
  if (cpu.regs.efer & EFER_LMA && cpu.regs.cr0 & 1) {
    let lo: number;
    let hi = 0;
    if (insn.opSize === 8) {
      lo = readMem64(cpu, lin);
      hi = cpu.valueHi;
    } else lo = readMem(cpu, lin, insn.opSize);
    longModeFarTransfer(cpu, readMem(cpu, lin + insn.opSize, 2), lo, hi, insn.opSize, call);
    return;
  }
  const offset = readMem(cpu, lin, insn.opSize);
  const selector = readMem(cpu, lin + insn.opSize, 2);
  if (call) farCall(cpu, selector, offset, insn.opSize);
  else farJump(cpu, selector, offset, insn.opSize);
}

function farJump(cpu: SoftCpu, selector: number, offset: number, size: number): void {
  if (cpu.regs.efer & EFER_LMA && cpu.regs.cr0 & 1) {
    longModeFarTransfer(cpu, selector, offset >>> 0, 0, size, false);
    return;
  }
  if (cpu.regs.cr0 & 1 && !(cpu.regs.flags.get() & FLAG_VM)) {
    protectedFarTransfer(cpu, selector, offset, size, false);
    return;
  }
  loadRealModeSegment(cpu, Seg.CS, selector);
  setIp(cpu, size, offset);
}

/** Far CALL: in protected mode the checks (and any gate) come before the pushes. */
function farCall(cpu: SoftCpu, selector: number, offset: number, size: number): void {
  if (cpu.regs.efer & EFER_LMA && cpu.regs.cr0 & 1) {
    longModeFarTransfer(cpu, selector, offset >>> 0, 0, size, true);
    return;
  }
  if (cpu.regs.cr0 & 1 && !(cpu.regs.flags.get() & FLAG_VM)) {
    protectedFarTransfer(cpu, selector, offset, size, true);
    return;
  }
  pushV(cpu, size, cpu.regs.seg.selector[Seg.CS]);
  pushV(cpu, size, cpu.regs.rip);
  loadRealModeSegment(cpu, Seg.CS, selector);
  setIp(cpu, size, offset);
}

function farReturn(cpu: SoftCpu, insn: Instruction, release: number): void {
  if (cpu.regs.efer & EFER_LMA && cpu.regs.cr0 & 1) {
    longModeFarReturn(cpu, insn.opSize, release);
    return;
  }
  if (cpu.regs.cr0 & 1 && !(cpu.regs.flags.get() & FLAG_VM)) {
    protectedFarReturn(cpu, insn.opSize, release);
    return;
  }
  const ip = popV(cpu, insn.opSize);
  const cs = popV(cpu, insn.opSize) & 0xffff;
  const g = cpu.regs.gpr;
  if (cpu.regs.seg.attr[Seg.SS] & 0x4000) g.r32[4] += release;
  else g.r16[8] += release;
  loadRealModeSegment(cpu, Seg.CS, cs);
  setIp(cpu, insn.opSize, ip);
}

export const CONTROL_HANDLERS: HandlerTable = {
  jmp_Jb: relative,
  jmp_Jz: relative,
  jmp_Ev: (cpu, insn) => {
    if (insn.opSize === 8) {
      jmpEv64(cpu, insn);
      return;
    }
    setIp(cpu, insn.opSize, readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0));
  },
  call_Jz: (cpu, insn) => {
    if (insn.opSize === 8) {
      const lo = relativeTarget(cpu, insn.imm);
      call64(cpu, lo, targetHi);
      return;
    }
    if (insn.opSize === 2) {
      push16(cpu, cpu.regs.rip);
      cpu.regs.rip = (cpu.regs.rip + insn.imm) & 0xffff;
    } else {
      push32(cpu, cpu.regs.rip);
      cpu.regs.rip = (cpu.regs.rip + insn.imm) | 0;
    }
  },
  call_Ev: (cpu, insn) => {
    if (insn.opSize === 8) {
      const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
      call64(cpu, lo, cpu.valueHi);
      return;
    }
    const target = readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0);
    pushV(cpu, insn.opSize, cpu.regs.rip);
    setIp(cpu, insn.opSize, target);
  },
  ret: (cpu, insn) => {
    if (insn.opSize === 8) ret64(cpu, 0);
    else if (insn.opSize === 2) cpu.regs.rip = pop16(cpu);
    else cpu.regs.rip = pop32(cpu) | 0;
  },
  ret_Iw: (cpu, insn) => {
    if (insn.opSize === 8) {
      ret64(cpu, insn.imm & 0xffff);
      return;
    }
    const target = popV(cpu, insn.opSize);
    const g = cpu.regs.gpr;
    if (cpu.regs.seg.attr[Seg.SS] & 0x4000) g.r32[4] += insn.imm;
    else g.r16[8] += insn.imm;
    setIp(cpu, insn.opSize, target);
  },
  jmp_Ap: (cpu, insn) => farJump(cpu, insn.detail.imm2, insn.imm >>> 0, insn.opSize),
  call_Ap: (cpu, insn) => farCall(cpu, insn.detail.imm2, insn.imm >>> 0, insn.opSize),
  jmp_Mp: (cpu, insn) => farPointer(cpu, insn, false),
  call_Mp: (cpu, insn) => farPointer(cpu, insn, true),
  retf: (cpu, insn) => farReturn(cpu, insn, 0),
  retf_Iw: (cpu, insn) => farReturn(cpu, insn, insn.imm & 0xffff),
  loop_Jb: (cpu, insn) => {
    if (counter(cpu, insn)) relative(cpu, insn);
  },
  loope_Jb: (cpu, insn) => {
    if (counter(cpu, insn) && cpu.regs.flags.zf()) relative(cpu, insn);
  },
  loopne_Jb: (cpu, insn) => {
    if (counter(cpu, insn) && !cpu.regs.flags.zf()) relative(cpu, insn);
  },
  jcxz_Jb: (cpu, insn) => {
    const g = cpu.regs.gpr;
    const zero = insn.addrSize === 2 ? g.r16[2] === 0 : g.r32[1] === 0 && (insn.addrSize !== 8 || g.hi[1] === 0);
    if (zero) relative(cpu, insn);
  },
  int_Ib: (cpu, insn) => {
    checkV86Iopl(cpu);
    softwareInterrupt(cpu, insn.imm & 0xff, cpu.regs.rip);
  },
  int3: (cpu) => softwareInterrupt(cpu, Vector.BP, cpu.regs.rip),
  into: (cpu) => {
    if (cpu.regs.flags.of()) softwareInterrupt(cpu, Vector.OF, cpu.regs.rip);
  },
  iret: (cpu, insn) => {
    if (cpu.regs.cr0 & 1) {
      protectedIret(cpu, insn.opSize);
      return;
    }
    const ip = popV(cpu, insn.opSize);
    const cs = popV(cpu, insn.opSize) & 0xffff;
    const flags = popV(cpu, insn.opSize);
    const f = cpu.regs.flags;
    // Real mode: IOPL and NT are writable; with a 16-bit operand only the low word changes.
    f.set(insn.opSize === 2 ? (f.get() & ~0xffff) | (flags & 0x7fd5) : (flags & 0x257fd5) | (f.get() & 0x1a0000));
    loadRealModeSegment(cpu, Seg.CS, cs);
    setIp(cpu, insn.opSize, ip);
  },
  hlt: (cpu) => {
    if (cpu.regs.cpl !== 0) raise(Vector.GP, 0);
    cpu.halted = true;
  },
};

/*
 * Jcc, one function per condition rather than one closure over `cc`: closures from one
 * literal share V8's type feedback, so the condition switch would never fold. Each tests its
 * flags directly (SDM Vol. 1, Appendix B, condition codes).
 */
const JCC: Record<string, Handler> = {
  jo: (cpu, insn) => { if (cpu.regs.flags.of() === 1) relative(cpu, insn); },
  jno: (cpu, insn) => { if (cpu.regs.flags.of() !== 1) relative(cpu, insn); },
  jb: (cpu, insn) => { if (cpu.regs.flags.cf() === 1) relative(cpu, insn); },
  jae: (cpu, insn) => { if (cpu.regs.flags.cf() !== 1) relative(cpu, insn); },
  je: (cpu, insn) => { if (cpu.regs.flags.zf() === 1) relative(cpu, insn); },
  jne: (cpu, insn) => { if (cpu.regs.flags.zf() !== 1) relative(cpu, insn); },
  jbe: (cpu, insn) => { const f = cpu.regs.flags; if ((f.cf() | f.zf()) === 1) relative(cpu, insn); },
  ja: (cpu, insn) => { const f = cpu.regs.flags; if ((f.cf() | f.zf()) !== 1) relative(cpu, insn); },
  js: (cpu, insn) => { if (cpu.regs.flags.sf() === 1) relative(cpu, insn); },
  jns: (cpu, insn) => { if (cpu.regs.flags.sf() !== 1) relative(cpu, insn); },
  jp: (cpu, insn) => { if (cpu.regs.flags.pf() === 1) relative(cpu, insn); },
  jnp: (cpu, insn) => { if (cpu.regs.flags.pf() !== 1) relative(cpu, insn); },
  jl: (cpu, insn) => { const f = cpu.regs.flags; if (f.sf() !== f.of()) relative(cpu, insn); },
  jge: (cpu, insn) => { const f = cpu.regs.flags; if (f.sf() === f.of()) relative(cpu, insn); },
  jle: (cpu, insn) => { const f = cpu.regs.flags; if (f.zf() === 1 || f.sf() !== f.of()) relative(cpu, insn); },
  jg: (cpu, insn) => { const f = cpu.regs.flags; if (!(f.zf() === 1 || f.sf() !== f.of())) relative(cpu, insn); },
};

CONDITIONS.forEach((name, cc) => {
  const jump = JCC[`j${name}`];
  CONTROL_HANDLERS[`j${name}_Jb`] = jump;
  CONTROL_HANDLERS[`j${name}_Jz`] = jump;
  CONTROL_HANDLERS[`set${name}_Eb`] = (cpu, insn) =>
    writeE(cpu, insn, 1, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, condition(cpu, cc) ? 1 : 0);
  CONTROL_HANDLERS[`cmov${name}_Gv_Ev`] = (cpu, insn) => {
    // The source is read (and may fault) whether or not the condition holds.
    if (insn.opSize === 8) {
      cmov64(cpu, insn, cc);
      return;
    }
    const v = readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0);
    if (condition(cpu, cc)) writeG(cpu, insn, insn.opSize, v);
    else if (insn.opSize === 4) cpu.regs.gpr.r32[insn.reg | GprSlot.High] = 0;
  };
});

export { push16, pop16 };
