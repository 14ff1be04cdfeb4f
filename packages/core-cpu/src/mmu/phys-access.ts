/**
 * How the page walker reads and updates paging-structure entries in guest-physical memory.
 *
 * Real page tables live in RAM; a guest that points CR3 or an entry at a hole or at MMIO gets
 * all ones back (as an unclaimed bus read does), which the walker then treats as a present entry
 * with reserved bits set (PAE, 4-level) or as a garbage mapping (32-bit paging): either way the
 * guest sees a fault or junk, never the host. Writes outside RAM (A/D updates) are dropped.
 */
import type { GuestMemory } from '@tsemu/devices/platform';

export interface PhysAccess {
  /** Little-endian dword at a 4-byte aligned guest-physical address (number < 2^52). */
  read32(pa: number): number;
  write32(pa: number, value: number): void;
}

/** PhysAccess over GuestMemory RAM: non-RAM reads 0xffffffff, non-RAM writes are dropped. */
export class GuestMemoryPhysAccess implements PhysAccess {
  private readonly view: DataView;

  constructor(private readonly mem: GuestMemory) {
    this.view = new DataView(mem.bytes.buffer, mem.bytes.byteOffset, mem.bytes.byteLength);
  }

  read32(pa: number): number {
    const off = this.mem.offsetOf(pa, 4);
    return off < 0 ? 0xffffffff : this.view.getUint32(off, true);
  }

  write32(pa: number, value: number): void {
    const off = this.mem.offsetOf(pa, 4);
    if (off >= 0) this.view.setUint32(off, value >>> 0, true);
  }
}
