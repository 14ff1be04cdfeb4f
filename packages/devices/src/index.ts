// @tsemu/devices: the platform contracts, the device models, the PC layout and loaders,
// and the PC machine that wires them together.
export * from './platform/index.js';
export * from './pc/index.js';
export { Uart16550, COM_PORTS, uart16550StateSchema, type Uart16550State, type Uart16550Options } from './uart-16550.js';
export { I8042, i8042StateSchema, type I8042State, type I8042Options } from './i8042.js';
export { PostCodePort, POST_CODE_PORT, postCodePortStateSchema, type PostCodePortState } from './post-code-port.js';
export { IsaDebugExit, DEBUG_EXIT_DEFAULT_PORT, type IsaDebugExitOptions } from './isa-debug-exit.js';
export { PicPair, Pic8259, picPairStateSchema, type PicPairState, type PicPairOptions } from './pic-8259.js';
export { Pit8254, pit8254StateSchema, PIT_FREQUENCY_HZ, type Pit8254State, type Pit8254Options } from './pit-8254.js';
export { RtcMc146818, rtcMc146818StateSchema, type RtcMc146818State, type RtcMc146818Options } from './rtc-mc146818.js';
export { AcpiPmControl } from './acpi-pm-control.js';
export { AcpiPmTimer, PM_TIMER_FREQUENCY_HZ } from './acpi-pm-timer.js';
export { AcpiPmEvents, acpiPmEventsStateSchema, type AcpiPmEventsState } from './acpi-pm-events.js';
export { ResetControl } from './reset-control.js';
export { PcMachine, type PcMachineOptions, type IrqchipMode } from './machine/pc-machine.js';
export { LocalApic, APIC_DEFAULT_BASE, APIC_MMIO_SIZE, localApicStateSchema, type LocalApicOptions, type LocalApicState, type ApicIpi } from './local-apic.js';
export { IoApic, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, IOAPIC_PINS, ioApicStateSchema, type IoApicMessage, type IoApicState } from './ioapic-82093.js';
