/**
 * Just enough ELF to load a 32-bit x86 kernel: the file header and program headers
 * (System V ABI, "ELF Object File Format" / gABI chapters 4 and 5; i386 psABI for
 * EM_386). Sections, symbols and relocations are not needed to boot.
 */
import { hex } from './placement.js';

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ET_EXEC = 2;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const ELF32_EHDR_SIZE = 52;
export const ELF32_PHDR_SIZE = 32;

export interface Elf32Segment {
  readonly index: number;
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly flags: number;
}

export interface Elf32Image {
  readonly type: number;
  readonly machine: number;
  readonly entry: number;
  readonly segments: readonly Elf32Segment[];
}

/** True when the image starts with \x7fELF. */
export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && ELF_MAGIC.every((b, i) => image[i] === b);
}

/** EI_CLASS of an ELF image (1 = 32-bit, 2 = 64-bit), or 0 when unreadable. */
export function elfClass(image: Uint8Array): number {
  return isElf(image) && image.length > 4 ? image[4] : 0;
}

/**
 * Parses an ELF32 little-endian executable's header and program headers.
 * `fail` receives a reason and must throw.
 */
export function parseElf32(image: Uint8Array, fail: (reason: string) => never): Elf32Image {
  if (!isElf(image)) fail('not an ELF file');
  if (image.length < ELF32_EHDR_SIZE) fail(`ELF header is truncated (${image.length} bytes, need ${ELF32_EHDR_SIZE})`);
  if (image[4] !== ELFCLASS32) fail(`ELF class ${image[4]} is not ELFCLASS32`);
  if (image[5] !== ELFDATA2LSB) fail('ELF file is not little-endian');
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  const entry = v.getUint32(24, true);
  const phoff = v.getUint32(28, true);
  const phentsize = v.getUint16(42, true);
  const phnum = v.getUint16(44, true);
  if (machine !== EM_386) fail(`ELF machine ${machine} is not EM_386 (3)`);
  if (type !== ET_EXEC) fail(`ELF type ${type} is not an executable (ET_EXEC)`);
  if (phnum === 0) fail('ELF file has no program headers');
  if (phentsize !== ELF32_PHDR_SIZE) fail(`ELF program header size ${phentsize} is not ${ELF32_PHDR_SIZE}`);
  if (phoff + phnum * phentsize > image.length) {
    fail(`ELF program header table [${hex(phoff)}, ${hex(phoff + phnum * phentsize)}) lies outside the ${image.length}-byte file`);
  }
  const segments: Elf32Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    segments.push({
      index: i,
      type: v.getUint32(p, true),
      offset: v.getUint32(p + 4, true),
      vaddr: v.getUint32(p + 8, true),
      paddr: v.getUint32(p + 12, true),
      filesz: v.getUint32(p + 16, true),
      memsz: v.getUint32(p + 20, true),
      flags: v.getUint32(p + 24, true),
    });
  }
  return { type, machine, entry, segments };
}
