/**
 * Host-side errors raised by the platform layer. Guest misbehaviour is never one of
 * these: a bad guest access is counted and answered (all-ones reads, dropped writes).
 * These errors mean the *host* (a loader, the VMM, a test) asked for something invalid.
 */

/** A host component addressed guest memory outside RAM. */
export class GuestMemoryError extends Error {
  constructor(
    readonly gpa: number,
    readonly length: number,
    detail = 'outside guest RAM',
  ) {
    super(`guest memory access [0x${gpa.toString(16)}, +0x${length.toString(16)}) ${detail}`);
    this.name = 'GuestMemoryError';
  }
}

/** A bus registration that is invalid (overlap, zero size, out of range). */
export class BusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusError';
  }
}
