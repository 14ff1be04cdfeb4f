/**
 * Control flow: JMP, Jcc, CALL, RET (near, and far in real mode), LOOP/JCXZ, INT/INTO/IRET
 * in real mode, SETcc and CMOVcc (they share the condition evaluation), HLT.
 * Branch targets wrap to the operand size (a 16-bit operand size truncates EIP to 16 bits).
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { memoryLinear, readE, readMem, writeE, writeG } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import { realModeInterrupt } from '../interrupts.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadRealModeSegment, pop16, popV, push16, pushV } from '../stack.js';
import type { HandlerTable } from './types.js';

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

function relative(cpu: SoftCpu, insn: Instruction): void {
  setIp(cpu, insn.opSize, cpu.regs.rip + insn.imm);
}

function counter(cpu: SoftCpu, insn: Instruction): number {
  const g = cpu.regs.gpr;
  if (insn.addrSize === 2) return (g.r16[2] = g.r16[2] - 1);
  return (g.r32[1] = g.r32[1] - 1);
}

function farJump(cpu: SoftCpu, selector: number, offset: number, size: number): void {
  if (cpu.regs.cr0 & 1) throw new Error('protected-mode far transfers are not implemented in the interpreter yet');
  loadRealModeSegment(cpu, Seg.CS, selector);
  setIp(cpu, size, offset);
}

export const CONTROL_HANDLERS: HandlerTable = {
  jmp_Jb: relative,
  jmp_Jz: relative,
  jmp_Ev: (cpu, insn) => setIp(cpu, insn.opSize, readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0)),
  call_Jz: (cpu, insn) => {
    pushV(cpu, insn.opSize, cpu.regs.rip);
    relative(cpu, insn);
  },
  call_Ev: (cpu, insn) => {
    const target = readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0);
    pushV(cpu, insn.opSize, cpu.regs.rip);
    setIp(cpu, insn.opSize, target);
  },
  ret: (cpu, insn) => setIp(cpu, insn.opSize, popV(cpu, insn.opSize)),
  ret_Iw: (cpu, insn) => {
    const target = popV(cpu, insn.opSize);
    const g = cpu.regs.gpr;
    if (cpu.regs.seg.attr[Seg.SS] & 0x4000) g.r32[4] += insn.imm;
    else g.r16[8] += insn.imm;
    setIp(cpu, insn.opSize, target);
  },
  jmp_Ap: (cpu, insn) => farJump(cpu, insn.imm2, insn.imm, insn.opSize),
  call_Ap: (cpu, insn) => {
    pushV(cpu, insn.opSize, cpu.regs.seg.selector[Seg.CS]);
    pushV(cpu, insn.opSize, cpu.regs.rip);
    farJump(cpu, insn.imm2, insn.imm, insn.opSize);
  },
  jmp_Mp: (cpu, insn) => {
    const lin = memoryLinear(cpu, insn, insn.opSize + 2);
    const offset = readMem(cpu, lin, insn.opSize);
    farJump(cpu, readMem(cpu, lin + insn.opSize, 2), offset, insn.opSize);
  },
  call_Mp: (cpu, insn) => {
    const lin = memoryLinear(cpu, insn, insn.opSize + 2);
    const offset = readMem(cpu, lin, insn.opSize);
    const selector = readMem(cpu, lin + insn.opSize, 2);
    pushV(cpu, insn.opSize, cpu.regs.seg.selector[Seg.CS]);
    pushV(cpu, insn.opSize, cpu.regs.rip);
    farJump(cpu, selector, offset, insn.opSize);
  },
  retf: (cpu, insn) => {
    const ip = popV(cpu, insn.opSize);
    const cs = popV(cpu, insn.opSize) & 0xffff;
    farJump(cpu, cs, ip, insn.opSize);
  },
  retf_Iw: (cpu, insn) => {
    const ip = popV(cpu, insn.opSize);
    const cs = popV(cpu, insn.opSize) & 0xffff;
    const g = cpu.regs.gpr;
    if (cpu.regs.seg.attr[Seg.SS] & 0x4000) g.r32[4] += insn.imm;
    else g.r16[8] += insn.imm;
    farJump(cpu, cs, ip, insn.opSize);
  },
  loop_Jb: (cpu, insn) => {
    if (counter(cpu, insn) !== 0) relative(cpu, insn);
  },
  loope_Jb: (cpu, insn) => {
    if (counter(cpu, insn) !== 0 && cpu.regs.flags.zf()) relative(cpu, insn);
  },
  loopne_Jb: (cpu, insn) => {
    if (counter(cpu, insn) !== 0 && !cpu.regs.flags.zf()) relative(cpu, insn);
  },
  jcxz_Jb: (cpu, insn) => {
    const g = cpu.regs.gpr;
    if ((insn.addrSize === 2 ? g.r16[2] : g.r32[1]) === 0) relative(cpu, insn);
  },
  int_Ib: (cpu, insn) => {
    if (cpu.regs.cr0 & 1) throw new Error('protected-mode INT is not implemented in the interpreter yet');
    realModeInterrupt(cpu, insn.imm & 0xff, cpu.regs.rip);
  },
  int3: (cpu) => {
    if (cpu.regs.cr0 & 1) throw new Error('protected-mode INT3 is not implemented in the interpreter yet');
    realModeInterrupt(cpu, Vector.BP, cpu.regs.rip);
  },
  into: (cpu) => {
    if (!cpu.regs.flags.of()) return;
    if (cpu.regs.cr0 & 1) throw new Error('protected-mode INTO is not implemented in the interpreter yet');
    realModeInterrupt(cpu, Vector.OF, cpu.regs.rip);
  },
  iret: (cpu, insn) => {
    if (cpu.regs.cr0 & 1) throw new Error('protected-mode IRET is not implemented in the interpreter yet');
    const ip = popV(cpu, insn.opSize);
    const cs = popV(cpu, insn.opSize) & 0xffff;
    const flags = popV(cpu, insn.opSize);
    const f = cpu.regs.flags;
    // Real mode: IOPL and NT are writable; with a 16-bit operand only the low word changes.
    f.set(insn.opSize === 2 ? (f.get() & ~0xffff) | (flags & 0x7fd5) : (flags & 0x257fd5) | (f.get() & 0x1a0000));
    farJump(cpu, cs, ip, insn.opSize);
  },
  hlt: (cpu) => {
    if (cpu.regs.cpl !== 0) raise(Vector.GP, 0);
    cpu.halted = true;
  },
};

CONDITIONS.forEach((name, cc) => {
  const jump = (cpu: SoftCpu, insn: Instruction) => {
    if (condition(cpu, cc)) relative(cpu, insn);
  };
  CONTROL_HANDLERS[`j${name}_Jb`] = jump;
  CONTROL_HANDLERS[`j${name}_Jz`] = jump;
  CONTROL_HANDLERS[`set${name}_Eb`] = (cpu, insn) =>
    writeE(cpu, insn, 1, insn.isMem ? memoryLinear(cpu, insn, 1) : 0, condition(cpu, cc) ? 1 : 0);
  CONTROL_HANDLERS[`cmov${name}_Gv_Ev`] = (cpu, insn) => {
    // The source is read (and may fault) whether or not the condition holds.
    const v = readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0);
    if (condition(cpu, cc)) writeG(cpu, insn, insn.opSize, v);
    else if (insn.opSize === 4) cpu.regs.gpr.hi[insn.reg] = 0;
  };
});

export { push16, pop16 };
