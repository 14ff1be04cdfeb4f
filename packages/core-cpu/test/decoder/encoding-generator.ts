/*
 * Test-encoding generator: walks OPCODE_TABLE and produces, per entry and mode, seeded random
 * encodings (ModRM/SIB/displacement/immediate bytes at random, prefixes 66/67/F2/F3/F0/segment
 * and REX where they mean something). The instruction length comes from the decoder under
 * test; the objdump oracle then checks it, so a wrong length shows up as a mismatch.
 */
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { OPCODE_TABLE } from '../../src/decoder/opcode-table.js';
import { OperandMethod, OperandSize } from '../../src/decoder/operands.js';
import {
  ENTRY_D64, ENTRY_F64, ENTRY_I64, ENTRY_LOCK, ENTRY_O64, ENTRY_REP, ENTRY_X87,
} from '../../src/decoder/opcode-types.js';
import type { OpcodeEntry } from '../../src/decoder/opcode-types.js';
import { disassemble } from '../../src/disasm/intel.js';

/** mulberry32: small, seeded, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Generated {
  offset: number;
  bytes: number[];
  text: string;
  entry: OpcodeEntry;
}

const methodOf = (d: number): number => d & 0x1f;
const sizeOf = (d: number): number => (d >>> 5) & 0x1f;

function sizeSensitive(e: OpcodeEntry): boolean {
  if (e.names[0] !== e.names[1] || e.names[1] !== e.names[2]) return true;
  if (['pusha', 'popa', 'pushf', 'popf', 'iret', 'retf', 'enter', 'leave', 'fldenv', 'fnstenv', 'frstor', 'fnsave'].includes(e.mnemonic)) return true;
  return e.ops.some((d) => {
    const s = sizeOf(d);
    const m = methodOf(d);
    return (s === OperandSize.V || s === OperandSize.Z || s === OperandSize.Y || s === OperandSize.P || s === OperandSize.A ||
      s === OperandSize.Qo || (m === OperandMethod.J && s !== OperandSize.B) || m === OperandMethod.IbSigned ||
      m === OperandMethod.A || (m === OperandMethod.Seg && !['mov'].includes(e.mnemonic)));
  });
}

function usesMethod(e: OpcodeEntry, ...methods: number[]): boolean {
  return e.ops.some((d) => methods.includes(methodOf(d)));
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** Builds one encoding for `e` in `mode`, or undefined when the random choice does not select `e`. */
function buildOne(e: OpcodeEntry, mode: CpuMode, r: () => number, insn: Instruction): number[] | undefined {
  const long = mode === CpuMode.Bits64;
  const legacy: number[] = [];
  const sensitive = sizeSensitive(e);
  // ModRM satisfying the row's constraints.
  let modrm = -1;
  if (e.hasModrm) {
    const regs = e.reg === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : Array.isArray(e.reg) ? e.reg : [e.reg];
    const reg = pick(r, regs);
    const memOnly = e.mod === 'mem' || usesMethod(e, OperandMethod.M);
    const regOnly = e.mod === 'reg' || usesMethod(e, OperandMethod.R, OperandMethod.StI);
    const mod = regOnly ? 3 : memOnly ? Math.floor(r() * 3) : Math.floor(r() * 4);
    const rm = e.rm ?? Math.floor(r() * 8);
    modrm = (mod << 6) | (reg << 3) | rm;
  }
  const isMem = modrm >= 0 && modrm < 0xc0 && !usesMethod(e, OperandMethod.C, OperandMethod.D);
  const memory = isMem || usesMethod(e, OperandMethod.X, OperandMethod.O, OperandMethod.Xlat);
  const onlyY = usesMethod(e, OperandMethod.Y) && !usesMethod(e, OperandMethod.X);
  const rvmwMemOnly = isMem && usesMethod(e, OperandMethod.RvMw) && !e.ops.some((d) => sizeOf(d) === OperandSize.V && methodOf(d) !== OperandMethod.RvMw);
  const jb = e.ops.some((d) => methodOf(d) === OperandMethod.J && sizeOf(d) === OperandSize.B);
  const sizeOnlyInName = e.ops.some((d) => sizeOf(d) === OperandSize.S) || e.mnemonic === 'sysret' || e.mnemonic === 'sysexit';
  const may66 = (sensitive || jb) && !rvmwMemOnly && !(long && sizeOnlyInName) &&
    !((e.attrs & ENTRY_X87) !== 0 && !['fldenv', 'fnstenv', 'frstor', 'fnsave'].includes(e.mnemonic));
  const addrUser = memory || usesMethod(e, OperandMethod.Y) || e.mnemonic.startsWith('loop') || e.mnemonic.startsWith('jcxz');
  if (may66 && r() < 0.3) legacy.push(0x66);
  if (addrUser && r() < 0.3) legacy.push(0x67);
  if (memory && !onlyY && r() < 0.25) legacy.push(pick(r, [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]));
  if ((e.attrs & ENTRY_REP) !== 0 && r() < 0.5) legacy.push(pick(r, [0xf2, 0xf3]));
  if ((e.attrs & ENTRY_LOCK) !== 0 && isMem && r() < 0.4) legacy.push(0xf0);
  // Shuffle legacy prefixes: their order must not matter.
  for (let i = legacy.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [legacy[i], legacy[j]] = [legacy[j], legacy[i]];
  }
  let rex = 0;
  if (long) {
    const farPtr = e.ops.some((d) => sizeOf(d) === OperandSize.P);
    const movSreg = usesMethod(e, OperandMethod.S, OperandMethod.Seg);
    // objdump prints 'data16' for 66+REX.W on some opcodes and not others: never combine them.
    const x87 = (e.attrs & ENTRY_X87) !== 0;
    if (sensitive && !farPtr && !movSreg && !x87 && !legacy.includes(0x66) && (e.attrs & (ENTRY_D64 | ENTRY_F64)) === 0 && r() < 0.4) rex |= 8;
    if (usesMethod(e, OperandMethod.G, OperandMethod.C, OperandMethod.D) && r() < 0.4) rex |= 4;
    if ((e.hasModrm && !usesMethod(e, OperandMethod.S) || usesMethod(e, OperandMethod.Z)) && r() < 0.4) rex |= 1;
    // Now and then a REX bit nothing uses: both sides must then show it as a 'rex.X' marker.
    if (!usesMethod(e, OperandMethod.S) && r() < 0.1) rex |= pick(r, [1, 2, 4]);
    if (isMem && (modrm & 7) === 4 && r() < 0.4) rex |= 2;
    const byteReg = e.ops.some((d) => sizeOf(d) === OperandSize.B && ([OperandMethod.G, OperandMethod.E, OperandMethod.Z] as number[]).includes(methodOf(d)));
    if (rex !== 0 || (byteReg && r() < 0.3)) rex |= 0x40;
    // binutils treats FWAIT as a prefix and prints a REX before it as a separate line.
    if (e.mnemonic === 'fwait') rex = 0;
  }
  const bytes = [...legacy];
  if (rex) bytes.push(rex);
  if (e.op >= 0x0f00) bytes.push(0x0f);
  bytes.push(e.op & 0xff);
  if (modrm >= 0) bytes.push(modrm);
  while (bytes.length < 15) bytes.push(Math.floor(r() * 256));
  const src = { fetch8: (a: number) => bytes[a] };
  const status = decode(src, 0, mode, insn);
  if (status !== DecodeStatus.Ok || insn.entry !== e) return undefined;
  return bytes.slice(0, insn.length);
}

/**
 * Entries objdump decodes as a later ISA: 0F 1A/0F 1B are MPX (bndldx/bndstx ...) and 0F 1C
 * /0 is CLDEMOTE to binutils, P6 reserved NOPs to tsemu. Checked by hand-written tests instead.
 */
const NOT_COMPARABLE = new Set([0x0f1a, 0x0f1b, 0x0f1c]);
/** binutils names these 'fneni(8087 only)' etc.; tsemu uses the plain mnemonics. */
const ODD_NAMES = new Set(['fneni', 'fndisi', 'fnsetpm']);

function validIn(e: OpcodeEntry, mode: CpuMode): boolean {
  if (e.special || NOT_COMPARABLE.has(e.op) || ODD_NAMES.has(e.mnemonic)) return false;
  // 0F 18 /6 /7 with RIP-relative operands are PREFETCHIT0/1 to binutils.
  if (mode === CpuMode.Bits64 && e.op === 0x0f18) return false;
  return mode === CpuMode.Bits64 ? (e.attrs & ENTRY_I64) === 0 : (e.attrs & ENTRY_O64) === 0;
}

/** `perEntry` encodings for every table entry valid in `mode`, laid out back to back. */
export function generate(mode: CpuMode, perEntry: number, seed: number): Generated[] {
  const r = rng(seed);
  const insn = newInstruction();
  const out: Generated[] = [];
  let offset = 0;
  const emit = (bytes: number[], e: OpcodeEntry): void => {
    const src = { fetch8: (a: number) => bytes[a - offset] };
    decode(src, offset, mode, insn);
    out.push({ offset, bytes, text: disassemble(insn, offset), entry: e });
    offset += bytes.length;
  };
  const nop = OPCODE_TABLE.find((e) => e.special && e.mnemonic === 'nop')!;
  for (const e of OPCODE_TABLE) {
    if (!validIn(e, mode)) continue;
    for (let n = 0, tries = 0; n < perEntry && tries < perEntry * 20; tries++) {
      const bytes = buildOne(e, mode, r, insn);
      if (bytes === undefined) continue;
      emit(bytes, e);
      n++;
      // objdump folds FWAIT into a following x87 instruction (fstsw = fwait; fnstsw).
      if (e.mnemonic === 'fwait') emit([0x90], nop);
    }
  }
  return out;
}
