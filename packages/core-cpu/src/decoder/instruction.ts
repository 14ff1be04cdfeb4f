/*
 * The decoded-instruction record. One preallocated, shape-stable object per caller, refilled by
 * decode() with no allocation. Register numbers are 0-15 with REX extensions applied
 * (0 = rAX ... 4 = rSP, 5 = rBP, 6 = rSI, 7 = rDI, 8-15 = r8-r15). For 8-bit operands, numbers
 * 4-7 mean AH CH DH BH when no REX prefix is present and SPL BPL SIL DIL when one is
 * (see byteRegIsHigh). Segment numbers are the Sreg encoding: ES=0 CS=1 SS=2 DS=3 FS=4 GS=5.
 */
import type { OpcodeEntry } from './opcode-types.js';

/** Processor mode for decoding: default operand/address size 16 or 32 (CS.D), or 64-bit mode. */
export const CpuMode = {
  Bits16: 16,
  Bits32: 32,
  Bits64: 64,
} as const;
export type CpuMode = (typeof CpuMode)[keyof typeof CpuMode];

/**
 * Decoding mode from the architectural state: 64-bit mode when IA32_EFER.LMA and CS.L are set,
 * otherwise CS.D picks 32- or 16-bit defaults (real and virtual-8086 mode pass csD = false).
 */
export function cpuModeOf(longModeActive: boolean, csL: boolean, csD: boolean): CpuMode {
  if (longModeActive && csL) return CpuMode.Bits64;
  return csD ? CpuMode.Bits32 : CpuMode.Bits16;
}

export const DecodeStatus = {
  Ok: 0,
  /** #UD: no such opcode in this mode (or an out-of-scope MMX/SSE opcode). */
  Invalid: 1,
  /** #GP(0): the instruction would be longer than 15 bytes. */
  TooLong: 2,
  /** #UD: LOCK on an instruction or form (register destination) that does not allow it. */
  LockInvalid: 3,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

export const PREFIX_LOCK = 1 << 0;
/** F3 (REP/REPE), the last of F2/F3 wins. */
export const PREFIX_REP = 1 << 1;
/** F2 (REPNE). */
export const PREFIX_REPNE = 1 << 2;
export const PREFIX_SEG = 1 << 3;
export const PREFIX_OPSIZE = 1 << 4;
export const PREFIX_ADDRSIZE = 1 << 5;
export const PREFIX_REX = 1 << 6;

export const PREFIX_KIND_LOCK = 1;
export const PREFIX_KIND_REPNE = 2;
export const PREFIX_KIND_REP = 3;
export const PREFIX_KIND_OPSIZE = 4;
export const PREFIX_KIND_ADDRSIZE = 5;
export const PREFIX_KIND_SEG = 6;

export const REX_B = 1;
export const REX_X = 2;
export const REX_R = 4;
export const REX_W = 8;

export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

/** A placeholder entry so `Instruction.entry` always holds an object of one shape. */
export const NO_OPCODE_ENTRY: OpcodeEntry = Object.freeze({
  op: -1, mnemonic: '(bad)', since: '8086', index: -1, key: 'invalid', ops: Object.freeze([]),
  names: ['(bad)', '(bad)', '(bad)'] as [string, string, string], hasModrm: false,
  flagsRead: 0, flagsWritten: 0, flagsUndefined: 0, attrs: 0,
});

/**
 * Every numeric field holds an int32, which V8 keeps as a small integer: a value of 2^31 or
 * more in one field would change the hidden class of every Instruction, and all optimised code
 * that had read one (the interpreter's handlers, the JIT's translations) would be thrown away
 * at once (see WIDE_ZERO). A 32-bit kernel's MOV EAX,[moffs] addresses are above 2^31. Fields
 * that mean unsigned values are read with `>>> 0`.
 */
export class Instruction {
  // Field order is memory layout (V8 lays an object's fields out in the order they are first
  // set): what the interpreter reads for every instruction comes first, in as few cache lines
  // as possible; what only the decoder and the disassembler use comes last.
  /** Total length in bytes (valid when status is Ok; bytes consumed so far otherwise). */
  length = 0;
  /**
   * The interpreter's handler for this instruction and its case in the block runner's switch
   * (interp/decode-cache.ts sets both when it caches the instruction; 0 and null elsewhere).
   * Kept here, beside the operands the handler reads, so running a cached instruction loads one
   * object.
   */
  handler: ((cpu: never, insn: Instruction) => void) | null = null;
  hotCase = 0;
  /** ModRM.reg extended by REX.R. */
  reg = 0;
  /** ModRM.rm extended by REX.B (the register for mod = 3). */
  rm = 0;
  /** The ModRM operand is memory (mod != 3). */
  isMem = false;
  /** Effective operand size in bytes: 2, 4 or 8. */
  opSize = 4;
  /**
   * First immediate (or the relative branch offset for J operands, or a far pointer's offset):
   * Ib and Iw zero-extended; Ibs, Iz, Iv and branch offsets sign-extended to int32; a far
   * pointer's 32-bit offset as int32 (read it with `>>> 0`).
   */
  imm = 0;
  /** Segment used by memory operands: override, else SS for rBP/rSP bases, else DS. */
  segment = SEG_DS;
  /** Effective address size in bytes: 2, 4 or 8. */
  addrSize = 4;
  /** Base register, -1 when none (disp-only or RIP-relative). 16-bit: BX/BP/SI/DI. */
  base = -1;
  /** Index register, -1 when none. 16-bit: SI or DI. */
  index = -1;
  /** SIB scale as a shift count 0-3. */
  scale = 0;
  /** Displacement, sign-extended (moffs: its low 32 bits as int32; read it with `>>> 0`). */
  disp = 0;
  mode: CpuMode = CpuMode.Bits32;
  /** Opcode: 0x00-0xff, or 0x0f00 | second byte. -1 before an opcode was read. */
  opcode = -1;
  /** Index into OPCODE_TABLE, -1 when invalid. */
  entryIndex = -1;
  entry: OpcodeEntry = NO_OPCODE_ENTRY;
  /** PREFIX_* bits. */
  prefixes = 0;
  /**
   * Legacy prefixes in byte order, 3 bits each, first prefix most significant (PREFIX_KIND_*):
   * lets the disassembler print prefixes the way they were encoded.
   */
  prefixOrder = 0;
  /** Sreg numbers of all segment prefixes in byte order, 3 bits each (for the disassembler). */
  segOrder = 0;
  /** Last segment override prefix (Sreg number) or -1. */
  segOverride = -1;
  /** REX low nibble (W R X B bits); 0 when absent (check PREFIX_REX for presence). */
  rex = 0;
  hasModrm = false;
  modrm = 0;
  mod = 0;
  hasSib = false;
  /** moffs only: high 32 bits of a 64-bit absolute offset (int32). */
  dispHi = 0;
  /** Address is RIP (or EIP with 67) + disp + length. */
  ripRelative = false;
  /** High 32 bits of the immediate as a 64-bit value (the imm64 half of MOV r64, imm64). */
  immHi = 0;
  /** Second immediate: ENTER's nesting level (Ib) or a far pointer's selector. */
  imm2 = 0;
}

/** For an 8-bit register operand numbered n: true when it is AH/CH/DH/BH (n-4's high byte). */
export function byteRegIsHigh(insn: Instruction, n: number): boolean {
  return n >= 4 && n < 8 && (insn.prefixes & PREFIX_REX) === 0;
}
