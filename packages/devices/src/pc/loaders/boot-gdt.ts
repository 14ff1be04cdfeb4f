/**
 * The GDT a direct kernel boot leaves loaded: null, null, __BOOT_CS (0x10), __BOOT_DS
 * (0x18), all flat 4 GiB. The selectors are the ones Linux's boot protocol requires
 * (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol") and the ones
 * protectedModeEntryState uses, so Multiboot and flat protected-mode entries get the
 * same table. The descriptors are marked accessed so the CPU never has to write them.
 */
import type { DescriptorTableState } from '../../platform/index.js';
import { BOOT_GDT_ADDRESS } from '../layout.js';
import type { BootPlacement } from './placement.js';

export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
export const BOOT_GDT_ENTRIES = 4;

/**
 * A segment descriptor (SDM Vol. 3, 3.4.5) from the access byte and flags nibble packed
 * as `flags`: bits 0-7 access byte (P, DPL, S, type), bits 12-15 G, D/B, L, AVL.
 */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base >>> 0);
  const l = BigInt(limit & 0xfffff);
  const f = BigInt(flags & 0xf0ff);
  return ((b & 0xff000000n) << 32n) | ((b & 0x00ffffffn) << 16n) | (l & 0xffffn) | ((l & 0xf0000n) << 32n) | (f << 40n);
}

/** Present, DPL 0, code execute/read accessed; G=1 D=1 (32-bit). */
export const GDT_CODE32 = gdtEntry(0xc09b, 0, 0xfffff);
/** Present, DPL 0, code execute/read accessed; G=1 L=1 (64-bit). */
export const GDT_CODE64 = gdtEntry(0xa09b, 0, 0xfffff);
/** Present, DPL 0, data read/write accessed; G=1 B=1. */
export const GDT_DATA = gdtEntry(0xc093, 0, 0xfffff);

/** Writes the boot GDT at BOOT_GDT_ADDRESS and returns the GDTR value to load. */
export function writeBootGdt(placement: BootPlacement, mode: '32' | '64'): DescriptorTableState {
  const size = BOOT_GDT_ENTRIES * 8;
  placement.claim('boot GDT', BOOT_GDT_ADDRESS, size);
  const entries = [0n, 0n, mode === '64' ? GDT_CODE64 : GDT_CODE32, GDT_DATA];
  entries.forEach((e, i) => placement.mem.write64(BOOT_GDT_ADDRESS + 8 * i, e));
  return { base: BigInt(BOOT_GDT_ADDRESS), limit: size - 1 };
}
