/**
 * IN and OUT through the machine's port bus. In protected mode at CPL > IOPL, and always in
 * virtual-8086 mode, the TSS I/O permission bitmap decides (protected/io-permission.ts). Each
 * access takes PORT_ACCESS_CYCLES of the clock (stall-cycles.ts).
 */
import type { AccessSize } from '@tsemu/devices/platform';
import type { Instruction } from '../../decoder/instruction.js';
import { setRegV } from '../addressing.js';
import { checkIoPermission } from '../protected/io-permission.js';
import type { SoftCpu } from '../soft-cpu.js';
import { portAccessStall } from './stall-cycles.js';
import type { HandlerTable } from './types.js';

function checkIo(cpu: SoftCpu, port: number, size: number): void {
  if (cpu.regs.cr0 & 1) checkIoPermission(cpu, port, size);
}

function input(size: (i: Instruction) => AccessSize, port: (c: SoftCpu, i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    const s = size(insn);
    const p = port(cpu, insn);
    checkIo(cpu, p, s);
    const v = cpu.io.read(p, s);
    portAccessStall(cpu);
    if (s === 1) cpu.regs.gpr.r8[0] = v;
    else setRegV(cpu, 0, s, v);
  };
}

function output(size: (i: Instruction) => AccessSize, port: (c: SoftCpu, i: Instruction) => number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    const s = size(insn);
    const p = port(cpu, insn);
    checkIo(cpu, p, s);
    const g = cpu.regs.gpr;
    cpu.io.write(p, s, s === 1 ? g.r8[0] : s === 2 ? g.r16[0] : g.r32[0] >>> 0);
    portAccessStall(cpu);
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
