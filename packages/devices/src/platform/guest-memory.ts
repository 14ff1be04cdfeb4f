/**
 * Guest-physical memory: a RAM backing laid out as one or more regions of the guest
 * physical address space (low RAM, the BIOS area, RAM above 4 GiB ...).
 *
 * Every access is bounds-checked: an address (or a range) that is not wholly inside
 * one RAM region raises GuestMemoryError. Host components (loaders, virtio queues) use
 * this; the software CPU's hot path reads `bytes` directly after its own TLB check.
 */
import { GuestMemoryError } from './errors.js';
import type { RamBacking } from './ram-backing.js';

/** One contiguous run of guest-physical addresses backed by RAM. */
export interface RamRegion {
  /** Guest-physical address of the first byte. */
  readonly gpa: number;
  readonly size: number;
  /** Offset of the first byte in the backing. */
  readonly offset: number;
}

export class GuestMemory {
  readonly bytes: Uint8Array;
  private readonly data: DataView;
  private readonly sorted: readonly RamRegion[];

  constructor(
    readonly backing: RamBacking,
    regions: readonly RamRegion[],
  ) {
    this.bytes = new Uint8Array(backing.buffer, 0, backing.size);
    this.data = new DataView(backing.buffer, 0, backing.size);
    this.sorted = [...regions].sort((a, b) => a.gpa - b.gpa);
    for (let i = 0; i < this.sorted.length; i++) {
      const r = this.sorted[i];
      if (r.size <= 0 || r.offset < 0 || r.offset + r.size > backing.size) {
        throw new RangeError(`RAM region at 0x${r.gpa.toString(16)} does not fit the backing`);
      }
      const next = this.sorted[i + 1];
      if (next && r.gpa + r.size > next.gpa) {
        throw new RangeError(`RAM regions overlap at 0x${next.gpa.toString(16)}`);
      }
    }
  }

  get regions(): readonly RamRegion[] {
    return this.sorted;
  }

  /** Total bytes of guest RAM. */
  get size(): number {
    return this.backing.size;
  }

  /** Backing offset of [gpa, gpa+length), or -1 if it is not wholly inside one region. */
  offsetOf(gpa: number, length = 1): number {
    if (!(gpa >= 0) || !(length >= 0)) return -1;
    for (const r of this.sorted) {
      if (gpa >= r.gpa && gpa - r.gpa < r.size) {
        return gpa - r.gpa + length <= r.size ? r.offset + (gpa - r.gpa) : -1;
      }
    }
    return -1;
  }

  /** True when [gpa, gpa+length) is RAM. */
  isRam(gpa: number, length = 1): boolean {
    return this.offsetOf(gpa, length) >= 0;
  }

  private checked(gpa: number, length: number): number {
    const off = this.offsetOf(gpa, length);
    if (off < 0) throw new GuestMemoryError(gpa, length);
    return off;
  }

  read8(gpa: number): number {
    return this.bytes[this.checked(gpa, 1)];
  }
  read16(gpa: number): number {
    return this.data.getUint16(this.checked(gpa, 2), true);
  }
  read32(gpa: number): number {
    return this.data.getUint32(this.checked(gpa, 4), true);
  }
  read64(gpa: number): bigint {
    return this.data.getBigUint64(this.checked(gpa, 8), true);
  }
  write8(gpa: number, value: number): void {
    this.bytes[this.checked(gpa, 1)] = value;
  }
  write16(gpa: number, value: number): void {
    this.data.setUint16(this.checked(gpa, 2), value, true);
  }
  write32(gpa: number, value: number): void {
    this.data.setUint32(this.checked(gpa, 4), value >>> 0, true);
  }
  write64(gpa: number, value: bigint): void {
    this.data.setBigUint64(this.checked(gpa, 8), BigInt.asUintN(64, value), true);
  }

  /** A copy of [gpa, gpa+length). */
  readBytes(gpa: number, length: number): Uint8Array {
    const off = this.checked(gpa, length);
    return this.bytes.slice(off, off + length);
  }

  /** A live view of [gpa, gpa+length): writes through it reach the guest. */
  view(gpa: number, length: number): Uint8Array {
    const off = this.checked(gpa, length);
    return this.bytes.subarray(off, off + length);
  }

  writeBytes(gpa: number, data: Uint8Array): void {
    const off = this.checked(gpa, data.length);
    this.bytes.set(data, off);
  }

  fill(gpa: number, length: number, value: number): void {
    const off = this.checked(gpa, length);
    this.bytes.fill(value, off, off + length);
  }

  /** A NUL-terminated string of at most maxLength bytes (Latin-1). */
  readCString(gpa: number, maxLength: number): string {
    let s = '';
    for (let i = 0; i < maxLength; i++) {
      const c = this.read8(gpa + i);
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
    return s;
  }
}
