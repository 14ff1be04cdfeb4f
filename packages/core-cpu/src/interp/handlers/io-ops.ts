/**
 * IN and OUT through the machine's port bus. The I/O permission checks of protected mode
 * (IOPL, the TSS bitmap) come with the system-architecture work; until then a port access
 * outside real mode at CPL > IOPL raises #GP(0) as if every bitmap bit were set.
 */
import type { AccessSize } from '@tsemu/devices/platform';
import type { Instruction } from '../../decoder/instruction.js';
import { setRegV } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

function checkIo(cpu: SoftCpu): void {
  if (cpu.regs.cr0 & 1 && cpu.regs.cpl > ((cpu.regs.flags.get() >> 12) & 3)) raise(Vector.GP, 0);
}

function input(size: (i: Instruction) => AccessSize, port: (c: SoftCpu, i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    checkIo(cpu);
    const s = size(insn);
    const v = cpu.io.read(port(cpu, insn), s);
    if (s === 1) cpu.regs.gpr.r8[0] = v;
    else setRegV(cpu, 0, s, v);
  };
}

function output(size: (i: Instruction) => AccessSize, port: (c: SoftCpu, i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    checkIo(cpu);
    const s = size(insn);
    const g = cpu.regs.gpr;
    cpu.io.write(port(cpu, insn), s, s === 1 ? g.r8[0] : s === 2 ? g.r16[0] : g.r32[0] >>> 0);
  };
}

const byte = (): AccessSize => 1;
const word = (i: Instruction): AccessSize => (i.opSize === 2 ? 2 : 4);
const imm = (_c: SoftCpu, i: Instruction) => i.imm & 0xff;
const dx = (c: SoftCpu) => c.regs.gpr.r16[4];

export const IO_HANDLERS: HandlerTable = {
  in_AL_Ib: input(byte, imm),
  in_eAX_Ib: input(word, imm),
  in_AL_DX: input(byte, dx),
  in_eAX_DX: input(word, dx),
  out_Ib_AL: output(byte, imm),
  out_Ib_eAX: output(word, imm),
  out_DX_AL: output(byte, dx),
  out_DX_eAX: output(word, dx),
};
