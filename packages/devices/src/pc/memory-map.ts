/**
 * How a PC's RAM is laid out in guest-physical space, and the E820 table that tells the
 * guest (ACPI spec 6.5, 15 "System Address Map Interfaces"; Linux boot_params.e820_table;
 * the Multiboot memory map).
 *
 * One backing of exactly `ramBytes` holds all RAM: backing offset == gpa below 3 GiB, so
 * the bytes behind the VGA hole [0xA0000, 0xC0000) exist in the backing but are simply
 * not mapped (128 KiB lost, as on real chipsets without remapping); RAM beyond 3 GiB
 * continues at 4 GiB, backing offset 3 GiB.
 */
import type { RamRegion } from '../platform/index.js';
import { MachineConfigError } from './errors.js';
import {
  LOW_RAM_LIMIT, BIOS_AREA_END, BIOS_ROM_ALIAS_BASE, BIOS_ROM_ALIAS_SIZE, EBDA_END, EBDA_START, FOUR_GIB,
  HIGH_MEMORY_START, KVM_IDENTITY_MAP_ADDRESS, KVM_RESERVED_SIZE, CONVENTIONAL_MEMORY_END, MIN_RAM_SIZE, MiB,
  OPTION_ROM_START, PAGE_SIZE, VGA_HOLE_START,
} from './layout.js';

/** E820 address range types (ACPI spec, Table 15.4 "Address Range Types"). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

export type E820Type = typeof E820_RAM | typeof E820_RESERVED | typeof E820_ACPI | typeof E820_NVS | typeof E820_UNUSABLE;

export interface E820Entry {
  readonly addr: number;
  readonly size: number;
  readonly type: E820Type;
}

/**
 * Checks that the PC map can hold `ramBytes`: a whole number of 4 KiB pages (KVM memory
 * slots and the software TLB work in pages) and at least 2 MiB. The upper limit is the
 * caller's (host memory, accelerator), not the map's.
 */
export function validatePcRamSize(ramBytes: number): void {
  if (!Number.isSafeInteger(ramBytes) || ramBytes <= 0) {
    throw new MachineConfigError(`RAM size ${ramBytes} is not a positive whole number of bytes`);
  }
  if (ramBytes < MIN_RAM_SIZE) {
    throw new MachineConfigError(`RAM size ${ramBytes} bytes is below the PC minimum of ${MIN_RAM_SIZE / MiB} MiB`);
  }
  if (ramBytes % PAGE_SIZE !== 0) {
    throw new MachineConfigError(`RAM size ${ramBytes} bytes is not a multiple of the 4 KiB page size`);
  }
}

/** One past the last byte of RAM below 4 GiB: min(ramBytes, 3 GiB). */
export function pcBelow4gRamEnd(ramBytes: number): number {
  validatePcRamSize(ramBytes);
  return Math.min(ramBytes, LOW_RAM_LIMIT);
}

/** Bytes of RAM mapped from 4 GiB up (0 when everything fits below the PCI hole). */
export function pcAbove4gRamSize(ramBytes: number): number {
  return ramBytes - pcBelow4gRamEnd(ramBytes);
}

/** The RAM regions of a GuestMemory over one backing of exactly `ramBytes`. */
export function pcRamRegions(ramBytes: number): RamRegion[] {
  const lowEnd = pcBelow4gRamEnd(ramBytes);
  const regions: RamRegion[] = [
    { gpa: 0, size: VGA_HOLE_START, offset: 0 },
    { gpa: OPTION_ROM_START, size: lowEnd - OPTION_ROM_START, offset: OPTION_ROM_START },
  ];
  const high = ramBytes - lowEnd;
  if (high > 0) regions.push({ gpa: FOUR_GIB, size: high, offset: lowEnd });
  return regions;
}

/**
 * The E820 map a PC firmware would report for `ramBytes`, sorted by address:
 * usable conventional memory, the reserved EBDA, the reserved option-ROM/BIOS area,
 * usable extended memory up to 3 GiB, QEMU's KVM pages and the BIOS alias reserved
 * inside the PCI hole, and the usable RAM above 4 GiB. The VGA hole is absent (neither
 * RAM nor reserved), as on real firmware.
 */
export function pcE820Map(ramBytes: number): E820Entry[] {
  const lowEnd = pcBelow4gRamEnd(ramBytes);
  const map: E820Entry[] = [
    { addr: 0, size: CONVENTIONAL_MEMORY_END, type: E820_RAM },
    { addr: EBDA_START, size: EBDA_END - EBDA_START, type: E820_RESERVED },
    { addr: OPTION_ROM_START, size: BIOS_AREA_END - OPTION_ROM_START, type: E820_RESERVED },
    { addr: HIGH_MEMORY_START, size: lowEnd - HIGH_MEMORY_START, type: E820_RAM },
    { addr: KVM_IDENTITY_MAP_ADDRESS, size: KVM_RESERVED_SIZE, type: E820_RESERVED },
    { addr: BIOS_ROM_ALIAS_BASE, size: BIOS_ROM_ALIAS_SIZE, type: E820_RESERVED },
  ];
  const high = ramBytes - lowEnd;
  if (high > 0) map.push({ addr: FOUR_GIB, size: high, type: E820_RAM });
  return map;
}

/** KiB of usable conventional memory (Multiboot mem_lower): 639. */
export function pcConventionalMemoryKiB(): number {
  return CONVENTIONAL_MEMORY_END / 1024;
}

/** KiB of contiguous usable memory from 1 MiB to the PCI hole (Multiboot mem_upper, boot_params.alt_mem_k). */
export function pcExtendedMemoryKiB(ramBytes: number): number {
  return (pcBelow4gRamEnd(ramBytes) - HIGH_MEMORY_START) / 1024;
}
