import { describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, Gpr, RFLAGS_IF } from '../../src/platform/index.js';
import { KernelImageError } from '../../src/pc/errors.js';
import { loadFlatBinary } from '../../src/pc/loaders/flat-binary.js';
import { captureError, pcMemory } from './helpers.js';

const bootSector = Uint8Array.from({ length: 512 }, (_, i) => (i === 510 ? 0x55 : i === 511 ? 0xaa : i & 0xff));

describe('loadFlatBinary in real mode', () => {
  it('enters a boot sector at 0000:7C00 with zero data segments and the stack below it', () => {
    const mem = pcMemory(16 * 1024 * 1024);
    const { cpu, address, end } = loadFlatBinary(mem, bootSector, { address: 0x7c00, mode: 'real' });
    expect(mem.readBytes(0x7c00, 512)).toEqual(bootSector);
    expect([address, end]).toEqual([0x7c00, 0x7e00]);
    expect(cpu.cs.selector).toBe(0);
    expect(cpu.cs.base).toBe(0n);
    expect(cpu.rip).toBe(0x7c00n);
    for (const seg of [cpu.ds, cpu.es, cpu.ss]) expect(seg.selector).toBe(0);
    expect(cpu.gpr[Gpr.RSP]).toBe(0x7c00n);
    expect(cpu.cr0 & CR0_PE).toBe(0n);
    expect(cpu.cs.db).toBe(false);
  });

  it('uses address>>4 : address&15 above 64 KiB, with data segments equal to CS and the stack segment below', () => {
    const mem = pcMemory(16 * 1024 * 1024);
    const { cpu } = loadFlatBinary(mem, bootSector, { address: 0x12345, mode: 'real' });
    expect(cpu.cs.selector).toBe(0x1234);
    expect(cpu.cs.base).toBe(0x12340n);
    expect(cpu.rip).toBe(5n);
    expect(cpu.ds.selector).toBe(0x1234);
    expect(cpu.es.selector).toBe(0x1234);
    // The first push goes to SS:0xFFFE = 0x1233e, just below the image's paragraph.
    expect(Number(cpu.ss.base) + 0xfffe).toBe(0x1233e);
    expect(cpu.gpr[Gpr.RSP]).toBe(0n);
    expect(mem.read8(0x12345)).toBe(bootSector[0]);
  });

  it('refuses a real-mode image that would reach past 1 MiB', () => {
    const err = captureError(() => loadFlatBinary(pcMemory(16 * 1024 * 1024), new Uint8Array(0x200), { address: 0xfff00, mode: 'real' }));
    expect(err).toBeInstanceOf(KernelImageError);
    expect(err.message).toMatch(/real-mode image \[0xfff00, 0x100100\) extends past 0x100000/);
  });

  it('refuses an image that lands in the VGA hole, naming the file', () => {
    const err = captureError(() => loadFlatBinary(pcMemory(16 * 1024 * 1024), new Uint8Array(0x100), { address: 0xa0000, mode: 'real', fileName: 'boot.bin' }));
    expect(err).toBeInstanceOf(KernelImageError);
    expect(err.message).toBe('boot.bin: real-mode image [0xa0000, 0xa0100) is outside guest RAM');
  });

  it('refuses an empty image', () => {
    expect(() => loadFlatBinary(pcMemory(16 * 1024 * 1024), new Uint8Array(0), { address: 0x7c00, mode: 'real' })).toThrow(/image is empty/);
  });
});

describe('loadFlatBinary in protected mode', () => {
  it('enters flat 32-bit code at the load address with the boot GDT loaded and interrupts off', () => {
    const mem = pcMemory(16 * 1024 * 1024);
    const code = Uint8Array.from([0xf4, 0xeb, 0xfd]);
    const { cpu } = loadFlatBinary(mem, code, { address: 0x200000, mode: 'protected' });
    expect(mem.readBytes(0x200000, 3)).toEqual(code);
    expect(cpu.rip).toBe(0x200000n);
    expect(cpu.cr0 & CR0_PE).toBe(CR0_PE);
    expect(cpu.cr0 & CR0_PG).toBe(0n);
    expect(cpu.rflags & RFLAGS_IF).toBe(0n);
    expect(cpu.cs.selector).toBe(0x10);
    expect(cpu.cs.db).toBe(true);
    expect(cpu.ds.selector).toBe(0x18);
    expect(cpu.gdt).toEqual({ base: 0x500n, limit: 31 });
    expect(mem.read64(0x510)).toBe(0x00cf9b000000ffffn);
    expect(mem.read64(0x518)).toBe(0x00cf93000000ffffn);
    expect(cpu.gpr[Gpr.RSP]).toBe(0x200000n);
  });

  it('refuses an image that overlaps the boot GDT', () => {
    expect(() => loadFlatBinary(pcMemory(16 * 1024 * 1024), new Uint8Array(0x1000), { address: 0, mode: 'protected' }))
      .toThrow(/image \[0x0, 0x1000\) overlaps boot GDT \[0x500, 0x520\)/);
  });

  it('refuses an image beyond the end of RAM', () => {
    expect(() => loadFlatBinary(pcMemory(16 * 1024 * 1024), new Uint8Array(0x1000), { address: 0xfff800, mode: 'protected' }))
      .toThrow(/image \[0xfff800, 0x1000800\) is outside guest RAM/);
  });
});
