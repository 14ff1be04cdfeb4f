/**
 * 16550A UART (National Semiconductor PC16550D datasheet), the PC's serial port.
 *
 * What Linux's 8250 driver relies on (its autoconfig, THRE test and interrupt handler),
 * cross-checked against QEMU's hw/char/serial.c:
 * - Transmit is instantaneous: a THR write goes straight to the byte sink, so THRE and
 *   TEMT always read as 1. The THRE interrupt is re-armed by every THR write, cleared by
 *   an IIR read that reports it, and raised again when IER.ETBEI goes from 0 to 1.
 * - RX: a FIFO of 16 bytes (1 byte, the RBR, with FIFOs off). Host input beyond that waits
 *   in an unbounded host-side queue and moves into the FIFO as the guest drains it, so
 *   pasted input is never lost and host input never causes an overrun (LSR.OE).
 * - Character timeout (IIR 0xC): the chip raises it when the FIFO holds fewer bytes than
 *   the trigger level and nothing arrived for four character times. Transmission here
 *   takes no time, so we raise it at once whenever the FIFO is below the trigger level
 *   but not empty; no timer is needed and the guest sees its data without delay.
 * - On the PC the UART's INTRPT pin reaches the ISA IRQ only through a buffer enabled by
 *   the OUT2 output, so the IRQ line is high only when MCR.OUT2 is set and an interrupt is
 *   pending. In loopback the chip forces its modem outputs inactive, which disables that
 *   buffer too: no IRQ in loopback, as on real hardware (QEMU does not gate at all).
 * - Loopback (MCR.LOOP): THR bytes are received, MSR mirrors MCR (DTR->DSR, RTS->CTS,
 *   OUT1->RI, OUT2->DCD) and host input stays queued until loopback ends. Outside
 *   loopback the modem inputs read CTS|DSR|DCD: a null-modem cable to an attentive host.
 * - A FIFO reset from the guest (FCR) discards what the hardware FIFO holds, as on the
 *   chip; bytes still in the host queue are kept.
 *
 * Register offsets and bit names are in uart-16550-registers.ts, the RX FIFO and host
 * queue storage in uart-16550-rx-buffer.ts; this file is the register behaviour.
 */
import { z } from 'zod';
import type { AccessSize, IoDevice, IrqLine, Persistable } from './platform/index.js';
import {
  UART_FIFO_SIZE, UART_LCR_DLAB, UART_RCVR_TRIGGER_LEVELS, UartFcr, UartIer, UartIir, UartLsr, UartMcr, UartMsr, UartReg,
} from './uart-16550-registers.js';
import { UartRxBuffer } from './uart-16550-rx-buffer.js';

// Register offsets and bit names live in their own file; callers keep importing them from here.
export {
  UART_FIFO_SIZE, UART_LCR_DLAB, UART_RCVR_TRIGGER_LEVELS, UART_REGISTER_COUNT, UartFcr, UartIer, UartIir, UartLsr,
  UartMcr, UartMsr, UartReg,
} from './uart-16550-registers.js';

/**
 * The four legacy PC serial ports, COM1..COM4: I/O base (8 ports each) and ISA IRQ, as
 * PC BIOSes assign them. COM3 and COM4 share IRQ 4 and 3 with COM1 and COM2.
 */
export const COM_PORTS = [
  { base: 0x3f8, irq: 4 },
  { base: 0x2f8, irq: 3 },
  { base: 0x3e8, irq: 4 },
  { base: 0x2e8, irq: 3 },
] as const;

/** Divisor latch at reset: undefined in the datasheet; 12 is 9600 baud with the PC's 1.8432 MHz clock (QEMU's choice). */
const RESET_DIVISOR = 12;

const byte = z.number().int().min(0).max(0xff);

export const uart16550StateSchema = z.object({
  version: z.literal(1),
  ier: z.number().int().min(0).max(0x0f),
  lcr: byte,
  mcr: z.number().int().min(0).max(0x1f),
  fcr: byte,
  scr: byte,
  divisor: z.number().int().min(0).max(0xffff),
  /** Last byte the guest read from RBR (what an empty RBR reads back). */
  rbr: byte,
  /** LSR error bits (OE) not yet read by the guest. */
  lineErrors: byte,
  thrInterrupt: z.boolean(),
  msrDelta: z.number().int().min(0).max(0x0f),
  rxFifo: z.array(byte).max(UART_FIFO_SIZE),
  /** Host input not yet in the FIFO. */
  hostQueue: z.array(byte),
});
export type Uart16550State = z.infer<typeof uart16550StateSchema>;

type UartRegisters = Omit<Uart16550State, 'version' | 'rxFifo' | 'hostQueue'>;

function resetRegisters(): UartRegisters {
  // PC16550D reset configuration; MSR bits 7:4 follow the modem inputs.
  return {
    ier: 0, lcr: 0, mcr: 0, fcr: 0, scr: 0, divisor: RESET_DIVISOR, rbr: 0,
    lineErrors: 0, thrInterrupt: false, msrDelta: 0,
  };
}

export interface Uart16550Options {
  /** Name in traces and the snapshot key, e.g. "com1"; default "uart-16550". */
  name?: string;
  irq: IrqLine;
  /**
   * Receives transmitted bytes. The array is reused for the next byte: copy it if you
   * keep it beyond the call.
   */
  output: (bytes: Uint8Array) => void;
}

export interface Uart16550Counters {
  /** Accesses at an offset outside the 8 registers. */
  badAccesses: number;
  /** Loopback bytes lost to a full RX FIFO (LSR.OE raised). */
  overruns: number;
}

export class Uart16550 implements IoDevice, Persistable<Uart16550State> {
  readonly name: string;
  readonly persistKey: string;
  readonly counters: Uart16550Counters = { badAccesses: 0, overruns: 0 };

  private readonly irq: IrqLine;
  private readonly output: (bytes: Uint8Array) => void;
  private readonly txByte = new Uint8Array(1);

  private r: UartRegisters = resetRegisters();

  // RX FIFO and the host queue behind it; the FIFO holds 16 bytes with FIFOs on, 1 (the RBR) with them off.
  private readonly rx = new UartRxBuffer();

  private irqLevel = false;

  constructor(options: Uart16550Options) {
    this.name = options.name ?? 'uart-16550';
    this.persistKey = this.name;
    this.irq = options.irq;
    this.output = options.output;
  }

  /** Power-on state of the chip. Host input still queued is kept. */
  reset(): void {
    this.r = resetRegisters();
    this.rx.clearFifo();
    this.refill();
    this.update();
  }

  /** Host input: appended to the RX FIFO, and beyond it to the host queue; never dropped. */
  receive(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.rx.receive(bytes, this.rxCapacity, !this.loopback);
    this.update();
  }

  /**
   * True when a byte given to receive() now would go straight into the RX FIFO. receive()
   * accepts bytes regardless; this lets a host apply back-pressure if it wants to.
   */
  canReceive(): boolean {
    return !this.loopback && this.rx.hostCount === 0 && this.rx.fifoCount < this.rxCapacity;
  }

  /** Host input not yet read by the guest (FIFO plus host queue). */
  get pendingInput(): number {
    return this.rx.fifoCount + this.rx.hostCount;
  }

  /** The programmed baud-rate divisor (DLM:DLL). */
  get divisor(): number {
    return this.r.divisor;
  }

  /** Current level of the IRQ output (after OUT2 gating). */
  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  read(offset: number, _size: AccessSize): number {
    switch (offset) {
      case UartReg.RBR_THR:
        return this.r.lcr & UART_LCR_DLAB ? this.r.divisor & 0xff : this.readRbr();
      case UartReg.IER:
        return this.r.lcr & UART_LCR_DLAB ? this.r.divisor >>> 8 : this.r.ier;
      case UartReg.IIR_FCR:
        return this.readIir();
      case UartReg.LCR:
        return this.r.lcr;
      case UartReg.MCR:
        return this.r.mcr;
      case UartReg.LSR:
        return this.readLsr();
      case UartReg.MSR:
        return this.readMsr();
      case UartReg.SCR:
        return this.r.scr;
      default:
        this.counters.badAccesses++;
        return 0xff;
    }
  }

  write(offset: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    switch (offset) {
      case UartReg.RBR_THR:
        if (this.r.lcr & UART_LCR_DLAB) this.r.divisor = (this.r.divisor & 0xff00) | value;
        else this.writeThr(value);
        return;
      case UartReg.IER:
        if (this.r.lcr & UART_LCR_DLAB) this.r.divisor = (this.r.divisor & 0x00ff) | (value << 8);
        else this.writeIer(value);
        return;
      case UartReg.IIR_FCR:
        this.writeFcr(value);
        return;
      case UartReg.LCR:
        this.r.lcr = value;
        return;
      case UartReg.MCR:
        this.writeMcr(value);
        return;
      case UartReg.LSR:
      case UartReg.MSR:
        // Read-only status (the datasheet reserves LSR writes for factory test).
        return;
      case UartReg.SCR:
        this.r.scr = value;
        return;
      default:
        this.counters.badAccesses++;
    }
  }

  save(): Uart16550State {
    return { version: 1, ...this.r, rxFifo: this.rx.fifoBytes(), hostQueue: this.rx.hostBytes() };
  }

  restore(state: Uart16550State): void {
    const { version: _version, rxFifo, hostQueue, ...registers } = uart16550StateSchema.parse(state);
    this.r = registers;
    this.rx.load(rxFifo, hostQueue, this.rxCapacity);
    // Drive the line to the restored level even if it equals the old one: the far end
    // (PIC or kernel irqchip) may have been restored separately.
    this.irqLevel = this.computeIrqLevel();
    this.irq.setLevel(this.irqLevel);
  }

  private get loopback(): boolean {
    return (this.r.mcr & UartMcr.LOOP) !== 0;
  }

  private get fifoEnabled(): boolean {
    return (this.r.fcr & UartFcr.FIFO_ENABLE) !== 0;
  }

  private get rxCapacity(): number {
    return this.fifoEnabled ? UART_FIFO_SIZE : 1;
  }

  private get triggerLevel(): number {
    return UART_RCVR_TRIGGER_LEVELS[(this.r.fcr & UartFcr.RCVR_TRIGGER) >>> 6];
  }

  /** Moves host input into the FIFO while there is room (never during loopback). */
  private refill(): void {
    if (!this.loopback) this.rx.refill(this.rxCapacity);
  }

  private readRbr(): number {
    if (this.rx.fifoCount > 0) {
      this.r.rbr = this.rx.shift();
      this.refill();
      this.update();
    }
    return this.r.rbr;
  }

  private writeThr(value: number): void {
    // Loading THR clears the THRE interrupt; the byte leaves at once and THR is empty
    // again, re-arming it. Updating in between gives an edge-triggered PIC a fresh edge.
    this.r.thrInterrupt = false;
    this.update();
    if (this.loopback) {
      this.loopbackReceive(value);
    } else {
      this.txByte[0] = value;
      this.output(this.txByte);
    }
    this.r.thrInterrupt = true;
    this.update();
  }

  private loopbackReceive(value: number): void {
    if (this.rx.fifoCount < this.rxCapacity) {
      this.rx.push(value);
    } else if (!this.fifoEnabled) {
      // Without FIFOs a new character overwrites the unread RBR.
      this.rx.overwriteOldest(value);
      this.r.lineErrors |= UartLsr.OE;
      this.counters.overruns++;
    } else {
      // A full FIFO keeps its contents; the character in the shift register is lost.
      this.r.lineErrors |= UartLsr.OE;
      this.counters.overruns++;
    }
  }

  private writeIer(value: number): void {
    const changed = (this.r.ier ^ value) & 0x0f;
    this.r.ier = value & 0x0f;
    // Enabling ETBEI while THR is empty (always, here) raises THRE again: Linux's THRE
    // probe and its transmit start both depend on this edge.
    if (changed & UartIer.ETBEI) this.r.thrInterrupt = (this.r.ier & UartIer.ETBEI) !== 0;
    this.update();
  }

  private writeFcr(value: number): void {
    // Toggling FIFO enable resets both FIFOs (the datasheet requires it, QEMU does it).
    if ((value ^ this.r.fcr) & UartFcr.FIFO_ENABLE) value |= UartFcr.RCVR_FIFO_RESET | UartFcr.XMIT_FIFO_RESET;
    if (value & UartFcr.RCVR_FIFO_RESET) this.rx.clearFifo();
    // The transmit FIFO is always empty; resetting it leaves THR empty, as QEMU reports.
    if (value & UartFcr.XMIT_FIFO_RESET) this.r.thrInterrupt = true;
    this.r.fcr = value & (UartFcr.FIFO_ENABLE | UartFcr.DMA_MODE | UartFcr.RCVR_TRIGGER);
    this.refill();
    this.update();
  }

  private writeMcr(value: number): void {
    const before = this.modemLines();
    this.r.mcr = value & 0x1f;
    const after = this.modemLines();
    const changed = (before ^ after) >>> 4;
    let delta = changed & (UartMsr.DCTS | UartMsr.DDSR | UartMsr.DDCD);
    // TERI reports RI going from on to off only.
    if (before & UartMsr.RI && !(after & UartMsr.RI)) delta |= UartMsr.TERI;
    this.r.msrDelta |= delta;
    this.refill();
    this.update();
  }

  /** Modem input lines as MSR bits 7:4. */
  private modemLines(): number {
    const mcr = this.r.mcr;
    if (!(mcr & UartMcr.LOOP)) return UartMsr.CTS | UartMsr.DSR | UartMsr.DCD;
    return (
      (mcr & UartMcr.DTR ? UartMsr.DSR : 0) |
      (mcr & UartMcr.RTS ? UartMsr.CTS : 0) |
      (mcr & UartMcr.OUT1 ? UartMsr.RI : 0) |
      (mcr & UartMcr.OUT2 ? UartMsr.DCD : 0)
    );
  }

  private readIir(): number {
    const id = this.pendingInterrupt();
    if (id === UartIir.THRE) {
      this.r.thrInterrupt = false;
      this.update();
    }
    return id | (this.fifoEnabled ? UartIir.FIFOS_ENABLED : 0);
  }

  private readLsr(): number {
    const value = (this.rx.fifoCount > 0 ? UartLsr.DR : 0) | this.r.lineErrors | UartLsr.THRE | UartLsr.TEMT;
    if (this.r.lineErrors) {
      this.r.lineErrors = 0;
      this.update();
    }
    return value;
  }

  private readMsr(): number {
    const value = this.modemLines() | this.r.msrDelta;
    if (this.r.msrDelta) {
      this.r.msrDelta = 0;
      this.update();
    }
    return value;
  }

  /** The highest-priority pending interrupt as IIR bits 3:0 (PC16550D interrupt control functions). */
  private pendingInterrupt(): number {
    const ier = this.r.ier;
    if (ier & UartIer.ELSI && this.r.lineErrors) return UartIir.RX_LINE_STATUS;
    if (ier & UartIer.ERBFI && this.rx.fifoCount > 0) {
      if (!this.fifoEnabled || this.rx.fifoCount >= this.triggerLevel) return UartIir.RX_DATA;
      return UartIir.CHAR_TIMEOUT;
    }
    if (ier & UartIer.ETBEI && this.r.thrInterrupt) return UartIir.THRE;
    if (ier & UartIer.EDSSI && this.r.msrDelta) return UartIir.MODEM_STATUS;
    return UartIir.NO_INT;
  }

  private computeIrqLevel(): boolean {
    return (this.r.mcr & (UartMcr.OUT2 | UartMcr.LOOP)) === UartMcr.OUT2 && this.pendingInterrupt() !== UartIir.NO_INT;
  }

  private update(): void {
    const level = this.computeIrqLevel();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.setLevel(level);
    }
  }
}
