import { describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, Gpr, RFLAGS_IF } from '../../src/platform/index.js';
import { KernelImageError } from '../../src/pc/errors.js';
import { pcE820Map } from '../../src/pc/memory-map.js';
import { parseBzImageHeader } from '../../src/pc/loaders/bzimage-header.js';
import { loadLinux } from '../../src/pc/loaders/linux.js';
import { MiB, buildBzImage, captureError, pcMemory, walkPageTables } from './helpers.js';

const BP = 0x7000;

describe('parseBzImageHeader', () => {
  it('reads the setup header fields a loader needs', () => {
    const h = parseBzImageHeader(buildBzImage({ setupSects: 0, kernelVersion: '6.9.0-tsemu (test@host) #1' }));
    expect(h).toMatchObject({
      version: 0x20f, setupSects: 4, kernelOffset: 5 * 512, kernelSize: 0x3000, headerEnd: 0x26c,
      bootFlag: 0xaa55, vidMode: 0xfffd, loadflags: 1, xloadflags: 1, cmdlineSize: 2047, initrdAddrMax: 0x7fffffff,
      kernelAlignment: 0x200000, relocatable: true, minAlignment: 21, prefAddress: 0x1000000, initSize: 0x800000,
      code32Start: 0x100000, kernelVersion: '6.9.0-tsemu (test@host) #1',
    });
  });

  it('reports fields newer than the protocol version as 0', () => {
    const h = parseBzImageHeader(buildBzImage({ version: 0x206 }));
    expect(h.cmdlineSize).toBe(2047);
    expect(h.xloadflags).toBe(0);
    expect(h.prefAddress).toBe(0);
    expect(h.initSize).toBe(0);
  });
});

describe('loadLinux, 32-bit entry', () => {
  it('loads the protected-mode kernel at 1 MiB and enters startup_32 per the 32-bit boot protocol', () => {
    const mem = pcMemory(64 * MiB);
    const image = buildBzImage();
    const r = loadLinux(mem, image, { cmdline: 'console=ttyS0 earlyprintk=serial' });
    expect(mem.readBytes(0x100000, 0x3000)).toEqual(image.subarray(5 * 512));
    const { cpu } = r;
    expect(cpu.rip).toBe(0x100000n);
    expect(cpu.gpr[Gpr.RSI]).toBe(BigInt(BP));
    for (const reg of [Gpr.RBX, Gpr.RBP, Gpr.RDI]) expect(cpu.gpr[reg]).toBe(0n);
    expect(cpu.cs).toMatchObject({ selector: 0x10, base: 0n, limit: 0xffffffff, db: true, l: false });
    for (const seg of [cpu.ds, cpu.es, cpu.ss]) expect(seg).toMatchObject({ selector: 0x18, base: 0n, limit: 0xffffffff });
    expect(cpu.cr0 & CR0_PE).toBe(CR0_PE);
    expect(cpu.cr0 & CR0_PG).toBe(0n);
    expect(cpu.rflags & RFLAGS_IF).toBe(0n);
    // The GDT in RAM matches the selectors: __BOOT_CS 32-bit code, __BOOT_DS data.
    expect(cpu.gdt).toEqual({ base: 0x500n, limit: 31 });
    expect(mem.read64(0x510)).toBe(0x00cf9b000000ffffn);
    expect(mem.read64(0x518)).toBe(0x00cf93000000ffffn);
  });

  it('builds boot_params from the image header with the loader fields filled in', () => {
    const mem = pcMemory(64 * MiB);
    const image = buildBzImage();
    loadLinux(mem, image, { cmdline: 'console=ttyS0 earlyprintk=serial' });
    // The header is copied, HdrS and version included...
    expect(mem.read32(BP + 0x202)).toBe(0x53726448);
    expect(mem.read16(BP + 0x206)).toBe(0x20f);
    expect(mem.read8(BP + 0x1f1)).toBe(4);
    expect(mem.read32(BP + 0x260)).toBe(0x800000);
    // ...and nothing past its end.
    expect(mem.read8(BP + 0x26c)).toBe(0);
    expect(mem.read8(BP + 0x210)).toBe(0xff); // type_of_loader
    expect(mem.read8(BP + 0x211)).toBe(0x01 | 0x80); // LOADED_HIGH | CAN_USE_HEAP
    expect(mem.read16(BP + 0x224)).toBe(0xfe00); // heap_end_ptr
    expect(mem.read16(BP + 0x1fa)).toBe(0xffff); // vid_mode
    expect(mem.read32(BP + 0x214)).toBe(0x100000); // code32_start
    expect(mem.read32(BP + 0x228)).toBe(0x20000); // cmd_line_ptr
    expect(mem.readCString(0x20000, 4096)).toBe('console=ttyS0 earlyprintk=serial');
    expect(mem.read32(BP + 0x218)).toBe(0); // no ramdisk
    expect(mem.read32(BP + 0x21c)).toBe(0);
    expect(mem.read32(BP + 0x1e0)).toBe(63 * 1024); // alt_mem_k
    expect(mem.read8(BP + 0x1ef)).toBe(0); // sentinel: boot_params was zeroed
  });

  it('writes the E820 map into boot_params', () => {
    const mem = pcMemory(64 * MiB);
    loadLinux(mem, buildBzImage());
    const e820 = pcE820Map(64 * MiB);
    expect(mem.read8(BP + 0x1e8)).toBe(e820.length);
    e820.forEach((e, i) => {
      const p = BP + 0x2d0 + 20 * i;
      expect([mem.read64(p), mem.read64(p + 8), mem.read32(p + 16)]).toEqual([BigInt(e.addr), BigInt(e.size), e.type]);
    });
    expect(mem.read64(BP + 0x2d0 + 20 * e820.length)).toBe(0n);
  });

  it('places the initrd at the highest page-aligned address below the end of RAM', () => {
    const mem = pcMemory(64 * MiB);
    const initrd = Uint8Array.from({ length: 0x12345 }, (_, i) => (i * 13) & 0xff);
    const r = loadLinux(mem, buildBzImage(), { initrd });
    const expected = (64 * MiB - 0x12345) & ~0xfff;
    expect(r.initrd).toEqual({ address: expected, size: 0x12345 });
    expect(mem.read32(BP + 0x218)).toBe(expected);
    expect(mem.read32(BP + 0x21c)).toBe(0x12345);
    expect(mem.readBytes(expected, 0x12345)).toEqual(initrd);
  });

  it('keeps the initrd at or below initrd_addr_max', () => {
    const mem = pcMemory(64 * MiB);
    const initrd = new Uint8Array(0x2000).fill(7);
    const r = loadLinux(mem, buildBzImage({ initrdAddrMax: 0x2ffffff }), { initrd });
    expect(r.initrd?.address).toBe(0x3000000 - 0x2000);
    expect(r.initrd!.address + 0x2000 - 1).toBeLessThanOrEqual(0x2ffffff);
  });

  it('loads a relocatable kernel at pref_address when asked and points code32_start there', () => {
    const mem = pcMemory(64 * MiB);
    const image = buildBzImage();
    const r = loadLinux(mem, image, { usePreferredAddress: true });
    expect(r.kernelAddress).toBe(0x1000000);
    expect(r.cpu.rip).toBe(0x1000000n);
    expect(mem.read32(BP + 0x214)).toBe(0x1000000);
    expect(mem.readBytes(0x1000000, 0x3000)).toEqual(image.subarray(5 * 512));
  });

  it('keeps 1 MiB for a non-relocatable kernel even when pref_address is requested', () => {
    expect(loadLinux(pcMemory(64 * MiB), buildBzImage({ relocatable: false }), { usePreferredAddress: true }).kernelAddress).toBe(0x100000);
  });
});

describe('loadLinux, 64-bit entry', () => {
  it("'auto' takes startup_64 when the kernel has XLF_KERNEL_64 and startup_32 when it does not", () => {
    expect(loadLinux(pcMemory(64 * MiB), buildBzImage(), { entry: 'auto' }).entry).toBe(0x100200);
    const legacy = loadLinux(pcMemory(64 * MiB), buildBzImage({ xloadflags: 0 }), { entry: 'auto' });
    expect(legacy.entry).toBe(0x100000);
    expect(legacy.cpu.efer & EFER_LMA).toBe(0n);
  });

  it('enters startup_64 at load address + 0x200 in long mode with RSI = boot_params', () => {
    const mem = pcMemory(64 * MiB);
    const { cpu, entry } = loadLinux(mem, buildBzImage(), { entry: '64' });
    expect(entry).toBe(0x100200);
    expect(cpu.rip).toBe(0x100200n);
    expect(cpu.gpr[Gpr.RSI]).toBe(BigInt(BP));
    expect(cpu.cr0 & (CR0_PE | CR0_PG)).toBe(CR0_PE | CR0_PG);
    expect(cpu.cr4 & CR4_PAE).toBe(CR4_PAE);
    expect(cpu.efer & (EFER_LME | EFER_LMA)).toBe(EFER_LME | EFER_LMA);
    expect(cpu.cs).toMatchObject({ selector: 0x10, l: true, db: false, present: true });
    for (const seg of [cpu.ds, cpu.es, cpu.ss]) expect(seg.selector).toBe(0x18);
    expect(cpu.rflags & RFLAGS_IF).toBe(0n);
    expect(mem.read64(0x510)).toBe(0x00af9b000000ffffn);
    expect(cpu.cr3).toBe(0x9000n);
  });

  it('identity-maps the first 4 GiB: kernel, boot data, LAPIC and IOAPIC translate to themselves', () => {
    const mem = pcMemory(64 * MiB);
    const { cpu } = loadLinux(mem, buildBzImage(), { entry: '64' });
    for (const va of [0x0, 0x7000, 0x20000, 0x100000, 0x100200, 0x3ffffff, 0x40000000, 0xfec00000, 0xfee00000, 0xfee00123, 0xffffffff]) {
      expect(walkPageTables(mem, cpu.cr3, va)).toBe(va);
    }
    expect(walkPageTables(mem, cpu.cr3, 0x1_0000_0000)).toBeNull();
  });

  it('keeps the page tables clear of boot_params and the command line', () => {
    const mem = pcMemory(64 * MiB);
    loadLinux(mem, buildBzImage(), { entry: '64', cmdline: 'x'.repeat(2000) });
    expect(mem.read32(BP + 0x202)).toBe(0x53726448);
    expect(mem.readCString(0x20000, 4096)).toBe('x'.repeat(2000));
    expect(mem.read64(0x9000)).toBe(0xa000n | 3n);
  });
});

describe('loadLinux refuses what it cannot boot', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['an image without HdrS', () => loadLinux(pcMemory(), new Uint8Array(4096)), /not a Linux bzImage: no "HdrS" signature at offset 0x202/],
    ['a truncated setup header', () => loadLinux(pcMemory(), buildBzImage().subarray(0, 0x240)), /setup header is truncated: it ends at 0x26c but the file is 576 bytes/],
    ['a header longer than boot_params allows', () => loadLinux(pcMemory(), buildBzImage({ jumpLength: 0xa0 })), /past the 0x290 limit/],
    ['setup sectors past the end of the file', () => loadLinux(pcMemory(), buildBzImage({ setupSects: 60 }).subarray(0, 0x1000)), /setup code \(60 sectors\) runs past the end of the 4096-byte file/],
    ['boot protocol 2.04', () => loadLinux(pcMemory(), buildBzImage({ version: 0x204 })), /boot protocol 2\.04 is older than 2\.06/],
    ['a zImage', () => loadLinux(pcMemory(), buildBzImage({ loadflags: 0 })), /LOADED_HIGH is clear/],
    ['no protected-mode kernel', () => loadLinux(pcMemory(), buildBzImage({ payload: new Uint8Array(0) })), /no protected-mode kernel/],
    ['64-bit entry without XLF_KERNEL_64', () => loadLinux(pcMemory(), buildBzImage({ xloadflags: 0 }), { entry: '64' }), /no 64-bit entry point .*xloadflags 0x0/],
    ['64-bit entry on protocol 2.10', () => loadLinux(pcMemory(), buildBzImage({ version: 0x20a }), { entry: '64' }), /protocol 2\.10/],
    ['a command line longer than cmdline_size', () => loadLinux(pcMemory(), buildBzImage({ cmdlineSize: 255 }), { cmdline: 'a'.repeat(256) }), /command line is 256 bytes; this kernel accepts at most 255/],
    ['a command line with NUL', () => loadLinux(pcMemory(), buildBzImage(), { cmdline: 'a\0b' }), /contains a NUL character/],
    ['init_size beyond RAM', () => loadLinux(pcMemory(16 * MiB), buildBzImage({ initSize: 0x1000000 })), /needs init_size 0x1000000 bytes of RAM from 0x1000000 to decompress, but RAM below 4 GiB ends at 0x1000000/],
    ['a kernel bigger than RAM', () => loadLinux(pcMemory(2 * MiB), buildBzImage({ payload: new Uint8Array(2 * MiB), prefAddress: 0, initSize: 0 })), /does not fit in the 0x200000 bytes of RAM below 4 GiB/],
    ['an initrd below the kernel area', () => loadLinux(pcMemory(64 * MiB), buildBzImage({ initrdAddrMax: 0x17fffff }), { initrd: new Uint8Array(0x1000), initrdName: 'rd.gz' }), /initrd rd\.gz \(4096 bytes\) does not fit: it must end at or below 0x1800000 .*kernel, which reaches 0x1800000/],
    ['an initrd bigger than RAM', () => loadLinux(pcMemory(64 * MiB), buildBzImage(), { initrd: new Uint8Array(64 * MiB) }), /initrd \(67108864 bytes\) does not fit/],
  ];
  for (const [what, fn, message] of cases) {
    it(`refuses ${what}`, () => {
      const err = captureError(fn);
      expect(err).toBeInstanceOf(KernelImageError);
      expect(err.message).toMatch(message);
    });
  }

  it('names the file in the message', () => {
    const err = captureError(() => loadLinux(pcMemory(), buildBzImage({ version: 0x205 }), { fileName: 'vmlinuz' }));
    expect(err.message).toBe('vmlinuz: Linux boot protocol 2.05 is older than 2.06, the oldest tsemu supports');
  });
});
