/**
 * The dispatch array: for every opcode-table entry, the handler registered under its key,
 * or #UD. Built once at module load; indexed by Instruction.entry.index on every step.
 */
import { OPCODE_TABLE } from '../../decoder/opcode-table.js';
import { raise, Vector } from '../faults.js';
import { ALU_HANDLERS } from './alu.js';
import { BCD_HANDLERS } from './bcd.js';
import { BITOP_HANDLERS } from './bitops.js';
import { MULDIV_HANDLERS } from './muldiv.js';
import { SEGMENT_LOAD_HANDLERS } from './segment-loads.js';
import { SHIFT_HANDLERS } from './shift.js';
import { STRING_HANDLERS } from './string.js';
import { SYSTEM_HANDLERS } from './system.js';
import { CONTROL_HANDLERS } from './control.js';
import { CPUID_MSR_HANDLERS } from './cpuid-msr.js';
import { DATA_HANDLERS } from './data.js';
import { IO_HANDLERS } from './io-ops.js';
import { FLAG_HANDLERS, STACK_HANDLERS } from './stack-ops.js';
import { X87_HANDLERS } from './x87.js';
import { ATOMIC_HANDLERS } from './atomics.js';
import { SYSTEM_EVENT_HANDLERS } from './system-events.js';
import type { Handler, HandlerTable } from './types.js';

const GROUPS: readonly HandlerTable[] = [
  ALU_HANDLERS, DATA_HANDLERS, CONTROL_HANDLERS, STACK_HANDLERS, FLAG_HANDLERS, IO_HANDLERS,
  SHIFT_HANDLERS, BITOP_HANDLERS, MULDIV_HANDLERS, BCD_HANDLERS, STRING_HANDLERS, SEGMENT_LOAD_HANDLERS,
  SYSTEM_HANDLERS,
  CPUID_MSR_HANDLERS,
  X87_HANDLERS,
  ATOMIC_HANDLERS,
  SYSTEM_EVENT_HANDLERS,
];

const undefinedOpcode: Handler = () => raise(Vector.UD);

export const HANDLERS: HandlerTable = Object.assign({}, ...GROUPS);

export const DISPATCH: readonly Handler[] = OPCODE_TABLE.map((entry) => HANDLERS[entry.key] ?? undefinedOpcode);

/** Table keys that have no handler yet: these raise #UD (listed in docs/gaps.md). */
export function unimplementedKeys(): string[] {
  return [...new Set(OPCODE_TABLE.filter((e) => !HANDLERS[e.key]).map((e) => e.key))];
}
