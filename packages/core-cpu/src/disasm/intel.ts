/*
 * Intel-syntax disassembler for decoded instructions, used by traces, error messages and the
 * objdump oracle tests. Output follows GNU objdump -M intel (binutils 2.40) with one
 * normalisation: a single space separates mnemonic and operands (objdump pads to a column).
 * Mimicked objdump conventions: size keywords (BYTE/WORD/DWORD/FWORD/QWORD/TBYTE/OWORD PTR) on
 * memory operands, `ds:` on absolute addresses, eiz/riz for a SIB byte without index,
 * size-suffixed mnemonics where no register shows the operand size (pushw, retfq, lgdtd,
 * iretq ...), `movabs` for 64-bit immediates/offsets, `addr16/addr32` where only a
 * non-default address size would otherwise be invisible (LOOP, moffs), branch targets as
 * absolute addresses and a `# 0x...` comment with the target of RIP-relative operands.
 * Where objdump and the CPU disagree we print what the CPU does: 66-prefixed short branches in
 * 32-bit code truncate the target to 16 bits, EIP-relative targets wrap at 4 GiB, negative
 * RIP displacements print signed. For 16-bit code `address` is taken to lie in a 64 KiB-aligned
 * segment (bits above 16 are kept, IP wraps within it).
 * Not on the hot path: builds strings freely.
 */
import { OperandMethod, OperandSize, operandBytes } from '../decoder/operands.js';
import { CpuMode, SEG_DS, SEG_ES, rexOf } from '../decoder/instruction.js';
import type { Instruction } from '../decoder/instruction.js';
import {
  gprName, hex, maskTo, mnemonic, PTR, segmentAsPrefix, segmentHidden, signedDisp, SREG,
} from './mnemonic.js';
import { prefixText } from './prefixes.js';

export { gprName } from './mnemonic.js';

function addrReg(insn: Instruction, n: number): string {
  return gprName(insn, n, insn.addrSize);
}

/** The bracketed address of a ModRM memory operand, with segment prefix when objdump shows one. */
function modrmAddress(insn: Instruction, address: bigint): string {
  const seg = insn.detail.segOverride >= 0 && !segmentAsPrefix(insn) ? SREG[insn.detail.segOverride] + ':' : '';
  if (insn.detail.ripRelative) {
    const ipName = insn.addrSize === 4 ? 'eip' : 'rip';
    return `${seg}[${ipName}${signedDisp(insn.disp)}]`;
  }
  const parts: string[] = [];
  if (insn.base >= 0) parts.push(addrReg(insn, insn.base));
  if (insn.index >= 0) {
    parts.push(insn.addrSize === 2 ? addrReg(insn, insn.index) : `${addrReg(insn, insn.index)}*${1 << insn.scale}`);
  } else if (insn.detail.hasSib && (insn.base >= 0 ? (insn.base & 7) !== 4 || insn.scale !== 0
    : insn.scale !== 0 || (insn.addrSize === 4 && insn.mode !== CpuMode.Bits16))) {
    parts.push(`${insn.addrSize === 8 ? 'riz' : 'eiz'}*${1 << insn.scale}`);
    // binutils prints 67-prefixed index-free forms in 64-bit mode with an unsigned displacement.
    if (insn.base < 0 && insn.mode === CpuMode.Bits64 && insn.addrSize === 4) return `${seg}[${parts[0]}+${hex(maskTo(BigInt(insn.disp), insn.addrSize))}]`;
  }
  if (parts.length === 0) {
    // Absolute: objdump prints the (sign-extended, address-size wide) value with a segment.
    const abs = maskTo(BigInt(insn.disp), insn.addrSize);
    return `${seg || 'ds:'}${hex(abs)}`;
  }
  let text = parts.join('+');
  if (insn.detail.mod !== 0 || insn.base < 0) text += signedDisp(insn.disp);
  void address;
  return `${seg}[${text}]`;
}

function ripComment(insn: Instruction, address: bigint): string {
  if (!insn.detail.ripRelative) return '';
  const target = maskTo(address + BigInt(insn.length) + BigInt(insn.disp), insn.addrSize === 4 ? 4 : 8);
  return `        # ${hex(target)}`;
}

function memSizePrefix(insn: Instruction, size: number): string {
  if (size === OperandSize.None || size === OperandSize.S || size === OperandSize.Env || size === OperandSize.State) return '';
  const bytes = operandBytes(size as OperandSize, insn.opSize, insn.mode === CpuMode.Bits64);
  return PTR[bytes] ?? '';
}

function stringOperand(insn: Instruction, bytes: number, seg: number, reg: number): string {
  return `${PTR[bytes]}${SREG[seg]}:[${addrReg(insn, reg)}]`;
}

function operandText(insn: Instruction, d: number, immSlot: { n: number }, address: bigint): string {
  const method = d & 0x1f;
  const size = (d >>> 5) & 0x1f;
  const long = insn.mode === CpuMode.Bits64;
  const bytes = operandBytes(size as OperandSize, insn.opSize, long);
  switch (method) {
    case OperandMethod.E:
    case OperandMethod.M:
    case OperandMethod.R:
    case OperandMethod.RvMw:
      if (!insn.isMem) return gprName(insn, insn.rm, method === OperandMethod.RvMw ? insn.opSize : bytes);
      return memSizePrefix(insn, method === OperandMethod.RvMw ? OperandSize.W : size) + modrmAddress(insn, address);
    case OperandMethod.G: return gprName(insn, insn.reg, bytes);
    case OperandMethod.Z: return gprName(insn, (insn.opcode & 7) | (rexOf(insn) & 1 ? 8 : 0), bytes);
    case OperandMethod.Reg: return gprName(insn, d >>> 10, bytes);
    case OperandMethod.S: return SREG[insn.reg & 7];
    case OperandMethod.Seg: return SREG[d >>> 10];
    case OperandMethod.C: return `cr${insn.reg}`;
    case OperandMethod.D: return `dr${insn.reg}`;
    case OperandMethod.One: return '1';
    case OperandMethod.St0: return 'st';
    case OperandMethod.StI: return `st(${insn.rm & 7})`;
    case OperandMethod.X: return stringOperand(insn, bytes, insn.detail.segOverride >= 0 && !segmentAsPrefix(insn) && !segmentHidden(insn) ? insn.detail.segOverride : SEG_DS, 6);
    case OperandMethod.Y: return stringOperand(insn, bytes, SEG_ES, 7);
    case OperandMethod.Xlat: return stringOperand(insn, 1, insn.detail.segOverride >= 0 && !segmentAsPrefix(insn) && !segmentHidden(insn) ? insn.detail.segOverride : SEG_DS, 3);
    case OperandMethod.O: {
      const seg = insn.detail.segOverride >= 0 && !segmentAsPrefix(insn) && !segmentHidden(insn) ? insn.detail.segOverride : SEG_DS;
      const off = (BigInt(insn.detail.dispHi >>> 0) << 32n) | BigInt(insn.disp >>> 0);
      return `${SREG[seg]}:${hex(off)}`;
    }
    case OperandMethod.A: return `${hex(insn.detail.imm2)}:${hex(insn.imm >>> 0)}`;
    case OperandMethod.J: {
      const target = address + BigInt(insn.length) + BigInt(insn.imm);
      // 16-bit IP wraps inside its segment. In 16-bit code `address` is taken (as objdump does)
      // to lie in a 64 KiB-aligned segment, so the bits above 16 are kept; a 66-prefixed
      // branch in 32/64-bit code truncates EIP to 16 bits.
      if (insn.opSize === 2 && insn.mode === CpuMode.Bits16) return hex((address & ~0xffffn) | (target & 0xffffn));
      return hex(maskTo(target, insn.opSize));
    }
    case OperandMethod.I:
    case OperandMethod.IbSigned: {
      const first = immSlot.n++ === 0;
      if (!first) return hex(insn.detail.imm2);
      const value = (BigInt(insn.detail.immHi) << 32n) | BigInt(insn.imm >>> 0);
      // Sign-extended immediates print at the width of the operation (objdump convention).
      const width = method === OperandMethod.IbSigned || size === OperandSize.Z ? insn.opSize : size === OperandSize.B ? 1 : size === OperandSize.W ? 2 : bytes;
      return hex(maskTo(value, width));
    }
    default: return '?';
  }
}

/**
 * Formats a successfully decoded instruction at `address` (used for branch targets and
 * RIP-relative comments) in Intel syntax; "(bad)" when `insn` holds no valid decode.
 */
export function disassemble(insn: Instruction, address: number | bigint): string {
  if (insn.entry.index < 0) return '(bad)';
  const addr = typeof address === 'bigint' ? address : BigInt(address);
  const name = mnemonic(insn);
  const prefix = prefixText(insn, name);
  const slot = { n: 0 };
  const ops = insn.entry.ops.map((d) => operandText(insn, d, slot, addr));
  if (name === 'xchg' && ops.length === 0) ops.push(gprName(insn, 0, insn.opSize), gprName(insn, 0, insn.opSize));
  const text = ops.length === 0 ? prefix + name : `${prefix}${name} ${ops.join(',')}`;
  return text + ripComment(insn, addr);
}
