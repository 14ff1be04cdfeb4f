/** SHIFT handlers: being written (see docs/software-cpu.md); keys absent here raise #UD. */
import type { HandlerTable } from './types.js';

export const SHIFT_HANDLERS: HandlerTable = {};
