import { describe, expect, it } from 'vitest';
import {
  IOAPIC_EOI, IOREGSEL, IOWIN, IoApic, RTE_MASKED, RTE_REMOTE_IRR, RTE_TRIGGER_LEVEL, ioApicStateSchema,
  type IoApicMessage,
} from '../src/ioapic-82093.js';

function setup() {
  const sent: IoApicMessage[] = [];
  const apic = new IoApic({ deliver: (m) => sent.push(m) });
  const writeReg = (index: number, value: number) => {
    apic.write(IOREGSEL, 4, index);
    apic.write(IOWIN, 4, value);
  };
  const readReg = (index: number) => {
    apic.write(IOREGSEL, 4, index);
    return apic.read(IOWIN, 4);
  };
  return { apic, sent, writeReg, readReg };
}

describe('I/O APIC (82093AA, version 0x20)', () => {
  it('reports 24 redirection entries and version 0x20, and starts with every entry masked', () => {
    const { readReg } = setup();
    expect(readReg(0x01)).toBe((23 << 16) | 0x20);
    for (let pin = 0; pin < 24; pin++) expect(readReg(0x10 + 2 * pin) & RTE_MASKED).toBe(RTE_MASKED);
  });

  it('keeps the ID in bits 27:24 and the destination in bits 63:56 of an entry', () => {
    const { writeReg, readReg } = setup();
    writeReg(0x00, 0x0a123456);
    expect(readReg(0x00)).toBe(0x0a000000);
    writeReg(0x11, 0xffffffff);
    expect(readReg(0x11) >>> 0).toBe(0xff000000);
  });

  it('sends an edge-triggered fixed interrupt once per rising edge, and loses edges while masked', () => {
    const { apic, sent, writeReg } = setup();
    writeReg(0x10 + 2 * 2, 0x30);
    writeReg(0x11 + 2 * 2, 0x01000000);
    apic.setPin(2, true);
    apic.setPin(2, true);
    apic.setPin(2, false);
    apic.setPin(2, true);
    expect(sent).toEqual([
      { vector: 0x30, deliveryMode: 'fixed', destinationMode: 'physical', destination: 1, trigger: 'edge' },
      { vector: 0x30, deliveryMode: 'fixed', destinationMode: 'physical', destination: 1, trigger: 'edge' },
    ]);
    writeReg(0x10 + 2 * 2, 0x30 | RTE_MASKED);
    apic.setPin(2, false);
    apic.setPin(2, true);
    expect(sent.length).toBe(2);
    expect(apic.counters.maskedEdges).toBe(1);
  });

  it('holds a level-triggered interrupt in Remote IRR until EOI, then re-sends while the pin stays asserted', () => {
    const { apic, sent, writeReg, readReg } = setup();
    writeReg(0x10 + 2 * 11, 0x41 | RTE_TRIGGER_LEVEL | (1 << 11));
    apic.setPin(11, true);
    apic.setPin(11, true);
    expect(sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ vector: 0x41, trigger: 'level', destinationMode: 'logical' });
    expect(readReg(0x10 + 2 * 11) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
    apic.endOfInterrupt(0x40);
    expect(sent.length).toBe(1);
    apic.endOfInterrupt(0x41);
    expect(sent.length).toBe(2);
    apic.setPin(11, false);
    apic.write(IOAPIC_EOI, 4, 0x41);
    expect(sent.length).toBe(2);
    expect(readReg(0x10 + 2 * 11) & RTE_REMOTE_IRR).toBe(0);
  });

  it('delivers an asserted level-triggered pin when the guest unmasks it, and never lets the guest write Remote IRR', () => {
    const { apic, sent, writeReg, readReg } = setup();
    writeReg(0x10 + 2 * 5, 0x50 | RTE_TRIGGER_LEVEL | RTE_MASKED);
    apic.setPin(5, true);
    expect(sent.length).toBe(0);
    writeReg(0x10 + 2 * 5, 0x50 | RTE_TRIGGER_LEVEL);
    expect(sent.length).toBe(1);
    writeReg(0x10 + 2 * 6, 0x51 | RTE_REMOTE_IRR | (1 << 12));
    expect(readReg(0x10 + 2 * 6) & (RTE_REMOTE_IRR | (1 << 12))).toBe(0);
  });

  it('sends NMI, INIT and ExtINT delivery modes by name and drops reserved ones, counting them', () => {
    const { apic, sent, writeReg } = setup();
    writeReg(0x10, 0x00 | (4 << 8));
    writeReg(0x12, 0x00 | (7 << 8));
    writeReg(0x14, 0x00 | (3 << 8));
    apic.setPin(0, true);
    apic.setPin(1, true);
    apic.setPin(2, true);
    expect(sent.map((m) => m.deliveryMode)).toEqual(['nmi', 'extint']);
    expect(apic.counters.badDeliveryMode).toBe(1);
  });

  it('ignores out-of-range pins, registers and partial accesses without throwing', () => {
    const { apic, sent, writeReg, readReg } = setup();
    apic.setPin(24, true);
    apic.setPin(-1, true);
    writeReg(0x40, 0xffffffff);
    expect(readReg(0x40)).toBe(0);
    apic.write(IOWIN, 1, 0xff);
    expect(apic.read(IOWIN, 2)).toBe(0);
    expect(sent.length).toBe(0);
  });

  it('saves and restores entries, Remote IRR and pin levels through the schema', () => {
    const a = setup();
    a.writeReg(0x10 + 2 * 9, 0x69 | RTE_TRIGGER_LEVEL);
    a.apic.setPin(9, true);
    const saved = ioApicStateSchema.parse(JSON.parse(JSON.stringify(a.apic.save())));
    const b = setup();
    b.apic.restore(saved);
    expect(b.readReg(0x10 + 2 * 9) & RTE_REMOTE_IRR).toBe(RTE_REMOTE_IRR);
    b.apic.endOfInterrupt(0x69);
    expect(b.sent).toEqual([{ vector: 0x69, deliveryMode: 'fixed', destinationMode: 'physical', destination: 0, trigger: 'level' }]);
    expect(() => b.apic.restore({ ...saved, entriesLow: [] })).toThrow();
  });
});
