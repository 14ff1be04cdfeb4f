/*
 * THE instruction table of tsemu's software CPU: one array of rows in Intel SDM Vol. 2
 * Appendix A operand notation that drives the decoder (lookup.ts), the interpreter dispatch
 * (entry.index / entry.key), the disassembler (disasm/intel.ts), test generation and, later,
 * the JIT. Modelled on QEMU target/i386/tcg/decode-new.c.inc and v86 gen/x86_table.js.
 *
 * Notation (operands.ts has the parser): Eb Ev Ew Ed Gb Gv Gw Gz Ib Iw Iz Iv Jb Jz M Mb Mw Mp Ma
 * Ms Ob Ov Sw Cy Dy Ry Xb Xv Xz Yb Yv Yz Ap AL CL DX AX eAX rAX ES CS SS DS FS GS 1, plus the
 * deviations listed in operands.ts: Zb/Zv (opcode register), Ibs (sign-extended byte
 * immediate), Rv/Mw, Mqo, BXb (XLAT), bare M, and x87 ST/STi/M32fp/M64fp/M80fp/M16int/M32int/
 * M64int/M80bcd/Menv/Mstate.
 * Further deviations from the SDM tables:
 *   - MOV CRn/DRn use Ry/Cy/Dy (32-bit, 64 in long mode) where the SDM writes Rd/Cd/Dd and
 *     notes the 64-bit form in prose.
 *   - Near branches are f64 (Intel: 66 is ignored in 64-bit mode; AMD would honour it).
 *   - 0x90 is listed as XCHG Zv,rAX; NOP and PAUSE (F3 90) are `special` rows the decoder picks
 *     when REX.B is clear.
 *   - Group 2 /6 decodes as 'shl' (reserved in the SDM, executed as SHL by every P6).
 *   - 0F 19-0F 1E decode as 'nop Ev' (the P6 "reserved NOP" space).
 *   - Mnemonics with operand-size variants are written "cbw/cwde/cdqe" (16/32/64).
 */
import { OperandMethod, operandMethod, parseOperands, methodUsesModrm } from './operands.js';
import { ONE_BYTE_ROWS } from './opcode-table-1byte.js';
import { TWO_BYTE_ROWS } from './opcode-table-0f.js';
import { X87_ROWS } from './opcode-table-x87.js';
import {
  ENTRY_BLOCK_END, ENTRY_D64, ENTRY_F64, ENTRY_HAS_IMMEDIATE, ENTRY_I64, ENTRY_IOPL, ENTRY_LOCK, ENTRY_MANDATORY_PREFIX,
  ENTRY_MNEMONIC_BY_ADDR, ENTRY_MOD_IGNORED, ENTRY_O64, ENTRY_PRIVILEGED, ENTRY_REP, ENTRY_REPE,
  ENTRY_X87, parseFlags,
} from './opcode-types.js';
import type { OpcodeEntry, OpcodeRow } from './opcode-types.js';

function isX87(op: number): boolean {
  return op >= 0xd8 && op <= 0xdf;
}

function compile(row: OpcodeRow, index: number): OpcodeEntry {
  const ops = parseOperands(row.operands ?? '');
  const parts = row.mnemonic.split('/');
  if (parts.length !== 1 && parts.length !== 3) throw new Error(`opcode table: bad mnemonic '${row.mnemonic}'`);
  const names: [string, string, string] = parts.length === 3 ? [parts[0], parts[1], parts[2]] : [parts[0], parts[0], parts[0]];
  const modIgnored = ops.some((d) => operandMethod(d) === OperandMethod.C || operandMethod(d) === OperandMethod.D);
  const hasModrm = isX87(row.op) || row.reg !== undefined || ops.some((d) => methodUsesModrm(operandMethod(d)));
  let attrs = 0;
  if (row.lock) attrs |= ENTRY_LOCK;
  if (row.i64) attrs |= ENTRY_I64;
  if (row.o64) attrs |= ENTRY_O64;
  if (row.d64) attrs |= ENTRY_D64;
  if (row.f64) attrs |= ENTRY_F64;
  if (row.blockEnd) attrs |= ENTRY_BLOCK_END;
  if (row.privileged) attrs |= ENTRY_PRIVILEGED;
  if (row.iopl) attrs |= ENTRY_IOPL;
  if (row.rep === 'rep') attrs |= ENTRY_REP;
  if (row.rep === 'repe') attrs |= ENTRY_REP | ENTRY_REPE;
  if (isX87(row.op)) attrs |= ENTRY_X87;
  if (modIgnored) attrs |= ENTRY_MOD_IGNORED;
  if (row.mnemonicBy === 'addr') attrs |= ENTRY_MNEMONIC_BY_ADDR;
  if (row.prefix !== undefined) attrs |= ENTRY_MANDATORY_PREFIX;
  const immediateMethods: number[] = [OperandMethod.I, OperandMethod.IbSigned, OperandMethod.J, OperandMethod.O, OperandMethod.A];
  if (ops.some((d) => immediateMethods.includes(operandMethod(d)))) attrs |= ENTRY_HAS_IMMEDIATE;
  const key = [parts[0], ...(row.operands ?? '').split(/[,/]/).filter((s) => s !== '')].join('_');
  // Every field of OpcodeRow written, in one order, whatever the row sets: all entries then share
  // one hidden class. Spread rows (each with its own subset of optional fields) had made ~40
  // shapes, and every read of an entry's field megamorphic: V8's generic load IC was 2.3% of the
  // Linux boot's early init under the JIT, called from the decode cache's block builder.
  return Object.freeze({
    op: row.op,
    mnemonic: row.mnemonic,
    mnemonicBy: row.mnemonicBy,
    operands: row.operands,
    reg: row.reg,
    rm: row.rm,
    mod: row.mod,
    prefix: row.prefix,
    flags: row.flags,
    lock: row.lock,
    rep: row.rep,
    since: row.since,
    i64: row.i64,
    o64: row.o64,
    d64: row.d64,
    f64: row.f64,
    blockEnd: row.blockEnd,
    privileged: row.privileged,
    iopl: row.iopl,
    special: row.special,
    index,
    key,
    ops: Object.freeze(ops),
    names,
    hasModrm,
    flagsRead: parseFlags(row.flags?.read),
    flagsWritten: parseFlags(row.flags?.written),
    flagsUndefined: parseFlags(row.flags?.undefined),
    attrs,
  });
}

/** Every row, compiled; `OPCODE_TABLE[i].index === i`. */
export const OPCODE_TABLE: readonly OpcodeEntry[] = Object.freeze(
  [...ONE_BYTE_ROWS, ...TWO_BYTE_ROWS, ...X87_ROWS].map(compile),
);

/** Index of the first entry whose key or mnemonic matches (for tests and tools, not the hot path). */
export function findEntry(op: number, mnemonic: string, reg?: number): OpcodeEntry | undefined {
  return OPCODE_TABLE.find(
    (e) => e.op === op && (e.mnemonic === mnemonic || e.key === mnemonic) &&
      (reg === undefined || e.reg === reg || (Array.isArray(e.reg) && e.reg.includes(reg))),
  );
}
