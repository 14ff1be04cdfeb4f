/**
 * LinearMemory over the software MMU while IA-32e mode is active (EFER.LMA = 1). Linear
 * addresses are 48-bit canonical values held as JS numbers: negative for the upper half
 * (0xFFFF_8000_0000_0000 is -2^47), up to 2^47 - 1 for the lower half. The TLB array is
 * direct-mapped by bits 31:12 with bits 47:32 in `tags` (mmu/tlb.ts), so the fast path here
 * also compares the tag; PagedLinearMemory, used in legacy modes where every tag is 0, skips
 * that compare. SoftCpu switches between the two when LMA changes (SoftCpu.syncLongMode),
 * which keeps legacy code paying nothing for long mode.
 */
import { Priv } from '../mmu/paging-walk.js';
import type { Mmu } from '../mmu/mmu.js';
import type { LinearMemory } from './linear-memory.js';

const INV_TWO_32 = 1 / 4294967296;

/** Bits 47:32 of a canonical linear address (the TLB tag). */
function tagOf(linear: number): number {
  return ((linear - (linear >>> 0)) * INV_TWO_32) & 0xffff;
}

export class LongModeLinearMemory implements LinearMemory {
  private priv: Priv = Priv.SUPERVISOR;
  private readonly entries: Int32Array;
  private readonly tags: Uint16Array;
  private readonly bytes: Uint8Array;

  constructor(readonly mmu: Mmu) {
    this.entries = mmu.entries;
    this.tags = mmu.tags;
    this.bytes = mmu.bytes;
  }

  /** CPL 3 accesses are user accesses. */
  setUser(user: boolean): void {
    this.priv = user ? Priv.USER : Priv.SUPERVISOR;
  }

  read8(linear: number): number {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.readMask) === m.readExpect && this.tags[i] === tagOf(linear)) return this.bytes[(e & ~0xfff) | (linear & 0xfff)];
    return m.read8(linear, this.priv);
  }

  read16(linear: number): number {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.readMask) === m.readExpect && (linear & 0xfff) <= 0xffe && this.tags[i] === tagOf(linear)) {
      const at = (e & ~0xfff) | (linear & 0xfff);
      return this.bytes[at] | (this.bytes[at + 1] << 8);
    }
    return m.read16(linear, this.priv);
  }

  read32(linear: number): number {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.readMask) === m.readExpect && (linear & 0xfff) <= 0xffc && this.tags[i] === tagOf(linear)) {
      const at = (e & ~0xfff) | (linear & 0xfff);
      const b = this.bytes;
      return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
    }
    return m.read32(linear, this.priv);
  }

  write8(linear: number, value: number): void {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.writeMask) === m.writeExpect && this.tags[i] === tagOf(linear)) this.bytes[(e & ~0xfff) | (linear & 0xfff)] = value;
    else m.write8(linear, value, this.priv);
  }

  write16(linear: number, value: number): void {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.writeMask) === m.writeExpect && (linear & 0xfff) <= 0xffe && this.tags[i] === tagOf(linear)) {
      const at = (e & ~0xfff) | (linear & 0xfff);
      this.bytes[at] = value;
      this.bytes[at + 1] = value >>> 8;
    } else m.write16(linear, value, this.priv);
  }

  write32(linear: number, value: number): void {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.writeMask) === m.writeExpect && (linear & 0xfff) <= 0xffc && this.tags[i] === tagOf(linear)) {
      const at = (e & ~0xfff) | (linear & 0xfff);
      const b = this.bytes;
      b[at] = value;
      b[at + 1] = value >>> 8;
      b[at + 2] = value >>> 16;
      b[at + 3] = value >>> 24;
    } else m.write32(linear, value, this.priv);
  }

  probeWrite(linear: number): void {
    this.mmu.translateWrite(linear, this.priv, 0);
  }

  fetch8(linear: number): number {
    const m = this.mmu;
    const i = linear >>> 12;
    const e = this.entries[i];
    if ((e & m.fetchMask) === m.fetchExpect && this.tags[i] === tagOf(linear)) return this.bytes[(e & ~0xfff) | (linear & 0xfff)];
    return m.fetch8(linear, this.priv);
  }
}
