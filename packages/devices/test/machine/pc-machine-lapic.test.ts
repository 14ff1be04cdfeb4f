// The local APIC inside the PC machine: where its page is, how the 8259 reaches the CPU
// through LINT0, how its timer runs on the machine clock, IPI routing on one CPU, relocation.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/machine/pc-machine.js';
import { createSharedRamBacking, ManualClock, type MachineEvent } from '../../src/platform/index.js';

const APIC = 0xfee00000;
const SVR = 0xf0;
const EOI = 0xb0;
const ICR_LOW = 0x300;
const LVT_TIMER = 0x320;
const TIMER_INITIAL = 0x380;
const TIMER_DIVIDE = 0x3e0;

function pc(localApic: boolean) {
  const clock = new ManualClock();
  const events: MachineEvent[] = [];
  const machine = new PcMachine({
    backing: createSharedRamBacking(4 << 20), clock, irqchip: 'user', com1Output: null, debugExit: null,
    onEvent: (e) => events.push(e), localApic,
  });
  let wakeups = 0;
  machine.connectInterrupts(null, () => wakeups++);
  return { machine, clock, wakeups: () => wakeups };
}

/** The 8259 pair initialised at vectors 0x20/0x28 with only IRQ0 unmasked (or nothing). */
function initPic(m: PcMachine, masterMask = 0xfe): void {
  const out = (port: number, v: number) => m.pio.write(port, 1, v);
  out(0x20, 0x11); out(0xa0, 0x11); out(0x21, 0x20); out(0xa1, 0x28);
  out(0x21, 0x04); out(0xa1, 0x02); out(0x21, 0x01); out(0xa1, 0x01);
  out(0x21, masterMask); out(0xa1, 0xff);
}

describe('PcMachine with a local APIC', () => {
  it('answers the APIC page at 0xfee00000 and none without the option', () => {
    const { machine } = pc(true);
    expect(machine.localApic).not.toBeNull();
    expect(machine.mmio.read(APIC + 0x30, 4)).toBe(0x00050014);
    expect(machine.binding.interrupts).toBe(machine.localApic);
    const plain = pc(false).machine;
    expect(plain.localApic).toBeNull();
    expect(plain.mmio.read(APIC + 0x30, 4)).toBe(0xffffffff);
  });

  it('passes 8259 interrupts through LINT0 (ExtINT) before and after the APIC is enabled', () => {
    const { machine, clock, wakeups } = pc(true);
    initPic(machine);
    machine.pio.write(0x43, 1, 0x34);
    machine.pio.write(0x40, 1, 0xa9);
    machine.pio.write(0x40, 1, 0x04); // 1193: 1 kHz
    const before = wakeups();
    clock.advanceBy(1_100_000);
    expect(wakeups()).toBe(before + 1);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(true);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x20);
    machine.pio.write(0x20, 1, 0x20); // EOI
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    clock.advanceBy(1_000_000);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x20);
  });

  it('runs the LVT timer on the machine clock and offers its vector first', () => {
    const { machine, clock, wakeups } = pc(true);
    initPic(machine, 0xff);
    const before = wakeups();
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    machine.mmio.write(APIC + TIMER_DIVIDE, 4, 0x0b);
    machine.mmio.write(APIC + LVT_TIMER, 4, (1 << 17) | 0x40);
    machine.mmio.write(APIC + TIMER_INITIAL, 4, 1_000_000);
    clock.advanceBy(999_999);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
    clock.advanceBy(1);
    expect(wakeups()).toBe(before + 1);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x40);
    machine.mmio.write(APIC + EOI, 4, 0);
    clock.advanceBy(1_000_000);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x40);
  });

  it('delivers an IPI addressed to its own APIC ID and drops one to another CPU', () => {
    const { machine } = pc(true);
    initPic(machine, 0xff);
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    machine.mmio.write(APIC + 0x310, 4, 5 << 24);
    machine.mmio.write(APIC + ICR_LOW, 4, 0x4050); // fixed, physical, vector 0x50, no shorthand
    expect(machine.ipisToNowhere).toBe(1);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
    machine.mmio.write(APIC + 0x310, 4, 0);
    machine.mmio.write(APIC + ICR_LOW, 4, 0x4050);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x50);
    machine.mmio.write(APIC + EOI, 4, 0);
    machine.mmio.write(APIC + ICR_LOW, 4, 0xc4051); // all excluding self: nobody
    expect(machine.ipisToNowhere).toBe(2);
  });

  it('moves the page when IA32_APIC_BASE is relocated and back on reset', () => {
    const { machine } = pc(true);
    machine.localApic!.setApicBase(0xfed00900n);
    expect(machine.mmio.read(0xfed00030, 4)).toBe(0x00050014);
    expect(machine.mmio.read(APIC + 0x30, 4)).toBe(0xffffffff);
    machine.reset();
    expect(machine.mmio.read(APIC + 0x30, 4)).toBe(0x00050014);
  });
});
