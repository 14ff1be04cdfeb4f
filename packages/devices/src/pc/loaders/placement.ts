/**
 * Where a loader puts things in guest RAM, checked before anything is written.
 *
 * Every piece a loader places (kernel segments, boot data, modules, initrd, page
 * tables) is claimed here first: a claim that is not wholly RAM, wraps past the 32-bit
 * boundary a 32-bit field can express, or overlaps an earlier claim becomes a
 * KernelImageError naming both pieces, so a bad image never reaches GuestMemory's
 * lower-level GuestMemoryError and never half-overwrites another piece.
 */
import type { GuestMemory } from '../../platform/index.js';
import { KernelImageError } from '../errors.js';

/** "0x1f00" */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** "[0x100000, 0x180000)" */
export function rangeText(start: number, size: number): string {
  return `[${hex(start)}, ${hex(start + size)})`;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}

interface Claim {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

export class BootPlacement {
  private readonly claims: Claim[] = [];

  constructor(
    readonly mem: GuestMemory,
    readonly fileName?: string,
  ) {}

  /** Throws a KernelImageError carrying the file name. */
  fail(reason: string): never {
    throw new KernelImageError(reason, this.fileName);
  }

  /**
   * Reserves [start, start+size) for `name`. Zero-sized claims only check the address.
   * `limit` is one past the highest address the piece may reach (default: none beyond RAM).
   */
  claim(name: string, start: number, size: number, limit = Number.MAX_SAFE_INTEGER): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0) {
      this.fail(`${name} has an invalid placement (address ${start}, size ${size})`);
    }
    if (start + size > limit) {
      this.fail(`${name} ${rangeText(start, size)} extends past ${hex(limit)}`);
    }
    if (size === 0) return;
    if (!this.mem.isRam(start, size)) {
      this.fail(`${name} ${rangeText(start, size)} is outside guest RAM`);
    }
    const end = start + size;
    for (const c of this.claims) {
      if (start < c.end && c.start < end) {
        this.fail(`${name} ${rangeText(start, size)} overlaps ${c.name} ${rangeText(c.start, c.end - c.start)}`);
      }
    }
    this.claims.push({ name, start, end });
  }

  /** Claims and writes `data` at `gpa`. */
  write(name: string, gpa: number, data: Uint8Array, limit?: number): void {
    this.claim(name, gpa, data.length, limit);
    if (data.length > 0) this.mem.writeBytes(gpa, data);
  }
}

/** A string as the NUL-terminated UTF-8 bytes boot protocols pass; NUL inside it is an error. */
export function cString(placement: BootPlacement, what: string, text: string): Uint8Array {
  if (text.includes('\0')) placement.fail(`${what} contains a NUL character`);
  const utf8 = new TextEncoder().encode(text);
  const bytes = new Uint8Array(utf8.length + 1);
  bytes.set(utf8);
  return bytes;
}
