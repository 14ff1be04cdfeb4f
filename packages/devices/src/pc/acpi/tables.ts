/**
 * The ACPI tables of the PC machine, the ones Linux needs to boot in its normal configuration
 * (ACPI 6.5 spec, chapter 5): RSDP -> RSDT and XSDT -> FADT (-> FACS, DSDT) and MADT.
 *
 * - MADT (5.2.12): one Processor Local APIC entry per CPU, the I/O APIC at GSI 0, interrupt
 *   source overrides as a PC chipset wires them (ISA IRQ 0, the PIT, arrives at GSI 2; the SCI,
 *   IRQ 9, is level-triggered active high), and LINT1 as NMI on every CPU.
 * - FADT (5.2.9): the PM1a event/control blocks and the PM timer at QEMU's PIIX4 ports
 *   (0x600/0x604/0x608), SCI on IRQ 9, no SMI command port (the machine is always in ACPI
 *   mode), no C2/C3, the 8042 and legacy devices flagged in IAPC_BOOT_ARCH, the RTC century
 *   register at CMOS 0x32.
 * - DSDT: just the \_S5 sleep object, whose SLP_TYP the PM1a control register turns into power-off.
 * The layout is fixed and reproducible: tables are laid out from `base` upward, 16-byte aligned.
 */
import { SLP_TYP_S5 } from '../../acpi-pm-control.js';
import { fixChecksum, OEM_ID, sdt, TableBytes } from './sdt.js';
import { dsdtBody } from './dsdt.js';

export interface AcpiMachineDescription {
  /** APIC IDs of the CPUs, in ACPI processor UID order. */
  apicIds: readonly number[];
  localApicAddress: number;
  ioApic: { id: number; address: number; gsiBase: number };
  pm: { eventBlock: number; controlBlock: number; timerBlock: number; sciIrq: number };
}

export interface AcpiBlob {
  /** Guest-physical address of the first byte of `bytes`. */
  base: number;
  bytes: Uint8Array;
  /** Where the RSDP is (a 16-byte boundary inside base..base+length). */
  rsdpAddress: number;
}

const MADT_PCAT_COMPAT = 1;
const MADT_LAPIC_ENABLED = 1;
/** MPS INTI flags: polarity active high (01) and trigger level (11) in bits 1:0 and 3:2. */
const INTI_ACTIVE_HIGH_LEVEL = 0x000d;

const FADT_WBINVD = 1 << 0;
const FADT_PROC_C1 = 1 << 2;
const FADT_SLP_BUTTON = 1 << 5;
const FADT_RESET_REG_SUP = 1 << 10;
const IAPC_LEGACY_DEVICES = 1 << 0;
const IAPC_8042 = 1 << 1;
const IAPC_NO_VGA = 1 << 2;
/** The PC's reset control register (0xCF9), value 6: hard reset (reset-control.ts). */
const RESET_PORT = 0xcf9;
const RESET_VALUE = 0x06;
const CMOS_CENTURY = 0x32;
const FACS_LENGTH = 64;

export function madt(m: AcpiMachineDescription): Uint8Array {
  const b = new TableBytes().u32(m.localApicAddress).u32(MADT_PCAT_COMPAT);
  m.apicIds.forEach((id, uid) => b.u8(0).u8(8).u8(uid).u8(id).u32(MADT_LAPIC_ENABLED));
  b.u8(1).u8(12).u8(m.ioApic.id).u8(0).u32(m.ioApic.address).u32(m.ioApic.gsiBase);
  b.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0);
  b.u8(2).u8(10).u8(0).u8(m.pm.sciIrq).u32(m.pm.sciIrq).u16(INTI_ACTIVE_HIGH_LEVEL);
  b.u8(4).u8(6).u8(0xff).u16(0).u8(1);
  return sdt('APIC', 3, b.toArray());
}

/** A Generic Address Structure (5.2.3.2) for a system I/O register. */
function ioGas(b: TableBytes, port: number, bitWidth: number, accessSize: number): void {
  b.u8(1).u8(bitWidth).u8(0).u8(accessSize).u64(port);
}

/** FADT revision 3 (244 bytes): the 32-bit block fields plus their X_ (GAS) twins. */
export function fadt(m: AcpiMachineDescription, facs: number, dsdt: number): Uint8Array {
  // FIRMWARE_CTRL must be zero when X_FIRMWARE_CTRL is set (ACPI 6.5, table 5.9).
  const b = new TableBytes()
    .u32(0).u32(dsdt)
    .u8(0) // reserved (INT_MODEL in ACPI 1.0)
    .u8(0) // Preferred_PM_Profile: unspecified
    .u16(m.pm.sciIrq)
    .u32(0) // SMI_CMD: none, the machine starts in ACPI mode
    .u8(0).u8(0).u8(0).u8(0) // ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
    .u32(m.pm.eventBlock).u32(0)
    .u32(m.pm.controlBlock).u32(0)
    .u32(0) // PM2_CNT_BLK
    .u32(m.pm.timerBlock)
    .u32(0).u32(0) // GPE0_BLK, GPE1_BLK
    .u8(4).u8(2).u8(0).u8(4) // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN
    .u8(0).u8(0).u8(0).u8(0) // GPE0_BLK_LEN, GPE1_BLK_LEN, GPE1_BASE, CST_CNT
    .u16(0x0fff).u16(0x0fff) // P_LVL2_LAT, P_LVL3_LAT: > 100 / > 1000 us = not supported
    .u16(0).u16(0) // FLUSH_SIZE, FLUSH_STRIDE
    .u8(0).u8(0) // DUTY_OFFSET, DUTY_WIDTH
    .u8(0).u8(0).u8(CMOS_CENTURY)
    .u16(IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_NO_VGA)
    .u8(0)
    .u32(FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
  ioGas(b, RESET_PORT, 8, 1);
  b.u8(RESET_VALUE).zeros(3);
  b.u64(facs).u64(dsdt);
  ioGas(b, m.pm.eventBlock, 32, 2);
  b.zeros(12); // X_PM1b_EVT_BLK
  ioGas(b, m.pm.controlBlock, 16, 2);
  b.zeros(12); // X_PM1b_CNT_BLK
  b.zeros(12); // X_PM2_CNT_BLK
  ioGas(b, m.pm.timerBlock, 32, 3);
  b.zeros(24); // X_GPE0_BLK, X_GPE1_BLK
  return sdt('FACP', 3, b.toArray());
}

/** FACS (5.2.10): no checksum; the OS keeps its global lock and waking vector here. */
function facsTable(): Uint8Array {
  return new TableBytes().ascii('FACS', 4).u32(FACS_LENGTH).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u8(1).zeros(FACS_LENGTH - 33).toArray();
}

function rsdp(rsdt: number, xsdt: number): Uint8Array {
  const t = new TableBytes().ascii('RSD PTR ', 8).u8(0).ascii(OEM_ID, 6).u8(2).u32(rsdt).u32(36).u64(xsdt).u8(0).zeros(3).toArray();
  fixChecksum(t, 8, 0, 20);
  fixChecksum(t, 32, 0, 36);
  return t;
}

/** Lays out every table from `base`; the result is copied into guest RAM by the machine. */
export function buildAcpiTables(m: AcpiMachineDescription, base: number): AcpiBlob {
  const parts: { at: number; bytes: Uint8Array }[] = [];
  let next = base;
  const place = (bytes: Uint8Array, align = 16): number => {
    next = Math.ceil(next / align) * align;
    const at = next;
    parts.push({ at, bytes });
    next += bytes.length;
    return at;
  };
  const rsdpAt = place(new Uint8Array(36));
  const facsAt = place(facsTable(), 64);
  const dsdtAt = place(sdt('DSDT', 2, dsdtBody(SLP_TYP_S5)));
  const fadtAt = place(fadt(m, facsAt, dsdtAt));
  const madtAt = place(madt(m));
  const rsdtAt = place(sdt('RSDT', 1, new TableBytes().u32(fadtAt).u32(madtAt).toArray()));
  const xsdtAt = place(sdt('XSDT', 1, new TableBytes().u64(fadtAt).u64(madtAt).toArray()));
  parts[0].bytes = rsdp(rsdtAt, xsdtAt);
  const bytes = new Uint8Array(next - base);
  for (const p of parts) bytes.set(p.bytes, p.at - base);
  return { base, bytes, rsdpAddress: rsdpAt };
}
