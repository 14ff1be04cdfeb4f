/**
 * What the interpreter asks of memory: accesses by linear address, which may throw a
 * CpuFault (#PF from the MMU). `FlatLinearMemory` is the no-paging case (real mode, paging
 * off, and the single-instruction conformance tests): linear = physical, RAM through
 * GuestMemory's backing, everything else through the MMIO bus.
 */
import type { GuestMemory, IoBus } from '@tsemu/devices/platform';

export interface LinearMemory {
  read8(linear: number): number;
  read16(linear: number): number;
  read32(linear: number): number;
  write8(linear: number, value: number): void;
  write16(linear: number, value: number): void;
  write32(linear: number, value: number): void;
  /** An instruction-fetch byte (execute permission, code-page tracking). */
  fetch8(linear: number): number;
}

export class FlatLinearMemory implements LinearMemory {
  private readonly bytes: Uint8Array;

  constructor(
    private readonly memory: GuestMemory,
    private readonly mmio: IoBus,
    /** Physical address bits: 20 for an 8086, 24 for a 286, 32 for later CPUs. */
    private readonly addressMask = 0xffffffff,
  ) {
    this.bytes = memory.bytes;
  }

  read8(linear: number): number {
    const pa = (linear & this.addressMask) >>> 0;
    const off = this.memory.offsetOf(pa, 1);
    return off >= 0 ? this.bytes[off] : this.mmio.read(pa, 1);
  }

  read16(linear: number): number {
    return this.read8(linear) | (this.read8(linear + 1) << 8);
  }

  read32(linear: number): number {
    return (this.read16(linear) | (this.read16(linear + 2) << 16)) >>> 0;
  }

  write8(linear: number, value: number): void {
    const pa = (linear & this.addressMask) >>> 0;
    const off = this.memory.offsetOf(pa, 1);
    if (off >= 0) this.bytes[off] = value;
    else this.mmio.write(pa, 1, value & 0xff);
  }

  write16(linear: number, value: number): void {
    this.write8(linear, value & 0xff);
    this.write8(linear + 1, (value >>> 8) & 0xff);
  }

  write32(linear: number, value: number): void {
    this.write16(linear, value & 0xffff);
    this.write16(linear + 2, (value >>> 16) & 0xffff);
  }

  fetch8(linear: number): number {
    return this.read8(linear);
  }
}
