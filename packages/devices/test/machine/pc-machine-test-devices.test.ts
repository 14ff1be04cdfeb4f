// The PC machine's optional kvm-unit-tests devices (pc-testdev, the PCI bus with pci-testdev)
// and the BIOS hand-off state (bios-handoff.ts) that QEMU's SeaBIOS leaves for -kernel.
import { describe, expect, it } from 'vitest';
import { BIOS_HANDOFF_STUB_OFFSET, BIOS_HANDOFF_STUB_SEGMENT } from '../../src/machine/bios-handoff.js';
import { PcMachine, type PcMachineOptions } from '../../src/machine/pc-machine.js';
import { createSharedRamBacking, ManualClock, type MachineEvent } from '../../src/platform/index.js';

function pc(extra: Partial<PcMachineOptions> = {}) {
  const clock = new ManualClock();
  const events: MachineEvent[] = [];
  const machine = new PcMachine({
    backing: createSharedRamBacking(16 << 20), clock, irqchip: 'user', com1Output: null, debugExit: null,
    onEvent: (e) => events.push(e), ...extra,
  });
  machine.connectInterrupts(null, () => {});
  return { machine, clock, events };
}

describe('PcMachine test devices', () => {
  it('has no pc-testdev and no PCI bus unless asked', () => {
    const { machine } = pc();
    expect(machine.pcTestdev).toBeNull();
    expect(machine.pci).toBeNull();
    expect(machine.pio.read(0xe0, 4)).toBe(0xffffffff);
    machine.pio.write(0xcf8, 4, 0x80000000);
    expect(machine.pio.read(0xcfc, 4)).toBe(0xffffffff);
  });

  it('with pcTestdev: the scratch port, the MMIO scratch page, and IRQ lines that reach the 8259', () => {
    const { machine } = pc({ pcTestdev: true });
    machine.pio.write(0xe0, 4, 0x1234abcd);
    expect(machine.pio.read(0xe0, 4)).toBe(0x1234abcd);
    machine.mmio.write(0xff000010, 4, 0xcafe);
    expect(machine.mmio.read(0xff000010, 4)).toBe(0xcafe);
    // 8259 master at vector 0x20, everything open; raise IRQ 3 through port 0x2003.
    for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0x21, 0x00]]) machine.pio.write(port, 1, v);
    machine.pio.write(0x2003, 1, 1);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(true);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x23);
  });

  it('with pciTestdev: the host bridge, the test device at 00:02.0 with its BARs decoding, and 0xCF9 still resets', () => {
    const { machine, events } = pc({ pciTestdev: true });
    machine.pio.write(0xcf8, 4, 0x80000000);
    expect(machine.pio.read(0xcfc, 4)).toBe(0x12378086);
    machine.pio.write(0xcf8, 4, 0x80001000);
    expect(machine.pio.read(0xcfc, 4)).toBe(0x00051b36);
    machine.mmio.write(0xc0000000, 1, 0); // select mmio-no-eventfd
    expect(machine.mmio.read(0xc0000004, 4)).toBe(2048);
    machine.pio.write(0xc000, 1, 2);
    expect(machine.pio.read(0xc000, 1)).toBe(5);
    machine.pio.write(0xcf9, 1, 0x06);
    expect(events.some((e) => e.kind === 'reset')).toBe(true);
  });
});

describe('PcMachine.applyBiosHandoff', () => {
  it('points every real-mode vector at F000 stubs, the timer at its own, and zeroes the tick count', () => {
    const { machine } = pc();
    machine.memory.write32(0x46c, 1234);
    machine.applyBiosHandoff();
    const vector = (v: number) => [machine.memory.read16(v * 4 + 2), machine.memory.read16(v * 4)];
    expect(vector(0x08)[0]).toBe(BIOS_HANDOFF_STUB_SEGMENT);
    expect(vector(0x08)[1]).toBeGreaterThanOrEqual(BIOS_HANDOFF_STUB_OFFSET);
    expect(new Set([vector(0x08)[1], vector(0x09)[1], vector(0x70)[1], vector(0x00)[1]]).size).toBe(4);
    expect(machine.memory.read8(BIOS_HANDOFF_STUB_SEGMENT * 16 + vector(0x00)[1])).toBe(0xcf); // IRET
    expect(machine.memory.read32(0x46c)).toBe(0);
  });

  it('initialises the 8259 pair at 0x08/0x70 with IRQ 0 open and starts the PIT at 18.2 Hz', () => {
    const { machine, clock } = pc();
    machine.applyBiosHandoff();
    expect(machine.pio.read(0x21, 1)).toBe(0xfa);
    expect(machine.pio.read(0xa1, 1)).toBe(0xff);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
    clock.advanceBy(Math.ceil((65536 / 1193182) * 1e9) + 1000);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(true);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x08);
  });
});
