import { describe, expect, it } from 'vitest';
import { PciFunction, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../src/pci/pci-function.js';
import { PciHost } from '../../src/pci/pci-host.js';
import { PciTestdev, pciTestdevStateSchema } from '../../src/pci/pci-testdev.js';
import { createMmioBus, createPortBus, type AccessSize, type IoDevice } from '../../src/platform/index.js';

function machine() {
  const pio = createPortBus();
  const mmio = createMmioBus();
  const writes: number[] = [];
  const resetControl: IoDevice = { name: 'rc', read: () => 0x02, write: (_o: number, _s: AccessSize, v: number) => void writes.push(v) };
  const host = new PciHost({ pio, mmio, port0cf9: resetControl });
  pio.register(0xcf8, 4, host.addressPort, [1, 2, 4]);
  pio.register(0xcfc, 4, host.dataPort, [1, 2, 4]);
  const cfgRead = (dev: number, reg: number, size: AccessSize = 4) => {
    pio.write(0xcf8, 4, (0x80000000 | (dev << 11) | (reg & 0xfc)) >>> 0);
    return pio.read(0xcfc + (reg & 3), size);
  };
  const cfgWrite = (dev: number, reg: number, size: AccessSize, value: number) => {
    pio.write(0xcf8, 4, (0x80000000 | (dev << 11) | (reg & 0xfc)) >>> 0);
    pio.write(0xcfc + (reg & 3), size, value);
  };
  return { pio, mmio, host, writes, cfgRead, cfgWrite };
}

describe('PCI configuration mechanism #1 and the i440FX host bridge', () => {
  it('shows the host bridge at 00:00.0 (8086:1237, class 060000) and all ones for empty slots', () => {
    const { cfgRead, host } = machine();
    expect(cfgRead(0, 0)).toBe(0x12378086);
    expect(cfgRead(0, 8) >>> 8).toBe(0x060000);
    expect(cfgRead(0, 2, 2)).toBe(0x1237);
    expect(cfgRead(5, 0)).toBe(0xffffffff);
    expect(host.counters.absent).toBe(1);
  });

  it('reads back CONFIG_ADDRESS only as a dword, and passes byte accesses at 0xCF9 to the reset control', () => {
    const { pio, writes } = machine();
    pio.write(0xcf8, 4, 0x80001234);
    expect(pio.read(0xcf8, 4)).toBe(0x80001234);
    pio.write(0xcf9, 1, 0x06);
    expect(writes).toEqual([0x06]);
    expect(pio.read(0xcf9, 1)).toBe(0x02);
    expect(pio.read(0xcf8, 4)).toBe(0x80001234);
  });

  it('ignores the data port while CONFIG_ADDRESS has the enable bit clear', () => {
    const { pio } = machine();
    pio.write(0xcf8, 4, 0x00000000);
    expect(pio.read(0xcfc, 4)).toBe(0xffffffff);
  });
});

describe('PciFunction BARs', () => {
  it('sizes a BAR by writing all ones (low bits read as zero, I/O bit kept) and maps it when enabled', () => {
    const f = new PciFunction('f', { vendorId: 1, deviceId: 2, revision: 0, classCode: 0 }, [{ kind: 'mem32', size: 0x1000 }, { kind: 'io', size: 0x100 }]);
    const maps: unknown[] = [];
    f.onMapChange = (m) => maps.push(m);
    f.write(0x10, 4, 0xffffffff);
    expect(f.read(0x10, 4)).toBe(0xfffff000);
    f.write(0x14, 4, 0xffffffff);
    expect(f.read(0x14, 4)).toBe(0xffffff01);
    f.write(0x10, 4, 0xfebc1234);
    f.write(0x14, 4, 0xc040);
    expect(f.mappings()).toEqual([null, null]); // Command: decoding still off
    f.write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    expect(f.mappings()).toEqual([{ index: 0, kind: 'mem32', base: 0xfebc1000, size: 0x1000 }, { index: 1, kind: 'io', base: 0xc000, size: 0x100 }]);
    f.write(0, 4, 0); // vendor/device are read-only
    expect(f.read(0, 4)).toBe(0x00020001);
  });
});

describe('pci-testdev', () => {
  function withTestdev() {
    const m = machine();
    const dev = new PciTestdev();
    m.host.attach(2, 0, dev.function, dev);
    dev.function.assignBar(0, 0xc0000000);
    dev.function.assignBar(1, 0xc000);
    dev.function.write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    return { ...m, dev };
  }

  it("has Red Hat's test identity 1b36:0005, class 00ff, and its BARs where they were placed", () => {
    const { cfgRead } = withTestdev();
    expect(cfgRead(2, 0)).toBe(0x00051b36);
    expect(cfgRead(2, 8)).toBe(0x00ff0000);
    expect(cfgRead(2, 0x10)).toBe(0xc0000000);
    expect(cfgRead(2, 0x14)).toBe(0xc001);
    expect(cfgRead(2, 0x3d, 1)).toBe(0); // no interrupt pin
  });

  it('runs an MMIO datamatch test as kvm-unit-tests does: only writes of the datum at the offset count', () => {
    const { mmio, dev } = withTestdev();
    mmio.write(0xc0000000, 1, 2); // select mmio-datamatch-eventfd
    expect(mmio.read(0xc0000000 + 12, 4)).toBe(0);
    expect(mmio.read(0xc0000000 + 1, 1)).toBe(1); // width
    const data = mmio.read(0xc0000000 + 8, 4);
    const offset = mmio.read(0xc0000000 + 4, 4);
    expect([data, offset]).toEqual([0xfa, 2048 + 2]);
    for (let i = 0; i < 16; i++) mmio.write(0xc0000000 + offset, 1, data);
    mmio.write(0xc0000000 + offset, 1, 0x11);
    expect(mmio.read(0xc0000000 + 12, 4)).toBe(16);
    expect(dev.count(2)).toBe(16);
    const name = Array.from({ length: 22 }, (_, i) => String.fromCharCode(mmio.read(0xc0000000 + 16 + i, 1))).join('');
    expect(name).toBe('mmio-datamatch-eventfd');
  });

  it('counts every write at the offset for a wildcard port test, and deselects on a test number past 2', () => {
    const { pio, dev } = withTestdev();
    pio.write(0xc000, 1, 1); // portio-wildcard-eventfd: test 4
    expect(pio.read(0xc000, 1)).toBe(4);
    const offset = pio.read(0xc004, 4);
    expect(offset).toBe(128 + 4);
    pio.write(0xc000 + offset, 1, 0x33);
    pio.write(0xc000 + offset, 1, 0xce);
    expect(pio.read(0xc00c, 4)).toBe(2);
    pio.write(0xc000, 1, 7);
    expect(pio.read(0xc00c, 4)).toBe(0);
    expect(dev.count(4)).toBe(2);
  });

  it('moves its windows when the guest rewrites a BAR, and saves/restores through its schema', () => {
    const { mmio, cfgWrite, dev } = withTestdev();
    cfgWrite(2, 0x10, 4, 0xd0000000);
    mmio.write(0xd0000000, 1, 0);
    expect(mmio.read(0xd0000000, 1)).toBe(0);
    expect(mmio.read(0xc0000000, 1)).toBe(0xff); // nothing there any more
    mmio.write(0xd0000000 + 2048, 1, 0xfa);
    const state = pciTestdevStateSchema.parse(JSON.parse(JSON.stringify(dev.save())));
    const other = new PciTestdev();
    other.restore(state);
    expect(other.count(0)).toBe(1);
    expect(other.function.read(0x10, 4)).toBe(0xd0000000);
  });
});
