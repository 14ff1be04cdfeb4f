/**
 * LinearMemory over the software MMU: the interpreter's memory in every mode (with paging
 * off the MMU maps linear = physical). Each access tries the TLB inline (one typed-array
 * load and a mask compare) and calls the MMU only on a miss, a page crossing, an unaligned
 * word or dword, MMIO, or a page that needs a walk for its rights. The privilege of data
 * accesses follows CPL, which the CPU reports through `setUser` (the MMU's masks follow with
 * `mmu.setPrivilege`).
 */
import { Priv } from '../mmu/paging-walk.js';
import type { Mmu } from '../mmu/mmu.js';
import type { LinearMemory } from './linear-memory.js';

export class PagedLinearMemory implements LinearMemory {
  private priv: Priv = Priv.SUPERVISOR;
  private readonly entries: Int32Array;
  private readonly bytes: Uint8Array;
  /** The same RAM as dwords (Mmu.words) and 16-bit words (Mmu.halves), for aligned accesses. */
  private readonly words: Int32Array;
  private readonly halves: Uint16Array;

  constructor(readonly mmu: Mmu) {
    this.entries = mmu.entries;
    this.bytes = mmu.bytes;
    this.words = mmu.words;
    this.halves = mmu.halves;
  }

  /** CPL 3 accesses are user accesses. */
  setUser(user: boolean): void {
    this.priv = user ? Priv.USER : Priv.SUPERVISOR;
  }

  read8(linear: number): number {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    if ((e & m.readMask) === m.readExpect) return this.bytes[(e & ~0xfff) | (linear & 0xfff)];
    return m.read8(linear, this.priv);
  }

  read16(linear: number): number {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    // Aligned only: an aligned word never crosses a page (one test, and a small body to inline).
    if ((e & m.readMask) === m.readExpect && (linear & 1) === 0) return this.halves[((e & ~0xfff) | (linear & 0xfff)) >> 1];
    return m.read16(linear, this.priv);
  }

  read32(linear: number): number {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    // Aligned only, as read16.
    if ((e & m.readMask) === m.readExpect && (linear & 3) === 0) return this.words[((e & ~0xfff) | (linear & 0xfff)) >> 2] >>> 0;
    // Converted here too, so both ways out are a uint32 to V8: a handler inlining this keeps the
    // value unboxed; with the call's result as it came, V8 boxed every dword of 2^31 or more in
    // a heap number to merge the two (bench, alternating runs: multiply-accumulate 98.4-100.8
    // MIPS against 90.3-93.7, stack-frame loop 90.4-91.0 against 81.7-87.4).
    return m.read32(linear, this.priv) >>> 0;
  }

  write8(linear: number, value: number): void {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    if ((e & m.writeMask) === m.writeExpect) this.bytes[(e & ~0xfff) | (linear & 0xfff)] = value;
    else m.write8(linear, value, this.priv);
  }

  write16(linear: number, value: number): void {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    if ((e & m.writeMask) === m.writeExpect && (linear & 1) === 0) this.halves[((e & ~0xfff) | (linear & 0xfff)) >> 1] = value;
    else m.write16(linear, value, this.priv);
  }

  write32(linear: number, value: number): void {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    if ((e & m.writeMask) === m.writeExpect && (linear & 3) === 0) this.words[((e & ~0xfff) | (linear & 0xfff)) >> 2] = value;
    else m.write32(linear, value, this.priv);
  }

  probeWrite(linear: number): void {
    this.mmu.translateWrite(linear, this.priv, 0);
  }

  fetch8(linear: number): number {
    const m = this.mmu;
    const e = this.entries[linear >>> 12];
    if ((e & m.fetchMask) === m.fetchExpect) return this.bytes[(e & ~0xfff) | (linear & 0xfff)];
    return m.fetch8(linear, this.priv);
  }
}
