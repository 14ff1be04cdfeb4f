/*
 * Opcode lookup tables built from OPCODE_TABLE at module load, one set for legacy/compat modes
 * and one for 64-bit mode (i64/o64 rows filtered out). An opcode index is the one-byte opcode
 * (0-255) or 256 + the byte after 0F. Its slot is either an entry index (no ModRM-dependent
 * choice), NO_ENTRY, or a group: a 512-cell block of the shared `groups` array indexed by
 * prefix class (none/66/F3/F2) * 128 + (mod == 3) * 64 + reg * 8 + rm. Later maps (0F 38,
 * 0F 3A) or SSE rows slot in by extending OPCODE_SPACE, not by changing the decoder.
 */
import { OperandMethod, operandMethod } from './operands.js';
import { OPCODE_TABLE } from './opcode-table.js';
import { ENTRY_MOD_IGNORED, ENTRY_I64, ENTRY_O64 } from './opcode-types.js';
import type { MandatoryPrefix, OpcodeEntry } from './opcode-types.js';

export const OPCODE_SPACE = 512;
export const NO_ENTRY = -1;
export const GROUP_SIZE = 512;

export const PREFIX_CLASS_NONE = 0;
export const PREFIX_CLASS_66 = 1;
export const PREFIX_CLASS_F3 = 2;
export const PREFIX_CLASS_F2 = 3;

export interface LookupTables {
  /** Per opcode index: entry index >= 0, NO_ENTRY, or -(group number) - 2. */
  readonly slots: Int32Array;
  /** Per opcode index: 1 when a ModRM byte follows the opcode. */
  readonly modrm: Uint8Array;
  /** Per opcode index: 1 when some row needs the mandatory-prefix class. */
  readonly prefixed: Uint8Array;
  /** Group cells: entry index or NO_ENTRY. */
  readonly groups: Int16Array;
}

function opcodeIndex(op: number): number {
  return op >= 0x0f00 ? 256 + (op & 0xff) : op;
}

const PREFIX_CLASS: Record<MandatoryPrefix, number> = { np: 0, '66': 1, f3: 2, f2: 3 };

/** Memory/register restriction implied by the row or its operands. */
function modRestriction(e: OpcodeEntry): 'mem' | 'reg' | undefined {
  if (e.mod !== undefined) return e.mod;
  if (e.attrs & ENTRY_MOD_IGNORED) return undefined;
  for (const d of e.ops) {
    const m = operandMethod(d);
    if (m === OperandMethod.M) return 'mem';
    if (m === OperandMethod.R || m === OperandMethod.StI) return 'reg';
  }
  return undefined;
}

function matchesReg(e: OpcodeEntry, reg: number): boolean {
  if (e.reg === undefined) return true;
  return Array.isArray(e.reg) ? e.reg.includes(reg) : e.reg === reg;
}

/** Higher is more specific; the most specific matching row wins a cell. */
function specificity(e: OpcodeEntry): number {
  return (e.prefix !== undefined ? 8 : 0) + (e.rm !== undefined ? 4 : 0) + (e.reg !== undefined ? 2 : 0) +
    (modRestriction(e) !== undefined ? 1 : 0);
}

function build(long: boolean): LookupTables {
  const slots = new Int32Array(OPCODE_SPACE).fill(NO_ENTRY);
  const modrm = new Uint8Array(OPCODE_SPACE);
  const prefixed = new Uint8Array(OPCODE_SPACE);
  const byOpcode: OpcodeEntry[][] = Array.from({ length: OPCODE_SPACE }, () => []);
  for (const e of OPCODE_TABLE) {
    if (e.special) continue;
    if (long ? e.attrs & ENTRY_I64 : e.attrs & ENTRY_O64) continue;
    byOpcode[opcodeIndex(e.op)].push(e);
  }
  const groupCells: number[] = [];
  for (let i = 0; i < OPCODE_SPACE; i++) {
    const rows = byOpcode[i];
    if (rows.length === 0) continue;
    const hasModrm = rows[0].hasModrm;
    if (rows.some((r) => r.hasModrm !== hasModrm)) throw new Error(`opcode table: ModRM disagreement at ${i.toString(16)}`);
    modrm[i] = hasModrm ? 1 : 0;
    if (rows.some((r) => r.prefix !== undefined)) prefixed[i] = 1;
    if (rows.length === 1 && specificity(rows[0]) === 0) {
      slots[i] = rows[0].index;
      continue;
    }
    const base = groupCells.length;
    slots[i] = -(base / GROUP_SIZE) - 2;
    // Each row writes the cells it matches, where it is more specific than the row there: the
    // first of the most specific rows wins a cell, as when each cell looked through every row,
    // at a tenth of the work (tsemu's start-up: 512 cells x rows had made this build a tenth
    // of the time to import core-cpu).
    const cells = new Int16Array(GROUP_SIZE).fill(NO_ENTRY);
    const cellSpec = new Int8Array(GROUP_SIZE).fill(-1);
    for (const r of rows) {
      const spec = specificity(r);
      const mod = hasModrm ? modRestriction(r) : undefined;
      for (let pclass = 0; pclass < 4; pclass++) {
        if (r.prefix !== undefined && PREFIX_CLASS[r.prefix] !== pclass) continue;
        for (let isReg = 0; isReg < 2; isReg++) {
          if ((mod === 'mem' && isReg) || (mod === 'reg' && !isReg)) continue;
          for (let reg = 0; reg < 8; reg++) {
            if (hasModrm && !matchesReg(r, reg)) continue;
            for (let rm = 0; rm < 8; rm++) {
              if (hasModrm && r.rm !== undefined && (!isReg || r.rm !== rm)) continue;
              const cell = (pclass << 7) | (isReg << 6) | (reg << 3) | rm;
              if (spec > cellSpec[cell]) {
                cellSpec[cell] = spec;
                cells[cell] = r.index;
              }
            }
          }
        }
      }
    }
    for (const cell of cells) groupCells.push(cell);
  }
  return { slots, modrm, prefixed, groups: Int16Array.from(groupCells) };
}

export const LEGACY_TABLES: LookupTables = build(false);
export const LONG_TABLES: LookupTables = build(true);
