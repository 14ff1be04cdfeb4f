/**
 * Linux/x86 bzImage loader using the 32-bit and 64-bit boot protocols
 * (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol" and "64-bit Boot Protocol";
 * boot_params layout from Documentation/arch/x86/zero-page.rst). The real-mode setup
 * code is not run: we build boot_params ourselves, as Firecracker and crosvm do.
 *
 * Low memory used (see layout.ts): boot GDT 0x500, boot_params 0x7000, page tables
 * 0x9000-0xEFFF (64-bit entry only), command line 0x20000. The protected-mode kernel
 * loads at 1 MiB (or pref_address on request for a relocatable kernel); the initrd goes
 * at the highest page-aligned address that keeps it at or below initrd_addr_max and
 * inside RAM below 4 GiB, and clear of the kernel's decompression area (init_size bytes
 * from its runtime start).
 */
import {
  CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, Gpr, flatSegment64, protectedModeEntryState, type CpuState, type GuestMemory,
} from '../../platform/index.js';
import {
  HIGH_MEMORY_START, KERNEL_LOAD_ADDRESS, LINUX_BOOT_PARAMS_ADDRESS, LINUX_CMDLINE_ADDRESS, LINUX_PAGE_TABLES_ADDRESS,
  CONVENTIONAL_MEMORY_END, PAGE_SIZE,
} from '../layout.js';
import { pcBelow4gRamEnd, pcE820Map, pcExtendedMemoryKiB } from '../memory-map.js';
import { BOOT_CS, BOOT_DS, writeBootGdt } from './boot-gdt.js';
import {
  CAN_USE_HEAP, HDR_CMD_LINE_PTR, HDR_CODE32_START, HDR_HEAP_END_PTR, HDR_LOADFLAGS, HDR_RAMDISK_IMAGE, HDR_RAMDISK_SIZE,
  HDR_SETUP_SECTS, HDR_TYPE_OF_LOADER, HDR_VID_MODE, LOADED_HIGH, XLF_KERNEL_64, formatBootProtocol, parseBzImageHeader,
  type BzImageHeader,
} from './bzimage-header.js';
import { writeIdentityPageTables } from './page-tables.js';
import { BootPlacement, alignDown, alignUp, cString, hex } from './placement.js';

/** boot_params (zero page) offsets outside the setup header (zero-page.rst). */
export const BOOT_PARAMS_SIZE = 0x1000;
export const BP_ALT_MEM_K = 0x1e0;
export const BP_E820_ENTRIES = 0x1e8;
export const BP_E820_TABLE = 0x2d0;
export const BP_E820_ENTRY_SIZE = 20;
/** E820_MAX_ENTRIES_ZEROPAGE */
export const BP_E820_MAX = 128;

/** type_of_loader 0xFF: "undefined" boot loader (we have no assigned id). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** The 64-bit entry point is this far into the protected-mode kernel. */
export const STARTUP_64_OFFSET = 0x200;
/** NORMAL_VGA: "normal" 80x25 text mode, what vid_mode means when the user asks nothing. */
export const VID_MODE_NORMAL = 0xffff;
/**
 * heap_end_ptr as a real-mode loader would set it with setup at X and the command line
 * at X + 0x10000 (boot.rst's suggested layout): the heap ends at 0xFE00 + 0x200.
 * Only the real-mode setup code reads it; we set it for kernels that check CAN_USE_HEAP.
 */
export const HEAP_END_PTR = 0xfe00;
/** Protocol 2.06 introduced cmdline_size; older kernels are not supported. */
export const MIN_BOOT_PROTOCOL = 0x206;
/** xloadflags (and so XLF_KERNEL_64) exist from protocol 2.12. */
export const XLOADFLAGS_PROTOCOL = 0x20c;

export interface LinuxBootOptions {
  cmdline?: string;
  initrd?: Uint8Array;
  /**
   * '32': startup_32 in flat protected mode (default). '64': startup_64 in long mode.
   * 'auto': '64' when the kernel has a 64-bit entry point (XLF_KERNEL_64), else '32'.
   */
  entry?: '32' | '64' | 'auto';
  /**
   * Load a relocatable kernel at its pref_address instead of 1 MiB. Ignored for a
   * non-relocatable kernel: it moves itself to pref_address anyway.
   */
  usePreferredAddress?: boolean;
  /** boot_params.hdr.vid_mode; default 0xFFFF (normal VGA). */
  vidMode?: number;
  /** Name the kernel and initrd in error messages. */
  fileName?: string;
  initrdName?: string;
}

export interface LinuxLoadResult {
  cpu: CpuState;
  entry: number;
  header: BzImageHeader;
  kernelAddress: number;
  kernelSize: number;
  bootParamsAddress: number;
  cmdlineAddress: number;
  initrd: { address: number; size: number } | null;
}

export function loadLinux(mem: GuestMemory, image: Uint8Array, opts: LinuxBootOptions = {}): LinuxLoadResult {
  const placement: BootPlacement = new BootPlacement(mem, opts.fileName);
  const h = parseBzImageHeader(image, opts.fileName);
  const has64 = h.version >= XLOADFLAGS_PROTOCOL && (h.xloadflags & XLF_KERNEL_64) !== 0;
  const mode = opts.entry === 'auto' ? (has64 ? '64' : '32') : opts.entry ?? '32';
  if (h.version < MIN_BOOT_PROTOCOL) {
    placement.fail(`Linux boot protocol ${formatBootProtocol(h.version)} is older than 2.06, the oldest tsemu supports`);
  }
  if ((h.loadflags & LOADED_HIGH) === 0) {
    placement.fail('Linux kernel is not a bzImage (loadflags LOADED_HIGH is clear); zImage kernels are not supported');
  }
  if (h.kernelSize === 0) placement.fail('Linux image has no protected-mode kernel after its setup sectors');
  if (mode === '64' && !has64) {
    placement.fail(`Linux kernel has no 64-bit entry point (needs protocol 2.12+ with XLF_KERNEL_64; protocol ${formatBootProtocol(h.version)}, xloadflags ${hex(h.xloadflags)})`);
  }

  const lowEnd = pcBelow4gRamEnd(mem.size);
  const kernelAddress = opts.usePreferredAddress && h.relocatable && h.prefAddress !== 0 ? h.prefAddress : KERNEL_LOAD_ADDRESS;
  const cmdline = cString(placement, 'kernel command line', opts.cmdline ?? '');
  if (cmdline.length - 1 > h.cmdlineSize) {
    placement.fail(`kernel command line is ${cmdline.length - 1} bytes; this kernel accepts at most ${h.cmdlineSize} (cmdline_size)`);
  }
  // Every check that can fail comes before the kernel's megabytes are copied.
  const kernelEnd = reserveKernel(placement, h, kernelAddress, lowEnd);
  const initrd = opts.initrd && opts.initrd.length > 0
    ? placeInitrd(placement, h, opts.initrd, kernelEnd, lowEnd, opts.initrdName)
    : null;
  placement.write('kernel command line', LINUX_CMDLINE_ADDRESS, cmdline, CONVENTIONAL_MEMORY_END);
  const gdt = writeBootGdt(placement, mode);
  placement.mem.writeBytes(kernelAddress, image.subarray(h.kernelOffset));

  writeBootParams(placement, image, h, {
    kernelAddress, initrd, vidMode: opts.vidMode ?? VID_MODE_NORMAL,
  });

  const entry = mode === '64' ? kernelAddress + STARTUP_64_OFFSET : kernelAddress;
  const cpu = protectedModeEntryState(entry);
  cpu.gdt = gdt;
  cpu.idt = { base: 0n, limit: 0 };
  cpu.gpr[Gpr.RSI] = BigInt(LINUX_BOOT_PARAMS_ADDRESS);
  if (mode === '64') {
    cpu.cr3 = writeIdentityPageTables(placement, LINUX_PAGE_TABLES_ADDRESS);
    cpu.cs = flatSegment64(BOOT_CS, true);
    for (const seg of ['ds', 'es', 'fs', 'gs', 'ss'] as const) cpu[seg] = flatSegment64(BOOT_DS, false);
    cpu.cr0 |= CR0_PG;
    cpu.cr4 |= CR4_PAE;
    cpu.efer |= EFER_LME | EFER_LMA;
  }
  return {
    cpu, entry, header: h, kernelAddress, kernelSize: h.kernelSize,
    bootParamsAddress: LINUX_BOOT_PARAMS_ADDRESS, cmdlineAddress: LINUX_CMDLINE_ADDRESS, initrd,
  };
}

/**
 * Claims the kernel's load range together with the area it decompresses into, and
 * returns one past the end of both. The decompressor runs at align_up(load,
 * kernel_alignment) but never below LOAD_PHYSICAL_ADDR (= pref_address) for a
 * relocatable kernel, and at pref_address otherwise (boot.rst "init_size";
 * arch/x86/boot/compressed/head_{32,64}.S), and needs init_size bytes there.
 */
function reserveKernel(placement: BootPlacement, h: BzImageHeader, load: number, lowEnd: number): number {
  let runtimeStart = load;
  if (h.version >= 0x20a) {
    runtimeStart = h.relocatable ? Math.max(alignUp(load, h.kernelAlignment || 1), h.prefAddress) : h.prefAddress || load;
  }
  const initEnd = runtimeStart + h.initSize;
  const end = Math.max(load + h.kernelSize, initEnd);
  if (load + h.kernelSize > lowEnd) {
    placement.fail(`Linux kernel (${h.kernelSize} bytes at ${hex(load)}) does not fit in the ${hex(lowEnd)} bytes of RAM below 4 GiB`);
  }
  if (initEnd > lowEnd) {
    placement.fail(`Linux kernel needs init_size ${hex(h.initSize)} bytes of RAM from ${hex(runtimeStart)} to decompress, but RAM below 4 GiB ends at ${hex(lowEnd)}`);
  }
  placement.claim('Linux kernel and its init_size area', load, end - load);
  return end;
}

/** Places the initrd as high as initrd_addr_max and RAM allow, page aligned, above the kernel. */
function placeInitrd(
  placement: BootPlacement, h: BzImageHeader, initrd: Uint8Array, kernelEnd: number, lowEnd: number, name?: string,
): { address: number; size: number } {
  const label = name ? `initrd ${name}` : 'initrd';
  const top = Math.min(h.initrdAddrMax + 1, lowEnd);
  const address = alignDown(top - initrd.length, PAGE_SIZE);
  if (address < Math.max(kernelEnd, HIGH_MEMORY_START)) {
    placement.fail(`${label} (${initrd.length} bytes) does not fit: it must end at or below ${hex(top)} `
      + `(initrd_addr_max ${hex(h.initrdAddrMax)}, RAM below 4 GiB ends at ${hex(lowEnd)}) `
      + `and start above the kernel, which reaches ${hex(kernelEnd)}`);
  }
  placement.write(label, address, initrd);
  return { address, size: initrd.length };
}

interface BootParamsInput {
  kernelAddress: number;
  initrd: { address: number; size: number } | null;
  vidMode: number;
}

/** The zero page: the kernel's setup header, amended by the loader, plus the E820 map. */
function writeBootParams(placement: BootPlacement, image: Uint8Array, h: BzImageHeader, input: BootParamsInput): void {
  const mem = placement.mem;
  const bp = LINUX_BOOT_PARAMS_ADDRESS;
  placement.claim('Linux boot_params', bp, BOOT_PARAMS_SIZE);
  mem.fill(bp, BOOT_PARAMS_SIZE, 0);
  mem.writeBytes(bp + HDR_SETUP_SECTS, image.subarray(HDR_SETUP_SECTS, h.headerEnd));

  mem.write16(bp + HDR_VID_MODE, input.vidMode);
  mem.write8(bp + HDR_TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
  mem.write8(bp + HDR_LOADFLAGS, h.loadflags | CAN_USE_HEAP);
  mem.write16(bp + HDR_HEAP_END_PTR, HEAP_END_PTR);
  mem.write32(bp + HDR_CODE32_START, input.kernelAddress);
  mem.write32(bp + HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDRESS);
  mem.write32(bp + HDR_RAMDISK_IMAGE, input.initrd?.address ?? 0);
  mem.write32(bp + HDR_RAMDISK_SIZE, input.initrd?.size ?? 0);

  mem.write32(bp + BP_ALT_MEM_K, pcExtendedMemoryKiB(mem.size));
  const e820 = pcE820Map(mem.size);
  if (e820.length > BP_E820_MAX) placement.fail(`E820 map has ${e820.length} entries; boot_params holds ${BP_E820_MAX}`);
  mem.write8(bp + BP_E820_ENTRIES, e820.length);
  e820.forEach((e, i) => {
    const p = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
    mem.write64(p, BigInt(e.addr));
    mem.write64(p + 8, BigInt(e.size));
    mem.write32(p + 16, e.type);
  });
}
