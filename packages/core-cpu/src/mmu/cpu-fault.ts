/**
 * Guest faults raised by the software MMU.
 *
 * A fault is a plain preallocated object, not an Error: throwing it captures no stack, so a
 * guest that page-faults a million times a second (demand paging, copy-on-write) costs the
 * host a throw and a catch, nothing more. The run loop catches it once per instruction,
 * restores RIP, writes CR2 from `address` and delivers `vector` through the IDT.
 *
 * Page-fault error code bits: Intel SDM Vol. 3A, 4.7 "Page-Fault Exceptions".
 */

/** #PF vector. */
export const VECTOR_PF = 14;

/** Error code bit 0: 0 = no translation (not present), 1 = protection violation or RSVD. */
export const PF_P = 1 << 0;
/** Bit 1: the access was a write. */
export const PF_WR = 1 << 1;
/** Bit 2: the access was a user-mode access (CPL 3 and not an implicit supervisor access). */
export const PF_US = 1 << 2;
/** Bit 3: a reserved bit was set in some paging-structure entry. */
export const PF_RSVD = 1 << 3;
/** Bit 4: instruction fetch (only reported when SMEP, or PAE/4-level paging with EFER.NXE). */
export const PF_ID = 1 << 4;

export class CpuFault {
  constructor(
    /** Exception vector (14 for #PF). */
    public vector: number,
    public errorCode = 0,
    public hasErrorCode = true,
    /** Faulting linear address (CR2 for #PF), as a number < 2^48; 0 for other faults. */
    public address = 0,
  ) {}

  /** Refills this object for a new page fault and returns it, ready to throw. */
  setPageFault(address: number, errorCode: number): this {
    this.vector = VECTOR_PF;
    this.errorCode = errorCode;
    this.hasErrorCode = true;
    this.address = address;
    return this;
  }
}

/** True for thrown values that are guest faults rather than host bugs. */
export function isCpuFault(e: unknown): e is CpuFault {
  return e instanceof CpuFault;
}
