/**
 * The PC machine's ACPI description, placed where an OS looks for it: the tables of
 * pc/acpi/tables.ts built for this machine's layout (one CPU, the I/O APIC at 0xFEC00000 with
 * GSIs 0-23, the PM1a event/control blocks and PM timer at 0x600/0x604/0x608, the SCI on IRQ 9)
 * and copied into RAM at 0xE0000.
 *
 * Why 0xE0000: ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems" has the OS scan the first
 * KiB of the EBDA and then 0xE0000-0xFFFFF on 16-byte boundaries; Linux does the same
 * (drivers/acpi/acpica/tbxfroot.c) when boot_params carries no acpi_rsdp_addr. The range is in
 * the option-ROM/BIOS area the E820 map already reports reserved (memory-map.ts), so the
 * kernel never hands the tables' pages out. There is no firmware to rebuild them, so the
 * machine writes them again at every reset, in case the guest scribbled over them.
 */
import type { GuestMemory } from '../platform/index.js';
import { buildAcpiTables, type AcpiBlob, type AcpiMachineDescription } from '../pc/acpi/tables.js';
import * as L from '../pc/layout.js';

/** Guest-physical address of the first table (the RSDP comes first). */
export const PC_ACPI_TABLES_ADDRESS = 0xe0000;
/** The tables must stay below the BIOS area at 0xF0000, where the handoff stubs may live. */
export const PC_ACPI_TABLES_LIMIT = L.BIOS_AREA_START;
/**
 * APIC ID of the I/O APIC: 0, as QEMU's pc machine reports it (ACPI_BUILD_IOAPIC_ID). It
 * shares the number with CPU 0, which xAPIC systems allow (I/O APIC IDs are a separate space
 * since the P4; Linux renumbers only for pre-xAPIC local APICs).
 */
export const PC_IOAPIC_ID = 0;

/** The machine as the tables describe it: `cpus` CPUs with APIC IDs 0..cpus-1. */
export function pcAcpiDescription(cpus = 1): AcpiMachineDescription {
  return {
    apicIds: Array.from({ length: cpus }, (_, i) => i),
    localApicAddress: L.LAPIC_BASE,
    ioApic: { id: PC_IOAPIC_ID, address: L.IOAPIC_BASE, gsiBase: 0 },
    pm: {
      eventBlock: L.PORT_ACPI_PM1A_EVT,
      controlBlock: L.PORT_ACPI_PM1A_CNT,
      timerBlock: L.PORT_ACPI_PM_TMR,
      sciIrq: L.IRQ_ACPI_SCI,
    },
  };
}

/** Builds the tables for this machine and copies them into guest RAM at 0xE0000. */
export function writePcAcpiTables(memory: GuestMemory, cpus = 1): AcpiBlob {
  const blob = buildAcpiTables(pcAcpiDescription(cpus), PC_ACPI_TABLES_ADDRESS);
  if (blob.base + blob.bytes.length > PC_ACPI_TABLES_LIMIT) {
    throw new Error(`ACPI tables (${blob.bytes.length} bytes) overflow 0x${PC_ACPI_TABLES_ADDRESS.toString(16)}-0x${PC_ACPI_TABLES_LIMIT.toString(16)}`);
  }
  memory.writeBytes(blob.base, blob.bytes);
  return blob;
}
