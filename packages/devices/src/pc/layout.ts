/**
 * The PC machine layout: I/O ports, ISA IRQ numbers and the guest-physical memory map,
 * in one place so devices, the machine builder, loaders and both accelerators agree.
 *
 * Sources: the IBM PC/AT technical reference and the chips' datasheets (8259A, 8254,
 * 8042, MC146818, 16550A), the Intel PIIX3/PIIX4 and ICH datasheets (ELCR, RST_CNT,
 * PCI configuration mechanism #1), the 82093AA IOAPIC datasheet, the SDM Vol. 3 10.4
 * (local APIC base), and QEMU's `pc` machine (hw/i386/pc.c, pc_piix.c) whose layout
 * guests and firmware expect.
 */

// ---------------------------------------------------------------------------------
// I/O ports (PORT_x is the first port of a block; x_PORT_COUNT its width)
// ---------------------------------------------------------------------------------

/** 8259A master PIC: command (ICW1/OCW2/OCW3) at +0, data (ICW2-4/OCW1) at +1. */
export const PORT_PIC_MASTER = 0x20;
/** 8259A slave PIC, cascaded on master IRQ 2. */
export const PORT_PIC_SLAVE = 0xa0;
export const PIC_PORT_COUNT = 2;
/** Edge/Level Control Registers (PIIX3 ELCR1 for the master at +0, ELCR2 for the slave at +1). */
export const PORT_ELCR = 0x4d0;
export const ELCR_PORT_COUNT = 2;

/** 8254 PIT: counters 0-2 at +0..+2, the mode/command register at +3. */
export const PORT_PIT = 0x40;
export const PORT_PIT_MODE_COMMAND = 0x43;
export const PIT_PORT_COUNT = 4;

/** 8042 keyboard controller: data port, and command (write) / status (read) port. */
export const PORT_I8042_DATA = 0x60;
export const PORT_I8042_COMMAND = 0x64;
/** System control port B (PIIX "NMI Status and Control"): PIT counter 2 gate, speaker, refresh toggle. */
export const PORT_SYSTEM_CONTROL_B = 0x61;
/** System control port A (PIIX "Port 92"): bit 1 fast A20 gate, bit 0 fast reset. */
export const PORT_SYSTEM_CONTROL_A = 0x92;

/** MC146818 RTC/CMOS: index register (bit 7 = NMI mask) at +0, data at +1. */
export const PORT_RTC_INDEX = 0x70;
export const PORT_RTC_DATA = 0x71;
export const RTC_PORT_COUNT = 2;

/** POST diagnostic code port: firmware writes progress codes here. */
export const PORT_POST = 0x80;

/** 16550A UART bases, each 8 registers wide. */
export const PORT_COM1 = 0x3f8;
export const PORT_COM2 = 0x2f8;
export const PORT_COM3 = 0x3e8;
export const PORT_COM4 = 0x2e8;
export const UART_PORT_COUNT = 8;

/**
 * QEMU's isa-debug-exit device as tests configure it (`iobase=0xf4,iosize=4`): a write
 * of v exits the emulator with status (v << 1) | 1.
 */
export const PORT_ISA_DEBUG_EXIT = 0xf4;
export const ISA_DEBUG_EXIT_PORT_COUNT = 4;

/**
 * PCI configuration mechanism #1 (PCI Local Bus Spec 3.0, 3.2.2.3.2): CONFIG_ADDRESS is
 * a dword register at 0xCF8, CONFIG_DATA a dword window at 0xCFC.
 *
 * The Reset Control Register (PIIX RST_CNT) is the byte at 0xCF9, inside the
 * CONFIG_ADDRESS dword: only dword accesses reach CONFIG_ADDRESS. The port bus forbids
 * overlapping ranges, so once PCI exists the machine registers one device over
 * 0xCF8-0xCFB that sends dword accesses to the PCI host and byte accesses at 0xCF9 to
 * reset control; until then reset control alone sits at 0xCF9.
 */
export const PORT_PCI_CONFIG_ADDRESS = 0xcf8;
export const PORT_PCI_CONFIG_DATA = 0xcfc;
export const PCI_CONFIG_DATA_PORT_COUNT = 4;
export const PORT_RESET_CONTROL = 0xcf9;

/**
 * ACPI PM register block, a placeholder until ACPI tables exist. QEMU's PIIX4 PM
 * function is placed at 0x600 by SeaBIOS; PM1a_EVT_BLK (status + enable), PM1a_CNT_BLK
 * and the PM timer sit at PMBA + 0, + 4 and + 8 (PIIX4 datasheet, 7.2 "Power
 * Management I/O Space").
 */
export const PORT_ACPI_PM_BASE = 0x600;
export const PORT_ACPI_PM1A_EVT = 0x600;
export const PORT_ACPI_PM1A_CNT = 0x604;
export const PORT_ACPI_PM_TMR = 0x608;

// ---------------------------------------------------------------------------------
// ISA interrupt lines (PC/AT wiring; the same numbers are IOAPIC GSIs 0-15 with the
// ACPI MADT's usual override of IRQ 0 to GSI 2)
// ---------------------------------------------------------------------------------

export const IRQ_PIT = 0;
export const IRQ_KEYBOARD = 1;
/** The master PIC input the slave PIC's INT output is cascaded into. */
export const IRQ_CASCADE = 2;
/** COM2 and COM4 share IRQ 3, COM1 and COM3 share IRQ 4. */
export const IRQ_COM2 = 3;
export const IRQ_COM4 = 3;
export const IRQ_COM1 = 4;
export const IRQ_COM3 = 4;
export const IRQ_RTC = 8;
/** ACPI SCI: QEMU's PIIX4 PM raises IRQ 9, the level-triggered line ELCR marks. */
export const IRQ_ACPI_SCI = 9;
export const IRQ_MOUSE = 12;

// ---------------------------------------------------------------------------------
// Guest-physical memory map
// ---------------------------------------------------------------------------------

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const PAGE_SIZE = 0x1000;

/** Usable conventional memory ends where the Extended BIOS Data Area starts (639 KiB). */
export const CONVENTIONAL_MEMORY_END = 0x9fc00;
/** EBDA: the last 1 KiB below 640 KiB, RAM that firmware owns (reported reserved). */
export const EBDA_START = 0x9fc00;
export const EBDA_END = 0xa0000;
/** Legacy VGA window: MMIO, never RAM. */
export const VGA_HOLE_START = 0xa0000;
export const VGA_HOLE_END = 0xc0000;
/** Option ROMs (0xC0000-0xEFFFF) and the BIOS (0xF0000-0xFFFFF): RAM-backed, reported reserved. */
export const OPTION_ROM_START = 0xc0000;
export const BIOS_AREA_START = 0xf0000;
export const BIOS_AREA_END = 0x100000;
/** Extended memory starts at 1 MiB. */
export const HIGH_MEMORY_START = 0x100000;

/**
 * "Low" RAM (QEMU's below_4g_mem_size) stops at 3 GiB, where the 32-bit PCI hole
 * begins. QEMU's pc machine (hw/i386/pc_piix.c) keeps up to `max_ram_below_4g` =
 * 3.5 GiB low when the guest has less than that, and splits at 3 GiB (gigabyte_align)
 * when it has more; we always split at 3 GiB: one rule, and 1 GiB left for PCI BARs,
 * the IOAPIC, the LAPIC and firmware. The rest of RAM is mapped from 4 GiB up.
 */
export const LOW_RAM_LIMIT = 0xc0000000;
export const PCI_HOLE_START = 0xc0000000;
export const PCI_HOLE_END = 0x1_0000_0000;
export const FOUR_GIB = 0x1_0000_0000;

/** 82093AA IOAPIC register window (IOREGSEL at +0, IOWIN at +0x10). */
export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_SIZE = 0x1000;
/** HPET (IA-PC HPET spec 1.0a), where QEMU and every PC chipset put it. */
export const HPET_BASE = 0xfed00000;
export const HPET_SIZE = 0x400;
/** Local APIC registers at the IA32_APIC_BASE default (SDM Vol. 3, 10.4.1). */
export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;
/**
 * KVM needs three pages for its real-mode TSS (KVM_SET_TSS_ADDR) and one for the EPT
 * identity map (KVM_SET_IDENTITY_MAP_ADDR) inside guest-physical space. QEMU puts them
 * at 0xfeffc000 (identity map) and 0xfeffd000 (TSS) and reports the 16 KiB reserved; we
 * keep the range reserved under both accelerators so a snapshot moves between them.
 */
export const KVM_IDENTITY_MAP_ADDRESS = 0xfeffc000;
export const KVM_TSS_ADDRESS = 0xfeffd000;
export const KVM_RESERVED_SIZE = 0x4000;
/** Firmware image alias just below 4 GiB (a 256 KiB BIOS ends at 0xFFFFFFFF, reset vector at 0xFFFFFFF0). */
export const BIOS_ROM_ALIAS_BASE = 0xfffc0000;
export const BIOS_ROM_ALIAS_SIZE = 0x40000;

/** The smallest RAM the PC map supports: low memory plus 1 MiB of extended memory. */
export const MIN_RAM_SIZE = 2 * MiB;

// ---------------------------------------------------------------------------------
// Direct-boot scratch area in low RAM, used by the kernel loaders (pc/loaders).
//
//   0x00500-0x0051f  boot GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
//   0x07000-0x07fff  Linux boot_params ("zero page")
//   0x07c00          flat boot-sector images load here (inside the zero page's slot: the
//                    two loaders are never used together)
//   0x09000-0x0efff  Linux 64-bit entry page tables: PML4, PDPT, four PDs
//   0x09000-0x9fbff  Multiboot information, memory map, module list and strings
//   0x20000-0x9fbff  Linux kernel command line
//   0x100000-        kernel image, then Multiboot modules; the Linux initrd goes high
// ---------------------------------------------------------------------------------

export const BOOT_GDT_ADDRESS = 0x500;
export const BOOT_SECTOR_ADDRESS = 0x7c00;
export const LINUX_BOOT_PARAMS_ADDRESS = 0x7000;
export const LINUX_PAGE_TABLES_ADDRESS = 0x9000;
export const LINUX_CMDLINE_ADDRESS = 0x20000;
export const MULTIBOOT_INFO_AREA_START = 0x9000;
export const MULTIBOOT_INFO_AREA_END = CONVENTIONAL_MEMORY_END;
/** bzImage protected-mode code loads at 1 MiB (boot protocol, LOADED_HIGH). */
export const KERNEL_LOAD_ADDRESS = HIGH_MEMORY_START;
