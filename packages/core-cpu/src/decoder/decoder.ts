/*
 * x86 instruction decoder: prefixes, REX, opcode maps, ModRM/SIB/displacement, immediates, for
 * 16-, 32- and 64-bit code (SDM Vol. 2, chapter 2). Table-driven through lookup.ts; allocates
 * nothing and builds no strings. Faults raised by the ByteSource (page faults during fetch)
 * propagate to the caller untouched.
 */
import { OperandMethod, OperandSize } from './operands.js';
import { OPCODE_TABLE } from './opcode-table.js';
import {
  ENTRY_D64, ENTRY_F64, ENTRY_HAS_IMMEDIATE, ENTRY_LOCK, ENTRY_MANDATORY_PREFIX, ENTRY_MOD_IGNORED,
} from './opcode-types.js';
import {
  GROUP_SIZE, LEGACY_TABLES, LONG_TABLES, NO_ENTRY, PREFIX_CLASS_66, PREFIX_CLASS_F2, PREFIX_CLASS_F3,
  PREFIX_CLASS_NONE,
} from './lookup.js';
import {
  CpuMode, DecodeStatus, Instruction, NO_OPCODE_ENTRY, clearDetailFields, internDetail, newDetailFields, PREFIX_REX_SHIFT, PREFIX_ADDRSIZE, PREFIX_LOCK, PREFIX_OPSIZE,
  PREFIX_REP, PREFIX_REPNE, PREFIX_REX, PREFIX_SEG, PREFIX_KIND_ADDRSIZE, PREFIX_KIND_LOCK,
  PREFIX_KIND_OPSIZE, PREFIX_KIND_REP, PREFIX_KIND_REPNE, PREFIX_KIND_SEG, REX_B, REX_R, REX_W, REX_X, SEG_DS, SEG_SS,
} from './instruction.js';

/** Where instruction bytes come from; `address` is `ip + n` for the n-th byte. May throw. */
export interface ByteSource {
  fetch8(address: number): number;
}

/** Architectural maximum instruction length (SDM Vol. 2, 2.3.11). */
export const MAX_INSTRUCTION_LENGTH = 15;

const NOP_INDEX = OPCODE_TABLE.findIndex((e) => e.special && e.mnemonic === 'nop');
const PAUSE_INDEX = OPCODE_TABLE.findIndex((e) => e.special && e.mnemonic === 'pause');

/** 16-bit ModRM rm -> base / index registers (BX=3 BP=5 SI=6 DI=7). */
const RM16_BASE = Int8Array.from([3, 3, 5, 5, 6, 7, 5, 3]);
const RM16_INDEX = Int8Array.from([6, 7, 6, 7, -1, -1, -1, -1]);

/** Set when a read would go past byte 15; the read returns 0 without touching the source. */
let overrun = false;

function byteAt(src: ByteSource, ip: number, pos: number): number {
  if (pos >= MAX_INSTRUCTION_LENGTH) {
    overrun = true;
    return 0;
  }
  return src.fetch8(ip + pos) & 0xff;
}

/**
 * Little-endian read of n (2 or 4) bytes: 2 zero-extended, 4 as an int32, the form every
 * Instruction field holds (see Instruction); users of an unsigned 32-bit value take `>>> 0`.
 */
function readLE(src: ByteSource, ip: number, pos: number, n: number): number {
  const lo = byteAt(src, ip, pos) | (byteAt(src, ip, pos + 1) << 8);
  if (n === 2) return lo;
  return lo | (byteAt(src, ip, pos + 2) << 16) | (byteAt(src, ip, pos + 3) << 24);
}

function resetInstruction(out: Instruction, mode: CpuMode): void {
  out.mode = mode;
  out.length = 0;
  out.opcode = -1;
  out.entry = NO_OPCODE_ENTRY;
  out.prefixes = 0;
  out.reg = 0;
  out.rm = 0;
  out.isMem = false;
  out.base = -1;
  out.index = -1;
  out.scale = 0;
  out.disp = 0;
  out.segment = SEG_DS;
  out.imm = 0;
}

/** The decoding instruction's DecodeDetail fields (decode is never re-entered). */
const detail = newDetailFields();

/** Ends every decode, early or not: the instruction's length and the detail of what was read. */
function finish(out: Instruction, length: number, status: DecodeStatus): DecodeStatus {
  out.length = length;
  out.detail = internDetail(detail);
  return status;
}

/**
 * Decodes one instruction at `ip` in `mode` into `out`. Returns Ok, Invalid, TooLong or
 * LockInvalid; `out.length` is the number of bytes the instruction occupies when Ok.
 */
export function decode(src: ByteSource, ip: number, mode: CpuMode, out: Instruction): DecodeStatus {
  resetInstruction(out, mode);
  clearDetailFields(detail);
  overrun = false;
  const long = mode === CpuMode.Bits64;
  let pos = 0;
  let prefixes = 0;
  let rex = 0;
  let lastRep = 0; // 0xf2 / 0xf3, for the mandatory-prefix class
  let b = 0;
  let order = 0;
  // Prefixes. A REX prefix counts only when it immediately precedes the opcode.
  for (;;) {
    if (pos >= MAX_INSTRUCTION_LENGTH) return finish(out, pos, DecodeStatus.TooLong);
    b = src.fetch8(ip + pos) & 0xff;
    switch (b) {
      case 0x26: case 0x2e: case 0x36: case 0x3e:
        prefixes |= PREFIX_SEG;
        detail.segOverride = (b >> 3) & 3;
        detail.segOrder = detail.segOrder * 8 + detail.segOverride;
        order = order * 8 + PREFIX_KIND_SEG;
        break;
      case 0x64: case 0x65:
        prefixes |= PREFIX_SEG;
        detail.segOverride = b - 0x60;
        detail.segOrder = detail.segOrder * 8 + detail.segOverride;
        order = order * 8 + PREFIX_KIND_SEG;
        break;
      case 0x66: prefixes |= PREFIX_OPSIZE; order = order * 8 + PREFIX_KIND_OPSIZE; break;
      case 0x67: prefixes |= PREFIX_ADDRSIZE; order = order * 8 + PREFIX_KIND_ADDRSIZE; break;
      case 0xf0: prefixes |= PREFIX_LOCK; order = order * 8 + PREFIX_KIND_LOCK; break;
      case 0xf2:
        prefixes = (prefixes & ~PREFIX_REP) | PREFIX_REPNE;
        lastRep = b;
        order = order * 8 + PREFIX_KIND_REPNE;
        break;
      case 0xf3:
        prefixes = (prefixes & ~PREFIX_REPNE) | PREFIX_REP;
        lastRep = b;
        order = order * 8 + PREFIX_KIND_REP;
        break;
      default:
        if (long && (b & 0xf0) === 0x40) {
          rex = b;
          pos++;
          continue;
        }
        break;
    }
    if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 || b === 0x66 ||
        b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3) {
      rex = 0;
      pos++;
      continue;
    }
    break;
  }
  if (rex !== 0) prefixes |= PREFIX_REX | ((rex & 0xf) << PREFIX_REX_SHIFT);
  out.prefixes = prefixes;
  detail.prefixOrder = order;
  pos++;
  let opIndex = b;
  if (b === 0x0f) {
    b = byteAt(src, ip, pos++);
    opIndex = 256 + b;
    out.opcode = 0x0f00 | b;
  } else {
    out.opcode = b;
  }
  const tables = long ? LONG_TABLES : LEGACY_TABLES;
  const hasModrm = tables.modrm[opIndex] === 1;
  let modrm = 0;
  if (hasModrm) modrm = byteAt(src, ip, pos++);
  if (overrun) {
    return finish(out, MAX_INSTRUCTION_LENGTH, DecodeStatus.TooLong);
  }
  let slot = tables.slots[opIndex];
  if (slot === NO_ENTRY) {
    return finish(out, pos, DecodeStatus.Invalid);
  }
  let pclass = PREFIX_CLASS_NONE;
  if (slot < NO_ENTRY) {
    if (tables.prefixed[opIndex] === 1) {
      pclass = lastRep === 0xf3 ? PREFIX_CLASS_F3 : lastRep === 0xf2 ? PREFIX_CLASS_F2
        : prefixes & PREFIX_OPSIZE ? PREFIX_CLASS_66 : PREFIX_CLASS_NONE;
    }
    const cell = hasModrm ? ((modrm >= 0xc0 ? 64 : 0) | (modrm & 0x3f)) : 0;
    slot = tables.groups[(-slot - 2) * GROUP_SIZE + pclass * 128 + cell];
    if (slot === NO_ENTRY) {
      return finish(out, pos, DecodeStatus.Invalid);
    }
  }
  if (opIndex === 0x90 && (rex & REX_B) === 0) slot = lastRep === 0xf3 ? PAUSE_INDEX : NOP_INDEX;
  const entry = OPCODE_TABLE[slot];
  const attrs = entry.attrs;
  out.entry = entry;

  // A mandatory 66 is part of the opcode, not an operand-size override.
  const opsizePrefix = (prefixes & PREFIX_OPSIZE) !== 0 && !((attrs & ENTRY_MANDATORY_PREFIX) !== 0 && pclass === PREFIX_CLASS_66);
  let opSize: number;
  if (long) {
    if (attrs & ENTRY_F64) opSize = 8;
    else if (rex & REX_W) opSize = 8;
    else if (opsizePrefix) opSize = 2;
    else opSize = attrs & ENTRY_D64 ? 8 : 4;
  } else if (mode === CpuMode.Bits32) {
    opSize = opsizePrefix ? 2 : 4;
  } else {
    opSize = opsizePrefix ? 4 : 2;
  }
  const addrPrefix = (prefixes & PREFIX_ADDRSIZE) !== 0;
  const addrSize = long ? (addrPrefix ? 4 : 8) : mode === CpuMode.Bits32 ? (addrPrefix ? 2 : 4) : (addrPrefix ? 4 : 2);
  out.opSize = opSize;
  out.addrSize = addrSize;

  let segment = SEG_DS;
  if (hasModrm) {
    const mod = modrm >> 6;
    detail.hasModrm = true;
    detail.mod = mod;
    out.reg = ((modrm >> 3) & 7) | (rex & REX_R ? 8 : 0);
    out.rm = (modrm & 7) | (rex & REX_B ? 8 : 0);
    if (mod !== 3 && (attrs & ENTRY_MOD_IGNORED) === 0) {
      out.isMem = true;
      const rm = modrm & 7;
      if (addrSize === 2) {
        if (mod === 0 && rm === 6) {
          out.disp = readLE(src, ip, pos, 2) << 16 >> 16;
          pos += 2;
        } else {
          out.base = RM16_BASE[rm];
          out.index = RM16_INDEX[rm];
          if (rm === 2 || rm === 3 || rm === 6) segment = SEG_SS;
          if (mod === 1) {
            out.disp = byteAt(src, ip, pos++) << 24 >> 24;
          } else if (mod === 2) {
            out.disp = readLE(src, ip, pos, 2) << 16 >> 16;
            pos += 2;
          }
        }
      } else {
        let baseLow = rm;
        let noBase = false;
        if (rm === 4) {
          const sib = byteAt(src, ip, pos++);
          detail.hasSib = true;
          out.scale = sib >> 6;
          const index = ((sib >> 3) & 7) | (rex & REX_X ? 8 : 0);
          out.index = index === 4 ? -1 : index;
          baseLow = sib & 7;
          if (baseLow === 5 && mod === 0) noBase = true;
        } else if (rm === 5 && mod === 0) {
          noBase = true;
          detail.ripRelative = long;
        }
        if (!noBase) {
          out.base = baseLow | (rex & REX_B ? 8 : 0);
          if (out.base === 4 || out.base === 5) segment = SEG_SS;
        }
        if (mod === 1) {
          out.disp = byteAt(src, ip, pos++) << 24 >> 24;
        } else if (mod === 2 || noBase) {
          out.disp = readLE(src, ip, pos, 4);
          pos += 4;
        }
      }
    }
  }
  if (detail.segOverride >= 0) segment = detail.segOverride;
  out.segment = segment;

  // Immediates, relative offsets, moffs and far pointers, in operand order.
  const ops = entry.ops;
  let immCount = 0;
  const opCount = attrs & ENTRY_HAS_IMMEDIATE ? ops.length : 0;
  for (let i = 0; i < opCount; i++) {
    const d = ops[i];
    const method = d & 0x1f;
    let value = 0;
    let hi = 0;
    switch (method) {
      case OperandMethod.I: {
        const size = (d >>> 5) & 0x1f;
        if (size === OperandSize.B) {
          value = byteAt(src, ip, pos++);
        } else if (size === OperandSize.W || ((size === OperandSize.Z || size === OperandSize.V) && opSize === 2)) {
          value = readLE(src, ip, pos, 2);
          pos += 2;
          if (size !== OperandSize.W) value = value << 16 >> 16;
        } else if (size === OperandSize.V && opSize === 8) {
          value = readLE(src, ip, pos, 4);
          hi = readLE(src, ip, pos + 4, 4);
          pos += 8;
        } else {
          value = readLE(src, ip, pos, 4);
          pos += 4;
        }
        if (size !== OperandSize.V || opSize !== 8) hi = value < 0 ? -1 : 0;
        break;
      }
      case OperandMethod.IbSigned:
        value = byteAt(src, ip, pos++) << 24 >> 24;
        hi = value < 0 ? -1 : 0;
        break;
      case OperandMethod.J:
        if (((d >>> 5) & 0x1f) === OperandSize.B) {
          value = byteAt(src, ip, pos++) << 24 >> 24;
        } else if (opSize === 2) {
          value = readLE(src, ip, pos, 2) << 16 >> 16;
          pos += 2;
        } else {
          value = readLE(src, ip, pos, 4);
          pos += 4;
        }
        hi = value < 0 ? -1 : 0;
        break;
      case OperandMethod.O:
        if (addrSize === 8) {
          out.disp = readLE(src, ip, pos, 4);
          detail.dispHi = readLE(src, ip, pos + 4, 4);
        } else {
          out.disp = readLE(src, ip, pos, addrSize);
        }
        pos += addrSize;
        continue;
      case OperandMethod.A:
        out.imm = readLE(src, ip, pos, opSize === 2 ? 2 : 4);
        pos += opSize === 2 ? 2 : 4;
        detail.imm2 = readLE(src, ip, pos, 2);
        pos += 2;
        immCount = 2;
        continue;
      default:
        continue;
    }
    if (immCount === 0) {
      out.imm = value;
      detail.immHi = hi;
    } else {
      detail.imm2 = value;
    }
    immCount++;
  }

  if (overrun || pos > MAX_INSTRUCTION_LENGTH) return finish(out, MAX_INSTRUCTION_LENGTH, DecodeStatus.TooLong);
  if ((prefixes & PREFIX_LOCK) !== 0 && ((attrs & ENTRY_LOCK) === 0 || !out.isMem)) return finish(out, pos, DecodeStatus.LockInvalid);
  return finish(out, pos, DecodeStatus.Ok);
}
