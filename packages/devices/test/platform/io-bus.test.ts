import { describe, expect, it } from 'vitest';
import { BusError, createMmioBus, createPortBus, type AccessSize, type IoDevice } from '../../src/platform/index.js';

class RegisterFile implements IoDevice {
  readonly regs = new Uint8Array(16);
  readonly log: string[] = [];
  constructor(readonly name: string) {}
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size}@${offset}`);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.regs[offset + i] << (8 * i);
    return v >>> 0;
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${size}@${offset}=${value.toString(16)}`);
    for (let i = 0; i < size; i++) this.regs[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}

describe('IoBus', () => {
  it('hands the device only the offset inside its range', () => {
    const bus = createPortBus();
    const dev = new RegisterFile('dev');
    bus.register(0x3f8, 8, dev);
    bus.write(0x3fb, 1, 0x83);
    expect(dev.log).toEqual(['w1@3=83']);
    expect(bus.read(0x3fb, 1)).toBe(0x83);
  });

  it('reads all ones from unclaimed addresses and counts them', () => {
    const bus = createPortBus();
    const seen: string[] = [];
    bus.onUnmapped = (addr, size, write) => seen.push(`${write ? 'w' : 'r'}${size}@${addr.toString(16)}`);
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4)).toBe(0xffffffff);
    bus.write(0x1234, 1, 0);
    expect(bus.counters).toMatchObject({ unmappedReads: 3, unmappedWrites: 1 });
    expect(seen).toEqual(['r1@1234', 'r2@1234', 'r4@1234', 'w1@1234']);
  });

  it('splits a wide access into bytes for a byte-only device', () => {
    const bus = createPortBus();
    const dev = new RegisterFile('bytes');
    bus.register(0x70, 4, dev, [1]);
    bus.write(0x70, 2, 0xbeef);
    expect(dev.log).toEqual(['w1@0=ef', 'w1@1=be']);
    expect(bus.read(0x70, 2)).toBe(0xbeef);
  });

  it('counts an access size the device refuses and cannot be split', () => {
    const bus = createMmioBus();
    const dev = new RegisterFile('dwords');
    bus.register(0xfee00000, 16, dev, [4]);
    expect(bus.read(0xfee00000, 1)).toBe(0xff);
    expect(bus.counters.rejectedSize).toBe(1);
    expect(dev.log).toEqual([]);
  });

  it('treats an access running past the end of a range as unclaimed', () => {
    const bus = createPortBus();
    bus.register(0x60, 1, new RegisterFile('kbd'));
    expect(bus.read(0x60, 2)).toBe(0xffff);
    expect(bus.counters.unmappedReads).toBe(1);
  });

  it('refuses overlapping, empty and out-of-space registrations', () => {
    const bus = createPortBus();
    bus.register(0x20, 2, new RegisterFile('pic'));
    expect(() => bus.register(0x21, 1, new RegisterFile('other'))).toThrow(BusError);
    expect(() => bus.register(0x1f, 2, new RegisterFile('other'))).toThrow(/overlaps pic/);
    expect(() => bus.register(0x30, 0, new RegisterFile('empty'))).toThrow(BusError);
    expect(() => bus.register(0xffff, 2, new RegisterFile('edge'))).toThrow(BusError);
    bus.register(0x22, 1, new RegisterFile('adjacent'));
    expect(bus.list().map((r) => r.base)).toEqual([0x20, 0x22]);
  });

  it('moves 1..8 byte MMIO payloads with the widest accesses', () => {
    const bus = createMmioBus();
    const dev = new RegisterFile('mmio');
    bus.register(0x1000, 16, dev, [1, 2, 4]);
    bus.writeFrom(0x1000, Uint8Array.of(1, 2, 3, 4, 5, 6, 7));
    expect(dev.log).toEqual(['w4@0=4030201', 'w2@4=605', 'w1@6=7']);
    const out = new Uint8Array(8);
    bus.readInto(0x1000, out);
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
  });

  it('forgets a device on unregister', () => {
    const bus = createPortBus();
    const dev = new RegisterFile('gone');
    bus.register(0x80, 1, dev);
    bus.read(0x80, 1);
    bus.unregister(dev);
    expect(bus.find(0x80)).toBeNull();
    expect(bus.read(0x80, 1)).toBe(0xff);
  });
});
