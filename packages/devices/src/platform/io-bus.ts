/**
 * An address space for device registers: port I/O (64 KiB of ports) or MMIO.
 *
 * A device sees only the offset inside its own range (Firecracker's bus.rs), declares
 * the access sizes it accepts (QEMU's MemoryRegionOps), and never learns which
 * accelerator drove the access. Overlapping registrations are an error. An access that
 * no device claims reads as all ones and is counted, as on a real ISA/PCI bus; so is an
 * access of a size the device does not accept and cannot be split into.
 */
import { BusError } from './errors.js';

export type AccessSize = 1 | 2 | 4;

/** A device's view of one register window. */
export interface IoDevice {
  /** Short name for traces and statistics ("uart-16550@0x3f8"). */
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

export interface IoRange {
  readonly base: number;
  readonly size: number;
  readonly device: IoDevice;
  /** Access sizes the device implements; others are split into single bytes if 1 is accepted. */
  readonly accessSizes: readonly AccessSize[];
}

export interface BusCounters {
  unmappedReads: number;
  unmappedWrites: number;
  /** Accesses a device refused because of their size. */
  rejectedSize: number;
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
const MASK = ALL_ONES;

export class IoBus {
  private ranges: IoRange[] = [];
  /** The most recently hit range: devices are usually accessed in bursts. */
  private last: IoRange | null = null;
  readonly counters: BusCounters = { unmappedReads: 0, unmappedWrites: 0, rejectedSize: 0 };
  /** Called for each unclaimed access, for logging; must not throw. */
  onUnmapped: ((addr: number, size: number, write: boolean) => void) | null = null;

  constructor(
    readonly name: string,
    /** One past the highest address (0x10000 for ports, 2**52 for MMIO). */
    readonly limit: number,
  ) {}

  register(base: number, size: number, device: IoDevice, accessSizes: readonly AccessSize[] = [1]): IoRange {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || size <= 0 || base < 0 || base + size > this.limit) {
      throw new BusError(`${this.name}: invalid range [0x${base.toString(16)}, +0x${size.toString(16)}) for ${device.name}`);
    }
    if (accessSizes.length === 0) throw new BusError(`${this.name}: ${device.name} accepts no access size`);
    for (const r of this.ranges) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new BusError(
          `${this.name}: ${device.name} at 0x${base.toString(16)} overlaps ${r.device.name} at 0x${r.base.toString(16)}`,
        );
      }
    }
    const range: IoRange = { base, size, device, accessSizes: [...accessSizes] };
    this.ranges.push(range);
    this.ranges.sort((a, b) => a.base - b.base);
    return range;
  }

  unregister(device: IoDevice): void {
    this.ranges = this.ranges.filter((r) => r.device !== device);
    this.last = null;
  }

  /** All registrations, in address order. */
  list(): readonly IoRange[] {
    return this.ranges;
  }

  find(addr: number): IoRange | null {
    const last = this.last;
    if (last && addr >= last.base && addr < last.base + last.size) return last;
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else return (this.last = r);
    }
    return null;
  }

  read(addr: number, size: AccessSize): number {
    const r = this.find(addr);
    if (r === null || addr + size > r.base + r.size) {
      this.counters.unmappedReads++;
      this.onUnmapped?.(addr, size, false);
      return ALL_ONES[size];
    }
    if (r.accessSizes.includes(size)) return (r.device.read(addr - r.base, size) & MASK[size]) >>> 0;
    if (!r.accessSizes.includes(1)) {
      this.counters.rejectedSize++;
      return ALL_ONES[size];
    }
    let value = 0;
    for (let i = 0; i < size; i++) value |= (r.device.read(addr - r.base + i, 1) & 0xff) << (8 * i);
    return value >>> 0;
  }

  write(addr: number, size: AccessSize, value: number): void {
    const r = this.find(addr);
    if (r === null || addr + size > r.base + r.size) {
      this.counters.unmappedWrites++;
      this.onUnmapped?.(addr, size, true);
      return;
    }
    if (r.accessSizes.includes(size)) {
      r.device.write(addr - r.base, size, (value & MASK[size]) >>> 0);
      return;
    }
    if (!r.accessSizes.includes(1)) {
      this.counters.rejectedSize++;
      return;
    }
    for (let i = 0; i < size; i++) r.device.write(addr - r.base + i, 1, (value >>> (8 * i)) & 0xff);
  }

  /**
   * Reads data.length bytes (1..8, as KVM MMIO exits carry) into data, little-endian,
   * using the widest accesses that fit.
   */
  readInto(addr: number, data: Uint8Array): void {
    let i = 0;
    while (i < data.length) {
      const size: AccessSize = data.length - i >= 4 ? 4 : data.length - i >= 2 ? 2 : 1;
      const v = this.read(addr + i, size);
      for (let b = 0; b < size; b++) data[i + b] = (v >>> (8 * b)) & 0xff;
      i += size;
    }
  }

  /** Writes data (1..8 bytes, little-endian) using the widest accesses that fit. */
  writeFrom(addr: number, data: Uint8Array): void {
    let i = 0;
    while (i < data.length) {
      const size: AccessSize = data.length - i >= 4 ? 4 : data.length - i >= 2 ? 2 : 1;
      let v = 0;
      for (let b = 0; b < size; b++) v |= data[i + b] << (8 * b);
      this.write(addr + i, size, v >>> 0);
      i += size;
    }
  }
}

/** The 64 KiB x86 I/O port space. */
export function createPortBus(): IoBus {
  return new IoBus('pio', 0x10000);
}

/** The memory-mapped I/O space (guest-physical addresses that are not RAM). */
export function createMmioBus(): IoBus {
  return new IoBus('mmio', 2 ** 52);
}
