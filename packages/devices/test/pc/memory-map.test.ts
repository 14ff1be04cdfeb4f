import { describe, expect, it } from 'vitest';
import { GuestMemory, createSharedRamBacking } from '../../src/platform/index.js';
import { MachineConfigError } from '../../src/pc/errors.js';
import * as L from '../../src/pc/layout.js';
import {
  E820_RAM, E820_RESERVED, pcAbove4gRamSize, pcBelow4gRamEnd, pcE820Map, pcExtendedMemoryKiB, pcRamRegions,
} from '../../src/pc/memory-map.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const reservedTail = [
  { addr: 0xfeffc000, size: 0x4000, type: E820_RESERVED },
  { addr: 0xfffc0000, size: 0x40000, type: E820_RESERVED },
];

describe('pcRamRegions', () => {
  it('maps 16 MiB as low memory and 1 MiB-16 MiB with the VGA hole left out', () => {
    expect(pcRamRegions(16 * MiB)).toEqual([
      { gpa: 0, size: 0xa0000, offset: 0 },
      { gpa: 0xc0000, size: 16 * MiB - 0xc0000, offset: 0xc0000 },
    ]);
  });

  it('maps exactly 3 GiB below the PCI hole with nothing above 4 GiB', () => {
    expect(pcRamRegions(3 * GiB)).toEqual([
      { gpa: 0, size: 0xa0000, offset: 0 },
      { gpa: 0xc0000, size: 3 * GiB - 0xc0000, offset: 0xc0000 },
    ]);
    expect(pcAbove4gRamSize(3 * GiB)).toBe(0);
  });

  it('puts RAM beyond 3 GiB at 4 GiB, continuing the backing at offset 3 GiB', () => {
    expect(pcRamRegions(5 * GiB)).toEqual([
      { gpa: 0, size: 0xa0000, offset: 0 },
      { gpa: 0xc0000, size: 3 * GiB - 0xc0000, offset: 0xc0000 },
      { gpa: 4 * GiB, size: 2 * GiB, offset: 3 * GiB },
    ]);
    expect(pcBelow4gRamEnd(5 * GiB)).toBe(L.LOW_RAM_LIMIT);
    expect(pcAbove4gRamSize(5 * GiB)).toBe(2 * GiB);
  });

  it('gives a GuestMemory where the VGA hole is not RAM but the BIOS area is, at the same backing offset', () => {
    const mem = new GuestMemory(createSharedRamBacking(16 * MiB), pcRamRegions(16 * MiB));
    expect(mem.isRam(0x9ffff)).toBe(true);
    expect(mem.isRam(L.VGA_HOLE_START)).toBe(false);
    expect(mem.isRam(L.VGA_HOLE_END - 1)).toBe(false);
    expect(mem.isRam(L.OPTION_ROM_START)).toBe(true);
    expect(mem.isRam(16 * MiB - 4, 4)).toBe(true);
    expect(mem.isRam(16 * MiB)).toBe(false);
    mem.write32(0xf0000, 0xdeadbeef);
    expect(new DataView(mem.bytes.buffer).getUint32(0xf0000, true)).toBe(0xdeadbeef);
  });

  it('rejects RAM sizes the map cannot hold with a MachineConfigError', () => {
    expect(() => pcRamRegions(1 * MiB)).toThrow(MachineConfigError);
    expect(() => pcRamRegions(1 * MiB)).toThrow(/below the PC minimum of 2 MiB/);
    expect(() => pcRamRegions(16 * MiB + 100)).toThrow(/not a multiple of the 4 KiB page size/);
    expect(() => pcRamRegions(Number.NaN)).toThrow(/not a positive whole number/);
    expect(() => pcE820Map(-4096)).toThrow(MachineConfigError);
    expect(pcRamRegions(2 * MiB)).toHaveLength(2);
  });
});

describe('pcE820Map', () => {
  it('reports 16 MiB as usable low and extended memory with the EBDA, BIOS area and firmware ranges reserved', () => {
    expect(pcE820Map(16 * MiB)).toEqual([
      { addr: 0, size: 0x9fc00, type: E820_RAM },
      { addr: 0x9fc00, size: 0x400, type: E820_RESERVED },
      { addr: 0xc0000, size: 0x40000, type: E820_RESERVED },
      { addr: 0x100000, size: 15 * MiB, type: E820_RAM },
      ...reservedTail,
    ]);
  });

  it('reports 3 GiB with extended memory ending at the PCI hole', () => {
    const map = pcE820Map(3 * GiB);
    expect(map[3]).toEqual({ addr: 0x100000, size: 3 * GiB - MiB, type: E820_RAM });
    expect(map.slice(4)).toEqual(reservedTail);
  });

  it('reports 5 GiB with 2 GiB usable from 4 GiB up, after the reserved firmware ranges', () => {
    const map = pcE820Map(5 * GiB);
    expect(map).toHaveLength(7);
    expect(map[3]).toEqual({ addr: 0x100000, size: 3 * GiB - MiB, type: E820_RAM });
    expect(map[6]).toEqual({ addr: 4 * GiB, size: 2 * GiB, type: E820_RAM });
    const usable = map.filter((e) => e.type === E820_RAM).reduce((n, e) => n + e.size, 0);
    // Everything but the EBDA, the VGA hole and the option-ROM/BIOS area is usable.
    expect(usable).toBe(5 * GiB - (0x100000 - 0x9fc00));
  });

  it('lists entries in address order without overlaps, none in the VGA hole', () => {
    for (const size of [16 * MiB, 3 * GiB, 5 * GiB]) {
      const map = pcE820Map(size);
      for (let i = 1; i < map.length; i++) expect(map[i].addr).toBeGreaterThanOrEqual(map[i - 1].addr + map[i - 1].size);
      expect(map.some((e) => e.addr < L.VGA_HOLE_END && e.addr + e.size > L.VGA_HOLE_START)).toBe(false);
    }
  });

  it('counts extended memory in KiB up to the PCI hole', () => {
    expect(pcExtendedMemoryKiB(16 * MiB)).toBe(15 * 1024);
    expect(pcExtendedMemoryKiB(5 * GiB)).toBe((3 * GiB - MiB) / 1024);
  });
});

describe('layout', () => {
  it('keeps the direct-boot scratch areas inside conventional memory and clear of each other', () => {
    const areas = [
      [L.BOOT_GDT_ADDRESS, 0x20],
      [L.LINUX_BOOT_PARAMS_ADDRESS, 0x1000],
      [L.LINUX_PAGE_TABLES_ADDRESS, 6 * 0x1000],
      [L.LINUX_CMDLINE_ADDRESS, 0x1000],
    ] as const;
    for (const [a, n] of areas) expect(a + n).toBeLessThanOrEqual(L.CONVENTIONAL_MEMORY_END);
    for (let i = 0; i < areas.length; i++) {
      for (let j = i + 1; j < areas.length; j++) {
        const [a, n] = areas[i];
        const [b, m] = areas[j];
        expect(a + n <= b || b + m <= a).toBe(true);
      }
    }
  });

  it('places the MMIO windows inside the PCI hole', () => {
    for (const base of [L.IOAPIC_BASE, L.HPET_BASE, L.LAPIC_BASE, L.BIOS_ROM_ALIAS_BASE, L.KVM_IDENTITY_MAP_ADDRESS]) {
      expect(base).toBeGreaterThanOrEqual(L.PCI_HOLE_START);
      expect(base).toBeLessThan(L.PCI_HOLE_END);
    }
    expect(L.BIOS_ROM_ALIAS_BASE + L.BIOS_ROM_ALIAS_SIZE).toBe(L.FOUR_GIB);
  });
});
