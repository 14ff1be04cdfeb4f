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

/** Where Instruction.prefixes keeps the REX nibble. */
export const PREFIX_REX_SHIFT = 8;

/** The REX prefix's low nibble (W R X B bits), 0 without one. */
export function rexOf(insn: Instruction): number {
  return (insn.prefixes >>> PREFIX_REX_SHIFT) & 0xf;
}

/** The ModRM byte, rebuilt from the decoded fields (0 when there is none). */
export function modrmOf(insn: Instruction): number {
  return insn.detail.hasModrm ? (insn.detail.mod << 6) | ((insn.reg & 7) << 3) | (insn.rm & 7) : 0;
}

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
 * What the decoder and the disassembler read, and the operand halves only far pointers, ENTER
 * and 64-bit forms have: the prefixes in the order they were encoded, the ModRM/SIB shape, the
 * second immediate and high halves. Kept out of Instruction itself and shared by every
 * instruction with the same values (internDetail): the decode cache holds hundreds of thousands
 * of instructions, and code too cold for the host's caches runs at the speed its instructions
 * come from memory (the bench's cold-code loop ran 12% slower with 80 more bytes on each).
 */
export interface DecodeDetail {
  /**
   * Legacy prefixes in byte order, 3 bits each, first prefix most significant (PREFIX_KIND_*):
   * lets the disassembler print prefixes the way they were encoded.
   */
  readonly prefixOrder: number;
  /** Sreg numbers of all segment prefixes in byte order, 3 bits each (for the disassembler). */
  readonly segOrder: number;
  /** Last segment override prefix (Sreg number) or -1. */
  readonly segOverride: number;
  readonly hasModrm: boolean;
  /** ModRM.mod (0 when there is no ModRM byte). */
  readonly mod: number;
  readonly hasSib: boolean;
  /** High 32 bits of the immediate as a 64-bit value (the imm64 half of MOV r64, imm64; else its sign). */
  readonly immHi: number;
  /** Second immediate: ENTER's nesting level (Ib) or a far pointer's selector. */
  readonly imm2: number;
  /** moffs only: high 32 bits of a 64-bit absolute offset (int32). */
  readonly dispHi: number;
  /** 64-bit mode: the address is RIP (or EIP with 67) + disp + length (base and index are -1). */
  readonly ripRelative: boolean;
}

/** The decoder's working copy of a DecodeDetail, interned by internDetail once it is complete. */
export type DetailFields = { -readonly [K in keyof DecodeDetail]: DecodeDetail[K] };

export function clearDetailFields(f: DetailFields): void {
  f.prefixOrder = 0;
  f.segOrder = 0;
  f.segOverride = -1;
  f.hasModrm = false;
  f.mod = 0;
  f.hasSib = false;
  f.immHi = 0;
  f.imm2 = 0;
  f.dispHi = 0;
  f.ripRelative = false;
}

export function newDetailFields(): DetailFields {
  const f = {} as DetailFields;
  clearDetailFields(f);
  return f;
}

/** Interned details, by their values packed in one small integer. */
const details = new Map<number, DecodeDetail>();
/**
 * Interned details at most. Real code has a few hundred distinct ones; a guest that decodes
 * every prefix and operand combination gets details of its own past this, as the decoded
 * instructions holding them come and go, instead of a map that only grows.
 */
export const MAX_INTERNED_DETAILS = 1 << 14;

/** How many details are interned (for tests: the map's bound). */
export function internedDetails(): number {
  return details.size;
}

/**
 * The shared DecodeDetail with `f`'s values, looked up by a key of 30 bits (a small integer to
 * V8): up to 4 prefixes, a segment prefix (or two, the first of them ES, CS, SS or DS), a sign
 * as immHi and a second immediate below 16 (ENTER's usual levels). Anything else, rare in any
 * code, gets a detail of its own.
 */
export function internDetail(f: DetailFields): DecodeDetail {
  if (f.prefixOrder >= 1 << 12 || f.segOrder >= 1 << 5 || (f.immHi !== 0 && f.immHi !== -1) || f.imm2 >>> 0 >= 16 || f.dispHi !== 0) {
    return Object.freeze({ ...f });
  }
  const modrmShape = (f.ripRelative ? 16 : 0) | (f.hasModrm ? 8 : 0) | (f.mod << 1) | (f.hasSib ? 1 : 0);
  const key = (((((f.prefixOrder << 5) | f.segOrder) << 3 | (f.segOverride + 1)) << 5 | modrmShape) << 1 | -f.immHi) << 4 | f.imm2;
  let d = details.get(key);
  if (d === undefined) {
    d = Object.freeze({ ...f });
    if (details.size < MAX_INTERNED_DETAILS) details.set(key, d);
  }
  return d;
}

export const NO_DECODE_DETAIL: DecodeDetail = internDetail(newDetailFields());

/**
 * Every numeric field holds an int32, which V8 keeps as a small integer: a value of 2^31 or
 * more in one field would change the hidden class of every Instruction, and all optimised code
 * that had read one (the interpreter's handlers, the JIT's translations) would be thrown away
 * at once (see WIDE_ZERO). A 32-bit kernel's MOV EAX,[moffs] addresses are above 2^31. Fields
 * that mean unsigned values are read with `>>> 0`. Made by newInstruction.
 */
export interface Instruction {
  // Field order is memory layout (newInstruction's literal lists them in this order, and V8
  // lays an object's fields out so): what the interpreter reads for every instruction comes
  // first, in as few cache lines as possible; what only the decoder and the disassembler use
  // comes last.
  /** Total length in bytes (valid when status is Ok; bytes consumed so far otherwise). */
  length: number;
  /**
   * The interpreter's handler for this instruction and its case in the block runner's switch
   * (interp/decode-cache.ts sets both when it caches the instruction; 0 and null elsewhere).
   * Kept here, beside the operands the handler reads, so running a cached instruction loads one
   * object.
   */
  handler: ((cpu: never, insn: Instruction) => void) | null;
  hotCase: number;
  /** ModRM.reg extended by REX.R. */
  reg: number;
  /** ModRM.rm extended by REX.B (the register for mod = 3). */
  rm: number;
  /** The ModRM operand is memory (mod != 3). */
  isMem: boolean;
  /** Effective operand size in bytes: 2, 4 or 8. */
  opSize: number;
  /**
   * First immediate (or the relative branch offset for J operands, or a far pointer's offset):
   * Ib and Iw zero-extended; Ibs, Iz, Iv and branch offsets sign-extended to int32; a far
   * pointer's 32-bit offset as int32 (read it with `>>> 0`).
   */
  imm: number;
  /** Segment used by memory operands: override, else SS for rBP/rSP bases, else DS. */
  segment: number;
  /** Effective address size in bytes: 2, 4 or 8. */
  addrSize: number;
  /** Base register, -1 when none (disp-only or RIP-relative). 16-bit: BX/BP/SI/DI. */
  base: number;
  /** Index register, -1 when none. 16-bit: SI or DI. */
  index: number;
  /** SIB scale as a shift count 0-3. */
  scale: number;
  /** Displacement, sign-extended (moffs: its low 32 bits as int32; read it with `>>> 0`). */
  disp: number;
  mode: CpuMode;
  /** Opcode: 0x00-0xff, or 0x0f00 | second byte. -1 before an opcode was read. */
  opcode: number;
  /** The opcode table's row (NO_OPCODE_ENTRY when invalid; its `index` is the row's place in OPCODE_TABLE). */
  entry: OpcodeEntry;
  /**
   * PREFIX_* bits, and in bits 11:8 the REX prefix's low nibble (W R X B; 0 when absent, check
   * PREFIX_REX for presence): see rexOf.
   */
  prefixes: number;
  /** How the instruction was encoded, and its rare operand halves: see DecodeDetail. */
  detail: DecodeDetail;
}

/**
 * A new instruction record, every field at its initial value. Every Instruction comes from this
 * one object literal, so all have one hidden class (handlers and translations read them through
 * monomorphic loads). A literal rather than a class: V8 tracks where a literal's objects are
 * allocated, and once nearly all of them outlive a young-generation collection (the decode
 * cache keeps its instructions) it allocates them straight in the old generation. Objects of a
 * class are always allocated young and copied twice by the scavenger: 720,000 of them, the
 * decoded instructions of a Linux boot, cost 224-230 ms of scavenges against 40-46 ms as a
 * literal (a standalone test of the then 31 fields, two runs each). Without pointer compression
 * (Node's builds) each field takes 8 bytes: an instruction is about 190 bytes with its array slot.
 */
export function newInstruction(): Instruction {
  return {
    length: 0,
    handler: null,
    hotCase: 0,
    reg: 0,
    rm: 0,
    isMem: false,
    opSize: 4,
    imm: 0,
    segment: SEG_DS,
    addrSize: 4,
    base: -1,
    index: -1,
    scale: 0,
    disp: 0,
    mode: CpuMode.Bits32,
    opcode: -1,
    entry: NO_OPCODE_ENTRY,
    prefixes: 0,
    detail: NO_DECODE_DETAIL,
  };
}

/** For an 8-bit register operand numbered n: true when it is AH/CH/DH/BH (n-4's high byte). */
export function byteRegIsHigh(insn: Instruction, n: number): boolean {
  return n >= 4 && n < 8 && (insn.prefixes & PREFIX_REX) === 0;
}
