import { describe, expect, it } from 'vitest';
import { PcTestdev, pcTestdevStateSchema, PC_TESTDEV_IOMEM_BASE } from '../src/pc-testdev.js';
import { createMmioBus, createPortBus, RecordingIrqLine } from '../src/platform/index.js';

function setup() {
  const irqs = Array.from({ length: 16 }, () => new RecordingIrqLine());
  const dev = new PcTestdev({ irqs });
  const pio = createPortBus();
  const mmio = createMmioBus();
  pio.register(0xe0, 4, dev.scratchPort, [1, 2, 4]);
  pio.register(0xe4, 4, dev.flushPort, [1, 2, 4]);
  pio.register(0xe8, 4, dev.scratchBytePort, [1]);
  pio.register(0x2000, 24, dev.irqPort, [1]);
  mmio.register(PC_TESTDEV_IOMEM_BASE, 0x10000, dev.iomem, [1, 2, 4]);
  return { dev, irqs, pio, mmio };
}

describe('pc-testdev', () => {
  it('keeps a 32-bit scratch value at port 0xe0 that byte, word and dword accesses share by lane', () => {
    const { pio } = setup();
    pio.write(0xe0, 4, 0x12345678);
    expect(pio.read(0xe0, 4)).toBe(0x12345678);
    expect(pio.read(0xe1, 1)).toBe(0x56);
    expect(pio.read(0xe2, 2)).toBe(0x1234);
    pio.write(0xe0, 1, 0xab);
    expect(pio.read(0xe0, 4)).toBe(0x123456ab);
    pio.write(0xe2, 2, 0xbeef);
    expect(pio.read(0xe0, 4)).toBe(0xbeef56ab);
  });

  it('reaches the same scratch register through the byte-wide window at 0xe8', () => {
    const { pio } = setup();
    pio.write(0xe8, 4, 0xcafef00d);
    expect(pio.read(0xe0, 4)).toBe(0xcafef00d);
    expect(pio.read(0xea, 2)).toBe(0xcafe);
  });

  it('counts 32-bit flush-page writes, reads 0 there and counts other sizes as bad', () => {
    const { dev, pio } = setup();
    pio.write(0xe4, 4, 0x123456);
    expect(dev.counters.flushPageWrites).toBe(1);
    expect(dev.lastFlushedPage).toBe(0x123000);
    pio.write(0xe4, 1, 1);
    expect(dev.counters.badSize).toBe(1);
    expect(pio.read(0xe4, 4)).toBe(0);
  });

  it('drives interrupt line N from port 0x2000+N: non-zero raises, zero lowers', () => {
    const { dev, irqs, pio } = setup();
    pio.write(0x200b, 1, 1);
    expect(irqs[11].level).toBe(true);
    pio.write(0x200b, 1, 0);
    expect(irqs[11].level).toBe(false);
    expect(irqs[11].rises).toBe(1);
    pio.write(0x2014, 1, 1); // line 20: not connected on this machine
    expect(dev.counters.unconnectedIrqWrites).toBe(1);
    expect(pio.read(0x2000, 1)).toBe(0);
  });

  it('has 64 KiB of little-endian scratch memory at 0xff000000', () => {
    const { mmio } = setup();
    mmio.write(PC_TESTDEV_IOMEM_BASE + 0x100, 4, 0x11223344);
    expect(mmio.read(PC_TESTDEV_IOMEM_BASE + 0x100, 1)).toBe(0x44);
    expect(mmio.read(PC_TESTDEV_IOMEM_BASE + 0x102, 2)).toBe(0x1122);
    mmio.write(PC_TESTDEV_IOMEM_BASE + 0xffff, 1, 0x5a);
    expect(mmio.read(PC_TESTDEV_IOMEM_BASE + 0xffff, 1)).toBe(0x5a);
  });

  it('saves and restores the scratch register, line levels and memory through its schema', () => {
    const { dev, pio, mmio } = setup();
    pio.write(0xe0, 4, 0xdeadbeef);
    pio.write(0x2003, 1, 1);
    mmio.write(PC_TESTDEV_IOMEM_BASE + 8, 2, 0x1234);
    const state = pcTestdevStateSchema.parse(JSON.parse(JSON.stringify(dev.save())));
    const other = setup();
    other.dev.restore(state);
    expect(other.pio.read(0xe0, 4)).toBe(0xdeadbeef);
    expect(other.irqs[3].level).toBe(true);
    expect(other.mmio.read(PC_TESTDEV_IOMEM_BASE + 8, 2)).toBe(0x1234);
  });
});
