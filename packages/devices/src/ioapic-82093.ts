/**
 * The I/O APIC (Intel 82093AA datasheet; the version 0x20 variant QEMU and KVM model, which adds
 * the EOI register): 24 interrupt input pins, each with a 64-bit redirection entry that turns an
 * edge or a level on the pin into an interrupt message for the local APICs.
 *
 * Guest interface, memory-mapped at 0xFEC00000: IOREGSEL (offset 0x00) selects a register,
 * IOWIN (0x10) reads or writes it, EOI (0x40) ends a level-triggered interrupt by vector.
 * Registers: 0x00 ID, 0x01 version (max redirection entry in bits 23:16), 0x02 arbitration ID,
 * 0x10 + 2n / 0x11 + 2n low / high dwords of redirection entry n.
 *
 * Level-triggered pins use Remote IRR: set when a message is sent, cleared by the local APIC's
 * EOI for that vector (or the EOI register); a pin still asserted then sends again. Edge pins
 * send on each rising edge while unmasked; an edge on a masked pin is lost, as on the chip.
 * The pin level given to setPin() means "asserted": active-low PCI lines are asserted by the
 * machine's wiring, so the polarity bit is stored for the guest but not applied twice.
 */
import { z } from 'zod';
import type { AccessSize, IoDevice, Persistable } from './platform/index.js';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
export const IOAPIC_VERSION = 0x20;

export const IOREGSEL = 0x00;
export const IOWIN = 0x10;
export const IOAPIC_EOI = 0x40;

export const IOAPICID = 0x00;
export const IOAPICVER = 0x01;
export const IOAPICARB = 0x02;
export const IOREDTBL = 0x10;

/** Redirection entry bits (low dword). */
export const RTE_VECTOR = 0xff;
export const RTE_DELIVERY_MODE_SHIFT = 8;
export const RTE_DEST_LOGICAL = 1 << 11;
export const RTE_DELIVERY_STATUS = 1 << 12;
export const RTE_POLARITY_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14;
export const RTE_TRIGGER_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Bits the guest may write (delivery status and remote IRR are read-only). */
const RTE_WRITABLE_LOW = 0x1afff;

export type IoApicDeliveryMode = 'fixed' | 'lowest-priority' | 'smi' | 'nmi' | 'init' | 'extint';
const DELIVERY_MODES: readonly (IoApicDeliveryMode | null)[] = ['fixed', 'lowest-priority', 'smi', null, 'nmi', 'init', null, 'extint'];

/** One interrupt message on the APIC bus. */
export interface IoApicMessage {
  vector: number;
  deliveryMode: IoApicDeliveryMode;
  destinationMode: 'physical' | 'logical';
  /** Bits 63:56 of the redirection entry. */
  destination: number;
  trigger: 'edge' | 'level';
}

export interface IoApicOptions {
  /** Sends a message to the local APIC(s) the destination selects. */
  deliver: (message: IoApicMessage) => void;
  id?: number;
}

export interface IoApicCounters {
  /** Messages sent to the local APICs. */
  delivered: number;
  /** Edges seen on masked pins (lost, as on the chip). */
  maskedEdges: number;
  /** Entries with a reserved delivery mode that would have fired. */
  badDeliveryMode: number;
}

export const ioApicStateSchema = z.object({
  version: z.literal(1),
  id: z.number().int().min(0).max(15),
  select: z.number().int().min(0).max(0xff),
  entriesLow: z.array(z.number().int().min(0).max(0xffffffff)).length(IOAPIC_PINS),
  entriesHigh: z.array(z.number().int().min(0).max(0xffffffff)).length(IOAPIC_PINS),
  pinLevels: z.array(z.boolean()).length(IOAPIC_PINS),
});
export type IoApicState = z.infer<typeof ioApicStateSchema>;

export class IoApic implements IoDevice, Persistable<IoApicState> {
  readonly name = 'ioapic-82093';
  readonly persistKey = 'ioapic';
  readonly counters: IoApicCounters = { delivered: 0, maskedEdges: 0, badDeliveryMode: 0 };
  private id: number;
  private select = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  private readonly levels = new Array<boolean>(IOAPIC_PINS).fill(false);

  constructor(private readonly options: IoApicOptions) {
    this.id = options.id ?? 0;
    this.reset();
  }

  /** Power-on state: every entry masked, edge, vector 0. */
  reset(): void {
    this.select = 0;
    this.low.fill(RTE_MASKED);
    this.high.fill(0);
    this.id = this.options.id ?? 0;
  }

  /** Drives input `pin`: true = asserted. */
  setPin(pin: number, asserted: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const was = this.levels[pin];
    this.levels[pin] = asserted;
    const low = this.low[pin];
    if (low & RTE_TRIGGER_LEVEL) {
      if (asserted) this.service(pin);
    } else if (asserted && !was) {
      if (low & RTE_MASKED) this.counters.maskedEdges++;
      else this.send(pin);
    }
  }

  /**
   * End of interrupt for `vector`, broadcast by a local APIC for level-triggered interrupts
   * (or written to the EOI register): clears Remote IRR of matching entries and re-sends
   * those whose pin is still asserted.
   */
  endOfInterrupt(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const low = this.low[pin];
      if ((low & RTE_VECTOR) !== (vector & 0xff) || !(low & RTE_REMOTE_IRR)) continue;
      this.low[pin] = low & ~RTE_REMOTE_IRR;
      if (this.levels[pin]) this.service(pin);
    }
  }

  read(offset: number, size: AccessSize): number {
    if (offset === IOREGSEL) return this.select;
    if (offset === IOWIN && size === 4) return this.readRegister(this.select);
    return 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset === IOREGSEL) this.select = value & 0xff;
    else if (offset === IOWIN && size === 4) this.writeRegister(this.select, value >>> 0);
    else if (offset === IOAPIC_EOI) this.endOfInterrupt(value & 0xff);
  }

  save(): IoApicState {
    return {
      version: 1,
      id: this.id,
      select: this.select,
      entriesLow: Array.from(this.low),
      entriesHigh: Array.from(this.high),
      pinLevels: [...this.levels],
    };
  }

  restore(state: IoApicState): void {
    const s = ioApicStateSchema.parse(state);
    this.id = s.id;
    this.select = s.select;
    this.low.set(s.entriesLow);
    this.high.set(s.entriesHigh);
    s.pinLevels.forEach((level, i) => (this.levels[i] = level));
  }

  private readRegister(index: number): number {
    if (index === IOAPICID || index === IOAPICARB) return (this.id & 0xf) << 24;
    if (index === IOAPICVER) return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    if (index >= IOREDTBL && index < IOREDTBL + 2 * IOAPIC_PINS) {
      const pin = (index - IOREDTBL) >> 1;
      return index & 1 ? this.high[pin] : this.low[pin];
    }
    return 0;
  }

  private writeRegister(index: number, value: number): void {
    if (index === IOAPICID) {
      this.id = (value >>> 24) & 0xf;
      return;
    }
    if (index < IOREDTBL || index >= IOREDTBL + 2 * IOAPIC_PINS) return;
    const pin = (index - IOREDTBL) >> 1;
    if (index & 1) {
      this.high[pin] = value & 0xff000000;
      return;
    }
    const kept = this.low[pin] & RTE_REMOTE_IRR;
    // Switching a pin to edge mode drops a stale Remote IRR (it only has meaning for level).
    this.low[pin] = ((value & RTE_WRITABLE_LOW) | (value & RTE_TRIGGER_LEVEL ? kept : 0)) >>> 0;
    // Unmasking an asserted level-triggered pin delivers it now.
    if (this.levels[pin] && value & RTE_TRIGGER_LEVEL) this.service(pin);
  }

  /** A level-triggered pin is asserted: send unless masked or already waiting for EOI. */
  private service(pin: number): void {
    const low = this.low[pin];
    if (low & (RTE_MASKED | RTE_REMOTE_IRR)) return;
    if (this.send(pin)) this.low[pin] = low | RTE_REMOTE_IRR;
  }

  /** Sends pin's message; false when its delivery mode is reserved (nothing is sent). */
  private send(pin: number): boolean {
    const low = this.low[pin];
    const mode = DELIVERY_MODES[(low >>> RTE_DELIVERY_MODE_SHIFT) & 7];
    if (mode === null) {
      this.counters.badDeliveryMode++;
      return false;
    }
    this.counters.delivered++;
    this.options.deliver({
      vector: low & RTE_VECTOR,
      deliveryMode: mode,
      destinationMode: low & RTE_DEST_LOGICAL ? 'logical' : 'physical',
      destination: this.high[pin] >>> 24,
      trigger: low & RTE_TRIGGER_LEVEL ? 'level' : 'edge',
    });
    return true;
  }
}
