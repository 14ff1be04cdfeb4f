// The PC machine: layout constants, memory map, kernel loaders.
export * from './layout.js';
export { MachineConfigError, KernelImageError } from './errors.js';
export {
  E820_RAM, E820_RESERVED, E820_ACPI, E820_NVS, E820_UNUSABLE,
  validatePcRamSize, pcBelow4gRamEnd, pcAbove4gRamSize, pcRamRegions, pcE820Map, pcConventionalMemoryKiB, pcExtendedMemoryKiB,
  type E820Entry, type E820Type,
} from './memory-map.js';
export { loadFlatBinary, type FlatBinaryOptions, type FlatBinaryLoadResult } from './loaders/flat-binary.js';
export {
  MULTIBOOT_HEADER_MAGIC, MULTIBOOT_BOOTLOADER_MAGIC, MULTIBOOT_PAGE_ALIGN, MULTIBOOT_MEMORY_INFO, MULTIBOOT_VIDEO_MODE,
  MULTIBOOT_AOUT_KLUDGE, findMultibootMagic, parseMultibootHeader,
  type MultibootHeader, type MultibootAoutFields, type MultibootVideoFields,
} from './loaders/multiboot-header.js';
export {
  loadMultiboot, MULTIBOOT_INFO_MEMORY, MULTIBOOT_INFO_CMDLINE, MULTIBOOT_INFO_MODS, MULTIBOOT_INFO_MEM_MAP,
  MULTIBOOT_INFO_BOOT_LOADER_NAME,
  type MultibootModule, type MultibootOptions, type MultibootLoadResult, type LoadedMultibootModule,
} from './loaders/multiboot.js';
export {
  parseBzImageHeader, hasBzImageMagic, formatBootProtocol, LOADED_HIGH, CAN_USE_HEAP, XLF_KERNEL_64,
  type BzImageHeader,
} from './loaders/bzimage-header.js';
export { loadLinux, type LinuxBootOptions, type LinuxLoadResult } from './loaders/linux.js';
export { BOOT_CS, BOOT_DS } from './loaders/boot-gdt.js';
export {
  detectKernelFormat, loadKernel, type KernelFormat, type KernelLoadOptions, type KernelLoadResult,
} from './loaders/kernel.js';
export {
  BiosRom, biosRomLayout, ramRegionsWithoutBios, BIOS_ROM_GRANULE, BIOS_ROM_LOW_WINDOW, BIOS_ROM_MAX_SIZE,
  type BiosRomLayout,
} from './bios-rom.js';
export { buildAcpiTables, type AcpiMachineDescription, type AcpiBlob } from './acpi/tables.js';
