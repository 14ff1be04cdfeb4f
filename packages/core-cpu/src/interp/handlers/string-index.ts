/**
 * The string instructions' addressing: which index registers at which size (string.ts, and
 * the runs of string-runs.ts).
 */
import type { Instruction } from '../../decoder/instruction.js';
import type { GprFile } from '../../state/gpr-file.js';

/**
 * How rSI/rDI/rCX address memory: 16- or 32-bit offsets in a segment (limit-checked), or in
 * 64-bit mode 64-bit (or 67-prefixed 32-bit) flat addresses.
 */
export const ADDR16 = 0;
export const ADDR32 = 1;
export const ADDR64 = 2;
export const ADDR32_IN_64 = 3;

export function addressMode(insn: Instruction): number {
  if (insn.mode === 64) return insn.addrSize === 8 ? ADDR64 : ADDR32_IN_64;
  return insn.addrSize === 2 ? ADDR16 : ADDR32;
}

// ---- index registers at the address size (SI DI CX, ESI EDI ECX, RSI RDI RCX)

/** The low 16/32 bits of index register n (below ADDR64; ADDR64 uses addressOf / advance). */
export function index(g: GprFile, am: number, n: number): number {
  return am === ADDR16 ? g.r16[n << 1] : g.r32[n] >>> 0;
}

export function setIndex(g: GprFile, am: number, n: number, v: number): void {
  if (am === ADDR16) g.r16[n << 1] = v;
  else {
    g.r32[n] = v;
    g.hi[n] = 0;
  }
}
