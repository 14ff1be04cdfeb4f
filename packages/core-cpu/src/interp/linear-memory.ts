/**
 * What the interpreter asks of memory: accesses by linear address, which may throw a
 * CpuFault (#PF from the MMU). PagedLinearMemory (over the software MMU) implements it for
 * every mode; tests may wrap it (to record writes, for instance).
 */

export interface LinearMemory {
  read8(linear: number): number;
  read16(linear: number): number;
  read32(linear: number): number;
  write8(linear: number, value: number): void;
  write16(linear: number, value: number): void;
  write32(linear: number, value: number): void;
  /** An instruction-fetch byte (execute permission, code-page tracking). */
  fetch8(linear: number): number;
  /**
   * Checks that a write to the byte at `linear` would succeed (raising the #PF it would
   * raise) without writing: multi-part writes across pages probe first. Optional for
   * memories that cannot fault.
   */
  probeWrite?(linear: number): void;
}
