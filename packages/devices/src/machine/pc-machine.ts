/**
 * The PC machine: guest RAM laid out as on a PC, the port and MMIO buses, and the
 * legacy devices at their usual places. It is the same under every accelerator; only
 * the interrupt wiring differs:
 * - irqchip 'kernel': KVM emulates the 8259 pair, the IOAPIC and the 8254 PIT (and
 *   port 0x61) in the kernel; our devices' IRQ lines are connected to KVM_IRQ_LINE.
 * - irqchip 'user': our own 8259 pair and 8254 sit on the port bus, device IRQs go to
 *   our PIC, and the PIC's INTR pin wakes the vCPU through the accelerator.
 */
import { AcpiPmControl } from '../acpi-pm-control.js';
import { I8042 } from '../i8042.js';
import { IsaDebugExit } from '../isa-debug-exit.js';
import { PicPair } from '../pic-8259.js';
import { Pit8254 } from '../pit-8254.js';
import { PostCodePort } from '../post-code-port.js';
import { ResetControl } from '../reset-control.js';
import { RtcMc146818 } from '../rtc-mc146818.js';
import { Uart16550 } from '../uart-16550.js';
import {
  createMmioBus, createPortBus, GuestMemory,
  type AccessSize, type Clock, type InterruptSource, type IrqLine, type MachineBinding, type MachineEvent, type RamBacking,
} from '../platform/index.js';
import { pcRamRegions } from '../pc/memory-map.js';
import * as L from '../pc/layout.js';
import { IrqPin } from './irq-pin.js';

export type IrqchipMode = 'kernel' | 'user';

export interface PcMachineOptions {
  backing: RamBacking;
  clock: Clock;
  irqchip: IrqchipMode;
  /** Where COM1's transmitted bytes go; null discards them. */
  com1Output: ((bytes: Uint8Array) => void) | null;
  debugExit: { port: number; size: AccessSize } | null;
  onEvent: (event: MachineEvent) => void;
}

/** No interrupt is ever pending: what the vCPU sees of interrupts when KVM owns the irqchip. */
const NO_INTERRUPTS: InterruptSource = {
  hasPendingInterrupt: () => false,
  acknowledgeInterrupt: () => {
    throw new Error('no user-space interrupt controller in this configuration');
  },
};

export class PcMachine {
  readonly memory: GuestMemory;
  readonly pio = createPortBus();
  readonly mmio = createMmioBus();
  readonly binding: MachineBinding;

  readonly com1: Uart16550;
  readonly rtc: RtcMc146818;
  readonly i8042: I8042;
  readonly post = new PostCodePort();
  readonly debugExit: IsaDebugExit | null = null;
  /** Present only with the user-space irqchip. */
  readonly pic: PicPair | null = null;
  readonly pit: Pit8254 | null = null;

  /** The 16 ISA IRQ pins, connected by connectInterrupts(). */
  private readonly isaIrqs = Array.from({ length: 16 }, () => new IrqPin());
  /** The PIC's INTR output, towards the vCPU. */
  private readonly intrPin = new IrqPin();

  constructor(readonly options: PcMachineOptions) {
    const { backing, clock, onEvent } = options;
    this.memory = new GuestMemory(backing, pcRamRegions(backing.size));
    const reset = (reason: string) => onEvent({ kind: 'reset', reason });

    this.com1 = new Uart16550({ name: 'com1', irq: this.isaIrqs[L.IRQ_COM1], output: options.com1Output ?? (() => {}) });
    this.pio.register(L.PORT_COM1, 8, this.com1, [1]);

    this.rtc = new RtcMc146818({ clock, irq8: this.isaIrqs[L.IRQ_RTC] });
    this.rtc.setMemorySize(Math.min(backing.size, L.LOW_RAM_LIMIT), Math.max(0, backing.size - L.LOW_RAM_LIMIT));
    this.pio.register(L.PORT_RTC_INDEX, 2, this.rtc, [1]);

    this.i8042 = new I8042({ irqKeyboard: this.isaIrqs[L.IRQ_KEYBOARD], irqMouse: this.isaIrqs[L.IRQ_MOUSE], onReset: () => reset('i8042 reset command') });
    this.pio.register(L.PORT_I8042_DATA, 1, this.i8042.dataPort, [1]);
    this.pio.register(L.PORT_I8042_COMMAND, 1, this.i8042.commandPort, [1]);

    this.pio.register(L.PORT_POST, 1, this.post, [1]);
    this.pio.register(L.PORT_ACPI_PM1A_CNT, 2, new AcpiPmControl({ onPowerOff: () => onEvent({ kind: 'exit', status: 0, reason: 'ACPI power-off' }) }), [1, 2]);
    this.pio.register(L.PORT_RESET_CONTROL, 1, new ResetControl(reset), [1]);

    if (options.debugExit) {
      const { port, size } = options.debugExit;
      this.debugExit = new IsaDebugExit({ iosize: size, onExit: (status, value) => onEvent({ kind: 'exit', status, reason: `isa-debug-exit wrote 0x${value.toString(16)}` }) });
      this.pio.register(port, size, this.debugExit, [1, 2, 4]);
    }

    if (options.irqchip === 'user') {
      this.pic = new PicPair({ output: this.intrPin });
      this.pio.register(L.PORT_PIC_MASTER, 2, this.pic.master, [1]);
      this.pio.register(L.PORT_PIC_SLAVE, 2, this.pic.slave, [1]);
      this.pio.register(L.PORT_ELCR, 2, this.pic.elcr, [1]);
      for (let irq = 0; irq < 16; irq++) this.isaIrqs[irq].connect(this.pic.irqLine(irq));
      this.pit = new Pit8254({ clock, irq0: this.isaIrqs[L.IRQ_PIT] });
      this.pio.register(L.PORT_PIT, 4, this.pit, [1]);
      this.pio.register(L.PORT_SYSTEM_CONTROL_B, 1, this.pit.port61, [1]);
    }

    this.binding = {
      memory: this.memory,
      pio: this.pio,
      mmio: this.mmio,
      interrupts: this.pic ?? NO_INTERRUPTS,
      onEvent,
    };
  }

  /**
   * A machine reset (triple fault, 0xCF9, i8042 0xFE): the devices return to their
   * power-on state, except what a PC keeps across reset (CMOS contents, the time).
   */
  reset(): void {
    this.com1.reset();
    this.i8042.reset();
    this.rtc.reset();
    this.pic?.reset();
    this.pit?.reset();
  }

  /**
   * Connects device IRQs to the accelerator: to KVM's in-kernel irqchip when it has
   * one (`kernelIrqLines`), otherwise the PIC's INTR pin wakes the vCPU.
   */
  connectInterrupts(kernelIrqLines: ((gsi: number) => IrqLine) | null, notifyInterrupt: () => void): void {
    if (this.options.irqchip === 'kernel') {
      if (!kernelIrqLines) throw new Error('irqchip=kernel needs an accelerator with an in-kernel irqchip');
      for (let irq = 0; irq < 16; irq++) {
        if (irq !== L.IRQ_CASCADE) this.isaIrqs[irq].connect(kernelIrqLines(irq));
      }
    } else {
      this.intrPin.connect({ setLevel: (high) => high && notifyInterrupt() });
    }
  }
}
