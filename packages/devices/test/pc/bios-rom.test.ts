import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/machine/pc-machine.js';
import { BiosRom, biosRomLayout, ramRegionsWithoutBios } from '../../src/pc/bios-rom.js';
import { MachineConfigError } from '../../src/pc/errors.js';
import { pcRamRegions } from '../../src/pc/memory-map.js';
import { createSharedRamBacking, ManualClock } from '../../src/platform/index.js';

const KiB = 1024;

function image(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 16)) & 0xff;
  return bytes;
}

function machine(bios: Uint8Array | null, extraPostPorts: number[] = []): PcMachine {
  return new PcMachine({
    backing: createSharedRamBacking(4 * 1024 * KiB),
    clock: new ManualClock(),
    irqchip: 'user',
    com1Output: null,
    debugExit: null,
    onEvent: () => {},
    bios,
    extraPostPorts,
  });
}

describe('biosRomLayout', () => {
  it('puts a 64 KiB image at 0xF0000 and 0xFFFF0000, a 128 KiB one at 0xE0000 and 0xFFFE0000', () => {
    expect(biosRomLayout(64 * KiB)).toEqual({ highBase: 0xffff0000, lowBase: 0xf0000, lowSize: 64 * KiB });
    expect(biosRomLayout(128 * KiB)).toEqual({ highBase: 0xfffe0000, lowBase: 0xe0000, lowSize: 128 * KiB });
  });

  it('maps only the last 128 KiB of a larger image below 1 MiB', () => {
    expect(biosRomLayout(256 * KiB)).toEqual({ highBase: 0xfffc0000, lowBase: 0xe0000, lowSize: 128 * KiB });
  });

  it('rejects sizes that are not whole 64 KiB blocks or exceed 256 KiB', () => {
    for (const size of [0, 1000, 96 * KiB + 1, 320 * KiB]) expect(() => biosRomLayout(size)).toThrow(MachineConfigError);
  });
});

describe('ramRegionsWithoutBios', () => {
  it('cuts the low window out of the region that holds it, keeping the backing offsets', () => {
    const regions = ramRegionsWithoutBios(pcRamRegions(4 * 1024 * KiB), biosRomLayout(64 * KiB));
    expect(regions).toEqual([
      { gpa: 0, size: 0xa0000, offset: 0 },
      { gpa: 0xc0000, size: 0x30000, offset: 0xc0000 },
      { gpa: 0x100000, size: 0x300000, offset: 0x100000 },
    ]);
  });
});

describe('BiosRom', () => {
  it('reads the image little-endian from its window and counts, but drops, writes', () => {
    const rom = new BiosRom(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 4);
    expect(rom.size).toBe(4);
    expect(rom.read(0, 1)).toBe(5);
    expect(rom.read(1, 2)).toBe(0x0706);
    expect(rom.read(0, 4)).toBe(0x08070605);
    rom.write(0, 4, 0);
    expect(rom.read(0, 4)).toBe(0x08070605);
    expect(rom.ignoredWrites).toBe(1);
  });
});

describe('PcMachine with a BIOS image', () => {
  it('shows a 64 KiB image at 0xF0000 and at the top of 4 GiB, where the reset vector is', () => {
    const bios = image(64 * KiB);
    const m = machine(bios);
    expect(m.memory.isRam(0xf0000)).toBe(false);
    expect(m.memory.isRam(0xeffff)).toBe(true);
    expect(m.mmio.read(0xffff0, 4) >>> 0).toBe(new DataView(bios.buffer).getUint32(0xfff0, true));
    expect(m.mmio.read(0xfffffff0, 4) >>> 0).toBe(new DataView(bios.buffer).getUint32(0xfff0, true));
    expect(m.mmio.read(0xf0000, 1)).toBe(bios[0]);
  });

  it('aliases the tail of a 256 KiB image below 1 MiB and the whole of it below 4 GiB', () => {
    const bios = image(256 * KiB);
    const m = machine(bios);
    expect(m.mmio.read(0xe0000, 1)).toBe(bios[128 * KiB]);
    expect(m.mmio.read(0xfffc0000, 1)).toBe(bios[0]);
    expect(m.memory.isRam(0xdffff)).toBe(true);
    expect(m.memory.isRam(0xe0000)).toBe(false);
  });

  it('drops and counts guest writes to either window', () => {
    const bios = image(64 * KiB);
    const m = machine(bios);
    m.mmio.write(0xf0000, 4, 0xdeadbeef);
    m.mmio.write(0xffff0000, 1, 0);
    expect(m.mmio.read(0xf0000, 1)).toBe(bios[0]);
    expect(m.mmio.read(0xffff0000, 1)).toBe(bios[0]);
    expect(m.biosRoms.map((r) => r.ignoredWrites)).toEqual([1, 1]);
  });

  it('keeps a copy: changing the caller\'s array later does not change the ROM', () => {
    const bios = image(64 * KiB);
    const m = machine(bios);
    const first = bios[0];
    bios[0] = first ^ 0xff;
    expect(m.mmio.read(0xf0000, 1)).toBe(first);
  });

  it('without an image, the BIOS area is RAM and nothing sits at the top of 4 GiB', () => {
    const m = machine(null);
    expect(m.memory.isRam(0xf0000)).toBe(true);
    expect(m.mmio.read(0xfffffff0, 4)).toBe(0xffffffff);
    expect(m.biosRoms).toEqual([]);
  });

  it('answers POST codes on the extra ports as on 0x80', () => {
    const m = machine(null, [0x190]);
    m.pio.write(0x190, 1, 0x21);
    m.pio.write(0x80, 1, 0x22);
    expect([...m.post.history()]).toEqual([0x21, 0x22]);
  });
});
