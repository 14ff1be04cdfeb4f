/**
 * Identity-mapped page tables for entering a kernel in 64-bit mode (Linux's 64-bit boot
 * protocol wants the kernel, boot_params and command line identity-mapped).
 *
 * The first 4 GiB are mapped with 2 MiB pages (SDM Vol. 3, 4.5 "4-Level Paging"): one
 * PML4, one PDPT and four page directories, six consecutive 4 KiB pages. 2 MiB rather
 * than 1 GiB pages because every long-mode CPU has them (1 GiB pages need PDPE1GB).
 * Covering all 4 GiB, not just RAM, maps the LAPIC and IOAPIC for early kernel code.
 */
import { PAGE_SIZE } from '../layout.js';
import type { BootPlacement } from './placement.js';

/** Present | Read/Write. */
export const PTE_P_RW = 0x3n;
/** Page Size: the PDE maps a 2 MiB page. */
export const PDE_PS = 0x80n;
export const IDENTITY_MAP_GIB = 4;
/** PML4 + PDPT + one PD per GiB. */
export const IDENTITY_PAGE_TABLE_BYTES = (2 + IDENTITY_MAP_GIB) * PAGE_SIZE;

/** Writes the tables at `base` (4 KiB aligned) and returns the CR3 value. */
export function writeIdentityPageTables(placement: BootPlacement, base: number): bigint {
  if (base % PAGE_SIZE !== 0) placement.fail(`page tables at ${base.toString(16)} are not page aligned`);
  placement.claim('64-bit entry page tables', base, IDENTITY_PAGE_TABLE_BYTES);
  const mem = placement.mem;
  mem.fill(base, IDENTITY_PAGE_TABLE_BYTES, 0);
  const pml4 = base;
  const pdpt = base + PAGE_SIZE;
  mem.write64(pml4, BigInt(pdpt) | PTE_P_RW);
  for (let gib = 0; gib < IDENTITY_MAP_GIB; gib++) {
    const pd = base + (2 + gib) * PAGE_SIZE;
    mem.write64(pdpt + 8 * gib, BigInt(pd) | PTE_P_RW);
    for (let i = 0; i < 512; i++) {
      const phys = BigInt(gib) * 0x4000_0000n + BigInt(i) * 0x20_0000n;
      mem.write64(pd + 8 * i, phys | PTE_P_RW | PDE_PS);
    }
  }
  return BigInt(pml4);
}
