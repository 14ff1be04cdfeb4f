/* Shared helpers for the decoder tests: decode a hex string in a mode. */
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';

export function bytesOf(hex: string): number[] {
  return hex.trim().split(/\s+/).filter((s) => s !== '').map((b) => parseInt(b, 16));
}

/** Decodes `hex` (space separated bytes) at offset 0; bytes past the end read as 0x00. */
export function dec(mode: CpuMode, hex: string): { status: DecodeStatus; insn: Instruction } {
  const bytes = bytesOf(hex);
  const insn = newInstruction();
  const status = decode({ fetch8: (a: number) => bytes[a] ?? 0 }, 0, mode, insn);
  return { status, insn };
}
