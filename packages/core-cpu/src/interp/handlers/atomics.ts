/**
 * Compare-and-exchange and exchange-and-add: CMPXCHG, XADD, CMPXCHG8B (and CMPXCHG16B with
 * REX.W in 64-bit mode). One vCPU runs per thread, so LOCK needs no host atomics here.
 */
import type { HandlerTable } from './types.js';

export const ATOMIC_HANDLERS: HandlerTable = {};
