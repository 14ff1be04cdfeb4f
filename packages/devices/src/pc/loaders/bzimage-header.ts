/**
 * The Linux/x86 real-mode kernel header ("setup header") at offset 0x1F1 of a bzImage
 * (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"). Parsing only: the
 * loader (linux.ts) decides what it can boot. Fields newer than the image's protocol
 * version are reported as 0, as boot.rst says a loader must not trust them.
 */
import { KernelImageError } from '../errors.js';
import { hex } from './placement.js';

/** Header field offsets in the image and in boot_params.hdr (they coincide). */
export const HDR_SETUP_SECTS = 0x1f1;
export const HDR_SYSSIZE = 0x1f4;
export const HDR_VID_MODE = 0x1fa;
export const HDR_BOOT_FLAG = 0x1fe;
export const HDR_JUMP = 0x200;
export const HDR_HEADER = 0x202;
export const HDR_VERSION = 0x206;
export const HDR_KERNEL_VERSION = 0x20e;
export const HDR_TYPE_OF_LOADER = 0x210;
export const HDR_LOADFLAGS = 0x211;
export const HDR_CODE32_START = 0x214;
export const HDR_RAMDISK_IMAGE = 0x218;
export const HDR_RAMDISK_SIZE = 0x21c;
export const HDR_HEAP_END_PTR = 0x224;
export const HDR_CMD_LINE_PTR = 0x228;
export const HDR_INITRD_ADDR_MAX = 0x22c;
export const HDR_KERNEL_ALIGNMENT = 0x230;
export const HDR_RELOCATABLE_KERNEL = 0x234;
export const HDR_MIN_ALIGNMENT = 0x235;
export const HDR_XLOADFLAGS = 0x236;
export const HDR_CMDLINE_SIZE = 0x238;
export const HDR_PREF_ADDRESS = 0x258;
export const HDR_INIT_SIZE = 0x260;
/** boot_params.edd_mbr_sig_buffer follows the header: the header can never reach past it. */
export const HDR_LIMIT = 0x290;

/** "HdrS" */
export const LINUX_HDRS_MAGIC = 0x53726448;
export const LINUX_BOOT_FLAG = 0xaa55;
export const SECTOR_SIZE = 512;
/** setup_sects 0 means 4 (boot.rst, note 1). */
export const DEFAULT_SETUP_SECTS = 4;
/** initrd_addr_max before protocol 2.03. */
export const DEFAULT_INITRD_ADDR_MAX = 0x37ffffff;

/** loadflags bits. */
export const LOADED_HIGH = 1 << 0;
export const KASLR_FLAG = 1 << 1;
export const QUIET_FLAG = 1 << 5;
export const KEEP_SEGMENTS = 1 << 6;
export const CAN_USE_HEAP = 1 << 7;

/** xloadflags bits (protocol 2.12+). */
export const XLF_KERNEL_64 = 1 << 0;
export const XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
export const XLF_EFI_HANDOVER_32 = 1 << 2;
export const XLF_EFI_HANDOVER_64 = 1 << 3;
export const XLF_EFI_KEXEC = 1 << 4;

export interface BzImageHeader {
  /** Boot protocol version, (major << 8) | minor: 0x020f for 2.15. */
  version: number;
  /** Setup sectors after the boot sector (0 in the file already mapped to 4). */
  setupSects: number;
  /** File offset of the protected-mode kernel: (setupSects + 1) * 512. */
  kernelOffset: number;
  /** Bytes of protected-mode kernel in the file. */
  kernelSize: number;
  /** One past the header's last byte: 0x202 + the byte at 0x201. */
  headerEnd: number;
  bootFlag: number;
  syssize: number;
  vidMode: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  minAlignment: number;
  xloadflags: number;
  cmdlineSize: number;
  prefAddress: number;
  initSize: number;
  /** The NUL-terminated version string kernel_version points to, if any. */
  kernelVersion: string | null;
}

/** True when "HdrS" is at 0x202: what QEMU tests to pick the Linux boot protocol. */
export function hasBzImageMagic(image: Uint8Array): boolean {
  return image.length >= HDR_HEADER + 4 && readU32(image, HDR_HEADER) === LINUX_HDRS_MAGIC;
}

function readU16(image: Uint8Array, offset: number): number {
  return image[offset] | (image[offset + 1] << 8);
}

function readU32(image: Uint8Array, offset: number): number {
  return (readU16(image, offset) | (readU16(image, offset + 2) << 16)) >>> 0;
}

export function formatBootProtocol(version: number): string {
  return `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
}

/** Parses the setup header; throws KernelImageError when there is none or it is cut short. */
export function parseBzImageHeader(image: Uint8Array, fileName?: string): BzImageHeader {
  const fail = (reason: string): never => {
    throw new KernelImageError(reason, fileName);
  };
  if (image.length === 0) fail('image is empty');
  if (!hasBzImageMagic(image)) fail(`not a Linux bzImage: no "HdrS" signature at offset ${hex(HDR_HEADER)}`);
  const headerEnd = HDR_HEADER + image[HDR_JUMP + 1];
  if (headerEnd > HDR_LIMIT) {
    fail(`Linux setup header claims to end at ${hex(headerEnd)}, past the ${hex(HDR_LIMIT)} limit of boot_params`);
  }
  if (image.length < Math.max(headerEnd, HDR_VERSION + 2)) {
    fail(`Linux setup header is truncated: it ends at ${hex(headerEnd)} but the file is ${image.length} bytes`);
  }
  const version = readU16(image, HDR_VERSION);
  // A field is readable when both the protocol defines it and the header is long enough.
  const has = (minVersion: number, offset: number, size: number): boolean =>
    version >= minVersion && offset + size <= headerEnd;
  const u8 = (v: number, o: number) => (has(v, o, 1) ? image[o] : 0);
  const u16 = (v: number, o: number) => (has(v, o, 2) ? readU16(image, o) : 0);
  const u32 = (v: number, o: number) => (has(v, o, 4) ? readU32(image, o) : 0);

  const rawSects = image[HDR_SETUP_SECTS];
  const setupSects = rawSects === 0 ? DEFAULT_SETUP_SECTS : rawSects;
  const kernelOffset = (setupSects + 1) * SECTOR_SIZE;
  if (kernelOffset > image.length) {
    fail(`Linux setup code (${setupSects} sectors) runs past the end of the ${image.length}-byte file`);
  }
  const prefHigh = u32(0x20a, HDR_PREF_ADDRESS + 4);
  if (prefHigh !== 0) fail(`Linux pref_address is above 4 GiB (high word ${hex(prefHigh)})`);

  const kernelVersionPtr = readU16(image, HDR_KERNEL_VERSION);
  let kernelVersion: string | null = null;
  if (kernelVersionPtr !== 0 && kernelVersionPtr + 0x200 < kernelOffset) {
    const start = kernelVersionPtr + 0x200;
    let end = start;
    while (end < kernelOffset && end - start < 256 && image[end] !== 0) end++;
    kernelVersion = String.fromCharCode(...image.subarray(start, end));
  }

  return {
    version,
    setupSects,
    kernelOffset,
    kernelSize: image.length - kernelOffset,
    headerEnd,
    bootFlag: readU16(image, HDR_BOOT_FLAG),
    syssize: u32(0x204, HDR_SYSSIZE) || readU16(image, HDR_SYSSIZE),
    vidMode: readU16(image, HDR_VID_MODE),
    loadflags: image[HDR_LOADFLAGS],
    code32Start: u32(0x200, HDR_CODE32_START),
    initrdAddrMax: version >= 0x203 ? u32(0x203, HDR_INITRD_ADDR_MAX) : DEFAULT_INITRD_ADDR_MAX,
    kernelAlignment: u32(0x205, HDR_KERNEL_ALIGNMENT),
    relocatable: u8(0x205, HDR_RELOCATABLE_KERNEL) !== 0,
    minAlignment: u8(0x20a, HDR_MIN_ALIGNMENT),
    xloadflags: u16(0x20c, HDR_XLOADFLAGS),
    cmdlineSize: version >= 0x206 ? u32(0x206, HDR_CMDLINE_SIZE) : 255,
    prefAddress: u32(0x20a, HDR_PREF_ADDRESS),
    initSize: u32(0x20a, HDR_INIT_SIZE),
    kernelVersion,
  };
}
