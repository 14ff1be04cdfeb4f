/** BITOP handlers: being written (see docs/software-cpu.md); keys absent here raise #UD. */
import type { HandlerTable } from './types.js';

export const BITOP_HANDLERS: HandlerTable = {};
