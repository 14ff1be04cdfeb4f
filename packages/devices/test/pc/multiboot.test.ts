import { describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, Gpr, RFLAGS_IF, type GuestMemory } from '../../src/platform/index.js';
import { KernelImageError } from '../../src/pc/errors.js';
import { pcE820Map } from '../../src/pc/memory-map.js';
import { loadMultiboot } from '../../src/pc/loaders/multiboot.js';
import { parseMultibootHeader } from '../../src/pc/loaders/multiboot-header.js';
import { MiB, buildAoutImage, buildElf32, captureError, multibootHeader, pcMemory } from './helpers.js';

function info(mem: GuestMemory, address: number) {
  return {
    flags: mem.read32(address),
    memLower: mem.read32(address + 4),
    memUpper: mem.read32(address + 8),
    cmdline: mem.readCString(mem.read32(address + 16), 4096),
    modsCount: mem.read32(address + 20),
    modsAddr: mem.read32(address + 24),
    mmapLength: mem.read32(address + 44),
    mmapAddr: mem.read32(address + 48),
    bootLoaderName: mem.readCString(mem.read32(address + 64), 64),
  };
}

describe('loadMultiboot with the a.out kludge', () => {
  it('copies the image to load_addr, zeroes the bss and enters at entry_addr per the spec', () => {
    const mem = pcMemory();
    const { image, loadAddr, entry } = buildAoutImage({ bss: 0x2000 });
    const r = loadMultiboot(mem, image, { cmdline: 'console=ttyS0 quiet' });
    expect(mem.readBytes(loadAddr, image.length)).toEqual(image);
    expect(mem.readBytes(loadAddr + image.length, 0x2000).every((b) => b === 0)).toBe(true);
    expect(mem.read8(loadAddr + image.length + 0x2000)).toBe(0xcc);
    expect(r.kernelStart).toBe(loadAddr);
    expect(r.kernelEnd).toBe(loadAddr + image.length + 0x2000);

    const { cpu } = r;
    expect(cpu.rip).toBe(BigInt(entry));
    expect(cpu.gpr[Gpr.RAX]).toBe(0x2badb002n);
    expect(cpu.gpr[Gpr.RBX]).toBe(BigInt(r.infoAddress));
    expect(cpu.cr0 & CR0_PE).toBe(CR0_PE);
    expect(cpu.cr0 & CR0_PG).toBe(0n);
    expect(cpu.rflags & RFLAGS_IF).toBe(0n);
    expect(cpu.cs).toMatchObject({ selector: 0x10, base: 0n, limit: 0xffffffff, db: true, l: false, type: 0xb });
    for (const seg of [cpu.ds, cpu.es, cpu.fs, cpu.gs, cpu.ss]) {
      expect(seg).toMatchObject({ selector: 0x18, base: 0n, limit: 0xffffffff, type: 0x3 });
    }
    expect(cpu.gdt.base).toBe(0x500n);
    expect(mem.read64(0x510)).toBe(0x00cf9b000000ffffn);
  });

  it('writes the info structure: memory sizes, command line, boot loader name and the E820 map', () => {
    const mem = pcMemory(64 * MiB);
    const r = loadMultiboot(mem, buildAoutImage().image, { cmdline: 'console=ttyS0 quiet' });
    const mbi = info(mem, r.infoAddress);
    expect(r.infoAddress).toBe(0x9000);
    // MEM | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME
    expect(mbi.flags).toBe(0x1 | 0x4 | 0x8 | 0x40 | 0x200);
    expect(mbi.memLower).toBe(639);
    expect(mbi.memUpper).toBe(63 * 1024);
    expect(mbi.cmdline).toBe('console=ttyS0 quiet');
    expect(mbi.bootLoaderName).toBe('tsemu');
    expect(mbi.modsCount).toBe(0);

    const e820 = pcE820Map(64 * MiB);
    expect(mbi.mmapLength).toBe(e820.length * 24);
    e820.forEach((e, i) => {
      const p = mbi.mmapAddr + i * 24;
      expect(mem.read32(p)).toBe(20);
      expect(mem.read64(p + 4)).toBe(BigInt(e.addr));
      expect(mem.read64(p + 12)).toBe(BigInt(e.size));
      expect(mem.read32(p + 20)).toBe(e.type);
    });
  });

  it('places modules page-aligned after the kernel with their strings', () => {
    const mem = pcMemory(64 * MiB);
    const { image } = buildAoutImage({ bss: 0x1800 });
    const a = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const b = Uint8Array.from([1, 2, 3]);
    const r = loadMultiboot(mem, image, { modules: [{ data: a, cmdline: 'initrd.img root=/dev/ram' }, { data: b, cmdline: 'b.mod' }] });
    const mbi = info(mem, r.infoAddress);
    expect(mbi.modsCount).toBe(2);
    const mods = [0, 1].map((i) => ({
      start: mem.read32(mbi.modsAddr + 16 * i),
      end: mem.read32(mbi.modsAddr + 16 * i + 4),
      cmdline: mem.readCString(mem.read32(mbi.modsAddr + 16 * i + 8), 256),
    }));
    expect(mods[0].start % 4096).toBe(0);
    expect(mods[0].start).toBeGreaterThanOrEqual(r.kernelEnd);
    expect(mods[0].start - r.kernelEnd).toBeLessThan(4096);
    expect(mods[0].end).toBe(mods[0].start + 5000);
    expect(mods[1].start).toBe(mods[0].start + 8192);
    expect(mods[1].end).toBe(mods[1].start + 3);
    expect(mods.map((m) => m.cmdline)).toEqual(['initrd.img root=/dev/ram', 'b.mod']);
    expect(mem.readBytes(mods[0].start, 5000)).toEqual(a);
    expect(mem.readBytes(mods[1].start, 3)).toEqual(b);
    expect(r.modules).toEqual(mods);
  });

  it('finds a header placed past the start of the file and loads from the right file offset', () => {
    const mem = pcMemory();
    const { image, loadAddr, entry } = buildAoutImage({ headerOffset: 0x1000, loadAddr: 0x200000 });
    const r = loadMultiboot(mem, image);
    expect(r.header.offset).toBe(0x1000);
    expect(mem.readBytes(loadAddr, image.length)).toEqual(image);
    expect(r.cpu.rip).toBe(BigInt(entry));
  });

  it('boots a kernel that asks for a video mode, with a warning', () => {
    const r = loadMultiboot(pcMemory(), buildAoutImage({ flags: 0x4 }).image);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/video mode/);
    expect(r.header.video).toEqual({ modeType: 0, width: 1024, height: 768, depth: 32 });
  });
});

describe('loadMultiboot with an ELF32 kernel', () => {
  const text = Uint8Array.from({ length: 0x1200 }, (_, i) => (i * 3) & 0xff);
  const data = Uint8Array.from({ length: 0x300 }, (_, i) => 0x80 | (i & 0x7f));

  it('loads PT_LOAD segments at p_paddr and zero-fills up to p_memsz', () => {
    const mem = pcMemory();
    const image = buildElf32({
      entry: 0x100010, multiboot: true,
      segments: [{ paddr: 0x100000, data: text }, { paddr: 0x102000, data, memsz: 0x1000 }],
    });
    const r = loadMultiboot(mem, image);
    expect(mem.readBytes(0x100000, text.length)).toEqual(text);
    expect(mem.readBytes(0x102000, data.length)).toEqual(data);
    expect(mem.readBytes(0x102300, 0xd00).every((b) => b === 0)).toBe(true);
    expect(mem.read8(0x103000)).toBe(0xcc);
    expect([r.kernelStart, r.kernelEnd]).toEqual([0x100000, 0x103000]);
    expect(r.cpu.rip).toBe(0x100010n);
    expect(r.cpu.gpr[Gpr.RAX]).toBe(0x2badb002n);
  });

  it('translates a higher-half entry point to its physical address', () => {
    const image = buildElf32({
      entry: 0xc0100020, multiboot: true,
      segments: [{ paddr: 0x100000, vaddr: 0xc0100000, data: text }],
    });
    expect(loadMultiboot(pcMemory(), image).entry).toBe(0x100020);
  });

  it('ignores non-PT_LOAD program headers', () => {
    const mem = pcMemory();
    const image = buildElf32({
      entry: 0x100000, multiboot: true,
      segments: [{ paddr: 0x100000, data: text }, { paddr: 0x300000, data, type: 4 /* PT_NOTE */ }],
    });
    loadMultiboot(mem, image);
    expect(mem.read8(0x300000)).toBe(0xcc);
  });
});

describe('parseMultibootHeader', () => {
  it('returns null when no magic is in the first 8 KiB', () => {
    const image = new Uint8Array(0x3000);
    image.set(multibootHeader(0), 0x2000);
    expect(parseMultibootHeader(image)).toBeNull();
  });

  it('skips a magic with a bad checksum when a valid header follows', () => {
    const image = new Uint8Array(0x100);
    image.set(multibootHeader(0, undefined, undefined, 1), 0x10);
    image.set(multibootHeader(0x3), 0x40);
    expect(parseMultibootHeader(image)).toMatchObject({ offset: 0x40, flags: 3, aout: null, video: null });
  });

  it('reports a lone bad checksum with the offending sum', () => {
    const image = new Uint8Array(0x100);
    image.set(multibootHeader(0, undefined, undefined, 5), 0x20);
    const err = captureError(() => parseMultibootHeader(image, 'k.elf'));
    expect(err).toBeInstanceOf(KernelImageError);
    expect(err.message).toBe('k.elf: Multiboot header at offset 0x20 has a bad checksum (magic + flags + checksum = 0x5, must be 0)');
  });

  it('parses the a.out address fields', () => {
    const { image } = buildAoutImage({ loadAddr: 0x100000, bss: 0x100 });
    expect(parseMultibootHeader(image)?.aout).toEqual({
      headerAddr: 0x100000, loadAddr: 0x100000, loadEndAddr: 0x100000 + image.length,
      bssEndAddr: 0x100000 + image.length + 0x100, entryAddr: 0x100020,
    });
  });

  it('refuses requirement bits no loader defines', () => {
    expect(() => parseMultibootHeader(multibootHeader(0x8))).toThrow(/requires features no loader supports \(flags bits 0x8\)/);
  });
});
