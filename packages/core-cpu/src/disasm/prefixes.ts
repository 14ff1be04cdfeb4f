/*
 * Prefix words of the Intel-syntax disassembler, printed in encoding order the way objdump does:
 * lock/rep/repz/repnz, segment names where no operand shows them, and data16/data32/addr16/
 * addr32/rex.WRXB markers for prefixes whose effect the text would not otherwise show
 * (binutils' "used prefix" bookkeeping, reproduced from the decoded fields).
 */
import { OperandMethod, OperandSize } from '../decoder/operands.js';
import {
  CpuMode, PREFIX_KIND_ADDRSIZE, PREFIX_KIND_LOCK, PREFIX_KIND_OPSIZE, PREFIX_KIND_REP, PREFIX_KIND_REPNE,
  PREFIX_KIND_SEG, PREFIX_REX, REX_B, REX_R, REX_W, REX_X, rexOf,
} from '../decoder/instruction.js';
import type { Instruction } from '../decoder/instruction.js';
import {
  ENTRY_D64, ENTRY_F64, ENTRY_MNEMONIC_BY_ADDR, ENTRY_REP, ENTRY_REPE, ENTRY_X87,
} from '../decoder/opcode-types.js';
import {
  defaultOpSize, nameForSize, SREG, segmentAsPrefix, segmentHidden, sizeSuffix,
} from './mnemonic.js';

/** True when the operand size shows in the text (so a 66 prefix needs no 'data16' marker). */
function opSizeVisible(insn: Instruction): boolean {
  const e = insn.entry;
  if ((e.attrs & ENTRY_MNEMONIC_BY_ADDR) === 0 && nameForSize(insn, insn.opSize) !== nameForSize(insn, defaultOpSize(insn))) return true;
  if (sizeSuffix(insn) !== '') return true;
  for (const d of e.ops) {
    const m = d & 0x1f;
    const size = (d >>> 5) & 0x1f;
    if (m === OperandMethod.J) {
      if (size !== OperandSize.B) return true;
    } else if (m === OperandMethod.IbSigned || m === OperandMethod.A) {
      return true;
    } else if (m === OperandMethod.RvMw) {
      if (!insn.isMem) return true;
    } else if (size === OperandSize.V || size === OperandSize.Z || size === OperandSize.P || size === OperandSize.A ||
        size === OperandSize.Env || size === OperandSize.State || (size === OperandSize.Y && insn.mode === CpuMode.Bits64)) {
      return true;
    }
  }
  return false;
}

/** REX.W shows in the text (operand size 64 is visible and did not come from d64/f64). */
function rexWVisible(insn: Instruction): boolean {
  const e = insn.entry;
  if (e.attrs & (ENTRY_D64 | ENTRY_F64 | ENTRY_X87)) return false;
  if ((e.attrs & ENTRY_MNEMONIC_BY_ADDR) === 0 && e.names[1] !== e.names[2]) return true;
  if (sizeSuffix(insn) !== '') return true;
  for (const d of e.ops) {
    const m = d & 0x1f;
    const size = (d >>> 5) & 0x1f;
    if (m === OperandMethod.RvMw) {
      if (!insn.isMem) return true;
    } else if (size === OperandSize.V || size === OperandSize.Y || size === OperandSize.Qo || size === OperandSize.A ||
        m === OperandMethod.IbSigned || size === OperandSize.P) {
      return true;
    }
  }
  return false;
}

/** REX bits (plus 0x40 itself) that some operand consumed, objdump's rex_used. */
function rexUsed(insn: Instruction): number {
  const rex = rexOf(insn);
  let used = 0;
  const e = insn.entry;
  for (const d of e.ops) {
    const m = d & 0x1f;
    const size = (d >>> 5) & 0x1f;
    const byteReg = size === OperandSize.B;
    switch (m) {
      case OperandMethod.G: case OperandMethod.C: case OperandMethod.D:
        used |= rex & REX_R;
        if (byteReg && (insn.reg & 4)) used |= 0x40;
        break;
      case OperandMethod.E: case OperandMethod.M: case OperandMethod.R: case OperandMethod.RvMw:
        if (insn.isMem) {
          if (insn.base >= 0 || insn.detail.ripRelative) used |= rex & REX_B;
          if (insn.index >= 0 || (insn.detail.hasSib && (rex & REX_X))) used |= rex & REX_X;
          if (insn.detail.hasSib) used |= rex & REX_B;
        } else {
          used |= rex & REX_B;
          if (byteReg && (insn.rm & 4)) used |= 0x40;
        }
        break;
      case OperandMethod.Z:
        used |= rex & REX_B;
        if (byteReg && (insn.opcode & 4)) used |= 0x40;
        break;
      default:
        break;
    }
  }
  if ((rex & REX_W) && rexWVisible(insn)) used |= REX_W;
  if (used) used |= 0x40;
  return used;
}

function rawPrefixName(insn: Instruction, kind: number, seg: number): string {
  switch (kind) {
    case PREFIX_KIND_LOCK: return 'lock';
    case PREFIX_KIND_REP: return 'repz';
    case PREFIX_KIND_REPNE: return 'repnz';
    case PREFIX_KIND_OPSIZE: return insn.mode === CpuMode.Bits16 ? 'data32' : 'data16';
    case PREFIX_KIND_ADDRSIZE: return insn.mode === CpuMode.Bits32 ? 'addr16' : 'addr32';
    default: return SREG[seg];
  }
}

function rexName(rex: number): string {
  const bits = (rex & REX_W ? 'W' : '') + (rex & REX_R ? 'R' : '') + (rex & REX_X ? 'X' : '') + (rex & REX_B ? 'B' : '');
  return bits ? `rex.${bits}` : 'rex';
}

export function prefixText(insn: Instruction, name: string): string {
  const e = insn.entry;
  const long = insn.mode === CpuMode.Bits64;
  const words: string[] = [];
  const kinds: number[] = [];
  for (let order = insn.detail.prefixOrder; order > 0; order = Math.floor(order / 8)) kinds.unshift(order % 8);
  const opsizeShown = (e.special === true && e.mnemonic === 'nop' && !(rexOf(insn) & REX_W)) || opSizeVisible(insn) && !(long && ((rexOf(insn) & REX_W) || (e.attrs & ENTRY_F64)));
  const isLoop = name === 'loop' || name === 'loope' || name === 'loopne';
  const moffs = e.ops.some((d) => (d & 0x1f) === OperandMethod.O);
  const absolute = insn.isMem && insn.base < 0 && insn.index < 0 && !insn.detail.ripRelative;
  const stringOps = e.ops.some((d) => { const m = d & 0x1f; return m === OperandMethod.X || m === OperandMethod.Y || m === OperandMethod.Xlat; });
  const addrShown = stringOps || (e.attrs & ENTRY_MNEMONIC_BY_ADDR) !== 0 ||
    (insn.isMem && !isLoop && !(insn.mode === CpuMode.Bits16 && absolute));
  const mandatory = e.prefix === 'f3' ? PREFIX_KIND_REP : e.prefix === 'f2' ? PREFIX_KIND_REPNE : e.prefix === '66' ? PREFIX_KIND_OPSIZE : 0;
  const segs: number[] = [];
  for (let order = insn.detail.segOrder, n = 0; n < kinds.filter((k) => k === PREFIX_KIND_SEG).length; n++, order = Math.floor(order / 8)) {
    segs.unshift(order % 8);
  }
  // Only the last prefix of each group takes effect; earlier ones print under their raw names.
  const group = (k: number): number => (k === PREFIX_KIND_REPNE ? PREFIX_KIND_REP : k);
  let segIndex = 0;
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i];
    const seg = kind === PREFIX_KIND_SEG ? segs[segIndex++] : -1;
    if (kinds.slice(i + 1).some((k) => group(k) === group(kind))) {
      words.push(rawPrefixName(insn, kind, seg));
      continue;
    }
    if (kind === mandatory) continue;
    switch (kind) {
      case PREFIX_KIND_LOCK: words.push('lock'); break;
      case PREFIX_KIND_REP:
        words.push(e.attrs & ENTRY_REP && !(e.attrs & ENTRY_REPE) ? 'rep' : 'repz');
        break;
      case PREFIX_KIND_REPNE: words.push('repnz'); break;
      case PREFIX_KIND_OPSIZE:
        if (!opsizeShown) words.push(insn.mode === CpuMode.Bits16 ? 'data32' : 'data16');
        break;
      case PREFIX_KIND_ADDRSIZE:
        if (!addrShown || moffs) words.push(`addr${insn.addrSize * 8}`);
        break;
      case PREFIX_KIND_SEG:
        if (segmentAsPrefix(insn) && !segmentHidden(insn)) words.push(SREG[insn.detail.segOverride]);
        break;
      default: break;
    }
  }
  if (insn.prefixes & PREFIX_REX) {
    const rex = rexOf(insn) | 0x40;
    if (rex & ~rexUsed(insn)) words.push(rexName(rex));
  }
  return words.length ? words.join(' ') + ' ' : '';
}

