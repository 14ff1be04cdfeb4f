/** The shape of an instruction handler: the CPU and the decoded instruction, nothing else. */
import type { Instruction } from '../../decoder/instruction.js';
import type { SoftCpu } from '../soft-cpu.js';

export type Handler = (cpu: SoftCpu, insn: Instruction) => void;
export type HandlerTable = Record<string, Handler>;
