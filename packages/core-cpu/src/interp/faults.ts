/**
 * Raising guest exceptions from instruction handlers. One preallocated CpuFault (the MMU's
 * fault type) is refilled and thrown; the run loop catches it, rewinds RIP to the faulting
 * instruction and delivers the vector. Nothing here allocates.
 */
import { CpuFault } from '../mmu/cpu-fault.js';

/** Exception vectors (SDM Vol. 3, Table 6-1). */
export const Vector = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8,
  TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, MC: 18, XM: 19,
} as const;

const FAULT = new CpuFault(Vector.UD, 0, false);

/** Throws exception `vector`, with an error code when one is given. */
export function raise(vector: number, errorCode = -1): never {
  FAULT.vector = vector;
  FAULT.errorCode = errorCode < 0 ? 0 : errorCode;
  FAULT.hasErrorCode = errorCode >= 0;
  FAULT.address = 0;
  throw FAULT;
}

export { CpuFault };
