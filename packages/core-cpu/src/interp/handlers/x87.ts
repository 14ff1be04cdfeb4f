/**
 * x87 FPU instructions (D8-DF escapes, FWAIT, FXSAVE/FXRSTOR) over the 80-bit library in
 * ../../fpu, split by concern: x87-core (entry checks, stack, FSW merging, memory operands),
 * x87-arith (arithmetic and comparisons), x87-math (stack-top operations and transcendentals),
 * x87-transfer (loads, stores, register moves), x87-control (control words, environment and
 * state save/restore). Keys come from decoder/opcode-table-x87.ts (and the 0F AE rows).
 */
import type { HandlerTable } from './types.js';
import { X87_ARITH_HANDLERS } from './x87-arith.js';
import { X87_CONTROL_HANDLERS } from './x87-control.js';
import { X87_MATH_HANDLERS } from './x87-math.js';
import { X87_TRANSFER_HANDLERS } from './x87-transfer.js';

export const X87_HANDLERS: HandlerTable = {
  ...X87_ARITH_HANDLERS,
  ...X87_MATH_HANDLERS,
  ...X87_TRANSFER_HANDLERS,
  ...X87_CONTROL_HANDLERS,
};
