/*
 * Mnemonic and naming helpers of the Intel-syntax disassembler: register names, objdump's
 * size-suffix rules (pushw, retfq, lgdtd, iretq ...), movabs, and which segment overrides show
 * as a prefix word rather than inside an operand.
 */
import { OperandMethod, OperandSize } from '../decoder/operands.js';
import { CpuMode, PREFIX_OPSIZE, PREFIX_REX } from '../decoder/instruction.js';
import type { Instruction } from '../decoder/instruction.js';
import { ENTRY_D64, ENTRY_F64, ENTRY_MNEMONIC_BY_ADDR, ENTRY_X87 } from '../decoder/opcode-types.js';

export const REG64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const REG8_REX = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const REG8_LEGACY = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
export const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];

export const PTR: Record<number, string> = {
  1: 'BYTE PTR ', 2: 'WORD PTR ', 4: 'DWORD PTR ', 6: 'FWORD PTR ', 8: 'QWORD PTR ', 10: 'TBYTE PTR ', 16: 'OWORD PTR ',
};

/** Name of general register n for an operand of `bytes` bytes. */
export function gprName(insn: Instruction, n: number, bytes: number): string {
  switch (bytes) {
    case 1: return insn.prefixes & PREFIX_REX ? REG8_REX[n] : REG8_LEGACY[n] ?? REG8_REX[n];
    case 2: return REG16[n];
    case 8: return REG64[n];
    default: return REG32[n];
  }
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

/** Signed displacement text: "+0x10" / "-0x10". */
export function signedDisp(d: number): string {
  return d < 0 ? '-' + hex(-d) : '+' + hex(d);
}

export function maskTo(value: bigint, bytes: number): bigint {
  return BigInt.asUintN(bytes * 8, value);
}

export function defaultOpSize(insn: Instruction): number {
  if (insn.mode === CpuMode.Bits16) return 2;
  if (insn.mode === CpuMode.Bits32) return 4;
  return insn.entry.attrs & (ENTRY_D64 | ENTRY_F64) ? 8 : 4;
}

export const SIZE_LETTER: Record<number, string> = { 2: 'w', 4: 'd', 8: 'q' };

/** Mnemonics objdump suffixes with the operand size when it differs from the mode's default. */
const SUFFIX_WHEN_NOT_DEFAULT = new Set(['pusha', 'popa', 'pushf', 'popf', 'iret', 'retf', 'enter', 'leave',
  'fldenv', 'fnstenv', 'frstor', 'fnsave']);
/** ...the same, but only when no register operand shows the size. */
const SUFFIX_WHEN_NOT_DEFAULT_NO_REG = new Set(['push', 'pop', 'call', 'jmp', 'ret']);
/** Always suffixed outside 64-bit mode. */
const SUFFIX_LEGACY_ALWAYS = new Set(['lgdt', 'lidt', 'sgdt', 'sidt']);
/** Always suffixed in 64-bit mode. */
const SUFFIX_LONG_ALWAYS = new Set(['sysret', 'sysexit']);

export function nameForSize(insn: Instruction, bytes: number): string {
  return insn.entry.names[bytes === 2 ? 0 : bytes === 4 ? 1 : 2];
}

/** Operand size as the mnemonic shows it (x87 environment forms ignore REX.W). */
export function shownOpSize(insn: Instruction): number {
  return insn.entry.attrs & ENTRY_X87 && insn.opSize === 8 ? 4 : insn.opSize;
}

/** The size suffix objdump appends to this instruction's mnemonic, or ''. */
export function sizeSuffix(insn: Instruction): string {
  const e = insn.entry;
  const base = e.mnemonic;
  const opSize = shownOpSize(insn);
  const letter = SIZE_LETTER[opSize];
  const notDefault = opSize !== defaultOpSize(insn);
  if (SUFFIX_WHEN_NOT_DEFAULT.has(base)) return notDefault ? letter : '';
  if (SUFFIX_WHEN_NOT_DEFAULT_NO_REG.has(base)) {
    if (!notDefault) return '';
    const m = e.ops.length === 0 ? OperandMethod.None : e.ops[0] & 0x1f;
    const sizeShownByOperand = !(m === OperandMethod.None || m === OperandMethod.I || m === OperandMethod.IbSigned ||
      m === OperandMethod.Seg || (m === OperandMethod.J && ((e.ops[0] >>> 5) & 0x1f) !== OperandSize.B));
    return sizeShownByOperand ? '' : letter;
  }
  if (SUFFIX_LEGACY_ALWAYS.has(base)) return insn.mode !== CpuMode.Bits64 ? letter : '';
  if (SUFFIX_LONG_ALWAYS.has(base)) return insn.mode === CpuMode.Bits64 ? letter : '';
  return '';
}

export function mnemonic(insn: Instruction): string {
  const e = insn.entry;
  // objdump shows 66 90 as the XCHG it encodes.
  if (e.special && e.mnemonic === 'nop' && (insn.prefixes & PREFIX_OPSIZE) !== 0) return 'xchg';
  const name = e.attrs & ENTRY_MNEMONIC_BY_ADDR ? nameForSize(insn, insn.addrSize) : nameForSize(insn, insn.opSize);
  if (name === 'mov' && insn.mode === CpuMode.Bits64 && insn.opSize === 8 && (insn.opcode & 0xf8) === 0xb8) return 'movabs';
  if (name === 'mov' && insn.addrSize === 8 && insn.opcode >= 0xa0 && insn.opcode <= 0xa3) return 'movabs';
  return name + sizeSuffix(insn);
}

export function hasMemoryOperand(insn: Instruction): boolean {
  for (const d of insn.entry.ops) {
    const m = d & 0x1f;
    if (m === OperandMethod.X || m === OperandMethod.Y || m === OperandMethod.O || m === OperandMethod.Xlat) return true;
  }
  return insn.isMem;
}

/** Segment overrides objdump prints before the mnemonic rather than inside an operand. */
export function segmentAsPrefix(insn: Instruction): boolean {
  return !hasMemoryOperand(insn) || (insn.mode === CpuMode.Bits64 && insn.detail.segOverride < 4 && !isStringInsn(insn));
}

export function isStringInsn(insn: Instruction): boolean {
  return insn.entry.ops.some((d) => {
    const m = d & 0x1f;
    return m === OperandMethod.X || m === OperandMethod.Y || m === OperandMethod.Xlat;
  });
}

/** 64-bit mode ignores ES/CS/SS/DS overrides; objdump drops them silently on string instructions. */
export function segmentHidden(insn: Instruction): boolean {
  return insn.mode === CpuMode.Bits64 && insn.detail.segOverride < 4 && isStringInsn(insn);
}

