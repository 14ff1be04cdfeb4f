/**
 * Synthetic boot images for the loader tests: a Multiboot a.out-kludge image, a tiny
 * ELF32 builder (optionally with a Multiboot header), a fake bzImage with a
 * protected-mode payload, and a 4-level page-table walker. No external files.
 */
import { GuestMemory, createSharedRamBacking } from '../../src/platform/index.js';
import { pcRamRegions } from '../../src/pc/memory-map.js';

export const MiB = 1024 * 1024;

/** Guest RAM laid out as on a PC, filled with 0xCC so zero-filling is visible. */
export function pcMemory(ramBytes = 32 * MiB): GuestMemory {
  const mem = new GuestMemory(createSharedRamBacking(ramBytes), pcRamRegions(ramBytes));
  mem.bytes.fill(0xcc);
  return mem;
}

function le32(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
}

/** A Multiboot header (12 bytes, or 32 with the a.out fields, or 48 with video fields). */
export function multibootHeader(flags: number, aout?: number[], video?: number[], checksumDelta = 0): Uint8Array {
  const words = [0x1badb002, flags, (-(0x1badb002 + flags) + checksumDelta) >>> 0, ...(aout ?? []), ...(video ?? [])];
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => le32(v, i * 4, w));
  return out;
}

export interface AoutImageOptions {
  code?: Uint8Array;
  loadAddr?: number;
  bss?: number;
  /** Extra header flags besides bit 16. */
  flags?: number;
  /** Bytes of padding before the header (the header then sits that far into the image). */
  headerOffset?: number;
  entryOffset?: number;
}

/**
 * A flat Multiboot image with the a.out kludge: [padding][header 32 bytes][code],
 * loaded so that file offset 0 lands at loadAddr.
 */
export function buildAoutImage(opts: AoutImageOptions = {}): { image: Uint8Array; loadAddr: number; entry: number } {
  const loadAddr = opts.loadAddr ?? 0x100000;
  const code = opts.code ?? Uint8Array.from([0xfa, 0xf4, 0xeb, 0xfd]); // cli; hlt; jmp $-1
  const pad = opts.headerOffset ?? 0;
  const flags = 0x10000 | (opts.flags ?? 0);
  const headerSize = flags & 4 ? 48 : 32;
  const length = pad + headerSize + code.length;
  const headerAddr = loadAddr + pad;
  const entry = headerAddr + headerSize + (opts.entryOffset ?? 0);
  const loadEnd = loadAddr + length;
  const bssEnd = opts.bss ? loadEnd + opts.bss : 0;
  const video = flags & 4 ? [0, 1024, 768, 32] : undefined;
  const header = multibootHeader(flags, [headerAddr, loadAddr, loadEnd, bssEnd, entry], video);
  const image = new Uint8Array(length);
  image.set(header, pad);
  image.set(code, pad + headerSize);
  return { image, loadAddr, entry };
}

export interface ElfSegmentSpec {
  paddr: number;
  vaddr?: number;
  data: Uint8Array;
  memsz?: number;
  type?: number;
  /** Override p_filesz / p_offset to make malformed files. */
  filesz?: number;
  offset?: number;
}

export interface Elf32Options {
  entry: number;
  segments: ElfSegmentSpec[];
  elfClass?: number;
  machine?: number;
  /** Put a Multiboot header (ELF form, flags `multibootFlags`) after the program headers. */
  multiboot?: boolean;
  multibootFlags?: number;
}

/** An ELF32 (or, with elfClass 2, an ELF64-flagged) executable, segments page aligned in the file. */
export function buildElf32(opts: Elf32Options): Uint8Array {
  const phoff = 52;
  const phnum = opts.segments.length;
  const mbOffset = phoff + 32 * phnum;
  const mb = opts.multiboot ? multibootHeader(opts.multibootFlags ?? 0) : new Uint8Array(0);
  let cursor = Math.ceil((mbOffset + mb.length) / 0x1000) * 0x1000;
  const placed = opts.segments.map((s) => {
    const offset = s.offset ?? cursor;
    cursor = Math.ceil((offset + s.data.length) / 0x1000) * 0x1000;
    return { ...s, offset };
  });
  const size = Math.max(cursor, ...placed.map((s) => s.offset + s.data.length));
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, opts.elfClass ?? 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, opts.machine ?? 3, true); // EM_386
  le32(v, 20, 1);
  le32(v, 24, opts.entry);
  le32(v, 28, phoff);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, phnum, true);
  placed.forEach((s, i) => {
    const p = phoff + 32 * i;
    le32(v, p, s.type ?? 1);
    le32(v, p + 4, s.offset);
    le32(v, p + 8, s.vaddr ?? s.paddr);
    le32(v, p + 12, s.paddr);
    le32(v, p + 16, s.filesz ?? s.data.length);
    le32(v, p + 20, s.memsz ?? s.data.length);
    le32(v, p + 24, 5);
    le32(v, p + 28, 0x1000);
    if (s.offset + s.data.length <= size) out.set(s.data, s.offset);
  });
  out.set(mb, mbOffset);
  return out;
}

export interface BzImageOptions {
  version?: number;
  setupSects?: number;
  loadflags?: number;
  xloadflags?: number;
  cmdlineSize?: number;
  initrdAddrMax?: number;
  kernelAlignment?: number;
  relocatable?: boolean;
  prefAddress?: number;
  initSize?: number;
  /** Byte at 0x201: the header ends at 0x202 + this. */
  jumpLength?: number;
  payload?: Uint8Array;
  kernelVersion?: string;
}

/** A fake bzImage: boot sector + setup sectors with a setup header, then a protected-mode payload. */
export function buildBzImage(opts: BzImageOptions = {}): Uint8Array {
  const setupSects = opts.setupSects ?? 4;
  const payload = opts.payload ?? Uint8Array.from({ length: 0x3000 }, (_, i) => (i * 7 + 3) & 0xff);
  const setupBytes = ((setupSects === 0 ? 4 : setupSects) + 1) * 512;
  const out = new Uint8Array(setupBytes + payload.length);
  const v = new DataView(out.buffer);
  out[0x1f1] = setupSects;
  v.setUint32(0x1f4, Math.ceil(payload.length / 16), true);
  v.setUint16(0x1fa, 0xfffd, true);
  v.setUint16(0x1fe, 0xaa55, true);
  out[0x200] = 0xeb;
  out[0x201] = opts.jumpLength ?? 0x6a; // header ends at 0x26c
  le32(v, 0x202, 0x53726448);
  v.setUint16(0x206, opts.version ?? 0x20f, true);
  out[0x211] = opts.loadflags ?? 0x01;
  le32(v, 0x214, 0x100000);
  le32(v, 0x22c, opts.initrdAddrMax ?? 0x7fffffff);
  le32(v, 0x230, opts.kernelAlignment ?? 0x200000);
  out[0x234] = opts.relocatable === false ? 0 : 1;
  out[0x235] = 21;
  v.setUint16(0x236, opts.xloadflags ?? 0x1, true);
  le32(v, 0x238, opts.cmdlineSize ?? 2047);
  le32(v, 0x258, opts.prefAddress ?? 0x1000000);
  le32(v, 0x260, opts.initSize ?? 0x800000);
  if (opts.kernelVersion) {
    v.setUint16(0x20e, 0x400, true);
    out.set(new TextEncoder().encode(`${opts.kernelVersion}\0`), 0x600);
  }
  out.set(payload, setupBytes);
  return out;
}

/**
 * Walks x86-64 4-level page tables from CR3 like the MMU would: returns the physical
 * address for `va`, or null when a level is not present.
 */
export function walkPageTables(mem: GuestMemory, cr3: bigint, va: number): number | null {
  const addr = BigInt(va);
  let table = cr3 & ~0xfffn;
  const levels = [39n, 30n, 21n, 12n];
  for (let level = 0; level < 4; level++) {
    const index = (addr >> levels[level]) & 0x1ffn;
    const entry = mem.read64(Number(table + index * 8n));
    if ((entry & 1n) === 0n) return null;
    const pageSizeBit = (entry & 0x80n) !== 0n;
    if (level === 1 && pageSizeBit) return Number((entry & 0x000fffffc0000000n) | (addr & 0x3fffffffn));
    if (level === 2 && pageSizeBit) return Number((entry & 0x000fffffffe00000n) | (addr & 0x1fffffn));
    table = entry & 0x000ffffffffff000n;
  }
  return Number(table | (addr & 0xfffn));
}

/** Runs `fn` and returns what it threw; fails the test when it throws nothing. */
export function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
