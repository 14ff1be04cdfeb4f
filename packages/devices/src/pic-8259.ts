/**
 * Intel 8259A programmable interrupt controller pair, as cascaded on the PC/AT:
 * master at 0x20/0x21, slave at 0xA0/0xA1 on master IR2, plus the PIIX/ICH edge/level
 * control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Facts from the Intel 8259A datasheet (231468), QEMU hw/intc/i8259.c and Linux
 * arch/x86/kernel/i8259.c:
 * - ICW1 (A0=0, D4=1) starts initialization: IMR, ISR and edge requests are cleared,
 *   IR7 becomes lowest priority, status read selects IRR, special mask mode ends, and
 *   an edge input must make a new low-to-high transition to request again.
 *   ICW2 (vector base, low 3 bits ignored), ICW3 (cascade map, unless SNGL) and ICW4
 *   (if IC4) follow on A0=1.
 * - OCW2 (D4:3 = 00): non-specific / specific EOI, rotate on EOI, rotate in auto-EOI
 *   mode, set priority. OCW3 (D4:3 = 01): read IRR/ISR, poll, special mask mode.
 * - INTA: the highest priority unmasked request whose priority beats everything in
 *   service moves IRR -> ISR (not in auto-EOI); if the request vanished before INTA the
 *   chip answers IR7 (a spurious IRQ 7, or IRQ 15 from the slave with master IR2 left
 *   in service, which is why Linux EOIs the master on a spurious IRQ 15).
 * - ELCR: a 1 makes that IRQ level-sensitive (IRR follows the line); IRQ 0, 1, 2, 8 and
 *   13 are always edge (write masks 0xF8 / 0xDE, as on PIIX).
 *
 * Deviations, on purpose:
 * - Special fully nested mode (ICW4 SFNM) is accepted but not implemented (a slave
 *   request cannot preempt a slave interrupt in service); Linux never sets it. It is
 *   counted in `counters.unsupported`, as is 8080/8085 mode (ICW4 uPM = 0).
 * - The cascade is wired to IR2 whatever ICW3 says. The slave INT output is held low
 *   during INTA (as on the bus, and as Bochs models it), so a slave still requesting
 *   afterwards (auto-EOI) gives master IR2 a fresh edge instead of being lost.
 * - Master IR2 is the cascade, driven only by the slave. On the AT bus the IRQ2 pin is
 *   routed to IRQ 9, so a device wanting "IRQ 2" uses `irqLine(9)`; `irqLine(2)` is a
 *   line that goes nowhere (a second driver on the IRQ 9 input would fight the first).
 */
import { z } from 'zod';
import type { AccessSize, InterruptSource, IoDevice, IrqLine, Persistable } from './platform/index.js';

export const PIC_MASTER_BASE = 0x20;
export const PIC_SLAVE_BASE = 0xa0;
export const PIC_ELCR_BASE = 0x4d0;
/** Master input the slave's INT output drives. */
export const PIC_CASCADE_IR = 2;

const ICW1_IC4 = 0x01;
const ICW1_SNGL = 0x02;
const ICW1_LTIM = 0x08;
const ICW1_INIT = 0x10;
const ICW4_UPM = 0x01;
const ICW4_AEOI = 0x02;
const ICW4_SFNM = 0x10;
const OCW3_SELECT = 0x08;
const OCW3_RIS = 0x01;
const OCW3_RR = 0x02;
const OCW3_P = 0x04;
const OCW3_SMM = 0x20;
const OCW3_ESMM = 0x40;
/** ELCR bits that may be set: IRQ 0-2 and 8, 13 are edge-only on the PC. */
const ELCR_MASK_MASTER = 0xf8;
const ELCR_MASK_SLAVE = 0xde;

/** Which initialization command word the chip expects next on A0=1 (0 = none, normal). */
type InitStep = 0 | 2 | 3 | 4;

const chipStateSchema = z.object({
  irr: z.number().int().min(0).max(0xff),
  imr: z.number().int().min(0).max(0xff),
  isr: z.number().int().min(0).max(0xff),
  /** Current level of each IR input pin (edge detection). */
  pins: z.number().int().min(0).max(0xff),
  elcr: z.number().int().min(0).max(0xff),
  /** The IR with the highest priority (IR7 lowest after init means 0). */
  highestPriority: z.number().int().min(0).max(7),
  vectorBase: z.number().int().min(0).max(0xf8),
  initStep: z.union([z.literal(0), z.literal(2), z.literal(3), z.literal(4)]),
  icw4Needed: z.boolean(),
  single: z.boolean(),
  levelTriggered: z.boolean(),
  icw3: z.number().int().min(0).max(0xff),
  autoEoi: z.boolean(),
  rotateOnAutoEoi: z.boolean(),
  fullyNested: z.boolean(),
  readIsr: z.boolean(),
  poll: z.boolean(),
  specialMask: z.boolean(),
});
export type Pic8259State = z.infer<typeof chipStateSchema>;

export const picPairStateSchema = z.object({
  version: z.literal(1),
  master: chipStateSchema,
  slave: chipStateSchema,
});
export type PicPairState = z.infer<typeof picPairStateSchema>;

export interface PicCounters {
  /** Modes the model does not implement (8080 mode, special fully nested mode). */
  unsupported: number;
}

/** Index (0-7) of the highest-priority set bit of `mask`, relative to `highest`; 8 if none. */
function priorityOf(mask: number, highest: number): number {
  if (mask === 0) return 8;
  let p = 0;
  while ((mask & (1 << ((p + highest) & 7))) === 0) p++;
  return p;
}

/** One 8259A. Register access through `read`/`write` (offset 0 = A0 low, 1 = A0 high). */
export class Pic8259 implements IoDevice {
  private s: Pic8259State;

  constructor(
    readonly name: string,
    private readonly elcrMask: number,
    private readonly counters: PicCounters,
    /** Called after anything that may change the INT output. */
    private readonly changed: () => void,
  ) {
    this.s = Pic8259.resetState();
  }

  private static resetState(): Pic8259State {
    return {
      irr: 0, imr: 0, isr: 0, pins: 0, elcr: 0, highestPriority: 0, vectorBase: 0, initStep: 0,
      icw4Needed: false, single: false, levelTriggered: false, icw3: 0, autoEoi: false,
      rotateOnAutoEoi: false, fullyNested: false, readIsr: false, poll: false, specialMask: false,
    };
  }

  get vectorBase(): number {
    return this.s.vectorBase;
  }
  get irr(): number {
    return this.s.irr;
  }
  get isr(): number {
    return this.s.isr;
  }
  get imr(): number {
    return this.s.imr;
  }
  get elcr(): number {
    return this.s.elcr;
  }

  private levelMask(): number {
    return this.s.levelTriggered ? 0xff : this.s.elcr;
  }

  /** Drives input pin `ir`: level inputs follow the line, edge inputs latch a rising edge. */
  setPin(ir: number, high: boolean): void {
    const bit = 1 << ir;
    const wasHigh = (this.s.pins & bit) !== 0;
    if (high) this.s.pins |= bit;
    else this.s.pins &= ~bit;
    if (this.levelMask() & bit) {
      if (high) this.s.irr |= bit;
      else this.s.irr &= ~bit;
    } else if (high && !wasHigh) {
      this.s.irr |= bit;
    }
    this.changed();
  }

  /** The IR the chip would deliver now, or -1: the state of its INT output. */
  request(): number {
    const s = this.s;
    const pending = s.irr & ~s.imr & 0xff;
    if (pending === 0) return -1;
    if (s.specialMask) {
      // Special mask mode: every unmasked level not itself in service may interrupt.
      const p = priorityOf(pending & ~s.isr, s.highestPriority);
      return p === 8 ? -1 : (p + s.highestPriority) & 7;
    }
    const p = priorityOf(pending, s.highestPriority);
    return p < priorityOf(s.isr, s.highestPriority) ? (p + s.highestPriority) & 7 : -1;
  }

  /** The INTA response for `ir`: into service (unless auto-EOI), edge request consumed. */
  acknowledge(ir: number): void {
    const s = this.s;
    const bit = 1 << ir;
    if (s.autoEoi) {
      if (s.rotateOnAutoEoi) s.highestPriority = (ir + 1) & 7;
    } else {
      s.isr |= bit;
    }
    if ((this.levelMask() & bit) === 0) s.irr &= ~bit;
    this.changed();
  }

  read(offset: number, _size: AccessSize): number {
    const s = this.s;
    if (s.poll) {
      // Poll command: the next read is an INTA in disguise (datasheet "The Poll Command").
      s.poll = false;
      const ir = this.request();
      if (ir < 0) return 0;
      this.acknowledge(ir);
      return 0x80 | ir;
    }
    if ((offset & 1) === 0) return s.readIsr ? s.isr : s.irr;
    return s.imr;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    const s = this.s;
    value &= 0xff;
    if ((offset & 1) === 0) {
      if (value & ICW1_INIT) this.icw1(value);
      else if (value & OCW3_SELECT) this.ocw3(value);
      else this.ocw2(value);
      return;
    }
    switch (s.initStep) {
      case 0:
        s.imr = value;
        break;
      case 2:
        s.vectorBase = value & 0xf8;
        s.initStep = !s.single ? 3 : s.icw4Needed ? 4 : 0;
        break;
      case 3:
        s.icw3 = value;
        s.initStep = s.icw4Needed ? 4 : 0;
        break;
      case 4:
        if ((value & ICW4_UPM) === 0) this.counters.unsupported++;
        if (value & ICW4_SFNM) this.counters.unsupported++;
        s.autoEoi = (value & ICW4_AEOI) !== 0;
        s.fullyNested = (value & ICW4_SFNM) !== 0;
        s.initStep = 0;
        break;
    }
    this.changed();
  }

  private icw1(value: number): void {
    const s = this.s;
    const keep = { pins: s.pins, elcr: s.elcr };
    this.s = { ...Pic8259.resetState(), ...keep };
    this.s.levelTriggered = (value & ICW1_LTIM) !== 0;
    this.s.single = (value & ICW1_SNGL) !== 0;
    this.s.icw4Needed = (value & ICW1_IC4) !== 0;
    this.s.initStep = 2;
    // Level inputs that are high still request; edge requests are forgotten.
    this.s.irr = this.s.pins & this.levelMask();
    this.changed();
  }

  private ocw2(value: number): void {
    const s = this.s;
    const level = value & 7;
    switch (value >> 5) {
      case 0: // rotate in auto-EOI mode (clear)
      case 4: // rotate in auto-EOI mode (set)
        s.rotateOnAutoEoi = value >> 7 === 1;
        return;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = priorityOf(s.isr, s.highestPriority);
        if (p === 8) return;
        const ir = (p + s.highestPriority) & 7;
        s.isr &= ~(1 << ir);
        if (value >> 5 === 5) s.highestPriority = (ir + 1) & 7;
        break;
      }
      case 3: // specific EOI
        s.isr &= ~(1 << level);
        break;
      case 6: // set priority: `level` becomes the lowest
        s.highestPriority = (level + 1) & 7;
        break;
      case 7: // rotate on specific EOI
        s.isr &= ~(1 << level);
        s.highestPriority = (level + 1) & 7;
        break;
      default: // 2: no operation
        return;
    }
    this.changed();
  }

  private ocw3(value: number): void {
    const s = this.s;
    if (value & OCW3_P) s.poll = true;
    if (value & OCW3_RR) s.readIsr = (value & OCW3_RIS) !== 0;
    if (value & OCW3_ESMM) s.specialMask = (value & OCW3_SMM) !== 0;
    this.changed();
  }

  writeElcr(value: number): void {
    this.s.elcr = value & this.elcrMask;
    // A line that just became level-sensitive requests exactly while it is high.
    const level = this.levelMask();
    this.s.irr = (this.s.irr & ~level) | (this.s.pins & level);
    this.changed();
  }

  /** Power-on / hardware reset: ELCR to all-edge, chip uninitialized. */
  reset(): void {
    this.s = { ...Pic8259.resetState(), pins: this.s.pins };
    this.changed();
  }

  save(): Pic8259State {
    return { ...this.s };
  }

  restore(state: Pic8259State): void {
    this.s = { ...state };
  }
}

export interface PicPairOptions {
  /** The INTR pin to the CPU: high while the pair has an interrupt to deliver. */
  output?: IrqLine;
  persistKey?: string;
}

/**
 * The master/slave pair as the CPU and ISA devices see it: 16 IRQ inputs, one INTR
 * output and the INTA cycle.
 */
export class PicPair implements InterruptSource, Persistable<PicPairState> {
  readonly persistKey: string;
  readonly counters: PicCounters = { unsupported: 0 };
  readonly master: Pic8259;
  readonly slave: Pic8259;
  /** ELCR1 (IRQ 0-7) at offset 0, ELCR2 (IRQ 8-15) at offset 1. */
  readonly elcr: IoDevice;
  private readonly output: IrqLine | null;
  private intr = false;
  private inAck = false;
  private readonly lines: IrqLine[] = [];

  constructor(options: PicPairOptions = {}) {
    this.persistKey = options.persistKey ?? 'pic-8259';
    this.output = options.output ?? null;
    this.master = new Pic8259('pic-8259-master', ELCR_MASK_MASTER, this.counters, () => this.update());
    this.slave = new Pic8259('pic-8259-slave', ELCR_MASK_SLAVE, this.counters, () => this.slaveChanged());
    this.elcr = {
      name: 'pic-elcr',
      read: (offset) => ((offset & 1) === 0 ? this.master.elcr : this.slave.elcr),
      write: (offset, _size, value) => ((offset & 1) === 0 ? this.master : this.slave).writeElcr(value),
    };
    for (let irq = 0; irq < 16; irq++) {
      const chip = irq < 8 ? this.master : this.slave;
      const ir = irq & 7;
      this.lines.push(irq === PIC_CASCADE_IR ? { setLevel() {} } : { setLevel: (high) => chip.setPin(ir, high) });
    }
  }

  /** The input for ISA IRQ `irq` (0-15); IRQ 2 (the cascade) goes nowhere. */
  irqLine(irq: number): IrqLine {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new RangeError(`no PIC input for IRQ ${irq}`);
    return this.lines[irq];
  }

  hasPendingInterrupt(): boolean {
    return this.intr;
  }

  acknowledgeInterrupt(): number {
    this.inAck = true;
    let vector: number;
    const ir = this.master.request();
    if (ir < 0) {
      vector = this.master.vectorBase + 7;
    } else if (ir === PIC_CASCADE_IR) {
      this.master.acknowledge(ir);
      const slaveIr = this.slave.request();
      if (slaveIr < 0) {
        vector = this.slave.vectorBase + 7;
      } else {
        this.slave.acknowledge(slaveIr);
        vector = this.slave.vectorBase + slaveIr;
      }
      // The slave's INT was low during INTA; a request it still has is a new edge.
      this.master.setPin(PIC_CASCADE_IR, false);
    } else {
      this.master.acknowledge(ir);
      vector = this.master.vectorBase + ir;
    }
    this.inAck = false;
    this.slaveChanged();
    return vector;
  }

  /** Hardware reset of both chips (ELCR back to all-edge). */
  reset(): void {
    this.master.reset();
    this.slave.reset();
  }

  save(): PicPairState {
    return { version: 1, master: this.master.save(), slave: this.slave.save() };
  }

  restore(state: PicPairState): void {
    if (state.version !== 1) throw new Error(`${this.persistKey}: unsupported state version ${String(state.version)}`);
    const parsed = picPairStateSchema.parse(state);
    this.master.restore(parsed.master);
    this.slave.restore(parsed.slave);
    this.update();
  }

  private slaveChanged(): void {
    if (this.inAck) return;
    this.master.setPin(PIC_CASCADE_IR, this.slave.request() >= 0);
  }

  private update(): void {
    if (this.inAck) return;
    const intr = this.master.request() >= 0;
    if (intr === this.intr) return;
    this.intr = intr;
    this.output?.setLevel(intr);
  }
}
