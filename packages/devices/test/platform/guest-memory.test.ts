import { describe, expect, it } from 'vitest';
import { createSharedRamBacking, GuestMemory, GuestMemoryError } from '../../src/platform/index.js';

function twoRegionMemory() {
  // 64 KiB of backing: gpa [0, 0x8000) at offset 0, gpa [0x10000, 0x18000) at offset 0x8000.
  const backing = createSharedRamBacking(0x10000);
  return new GuestMemory(backing, [
    { gpa: 0, size: 0x8000, offset: 0 },
    { gpa: 0x10000, size: 0x8000, offset: 0x8000 },
  ]);
}

describe('GuestMemory', () => {
  it('reads back little-endian values written at every width', () => {
    const m = twoRegionMemory();
    m.write32(0x100, 0xdeadbeef);
    expect(m.read8(0x100)).toBe(0xef);
    expect(m.read16(0x102)).toBe(0xdead);
    expect(m.read32(0x100)).toBe(0xdeadbeef);
    m.write64(0x200, 0x1122334455667788n);
    expect(m.read64(0x200)).toBe(0x1122334455667788n);
    expect(m.read32(0x204)).toBe(0x11223344);
  });

  it('maps a second region to its own backing offset', () => {
    const m = twoRegionMemory();
    m.write8(0x10000, 0x5a);
    expect(m.bytes[0x8000]).toBe(0x5a);
    expect(m.offsetOf(0x10010)).toBe(0x8010);
  });

  it('rejects accesses in a hole, past the end, or straddling a region end', () => {
    const m = twoRegionMemory();
    expect(() => m.read8(0x9000)).toThrow(GuestMemoryError);
    expect(() => m.read32(0x7ffe)).toThrow(GuestMemoryError);
    expect(() => m.read8(0x18000)).toThrow(GuestMemoryError);
    expect(() => m.writeBytes(0x7ff0, new Uint8Array(0x20))).toThrow(/outside guest RAM/);
    expect(() => m.read8(-1)).toThrow(GuestMemoryError);
    expect(() => m.readBytes(0, Number.NaN)).toThrow(GuestMemoryError);
    expect(m.isRam(0x7fff, 1)).toBe(true);
    expect(m.isRam(0x7fff, 2)).toBe(false);
  });

  it('copies with readBytes but shares with view', () => {
    const m = twoRegionMemory();
    const copy = m.readBytes(0x10, 4);
    const live = m.view(0x10, 4);
    live[0] = 7;
    expect(m.read8(0x10)).toBe(7);
    expect(copy[0]).toBe(0);
  });

  it('reads a NUL-terminated string bounded by its maximum', () => {
    const m = twoRegionMemory();
    m.writeBytes(0x300, new TextEncoder().encode('console=ttyS0\0junk'));
    expect(m.readCString(0x300, 64)).toBe('console=ttyS0');
    expect(m.readCString(0x300, 7)).toBe('console');
  });

  it('refuses overlapping regions and regions outside the backing', () => {
    const backing = createSharedRamBacking(0x2000);
    expect(() => new GuestMemory(backing, [{ gpa: 0, size: 0x3000, offset: 0 }])).toThrow(/does not fit/);
    expect(() => new GuestMemory(backing, [{ gpa: 0, size: 0x1000, offset: 0 }, { gpa: 0x800, size: 0x800, offset: 0x1000 }])).toThrow(/overlap/);
  });
});
