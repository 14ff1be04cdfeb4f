/**
 * The DSDT's AML, written by hand (ACPI 6.5 spec, 20.2 "AML Grammar Definition"): one object,
 *   Name (_S5, Package (4) { SLP_TYP_a, SLP_TYP_b, 0, 0 })
 * which tells the OS what to write to PM1a_CNT.SLP_TYP to enter soft-off.
 */
const NAME_OP = 0x08;
const PACKAGE_OP = 0x12;
const BYTE_PREFIX = 0x0a;
const ZERO_OP = 0x00;

/** An integer as its shortest AML data object (0 -> ZeroOp, else BytePrefix). */
function amlByte(v: number): number[] {
  return v === 0 ? [ZERO_OP] : [BYTE_PREFIX, v & 0xff];
}

export function dsdtBody(slpTypS5: number): Uint8Array {
  const elements = [...amlByte(slpTypS5), ...amlByte(slpTypS5), ZERO_OP, ZERO_OP];
  // PkgLength (one byte form, < 64) counts itself, NumElements and the elements.
  const pkgLength = 1 + 1 + elements.length;
  return Uint8Array.from([NAME_OP, ...'_S5_'.split('').map((c) => c.charCodeAt(0)), PACKAGE_OP, pkgLength, 4, ...elements]);
}
