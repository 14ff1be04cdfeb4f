// The PC machine's platform as Linux sees it under the user irqchip: the ACPI tables at 0xE0000
// (found by the spec's RSDP scan), the I/O APIC at 0xFEC00000 fed by the ISA lines (the PIT on
// pin 2), the ACPI PM timer and PM1a event block, and the SCI on IRQ 9.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../src/machine/pc-machine.js';
import { deliverIoApicMessage, isaIrqToGsi } from '../../src/machine/pc-interrupt-routing.js';
import { PC_ACPI_TABLES_ADDRESS } from '../../src/machine/pc-platform-acpi.js';
import { createSharedRamBacking, ManualClock, type GuestMemory, type MachineEvent } from '../../src/platform/index.js';

const APIC = 0xfee00000;
const IOAPIC = 0xfec00000;
const SVR = 0xf0;
const EOI = 0xb0;

function pc(localApic = true, bios: Uint8Array | null = null) {
  const clock = new ManualClock();
  const events: MachineEvent[] = [];
  const machine = new PcMachine({
    backing: createSharedRamBacking(16 << 20), clock, irqchip: 'user', com1Output: null, debugExit: null,
    onEvent: (e) => events.push(e), localApic, bios,
  });
  let wakeups = 0;
  machine.connectInterrupts(null, () => wakeups++);
  return { machine, clock, events, wakeups: () => wakeups };
}

function ioApicWrite(m: PcMachine, index: number, value: number): void {
  m.mmio.write(IOAPIC, 4, index);
  m.mmio.write(IOAPIC + 0x10, 4, value);
}

function ioApicRead(m: PcMachine, index: number): number {
  m.mmio.write(IOAPIC, 4, index);
  return m.mmio.read(IOAPIC + 0x10, 4);
}

/** Masks every 8259 input, as Linux does once it routes through the I/O APIC. */
function maskPic(m: PcMachine): void {
  const out = (port: number, v: number) => m.pio.write(port, 1, v);
  out(0x20, 0x11); out(0xa0, 0x11); out(0x21, 0x30); out(0xa1, 0x38);
  out(0x21, 0x04); out(0xa1, 0x02); out(0x21, 0x01); out(0xa1, 0x01);
  out(0x21, 0xff); out(0xa1, 0xff);
}

/** The RSDP as ACPI 6.5 5.2.5.1 finds it: "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF, checksum 0. */
function scanRsdp(mem: GuestMemory, end = 0x100000): number {
  for (let a = 0xe0000; a + 20 <= end; a += 16) {
    const bytes = mem.readBytes(a, 20);
    if (String.fromCharCode(...bytes.subarray(0, 8)) !== 'RSD PTR ') continue;
    if ((bytes.reduce((s, b) => s + b, 0) & 0xff) === 0) return a;
  }
  return -1;
}

function table(mem: GuestMemory, addr: number): { sig: string; bytes: Uint8Array } {
  const length = mem.read32(addr + 4);
  return { sig: String.fromCharCode(...mem.readBytes(addr, 4)), bytes: mem.readBytes(addr, length) };
}

/** The tables the RSDT lists, by signature. */
function acpiTables(mem: GuestMemory): Map<string, Uint8Array> {
  const rsdp = scanRsdp(mem);
  const rsdt = table(mem, mem.read32(rsdp + 16));
  const out = new Map<string, Uint8Array>([['RSDT', rsdt.bytes]]);
  const view = new DataView(rsdt.bytes.buffer, rsdt.bytes.byteOffset);
  for (let o = 36; o < rsdt.bytes.length; o += 4) {
    const t = table(mem, view.getUint32(o, true));
    out.set(t.sig, t.bytes);
  }
  return out;
}

describe('PC machine ACPI tables in guest RAM', () => {
  it('has an RSDP at 0xE0000 that the spec scan finds, and tables whose bytes sum to zero', () => {
    const { machine } = pc();
    expect(scanRsdp(machine.memory)).toBe(PC_ACPI_TABLES_ADDRESS);
    const tables = acpiTables(machine.memory);
    expect([...tables.keys()]).toEqual(['RSDT', 'FACP', 'APIC']);
    for (const bytes of tables.values()) expect(bytes.reduce((s, b) => s + b, 0) & 0xff).toBe(0);
  });

  it('describes this machine in the MADT: local APIC 0, the I/O APIC at 0xFEC00000 from GSI 0, IRQ 0 -> GSI 2', () => {
    const { machine } = pc();
    const madt = acpiTables(machine.memory).get('APIC')!;
    const v = new DataView(madt.buffer, madt.byteOffset);
    expect(v.getUint32(36, true)).toBe(APIC);
    const entries: { type: number; at: number }[] = [];
    for (let o = 44; o < madt.length; o += madt[o + 1]) entries.push({ type: madt[o], at: o });
    const lapics = entries.filter((e) => e.type === 0);
    expect(lapics.map((e) => madt[e.at + 3])).toEqual([0]);
    const io = entries.find((e) => e.type === 1)!;
    expect(madt[io.at + 2]).toBe(ioApicRead(machine, 0) >>> 24);
    expect(v.getUint32(io.at + 4, true)).toBe(IOAPIC);
    expect(v.getUint32(io.at + 8, true)).toBe(0);
    const overrides = entries.filter((e) => e.type === 2).map((e) => [madt[e.at + 3], v.getUint32(e.at + 4, true)]);
    expect(overrides).toContainEqual([0, 2]);
    expect(overrides).toContainEqual([9, 9]);
  });

  it('names a reset register in the FADT that resets the machine, and an S5 that powers it off', () => {
    const { machine, events } = pc();
    const fadt = acpiTables(machine.memory).get('FACP')!;
    const v = new DataView(fadt.buffer, fadt.byteOffset);
    expect(v.getUint32(112, true) & (1 << 10)).not.toBe(0); // RESET_REG_SUP
    expect(fadt[116]).toBe(1); // RESET_REG: system I/O space
    const port = Number(v.getBigUint64(120, true));
    machine.pio.write(port, 1, fadt[128]); // what Linux's ACPI reboot writes
    expect(events).toEqual([{ kind: 'reset', reason: 'hard reset via port 0xcf9' }]);
    const pm1a = v.getUint32(64, true);
    machine.pio.write(pm1a, 2, 1 << 13); // SLP_EN with SLP_TYP 0, the DSDT's \_S5
    expect(events[1]).toEqual({ kind: 'exit', status: 0, reason: 'ACPI power-off' });
  });

  it('writes the tables again at reset, and has none (and no I/O APIC) without the local APIC', () => {
    const { machine } = pc();
    machine.memory.fill(0xe0000, 0x1000, 0);
    expect(scanRsdp(machine.memory)).toBe(-1);
    machine.reset();
    expect(scanRsdp(machine.memory)).toBe(PC_ACPI_TABLES_ADDRESS);
    const plain = pc(false).machine;
    expect(plain.ioApic).toBeNull();
    expect(scanRsdp(plain.memory)).toBe(-1);
    expect(plain.mmio.read(IOAPIC + 0x10, 4)).toBe(0xffffffff);
  });

  it('leaves 0xE0000 to a firmware image given with --bios (it brings its own tables)', () => {
    const rom = new Uint8Array(0x10000).fill(0x90);
    const { machine } = pc(true, rom);
    expect(machine.ioApic).not.toBeNull();
    expect(scanRsdp(machine.memory, 0xf0000)).toBe(-1); // 0xF0000 up is the ROM's low window
  });
});

describe('PC machine I/O APIC wiring', () => {
  it('maps ISA IRQ 0 to pin 2, the cascade to no pin, and every other IRQ to its own pin', () => {
    expect(isaIrqToGsi(0)).toBe(2);
    expect(isaIrqToGsi(2)).toBe(-1);
    for (const irq of [1, 3, 4, 8, 9, 12, 15]) expect(isaIrqToGsi(irq)).toBe(irq);
  });

  it('answers at 0xFEC00000 with 24 entries, version 0x20', () => {
    const { machine } = pc();
    expect(ioApicRead(machine, 1)).toBe((23 << 16) | 0x20);
  });

  it('delivers PIT ticks through pin 2 to the local APIC with the 8259 masked', () => {
    const { machine, clock, wakeups } = pc();
    maskPic(machine);
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    ioApicWrite(machine, 0x10 + 2 * 2, 0x31); // pin 2: vector 0x31, fixed, physical, edge, unmasked
    ioApicWrite(machine, 0x11 + 2 * 2, 0); // destination APIC ID 0
    machine.pio.write(0x43, 1, 0x34);
    machine.pio.write(0x40, 1, 0xa9);
    machine.pio.write(0x40, 1, 0x04); // 1193 counts: 1 kHz
    const before = wakeups();
    clock.advanceBy(1_100_000);
    expect(wakeups()).toBeGreaterThan(before);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x31);
    machine.mmio.write(APIC + EOI, 4, 0);
    clock.advanceBy(1_000_000);
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x31);
    expect(machine.ioApic!.counters.delivered).toBeGreaterThanOrEqual(2);
  });

  it('keeps pin 0 silent: the PIT never arrives there', () => {
    const { machine, clock } = pc();
    maskPic(machine);
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    ioApicWrite(machine, 0x10, 0x30);
    machine.pio.write(0x43, 1, 0x34);
    machine.pio.write(0x40, 1, 0xa9);
    machine.pio.write(0x40, 1, 0x04);
    clock.advanceBy(5_000_000);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
  });

  it('sends the level-triggered SCI again after the local APIC EOI while PM1 status stays set', () => {
    const { machine, clock } = pc();
    maskPic(machine);
    machine.mmio.write(APIC + SVR, 4, 0x1ff);
    ioApicWrite(machine, 0x10 + 2 * 9, 0x8000 | 0x41); // pin 9: vector 0x41, level, active high
    machine.pio.write(0x602, 2, 1); // PM1_EN.TMR_EN
    clock.advanceBy(2.4e9); // bit 23 of the 3.58 MHz timer toggles every 2.34 s
    expect(machine.pio.read(0x600, 2) & 1).toBe(1); // TMR_STS, and the SCI rises
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x41);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
    machine.mmio.write(APIC + EOI, 4, 0); // still asserted: Remote IRR clears and it comes again
    expect(machine.binding.interrupts.acknowledgeInterrupt()).toBe(0x41);
    machine.pio.write(0x600, 2, 1); // clear TMR_STS: the line drops
    machine.mmio.write(APIC + EOI, 4, 0);
    expect(machine.binding.interrupts.hasPendingInterrupt()).toBe(false);
  });

  it('counts messages addressed to no CPU and ExtINT messages instead of delivering them', () => {
    const received: number[] = [];
    const target = { matchesDestination: (d: number) => d === 0, receiveIpi: (i: { vector: number }) => void received.push(i.vector) };
    const counters = { toNowhere: 0, unsupported: 0 };
    const msg = { vector: 0x40, deliveryMode: 'fixed' as const, destinationMode: 'physical' as const, destination: 3, trigger: 'edge' as const };
    deliverIoApicMessage(target, msg, counters);
    deliverIoApicMessage(target, { ...msg, deliveryMode: 'extint' }, counters);
    deliverIoApicMessage(target, { ...msg, destination: 0 }, counters);
    expect(counters).toEqual({ toNowhere: 1, unsupported: 1 });
    expect(received).toEqual([0x40]);
  });
});

describe('PC machine ACPI PM registers', () => {
  it('runs the PM timer at 0x608 at 3.579545 MHz on the machine clock', () => {
    const { machine, clock } = pc();
    const t0 = machine.pio.read(0x608, 4);
    clock.advanceBy(1_000_000); // 1 ms
    const t1 = machine.pio.read(0x608, 4);
    expect(((t1 - t0) & 0xffffff)).toBeGreaterThanOrEqual(3579);
    expect(((t1 - t0) & 0xffffff)).toBeLessThanOrEqual(3580);
  });

  it('keeps PM1_EN at 0x602 and clears PM1_STS bits written as one', () => {
    const { machine, clock } = pc();
    machine.pio.write(0x602, 2, 0x0021);
    expect(machine.pio.read(0x602, 2)).toBe(0x0021);
    clock.advanceBy(2.4e9);
    expect(machine.pio.read(0x600, 2) & 1).toBe(1);
    machine.pio.write(0x600, 2, 1);
    expect(machine.pio.read(0x600, 2) & 1).toBe(0);
    expect(machine.pio.read(0x604, 2) & 1).toBe(1); // PM1a_CNT.SCI_EN: ACPI mode from the start
  });
});
