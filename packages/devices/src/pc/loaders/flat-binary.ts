/**
 * Flat binaries: raw code copied to one address and entered there, the way a BIOS
 * enters a boot sector (real mode, 0000:7C00) or a test harness enters a bare
 * protected-mode blob. No header, no boot information.
 *
 * Real mode: CS:IP = 0000:address below 64 KiB, else (address >> 4):(address & 15);
 * DS = ES = FS = GS = CS. The stack sits just below the image: SS = 0, SP = address
 * below 64 KiB; above, SS = CS - 0x1000 and SP = 0, so the first push lands at the
 * 16-byte boundary below the image.
 * Protected mode: flat 32-bit segments from the boot GDT, EIP = ESP = address.
 */
import { Gpr, protectedModeEntryState, realModeSegment, resetCpuState, type CpuState, type GuestMemory } from '../../platform/index.js';
import { FOUR_GIB, HIGH_MEMORY_START } from '../layout.js';
import { writeBootGdt } from './boot-gdt.js';
import { BootPlacement } from './placement.js';

export interface FlatBinaryOptions {
  /** Guest-physical load and entry address. */
  address: number;
  mode: 'real' | 'protected';
  /** Names the image in error messages. */
  fileName?: string;
}

export interface FlatBinaryLoadResult {
  cpu: CpuState;
  /** First byte loaded. */
  address: number;
  /** One past the last byte loaded. */
  end: number;
}

export function loadFlatBinary(mem: GuestMemory, image: Uint8Array, opts: FlatBinaryOptions): FlatBinaryLoadResult {
  const placement: BootPlacement = new BootPlacement(mem, opts.fileName);
  const { address, mode } = opts;
  if (image.length === 0) placement.fail('image is empty');
  if (!Number.isSafeInteger(address) || address < 0) placement.fail(`load address ${address} is invalid`);
  let cpu: CpuState;
  if (mode === 'real') {
    // CS:IP can only name the first 1 MiB (without the A20 wrap the reset CPU lacks).
    placement.claim('real-mode image', address, image.length, HIGH_MEMORY_START);
    cpu = realModeEntry(address);
  } else {
    const gdt = writeBootGdt(placement, '32');
    placement.claim('image', address, image.length, FOUR_GIB);
    cpu = protectedModeEntryState(address);
    cpu.gdt = gdt;
    cpu.idt = { base: 0n, limit: 0 };
    cpu.gpr[Gpr.RSP] = BigInt(address);
  }
  mem.writeBytes(address, image);
  return { cpu, address, end: address + image.length };
}

function realModeEntry(address: number): CpuState {
  const cpu = resetCpuState();
  const low = address < 0x10000;
  const segment = low ? 0 : address >>> 4;
  cpu.cs = realModeSegment(segment, true);
  cpu.rip = BigInt(low ? address : address & 0xf);
  for (const seg of ['ds', 'es', 'fs', 'gs'] as const) cpu[seg] = realModeSegment(segment);
  cpu.ss = realModeSegment(low ? 0 : segment - 0x1000);
  cpu.gpr[Gpr.RSP] = BigInt(low ? address : 0);
  return cpu;
}

