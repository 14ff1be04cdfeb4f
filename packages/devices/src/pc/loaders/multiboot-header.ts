/**
 * The Multiboot v1 header (Multiboot Specification 0.6.96, 3.1 "OS image format"):
 * magic 0x1BADB002, flags and checksum, 4-byte aligned within the first 8192 bytes,
 * followed when flags bit 16 is set by the a.out-kludge address fields and when bit 2
 * is set by the requested video mode.
 *
 * Like QEMU (hw/i386/multiboot.c) and GRUB, a magic word whose checksum does not add
 * up is skipped and the search goes on; only when no valid header exists is a bad
 * checksum reported, so the user learns why a near-miss was not a Multiboot kernel.
 */
import { KernelImageError } from '../errors.js';
import { hex } from './placement.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** What the loader puts in EAX at entry. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie wholly within this many bytes from the start of the file. */
export const MULTIBOOT_SEARCH_LIMIT = 8192;
export const MULTIBOOT_HEADER_ALIGN = 4;

/** Header flags (bits 0-15 are requirements the loader must honour or refuse). */
export const MULTIBOOT_PAGE_ALIGN = 1 << 0;
export const MULTIBOOT_MEMORY_INFO = 1 << 1;
export const MULTIBOOT_VIDEO_MODE = 1 << 2;
export const MULTIBOOT_AOUT_KLUDGE = 1 << 16;
/** Requirement bits no loader defines (GRUB's MULTIBOOT_UNSUPPORTED): refuse to boot. */
export const MULTIBOOT_UNSUPPORTED = 0x0000fff8;

/** Bytes of header: magic/flags/checksum, + 5 address words, + 4 video words. */
const BASE_SIZE = 12;
const AOUT_SIZE = 32;
const VIDEO_SIZE = 48;

export interface MultibootAoutFields {
  headerAddr: number;
  loadAddr: number;
  /** 0: load to the end of the file. */
  loadEndAddr: number;
  /** 0: no bss. */
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootVideoFields {
  /** 0 linear graphics, 1 EGA text. */
  modeType: number;
  width: number;
  height: number;
  depth: number;
}

export interface MultibootHeader {
  /** File offset of the magic word. */
  offset: number;
  flags: number;
  checksum: number;
  /** Present when flags bit 16 is set. */
  aout: MultibootAoutFields | null;
  /** Present when flags bit 2 is set. */
  video: MultibootVideoFields | null;
}

function u32(image: Uint8Array, offset: number): number {
  return (image[offset] | (image[offset + 1] << 8) | (image[offset + 2] << 16) | (image[offset + 3] << 24)) >>> 0;
}

/** Offsets of every aligned magic word in the search window (valid or not). */
export function findMultibootMagic(image: Uint8Array): number[] {
  const found: number[] = [];
  const end = Math.min(image.length, MULTIBOOT_SEARCH_LIMIT) - BASE_SIZE;
  for (let i = 0; i <= end; i += MULTIBOOT_HEADER_ALIGN) {
    if (u32(image, i) === MULTIBOOT_HEADER_MAGIC) found.push(i);
  }
  return found;
}

/**
 * The image's Multiboot header, or null when no magic word is in the search window.
 * Throws KernelImageError for a header that is there but unusable: bad checksum,
 * truncated address or video fields, unsupported requirement bits.
 */
export function parseMultibootHeader(image: Uint8Array, fileName?: string): MultibootHeader | null {
  const fail = (reason: string): never => {
    throw new KernelImageError(reason, fileName);
  };
  const magics = findMultibootMagic(image);
  if (magics.length === 0) return null;
  const offset = magics.find((i) => ((MULTIBOOT_HEADER_MAGIC + u32(image, i + 4) + u32(image, i + 8)) >>> 0) === 0);
  if (offset === undefined) {
    const i = magics[0];
    const sum = (MULTIBOOT_HEADER_MAGIC + u32(image, i + 4) + u32(image, i + 8)) >>> 0;
    return fail(`Multiboot header at offset ${hex(i)} has a bad checksum (magic + flags + checksum = ${hex(sum)}, must be 0)`);
  }
  const flags = u32(image, offset + 4);
  const checksum = u32(image, offset + 8);
  if (flags & MULTIBOOT_UNSUPPORTED) {
    fail(`Multiboot header requires features no loader supports (flags bits ${hex(flags & MULTIBOOT_UNSUPPORTED)})`);
  }
  const need = flags & MULTIBOOT_VIDEO_MODE ? VIDEO_SIZE : flags & MULTIBOOT_AOUT_KLUDGE ? AOUT_SIZE : BASE_SIZE;
  const available = Math.min(image.length, MULTIBOOT_SEARCH_LIMIT) - offset;
  if (available < need) {
    fail(`Multiboot header at offset ${hex(offset)} is truncated (flags ${hex(flags)} need ${need} bytes, ${available} present within the first 8 KiB)`);
  }
  const aout = flags & MULTIBOOT_AOUT_KLUDGE
    ? {
        headerAddr: u32(image, offset + 12),
        loadAddr: u32(image, offset + 16),
        loadEndAddr: u32(image, offset + 20),
        bssEndAddr: u32(image, offset + 24),
        entryAddr: u32(image, offset + 28),
      }
    : null;
  const video = flags & MULTIBOOT_VIDEO_MODE
    ? {
        modeType: u32(image, offset + 32),
        width: u32(image, offset + 36),
        height: u32(image, offset + 40),
        depth: u32(image, offset + 44),
      }
    : null;
  return { offset, flags, checksum, aout, video };
}
