import { describe, expect, it } from 'vitest';
import { PicPair, picPairStateSchema } from '../src/pic-8259.js';
import { RecordingIrqLine } from '../src/platform/index.js';

const CMD = 0;
const DATA = 1;

/** The sequence Linux's init_8259A writes (arch/x86/kernel/i8259.c), then everything unmasked. */
function linuxInit(pic: PicPair, icw4 = 0x01): void {
  pic.master.write(DATA, 1, 0xff);
  pic.slave.write(DATA, 1, 0xff);
  pic.master.write(CMD, 1, 0x11);
  pic.master.write(DATA, 1, 0x20);
  pic.master.write(DATA, 1, 0x04);
  pic.master.write(DATA, 1, icw4);
  pic.slave.write(CMD, 1, 0x11);
  pic.slave.write(DATA, 1, 0x28);
  pic.slave.write(DATA, 1, 0x02);
  pic.slave.write(DATA, 1, icw4);
  pic.master.write(DATA, 1, 0x00);
  pic.slave.write(DATA, 1, 0x00);
}

function setup(icw4 = 0x01): { pic: PicPair; intr: RecordingIrqLine } {
  const intr = new RecordingIrqLine();
  const pic = new PicPair({ output: intr });
  linuxInit(pic, icw4);
  return { pic, intr };
}

function readIsr(chip: PicPair['master']): number {
  chip.write(CMD, 1, 0x0b);
  const v = chip.read(CMD, 1);
  chip.write(CMD, 1, 0x0a);
  return v;
}

const edge = (pic: PicPair, irq: number): void => {
  pic.irqLine(irq).setLevel(true);
  pic.irqLine(irq).setLevel(false);
};

describe('PicPair (8259A master/slave)', () => {
  it('after the Linux init sequence delivers IRQ 0 as vector 0x20 and puts it in service', () => {
    const { pic } = setup();
    expect(pic.hasPendingInterrupt()).toBe(false);
    edge(pic, 0);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x20);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(readIsr(pic.master)).toBe(0x01);
    pic.master.write(CMD, 1, 0x60); // specific EOI IR0, as Linux sends
    expect(readIsr(pic.master)).toBe(0x00);
  });

  it('reads back the IMR and keeps a masked request in IRR until unmasked', () => {
    const { pic } = setup();
    pic.master.write(DATA, 1, 0xfb);
    expect(pic.master.read(DATA, 1)).toBe(0xfb);
    edge(pic, 3);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(pic.master.read(CMD, 1)).toBe(0x08); // IRR (OCW3 default)
    pic.master.write(DATA, 1, 0x00);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x23);
  });

  it('ICW1 clears IMR, ISR and latched edge requests', () => {
    const { pic } = setup();
    pic.master.write(DATA, 1, 0x10);
    edge(pic, 1);
    pic.acknowledgeInterrupt();
    edge(pic, 4);
    pic.master.write(CMD, 1, 0x11);
    pic.master.write(DATA, 1, 0x20);
    pic.master.write(DATA, 1, 0x04);
    pic.master.write(DATA, 1, 0x01);
    expect(pic.master.read(DATA, 1)).toBe(0);
    expect(pic.master.isr).toBe(0);
    expect(pic.master.irr & 0xfb).toBe(0);
    expect(pic.hasPendingInterrupt()).toBe(false);
  });

  it('serves the highest priority first and holds lower ones until EOI', () => {
    const { pic } = setup();
    edge(pic, 3);
    edge(pic, 1);
    expect(pic.acknowledgeInterrupt()).toBe(0x21);
    expect(pic.hasPendingInterrupt()).toBe(false); // IRQ 3 waits behind IRQ 1 in service
    edge(pic, 0);
    expect(pic.hasPendingInterrupt()).toBe(true); // higher priority nests
    expect(pic.acknowledgeInterrupt()).toBe(0x20);
    expect(readIsr(pic.master)).toBe(0x03);
    pic.master.write(CMD, 1, 0x20); // non-specific EOI: clears IR0, the highest in service
    expect(readIsr(pic.master)).toBe(0x02);
    expect(pic.hasPendingInterrupt()).toBe(false);
    pic.master.write(CMD, 1, 0x20);
    expect(pic.acknowledgeInterrupt()).toBe(0x23);
  });

  it('set-priority and rotate-on-EOI commands move the lowest priority', () => {
    const { pic } = setup();
    pic.master.write(CMD, 1, 0xc0 | 3); // IR3 lowest, so IR4 highest
    edge(pic, 0);
    edge(pic, 4);
    expect(pic.acknowledgeInterrupt()).toBe(0x24);
    pic.master.write(CMD, 1, 0xa0); // rotate on non-specific EOI: IR4 becomes lowest
    edge(pic, 5);
    expect(pic.acknowledgeInterrupt()).toBe(0x25);
    pic.master.write(CMD, 1, 0xe0 | 5); // rotate on specific EOI 5: IR6 highest
    edge(pic, 6);
    expect(pic.acknowledgeInterrupt()).toBe(0x26);
    pic.master.write(CMD, 1, 0x66);
    expect(pic.acknowledgeInterrupt()).toBe(0x20);
  });

  it('delivers IRQ 8 through the cascade as vector 0x28 with master IR2 in service', () => {
    const { pic, intr } = setup();
    edge(pic, 8);
    expect(intr.level).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x28);
    expect(readIsr(pic.master)).toBe(0x04);
    expect(readIsr(pic.slave)).toBe(0x01);
    edge(pic, 13);
    expect(pic.hasPendingInterrupt()).toBe(false); // master IR2 still in service
    pic.slave.write(CMD, 1, 0x60);
    pic.master.write(CMD, 1, 0x62);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x2d);
  });

  it('answers a vanished master request with spurious IRQ 7 and leaves ISR alone', () => {
    const { pic } = setup();
    pic.elcr.write(0, 1, 0x20); // IRQ 5 level-triggered
    pic.irqLine(5).setLevel(true);
    expect(pic.hasPendingInterrupt()).toBe(true);
    pic.irqLine(5).setLevel(false); // gone before INTA
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(pic.acknowledgeInterrupt()).toBe(0x27);
    expect(readIsr(pic.master)).toBe(0);
  });

  it('answers a vanished slave request with spurious IRQ 15 and master IR2 in service', () => {
    const { pic } = setup();
    pic.elcr.write(1, 1, 0x04); // IRQ 10 level-triggered
    pic.irqLine(10).setLevel(true);
    pic.irqLine(10).setLevel(false);
    expect(pic.hasPendingInterrupt()).toBe(true); // the master latched the cascade edge
    expect(pic.acknowledgeInterrupt()).toBe(0x2f);
    expect(readIsr(pic.slave)).toBe(0);
    expect(readIsr(pic.master)).toBe(0x04);
  });

  it('re-delivers a level-triggered line still high after EOI, but not an edge line', () => {
    const { pic } = setup();
    pic.elcr.write(1, 1, 0x08); // IRQ 11 level
    pic.irqLine(11).setLevel(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x2b);
    pic.slave.write(CMD, 1, 0x63);
    pic.master.write(CMD, 1, 0x62);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x2b); // level line still high
    pic.irqLine(11).setLevel(false); // the handler quiets the device, then EOIs
    pic.slave.write(CMD, 1, 0x63);
    pic.master.write(CMD, 1, 0x62);
    expect(pic.hasPendingInterrupt()).toBe(false);
    pic.irqLine(4).setLevel(true); // edge, held high
    expect(pic.acknowledgeInterrupt()).toBe(0x24);
    pic.master.write(CMD, 1, 0x64);
    expect(pic.hasPendingInterrupt()).toBe(false); // IRQ 4 needs a new rising edge
  });

  it('ELCR keeps IRQ 0, 1, 2, 8 and 13 edge-triggered', () => {
    const { pic } = setup();
    pic.elcr.write(0, 1, 0xff);
    pic.elcr.write(1, 1, 0xff);
    expect(pic.elcr.read(0, 1)).toBe(0xf8);
    expect(pic.elcr.read(1, 1)).toBe(0xde);
  });

  it('OCW3 selects IRR or ISR on reads of the command port', () => {
    const { pic } = setup();
    edge(pic, 6);
    edge(pic, 7);
    pic.acknowledgeInterrupt();
    pic.master.write(CMD, 1, 0x0a);
    expect(pic.master.read(CMD, 1)).toBe(0x80);
    pic.master.write(CMD, 1, 0x0b);
    expect(pic.master.read(CMD, 1)).toBe(0x40);
    expect(pic.master.read(CMD, 1)).toBe(0x40); // the selection sticks
  });

  it('drives the INTR output on every change of the pending state', () => {
    const { pic, intr } = setup();
    expect(intr.level).toBe(false);
    edge(pic, 1);
    edge(pic, 3);
    expect(intr.level).toBe(true);
    expect(intr.rises).toBe(1);
    pic.acknowledgeInterrupt();
    expect(intr.level).toBe(false);
    pic.master.write(CMD, 1, 0x20);
    expect(intr.level).toBe(true);
    expect(intr.rises).toBe(2);
    pic.master.write(DATA, 1, 0x08); // masking the pending line drops INTR
    expect(intr.level).toBe(false);
  });

  it('in auto-EOI mode leaves nothing in service and delivers back-to-back slave requests', () => {
    const { pic } = setup(0x03);
    pic.irqLine(9).setLevel(true);
    pic.irqLine(8).setLevel(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x28);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x29);
    expect(pic.master.isr).toBe(0);
    expect(pic.slave.isr).toBe(0);
  });

  it('poll command returns the request as 0x80 | level and acknowledges it', () => {
    const { pic } = setup();
    edge(pic, 5);
    pic.master.write(CMD, 1, 0x0c);
    expect(pic.master.read(CMD, 1)).toBe(0x85);
    expect(pic.master.isr).toBe(0x20);
    pic.master.write(CMD, 1, 0x0c);
    expect(pic.master.read(DATA, 1)).toBe(0x00);
  });

  it('special mask mode lets lower priorities in while a masked level is in service', () => {
    const { pic } = setup();
    edge(pic, 3);
    expect(pic.acknowledgeInterrupt()).toBe(0x23);
    edge(pic, 5);
    expect(pic.hasPendingInterrupt()).toBe(false);
    pic.master.write(DATA, 1, 0x08);
    pic.master.write(CMD, 1, 0x68); // set special mask mode
    expect(pic.acknowledgeInterrupt()).toBe(0x25);
    pic.master.write(CMD, 1, 0x48); // reset special mask mode
    edge(pic, 6);
    expect(pic.hasPendingInterrupt()).toBe(false);
  });

  it('counts 8080 mode and special fully nested mode as unsupported', () => {
    const pic = new PicPair();
    pic.master.write(CMD, 1, 0x11);
    pic.master.write(DATA, 1, 0x08);
    pic.master.write(DATA, 1, 0x04);
    pic.master.write(DATA, 1, 0x10);
    expect(pic.counters.unsupported).toBe(2);
  });

  it('gives IRQ 2 a line that goes nowhere and rejects numbers past 15', () => {
    const { pic } = setup();
    edge(pic, 2);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(() => pic.irqLine(16)).toThrow(RangeError);
  });

  it('restores a saved state into a new pair, pending requests included', () => {
    const { pic } = setup();
    pic.elcr.write(1, 1, 0x08);
    edge(pic, 1);
    pic.acknowledgeInterrupt();
    edge(pic, 9);
    const state = JSON.parse(JSON.stringify(pic.save())) as unknown;
    const parsed = picPairStateSchema.parse(state);
    const intr = new RecordingIrqLine();
    const copy = new PicPair({ output: intr });
    copy.restore(parsed);
    expect(copy.save()).toEqual(pic.save());
    expect(intr.level).toBe(false); // IRQ 9 waits behind IR1 in service, as in the original
    copy.master.write(CMD, 1, 0x61);
    expect(intr.level).toBe(true);
    expect(copy.acknowledgeInterrupt()).toBe(0x29);
    expect(() => copy.restore({ ...parsed, version: 2 as 1 })).toThrow();
  });
});
