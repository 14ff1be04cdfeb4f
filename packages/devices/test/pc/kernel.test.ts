import { describe, expect, it } from 'vitest';
import { Gpr } from '../../src/platform/index.js';
import { KernelImageError } from '../../src/pc/errors.js';
import { detectKernelFormat, loadKernel } from '../../src/pc/loaders/kernel.js';
import { MiB, buildAoutImage, buildBzImage, buildElf32, captureError, multibootHeader, pcMemory } from './helpers.js';

const code = Uint8Array.from({ length: 0x100 }, (_, i) => i);

function expectKernelError(fn: () => unknown, message: RegExp | string): void {
  const err = captureError(fn);
  expect(err).toBeInstanceOf(KernelImageError);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
}

describe('detectKernelFormat', () => {
  it('recognises a bzImage by HdrS, even when it also carries a Multiboot header (as QEMU does)', () => {
    const image = buildBzImage();
    expect(detectKernelFormat(image)).toBe('linux');
    image.set(multibootHeader(0x10000), 0x1000);
    expect(detectKernelFormat(image)).toBe('linux');
  });

  it('recognises Multiboot a.out and ELF kernels', () => {
    expect(detectKernelFormat(buildAoutImage().image)).toBe('multiboot');
    expect(detectKernelFormat(buildElf32({ entry: 0x100000, multiboot: true, segments: [{ paddr: 0x100000, data: code }] }))).toBe('multiboot');
  });

  it('calls an ELF without a Multiboot header "elf" and anything else "unknown"', () => {
    expect(detectKernelFormat(buildElf32({ entry: 0x100000, segments: [{ paddr: 0x100000, data: code }] }))).toBe('elf');
    expect(detectKernelFormat(new Uint8Array(4096).fill(0x90))).toBe('unknown');
    expect(detectKernelFormat(new Uint8Array(0))).toBe('unknown');
  });
});

describe('loadKernel', () => {
  it('boots a bzImage through the Linux protocol with the requested entry mode', () => {
    const mem = pcMemory(64 * MiB);
    const r = loadKernel(mem, buildBzImage(), { cmdline: 'quiet', linuxEntry: '64' });
    expect(r.format).toBe('linux');
    expect(r.cpu.rip).toBe(0x100200n);
    expect(mem.readCString(0x20000, 64)).toBe('quiet');
  });

  it('boots a Multiboot kernel and turns the initrd into its single module, as QEMU does', () => {
    const mem = pcMemory();
    const initrd = Uint8Array.from([9, 8, 7, 6]);
    const r = loadKernel(mem, buildAoutImage().image, { cmdline: 'x', initrd, initrdName: 'mod.bin arg' });
    expect(r.format).toBe('multiboot');
    if (r.format !== 'multiboot') return;
    expect(r.cpu.gpr[Gpr.RAX]).toBe(0x2badb002n);
    expect(r.modules).toHaveLength(1);
    expect(r.modules[0].cmdline).toBe('mod.bin arg');
    expect(mem.readBytes(r.modules[0].start, 4)).toEqual(initrd);
  });

  it('uses a single module as the initrd of a Linux kernel', () => {
    const mem = pcMemory(64 * MiB);
    const r = loadKernel(mem, buildBzImage(), { modules: [{ data: code, cmdline: 'rd.img' }] });
    if (r.format !== 'linux') throw new Error('expected a Linux boot');
    expect(r.initrd).toEqual({ address: (64 * MiB - code.length) & ~0xfff, size: code.length });
    expect(mem.readBytes(r.initrd!.address, code.length)).toEqual(code);
  });

  it('refuses more than one module for a Linux kernel', () => {
    const two = [{ data: code, cmdline: 'a' }, { data: code, cmdline: 'b' }];
    expectKernelError(() => loadKernel(pcMemory(), buildBzImage(), { modules: two }), /a Linux kernel takes one initial ramdisk; 2 were given/);
  });
});

describe('loadKernel refuses malformed images with a specific message', () => {
  const elfWith = (segments: Parameters<typeof buildElf32>[0]['segments'], extra: Partial<Parameters<typeof buildElf32>[0]> = {}) =>
    buildElf32({ entry: segments[0]?.paddr ?? 0x100000, multiboot: true, segments, ...extra });

  const cases: Array<[string, () => Uint8Array, RegExp | string]> = [
    ['an empty file', () => new Uint8Array(0), 'kernel.img: image is empty'],
    ['a file of no known format', () => new Uint8Array(4096).fill(0x90), 'kernel.img: not a Linux bzImage, Multiboot or ELF kernel'],
    ['an ELF without a Multiboot header', () => buildElf32({ entry: 0x100000, segments: [{ paddr: 0x100000, data: code }] }),
      'kernel.img: ELF kernel without a Multiboot header or PVH note is not supported'],
    ['a Multiboot header with a bad checksum', () => { const h = multibootHeader(0x10000, [0, 0, 0, 0, 0], undefined, 0x10); return h; },
      /Multiboot header at offset 0x0 has a bad checksum \(magic \+ flags \+ checksum = 0x10, must be 0\)/],
    ['a Multiboot a.out header cut short', () => multibootHeader(0x10000, [0x100000, 0x100000]),
      /Multiboot header at offset 0x0 is truncated \(flags 0x10000 need 32 bytes, 20 present/],
    ['a Multiboot header without the a.out kludge in a non-ELF file', () => { const b = new Uint8Array(64); b.set(multibootHeader(0), 8); return b; },
      /not an ELF file and its header does not set the a\.out kludge/],
    ['a truncated ELF header', () => { const b = new Uint8Array(40); b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); b.set(multibootHeader(0), 24); return b; },
      /ELF header is truncated \(40 bytes, need 52\)/],
    ['an ELF64 Multiboot kernel', () => elfWith([{ paddr: 0x100000, data: code }], { elfClass: 2 }),
      /64-bit ELF kernels cannot be booted with Multiboot v1/],
    ['an x86-64 machine type in an ELF32 file', () => elfWith([{ paddr: 0x100000, data: code }], { machine: 62 }),
      /64-bit ELF kernels cannot be booted with Multiboot v1/],
    ['an ELF for another machine', () => elfWith([{ paddr: 0x100000, data: code }], { machine: 40 }), /ELF machine 40 is not EM_386/],
    ['a segment with p_filesz > p_memsz', () => elfWith([{ paddr: 0x100000, data: code, memsz: 0x80 }]),
      /ELF segment 0: p_filesz 0x100 is larger than p_memsz 0x80/],
    ['a segment whose file data lies outside the file', () => elfWith([{ paddr: 0x100000, data: code, filesz: 0x100000, memsz: 0x100000 }]),
      /ELF segment 0: file data \[0x1000, 0x101000\) lies outside the \d+-byte file/],
    ['a segment outside RAM', () => elfWith([{ paddr: 0xd0000000, data: code }]),
      /ELF segment 0 \[0xd0000000, 0xd0000100\) is outside guest RAM/],
    ['a segment in the VGA hole', () => elfWith([{ paddr: 0xa0000, data: code }]), /ELF segment 0 \[0xa0000, 0xa0100\) is outside guest RAM/],
    ['a segment wrapping past 4 GiB', () => elfWith([{ paddr: 0xffffff00, data: code, memsz: 0x200 }]),
      /ELF segment 0 \[0xffffff00, 0x100000100\) extends past 0x100000000/],
    ['an absurd p_memsz', () => elfWith([{ paddr: 0x100000, data: code, memsz: 0xfff00000 }]), /ELF segment 0 \[0x100000, 0x100000000\) is outside guest RAM/],
    ['segments that overlap', () => elfWith([{ paddr: 0x100000, data: code }, { paddr: 0x100080, data: code }]),
      /ELF segment 1 \[0x100080, 0x100180\) overlaps ELF segment 0 \[0x100000, 0x100100\)/],
    ['an ELF with no PT_LOAD segment', () => elfWith([{ paddr: 0x100000, data: code, type: 4 }]), /no loadable \(PT_LOAD\) segment/],
    ['an entry point outside every segment', () => elfWith([{ paddr: 0x100000, data: code }], { entry: 0x500000 }),
      /ELF entry point 0x500000 is not inside a loaded segment/],
    ['an a.out header_addr below load_addr', () => multibootHeader(0x10000, [0x100000, 0x100040, 0, 0, 0x100040]),
      /header_addr 0x100000 is below load_addr 0x100040/],
    ['an a.out load_addr before the start of the file', () => multibootHeader(0x10000, [0x100040, 0x100000, 0, 0, 0x100040]),
      /load_addr 0x100000 lies 0x40 bytes before the header, which is only 0x0 bytes into the file/],
    ['an a.out load_end_addr past the end of the file', () => multibootHeader(0x10000, [0x100000, 0x100000, 0x101000, 0, 0x100000]),
      /load range needs file bytes \[0x0, 0x1000\) but the file is 32 bytes/],
    ['an a.out load_end_addr below load_addr', () => multibootHeader(0x10000, [0x100000, 0x100000, 0xfff00, 0, 0x100000]),
      /load_end_addr 0xfff00 is below load_addr 0x100000/],
    ['an a.out bss_end_addr below the image end', () => multibootHeader(0x10000, [0x100000, 0x100000, 0x100020, 0x100010, 0x100000]),
      /bss_end_addr 0x100010 is below the end of the loaded image 0x100020/],
    ['an absurd a.out bss', () => multibootHeader(0x10000, [0x100000, 0x100000, 0x100020, 0xfff00000, 0x100000]),
      /kernel image \[0x100000, 0xfff00000\) is outside guest RAM/],
    ['an a.out entry outside the image', () => multibootHeader(0x10000, [0x100000, 0x100000, 0x100020, 0, 0x200000]),
      /entry_addr 0x200000 is outside the loaded image \[0x100000, 0x100020\)/],
    ['an a.out image loaded over the boot GDT', () => multibootHeader(0x10000, [0x500, 0x500, 0, 0, 0x500]),
      /kernel image \[0x500, 0x520\) overlaps boot GDT \[0x500, 0x520\)/],
  ];
  for (const [what, build, message] of cases) {
    it(`refuses ${what}`, () => expectKernelError(() => loadKernel(pcMemory(16 * MiB), build(), { fileName: 'kernel.img' }), message));
  }

  it('puts the Multiboot information after the modules when the kernel loads over 0x9000 (kvm-unit-tests realmode.flat)', () => {
    const mem = pcMemory(16 * MiB);
    const image = multibootHeader(0x10000, [0x9000, 0x9000, 0, 0x9800, 0x9000]);
    const r = loadKernel(mem, image, { fileName: 'kernel.img', modules: [{ data: new Uint8Array(10), cmdline: 'env' }] });
    expect(r.cpu.gpr[Gpr.RBX]).toBe(0xb000n); // kernel [0x9000, 0x9800), module at 0xa000, info on the next page
    expect(mem.read32(0xb000 + 20)).toBe(1); // mods_count
    expect(mem.read32(mem.read32(0xb000 + 24))).toBe(0xa000); // mods_addr -> mod_start
    expect(mem.read8(0x9000)).toBe(image[0]); // the kernel is intact
  });

  it('refuses a module that does not fit in RAM', () => {
    const mem = pcMemory(16 * MiB);
    expectKernelError(() => loadKernel(mem, buildAoutImage().image, { modules: [{ data: new Uint8Array(16 * MiB), cmdline: 'big.img' }] }),
      /module 0 \(big\.img\) \[0x101000, 0x1101000\) is outside guest RAM/);
  });

  it('refuses command lines too long for the Multiboot information area', () => {
    expectKernelError(() => loadKernel(pcMemory(16 * MiB), buildAoutImage().image, { cmdline: 'x'.repeat(700 * 1024) }),
      /Multiboot information needs \d+ bytes; only 617472 fit below the EBDA/);
  });
});
