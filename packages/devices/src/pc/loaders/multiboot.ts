/**
 * Multiboot v1 loader (Multiboot Specification 0.6.96): loads the kernel (a.out-kludge
 * address fields when flags bit 16 is set, else ELF32 PT_LOAD segments by p_paddr),
 * places modules page-aligned after the kernel, writes the Multiboot information
 * structure in low memory and returns the entry state of spec 3.2: EAX = 0x2BADB002,
 * EBX = info address, flat 32-bit protected mode, paging off, IF = 0.
 *
 * Boot data lives in [0x9000, 0x9FC00), as in QEMU (MULTIBOOT_STRUCT_ADDR 0x9000): the
 * info structure, the memory map (from pcE820Map), the module list, then the strings. A kernel
 * that loads over that area gets them after its modules instead (QEMU lets the kernel overwrite them).
 * Deviations from QEMU, all deliberate:
 *  - the kernel command line is passed as given; QEMU prepends the kernel file name
 *    (callers wanting that pass `${file} ${args}`);
 *  - ELF64 kernels are refused with a message, as QEMU does, rather than exiting;
 *  - the ELF entry point is translated from p_vaddr to p_paddr when it lies in a
 *    segment that is linked higher than it loads, as GRUB does for higher-half kernels;
 *  - no boot_device (flags bit 1): there is no BIOS disk we booted from.
 * A video mode request (header flags bit 2) is not honoured (no VBE); like QEMU we boot
 * anyway, without framebuffer info, and report a warning.
 */
import { Gpr, protectedModeEntryState, type CpuState, type GuestMemory } from '../../platform/index.js';
import { FOUR_GIB, MULTIBOOT_INFO_AREA_END, MULTIBOOT_INFO_AREA_START, PAGE_SIZE } from '../layout.js';
import { pcConventionalMemoryKiB, pcE820Map, pcExtendedMemoryKiB } from '../memory-map.js';
import { writeBootGdt } from './boot-gdt.js';
import { EM_X86_64, ELFCLASS64, PT_LOAD, elfClass, isElf, parseElf32 } from './elf32.js';
import {
  MULTIBOOT_BOOTLOADER_MAGIC, MULTIBOOT_VIDEO_MODE, parseMultibootHeader, type MultibootAoutFields, type MultibootHeader,
} from './multiboot-header.js';
import { BootPlacement, alignUp, cString, hex, rangeText } from './placement.js';

/** multiboot_info.flags bits: which fields are valid. */
export const MULTIBOOT_INFO_MEMORY = 1 << 0;
export const MULTIBOOT_INFO_BOOTDEV = 1 << 1;
export const MULTIBOOT_INFO_CMDLINE = 1 << 2;
export const MULTIBOOT_INFO_MODS = 1 << 3;
export const MULTIBOOT_INFO_MEM_MAP = 1 << 6;
export const MULTIBOOT_INFO_BOOT_LOADER_NAME = 1 << 9;

/** Offsets in struct multiboot_info. */
export const MBI_FLAGS = 0;
export const MBI_MEM_LOWER = 4;
export const MBI_MEM_UPPER = 8;
export const MBI_CMDLINE = 16;
export const MBI_MODS_COUNT = 20;
export const MBI_MODS_ADDR = 24;
export const MBI_MMAP_LENGTH = 44;
export const MBI_MMAP_ADDR = 48;
export const MBI_BOOT_LOADER_NAME = 64;
/** Up to and including the framebuffer fields (spec 0.6.96). */
export const MBI_SIZE = 116;
/** struct multiboot_mod_list: mod_start, mod_end, cmdline, pad. */
export const MB_MOD_SIZE = 16;
/** A memory map entry: size (not counting itself) = 20, base_addr u64, length u64, type u32. */
export const MB_MMAP_ENTRY_SIZE = 24;
export const MB_MMAP_ENTRY_SIZE_FIELD = 20;

export const TSEMU_BOOT_LOADER_NAME = 'tsemu';

export interface MultibootModule {
  data: Uint8Array;
  /** The module's string: by convention its file name and arguments. */
  cmdline: string;
}

export interface MultibootOptions {
  cmdline?: string;
  modules?: readonly MultibootModule[];
  /** Names the image in error messages. */
  fileName?: string;
}

export interface LoadedMultibootModule {
  start: number;
  /** One past the last byte (mod_end as the spec defines it). */
  end: number;
  cmdline: string;
}

export interface MultibootLoadResult {
  cpu: CpuState;
  entry: number;
  header: MultibootHeader;
  infoAddress: number;
  /** Lowest and one-past-highest address the kernel occupies (bss included). */
  kernelStart: number;
  kernelEnd: number;
  modules: LoadedMultibootModule[];
  warnings: string[];
}

interface KernelExtent {
  start: number;
  end: number;
  entry: number;
}

export function loadMultiboot(mem: GuestMemory, image: Uint8Array, opts: MultibootOptions = {}): MultibootLoadResult {
  const placement: BootPlacement = new BootPlacement(mem, opts.fileName);
  if (image.length === 0) placement.fail('image is empty');
  const header = parseMultibootHeader(image, opts.fileName);
  if (header === null) placement.fail('no Multiboot header (magic 0x1badb002) in the first 8 KiB');
  const warnings: string[] = [];
  if (header.flags & MULTIBOOT_VIDEO_MODE) {
    warnings.push('the kernel asks for a video mode (Multiboot flags bit 2); tsemu boots it without framebuffer info');
  }

  const gdt = writeBootGdt(placement, '32');
  const kernel = header.aout ? loadAout(placement, image, header.offset, header.aout) : loadElf(placement, image);

  const modules: LoadedMultibootModule[] = [];
  let next = alignUp(kernel.end, PAGE_SIZE);
  for (const [i, m] of (opts.modules ?? []).entries()) {
    // mod_start/mod_end are 32-bit: modules must sit below 4 GiB.
    placement.write(`module ${i} (${m.cmdline || 'unnamed'})`, next, m.data, FOUR_GIB);
    modules.push({ start: next, end: next + m.data.length, cmdline: m.cmdline });
    next = alignUp(next + m.data.length, PAGE_SIZE);
  }

  const infoAddress = writeBootInformation(placement, opts.cmdline ?? '', modules, kernel, next);

  const cpu = protectedModeEntryState(kernel.entry);
  cpu.gdt = gdt;
  cpu.idt = { base: 0n, limit: 0 };
  cpu.gpr[Gpr.RAX] = BigInt(MULTIBOOT_BOOTLOADER_MAGIC);
  cpu.gpr[Gpr.RBX] = BigInt(infoAddress);
  return { cpu, entry: kernel.entry, header, infoAddress, kernelStart: kernel.start, kernelEnd: kernel.end, modules, warnings };
}

/** The a.out kludge: one contiguous text+data run from the file, then bss (spec 3.1.3). */
function loadAout(placement: BootPlacement, image: Uint8Array, headerOffset: number, a: MultibootAoutFields): KernelExtent {
  const fail = (reason: string): never => placement.fail(reason);
  if (a.headerAddr < a.loadAddr) fail(`Multiboot header_addr ${hex(a.headerAddr)} is below load_addr ${hex(a.loadAddr)}`);
  const textOffset = headerOffset - (a.headerAddr - a.loadAddr);
  if (textOffset < 0) {
    fail(`Multiboot load_addr ${hex(a.loadAddr)} lies ${hex(a.headerAddr - a.loadAddr)} bytes before the header, which is only ${hex(headerOffset)} bytes into the file`);
  }
  if (a.loadEndAddr !== 0 && a.loadEndAddr < a.loadAddr) {
    fail(`Multiboot load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
  }
  const loadSize = a.loadEndAddr !== 0 ? a.loadEndAddr - a.loadAddr : image.length - textOffset;
  if (textOffset + loadSize > image.length) {
    fail(`Multiboot load range needs file bytes ${rangeText(textOffset, loadSize)} but the file is ${image.length} bytes`);
  }
  if (a.bssEndAddr !== 0 && a.bssEndAddr < a.loadAddr + loadSize) {
    fail(`Multiboot bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(a.loadAddr + loadSize)}`);
  }
  const memSize = a.bssEndAddr !== 0 ? a.bssEndAddr - a.loadAddr : loadSize;
  if (memSize === 0) fail('Multiboot a.out image is empty (load_addr equals load_end_addr and no bss)');
  if (a.entryAddr < a.loadAddr || a.entryAddr >= a.loadAddr + memSize) {
    fail(`Multiboot entry_addr ${hex(a.entryAddr)} is outside the loaded image ${rangeText(a.loadAddr, memSize)}`);
  }
  placement.claim('kernel image', a.loadAddr, memSize, FOUR_GIB);
  placement.mem.writeBytes(a.loadAddr, image.subarray(textOffset, textOffset + loadSize));
  if (memSize > loadSize) placement.mem.fill(a.loadAddr + loadSize, memSize - loadSize, 0);
  return { start: a.loadAddr, end: a.loadAddr + memSize, entry: a.entryAddr };
}

/** ELF32: every PT_LOAD segment at p_paddr, zero-filled from p_filesz to p_memsz. */
function loadElf(placement: BootPlacement, image: Uint8Array): KernelExtent {
  const fail = (reason: string): never => placement.fail(reason);
  if (!isElf(image)) {
    fail('Multiboot kernel is not an ELF file and its header does not set the a.out kludge (flags bit 16)');
  }
  const isX86_64 = image.length >= 20 && (image[18] | (image[19] << 8)) === EM_X86_64;
  if (elfClass(image) === ELFCLASS64 || isX86_64) {
    fail('64-bit ELF kernels cannot be booted with Multiboot v1 (QEMU refuses them too); build a 32-bit ELF or use the a.out kludge');
  }
  const elf = parseElf32(image, fail);
  let start = Infinity;
  let end = 0;
  let entry = elf.entry;
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD) continue;
    const name = `ELF segment ${s.index}`;
    if (s.filesz > s.memsz) fail(`${name}: p_filesz ${hex(s.filesz)} is larger than p_memsz ${hex(s.memsz)}`);
    if (s.offset + s.filesz > image.length) {
      fail(`${name}: file data ${rangeText(s.offset, s.filesz)} lies outside the ${image.length}-byte file`);
    }
    if (s.memsz === 0) continue;
    placement.claim(name, s.paddr, s.memsz, FOUR_GIB);
    placement.mem.writeBytes(s.paddr, image.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) placement.mem.fill(s.paddr + s.filesz, s.memsz - s.filesz, 0);
    start = Math.min(start, s.paddr);
    end = Math.max(end, s.paddr + s.memsz);
    if (elf.entry >= s.vaddr && elf.entry - s.vaddr < s.memsz) entry = elf.entry - s.vaddr + s.paddr;
  }
  if (end === 0) fail('ELF file has no loadable (PT_LOAD) segment');
  if (entry < start || entry >= end) fail(`ELF entry point ${hex(elf.entry)} is not inside a loaded segment`);
  return { start, end, entry };
}

/** Lays out and writes multiboot_info, the mmap, the module list and the strings; returns the info address. */
function writeBootInformation(
  placement: BootPlacement, cmdline: string, modules: readonly LoadedMultibootModule[], kernel: KernelExtent, afterModules: number,
): number {
  const mem = placement.mem;
  const e820 = pcE820Map(mem.size);
  const strings = [
    cString(placement, 'kernel command line', cmdline),
    cString(placement, 'boot loader name', TSEMU_BOOT_LOADER_NAME),
    ...modules.map((m, i) => cString(placement, `module ${i} command line`, m.cmdline)),
  ];
  const mmapLength = e820.length * MB_MMAP_ENTRY_SIZE;
  const size = alignUp(MBI_SIZE, 8) + mmapLength + modules.length * MB_MOD_SIZE + strings.reduce((n, s) => n + s.length, 0);
  // A kernel linked over the low boot-data area (kvm-unit-tests' realmode.flat spans 0x8000-0xda30)
  // gets the information page-aligned after its last module instead: the spec lets it lie anywhere.
  const lowArea = kernel.start >= MULTIBOOT_INFO_AREA_START + size || kernel.end <= MULTIBOOT_INFO_AREA_START;
  const infoAddress = lowArea ? MULTIBOOT_INFO_AREA_START : afterModules;
  const mmapAddress = infoAddress + alignUp(MBI_SIZE, 8);
  const modsAddress = mmapAddress + mmapLength;
  const stringsAddress = modsAddress + modules.length * MB_MOD_SIZE;
  const stringAddresses: number[] = [];
  let end = stringsAddress;
  for (const s of strings) {
    stringAddresses.push(end);
    end += s.length;
  }
  if (lowArea && end > MULTIBOOT_INFO_AREA_END) {
    placement.fail(`Multiboot information needs ${end - infoAddress} bytes; only ${MULTIBOOT_INFO_AREA_END - infoAddress} fit below the EBDA (command lines too long?)`);
  }
  placement.claim('Multiboot information', infoAddress, end - infoAddress, FOUR_GIB);
  mem.fill(infoAddress, end - infoAddress, 0);

  mem.write32(infoAddress + MBI_FLAGS,
    MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME);
  mem.write32(infoAddress + MBI_MEM_LOWER, pcConventionalMemoryKiB());
  mem.write32(infoAddress + MBI_MEM_UPPER, pcExtendedMemoryKiB(mem.size));
  mem.write32(infoAddress + MBI_CMDLINE, stringAddresses[0]);
  mem.write32(infoAddress + MBI_MODS_COUNT, modules.length);
  mem.write32(infoAddress + MBI_MODS_ADDR, modsAddress);
  mem.write32(infoAddress + MBI_MMAP_LENGTH, mmapLength);
  mem.write32(infoAddress + MBI_MMAP_ADDR, mmapAddress);
  mem.write32(infoAddress + MBI_BOOT_LOADER_NAME, stringAddresses[1]);

  e820.forEach((e, i) => {
    const p = mmapAddress + i * MB_MMAP_ENTRY_SIZE;
    mem.write32(p, MB_MMAP_ENTRY_SIZE_FIELD);
    mem.write64(p + 4, BigInt(e.addr));
    mem.write64(p + 12, BigInt(e.size));
    mem.write32(p + 20, e.type);
  });
  modules.forEach((m, i) => {
    const p = modsAddress + i * MB_MOD_SIZE;
    mem.write32(p, m.start);
    mem.write32(p + 4, m.end);
    mem.write32(p + 8, stringAddresses[2 + i]);
  });
  strings.forEach((s, i) => mem.writeBytes(stringAddresses[i], s));
  return infoAddress;
}
