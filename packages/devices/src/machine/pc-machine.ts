/**
 * The PC machine: guest RAM laid out as on a PC, the port and MMIO buses, and the
 * legacy devices at their usual places. It is the same under every accelerator; only
 * the interrupt wiring differs:
 * - irqchip 'kernel': KVM emulates the 8259 pair, the IOAPIC and the 8254 PIT (and
 *   port 0x61) in the kernel; our devices' IRQ lines are connected to KVM_IRQ_LINE.
 * - irqchip 'user': our own 8259 pair and 8254 sit on the port bus, device IRQs go to
 *   our PIC, and the PIC's INTR pin wakes the vCPU through the accelerator.
 * - irqchip 'user' with `localApic`: a local APIC (local-apic.ts) at IA32_APIC_BASE
 *   (0xFEE00000) sits between the PIC and the CPU, as on a PC in virtual-wire mode: the
 *   PIC's INTR drives LINT0 (ExtINT at reset, as QEMU sets up the BSP), LINT1 is the NMI
 *   input, and the APIC's own sources (timer, self-IPIs) are offered to the CPU first.
 *   One CPU: an IPI reaches this APIC when it is addressed to it, and nowhere otherwise.
 *   An I/O APIC (0xFEC00000) takes every ISA line beside the PIC, IRQ 0 on pin 2
 *   (pc-interrupt-routing.ts), and ACPI tables at 0xE0000 describe it (pc-platform-acpi.ts):
 *   Linux moves from the PIC to the I/O APIC itself.
 * The ACPI PM1a event block (0x600), control (0x604, power-off) and PM timer (0x608) are
 * there under every irqchip; the SCI is ISA IRQ 9.
 */
import { AcpiPmControl } from '../acpi-pm-control.js';
import { AcpiPmEvents } from '../acpi-pm-events.js';
import { AcpiPmTimer } from '../acpi-pm-timer.js';
import { IoApic } from '../ioapic-82093.js';
import { I8042 } from '../i8042.js';
import { IsaDebugExit } from '../isa-debug-exit.js';
import { LocalApic, type ApicIpi } from '../local-apic.js';
import { PicPair } from '../pic-8259.js';
import { Pit8254 } from '../pit-8254.js';
import { PostCodePort } from '../post-code-port.js';
import {
  PcTestdev, PC_TESTDEV_IOMEM_BASE, PC_TESTDEV_IOMEM_SIZE, PC_TESTDEV_PORT_COUNT, PC_TESTDEV_PORT_FLUSH,
  PC_TESTDEV_IRQ_LINES, PC_TESTDEV_PORT_IRQ, PC_TESTDEV_PORT_SCRATCH, PC_TESTDEV_PORT_SCRATCH_BYTES,
} from '../pc-testdev.js';
import { ResetControl } from '../reset-control.js';
import { RtcMc146818 } from '../rtc-mc146818.js';
import { Uart16550 } from '../uart-16550.js';
import {
  createMmioBus, createPortBus, GuestMemory,
  type AccessSize, type Clock, type InterruptSource, type IrqLine, type MachineBinding, type MachineEvent, type RamBacking,
} from '../platform/index.js';
import { BiosRom, biosRomLayout, ramRegionsWithoutBios } from '../pc/bios-rom.js';
import { pcRamRegions } from '../pc/memory-map.js';
import * as L from '../pc/layout.js';
import { programBiosInterruptHardware, writeBiosInterruptTable } from './bios-handoff.js';
import { PciHost, PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_DATA_PORT } from '../pci/pci-host.js';
import { PciTestdev } from '../pci/pci-testdev.js';
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../pci/pci-function.js';
import { IrqPin } from './irq-pin.js';
import { deliverIoApicMessage, IrqFanout, isaIrqToGsi, type IoApicRouteCounters } from './pc-interrupt-routing.js';
import { PC_IOAPIC_ID, writePcAcpiTables } from './pc-platform-acpi.js';

export type IrqchipMode = 'kernel' | 'user';

export interface PcMachineOptions {
  backing: RamBacking;
  clock: Clock;
  irqchip: IrqchipMode;
  /** Where COM1's transmitted bytes go; null discards them. */
  com1Output: ((bytes: Uint8Array) => void) | null;
  debugExit: { port: number; size: AccessSize } | null;
  onEvent: (event: MachineEvent) => void;
  /**
   * A firmware image to run from the reset vector, mapped read-only below 1 MiB and below
   * 4 GiB (pc/bios-rom.ts); its low window is then not RAM. Absent or null: no ROM.
   */
  bios?: Uint8Array | null;
  /** More ports the POST code device answers on besides 0x80 (test386.asm uses 0x190). */
  extraPostPorts?: readonly number[];
  /** Give the CPU a local APIC (irqchip 'user' only; the kernel irqchip has its own). Default false. */
  localApic?: boolean;
  /** Add QEMU's pc-testdev (pc-testdev.ts), as `-device pc-testdev` does; for kvm-unit-tests. Default false. */
  pcTestdev?: boolean;
  /**
   * Add a PCI bus (pci/pci-host.ts: an i440FX host bridge at 00:00.0, configuration mechanism #1)
   * with QEMU's pci-testdev at 00:02.0, its BARs placed as firmware would (BAR0 at 0xC0000000,
   * BAR1 at port 0xC000). Default false: without it the machine has no PCI bus.
   */
  pciTestdev?: boolean;
}

/** Where the machine puts pci-testdev's BARs, as firmware would (SeaBIOS starts I/O BARs at 0xC000). */
const PCI_TESTDEV_MEM_BASE = L.PCI_HOLE_START;
const PCI_TESTDEV_IO_BASE = 0xc000;

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
  /** Present with the user-space irqchip and the `localApic` option. */
  readonly localApic: LocalApic | null = null;
  /**
   * Present with the local APIC: the I/O APIC at 0xFEC00000, fed by every ISA line beside
   * the 8259 (pc-interrupt-routing.ts); the ACPI tables at 0xE0000 describe it.
   */
  readonly ioApic: IoApic | null = null;
  readonly ioApicRoutes: IoApicRouteCounters = { toNowhere: 0, unsupported: 0 };
  readonly pmTimer: AcpiPmTimer;
  readonly pmEvents: AcpiPmEvents;
  /** Present with the `pciTestdev` option. */
  readonly pci: PciHost | null = null;
  readonly pciTestdev: PciTestdev | null = null;
  /** Present with the `pcTestdev` option. */
  readonly pcTestdev: PcTestdev | null = null;
  /** IPIs addressed to no CPU of this machine (there is one). */
  ipisToNowhere = 0;
  /** The firmware ROM's windows (low, then high), empty without a BIOS image. */
  readonly biosRoms: readonly BiosRom[] = [];

  /** The 16 ISA IRQ pins, connected by connectInterrupts(). */
  private readonly isaIrqs = Array.from({ length: 16 }, () => new IrqPin());
  /** The PIC's INTR output, towards the vCPU. */
  private readonly intrPin = new IrqPin();
  /** What the CPU's INTR input sees: the local APIC's output, or the PIC's INTR without one. */
  private readonly cpuIntrPin = new IrqPin();
  private notifyVcpu: (() => void) | null = null;

  constructor(readonly options: PcMachineOptions) {
    const { backing, clock, onEvent } = options;
    const bios = options.bios ? options.bios.slice() : null;
    const biosLayout = bios ? biosRomLayout(bios.length) : null;
    const ram = pcRamRegions(backing.size);
    this.memory = new GuestMemory(backing, biosLayout ? ramRegionsWithoutBios(ram, biosLayout) : ram);
    if (bios && biosLayout) {
      const low = new BiosRom(bios, bios.length - biosLayout.lowSize, 'bios-rom-low');
      const high = new BiosRom(bios, 0, 'bios-rom-high');
      this.mmio.register(biosLayout.lowBase, low.size, low, [1, 2, 4]);
      this.mmio.register(biosLayout.highBase, high.size, high, [1, 2, 4]);
      this.biosRoms = [low, high];
    }
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
    for (const port of options.extraPostPorts ?? []) this.pio.register(port, 1, this.post, [1]);
    this.pmTimer = new AcpiPmTimer(clock);
    this.pmEvents = new AcpiPmEvents(this.pmTimer, this.isaIrqs[L.IRQ_ACPI_SCI]);
    this.pio.register(L.PORT_ACPI_PM1A_EVT, 4, this.pmEvents, [1, 2, 4]);
    this.pio.register(L.PORT_ACPI_PM1A_CNT, 2, new AcpiPmControl({ onPowerOff: () => onEvent({ kind: 'exit', status: 0, reason: 'ACPI power-off' }) }), [1, 2]);
    this.pio.register(L.PORT_ACPI_PM_TMR, 4, this.pmTimer, [1, 2, 4]);
    const resetControl = new ResetControl(reset);
    if (options.pciTestdev) {
      // CONFIG_ADDRESS's dword covers 0xCF9, so the host passes byte accesses there to the reset control.
      const pci = new PciHost({ pio: this.pio, mmio: this.mmio, port0cf9: resetControl });
      this.pio.register(PCI_CONFIG_ADDRESS_PORT, 4, pci.addressPort, [1, 2, 4]);
      this.pio.register(PCI_CONFIG_DATA_PORT, 4, pci.dataPort, [1, 2, 4]);
      const testdev = new PciTestdev();
      pci.attach(2, 0, testdev.function, testdev);
      testdev.function.assignBar(0, PCI_TESTDEV_MEM_BASE);
      testdev.function.assignBar(1, PCI_TESTDEV_IO_BASE);
      testdev.function.write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
      this.pci = pci;
      this.pciTestdev = testdev;
    } else {
      this.pio.register(L.PORT_RESET_CONTROL, 1, resetControl, [1]);
    }

    if (options.debugExit) {
      const { port, size } = options.debugExit;
      this.debugExit = new IsaDebugExit({ iosize: size, onExit: (status, value) => onEvent({ kind: 'exit', status, reason: `isa-debug-exit wrote 0x${value.toString(16)}` }) });
      this.pio.register(port, size, this.debugExit, [1, 2, 4]);
    }

    if (options.pcTestdev) {
      // Its interrupt ports drive the ISA IRQ pins (lines 16-23 are IOAPIC-only in QEMU: counted here).
      const testdev = new PcTestdev({ irqs: this.isaIrqs });
      this.pio.register(PC_TESTDEV_PORT_SCRATCH, PC_TESTDEV_PORT_COUNT, testdev.scratchPort, [1, 2, 4]);
      this.pio.register(PC_TESTDEV_PORT_FLUSH, PC_TESTDEV_PORT_COUNT, testdev.flushPort, [1, 2, 4]);
      this.pio.register(PC_TESTDEV_PORT_SCRATCH_BYTES, PC_TESTDEV_PORT_COUNT, testdev.scratchBytePort, [1]);
      this.pio.register(PC_TESTDEV_PORT_IRQ, PC_TESTDEV_IRQ_LINES, testdev.irqPort, [1]);
      this.mmio.register(PC_TESTDEV_IOMEM_BASE, PC_TESTDEV_IOMEM_SIZE, testdev.iomem, [1, 2, 4]);
      this.pcTestdev = testdev;
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
      if (options.localApic) {
        const apic = new LocalApic({
          clock,
          output: this.cpuIntrPin,
          virtualWireAtReset: true,
          sendIpi: (ipi) => this.routeIpi(ipi),
          onNmi: () => this.notifyVcpu?.(),
          onRelocate: (base) => this.mapLocalApic(base),
          onLevelEoi: (vector) => this.ioApic?.endOfInterrupt(vector),
        });
        apic.connectExtInt(this.pic);
        this.intrPin.connect(apic.lint0);
        this.localApic = apic;
        this.mmio.register(L.LAPIC_BASE, L.LAPIC_SIZE, apic, [1, 2, 4]);
        const ioApic = new IoApic({ id: PC_IOAPIC_ID, deliver: (message) => deliverIoApicMessage(apic, message, this.ioApicRoutes) });
        this.ioApic = ioApic;
        this.mmio.register(L.IOAPIC_BASE, L.IOAPIC_SIZE, ioApic, [1, 2, 4]);
        for (let irq = 0; irq < 16; irq++) {
          const gsi = isaIrqToGsi(irq);
          if (gsi >= 0) this.isaIrqs[irq].connect(new IrqFanout([this.pic.irqLine(irq), { setLevel: (high) => ioApic.setPin(gsi, high) }]));
        }
      } else {
        this.intrPin.connect(this.cpuIntrPin);
      }
    }

    this.binding = {
      memory: this.memory,
      pio: this.pio,
      mmio: this.mmio,
      interrupts: this.localApic ?? this.pic ?? NO_INTERRUPTS,
      onEvent,
    };
    this.writeFirmwareTables();
  }

  /**
   * The ACPI tables at 0xE0000 (pc-platform-acpi.ts), for the machine they describe: the user
   * irqchip with the local and I/O APIC. Not with a BIOS image (the firmware brings its own, and
   * its ROM may cover 0xE0000), nor with KVM's irqchip, whose GSI routing they do not describe.
   */
  private writeFirmwareTables(): void {
    if (this.ioApic !== null && this.biosRoms.length === 0) writePcAcpiTables(this.memory);
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
    this.localApic?.reset();
    this.ioApic?.reset();
    this.pciTestdev?.reset();
    this.writeFirmwareTables();
  }

  /**
   * Leaves the PIC, PIT and real-mode IVT as a PC BIOS does before it starts a kernel
   * (bios-handoff.ts); QEMU's -kernel runs SeaBIOS first. Call after loading the kernel. With
   * KVM's in-kernel irqchip only the IVT is written (its PIC and PIT are not on our port bus).
   */
  applyBiosHandoff(): void {
    writeBiosInterruptTable(this.memory);
    if (this.pic !== null && this.pit !== null) programBiosInterruptHardware(this.pio);
  }

  /** IA32_APIC_BASE moved the APIC: its page follows, unless something else is there already. */
  private mapLocalApic(base: number): void {
    const apic = this.localApic;
    if (apic === null) return;
    this.mmio.unregister(apic);
    try {
      this.mmio.register(base, L.LAPIC_SIZE, apic, [1, 2, 4]);
    } catch {
      apic.counters.unsupported++; // an overlapping base: the page stays unmapped until moved again
    }
  }

  /** One CPU: an IPI that selects this APIC is delivered to it; any other has no target. */
  private routeIpi(ipi: ApicIpi): void {
    const apic = this.localApic;
    if (apic === null) return;
    const toSelf = ipi.shorthand === 'all-including-self'
      || (ipi.shorthand === 'none' && apic.matchesDestination(ipi.destination, ipi.destinationMode));
    if (toSelf) apic.receiveIpi(ipi);
    else this.ipisToNowhere++;
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
      this.notifyVcpu = notifyInterrupt;
      this.cpuIntrPin.connect({ setLevel: (high) => high && notifyInterrupt() });
    }
  }
}
