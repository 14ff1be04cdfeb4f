import { describe, expect, it } from 'vitest';
import { LEGACY_TABLES, LONG_TABLES } from '../../src/decoder/lookup.js';
import { OPCODE_TABLE } from '../../src/decoder/opcode-table.js';
import { OperandMethod, parseOperand } from '../../src/decoder/operands.js';
import { ENTRY_LOCK } from '../../src/decoder/opcode-types.js';
import { ONE_BYTE_ROWS } from '../../src/decoder/opcode-table-1byte.js';
import { TWO_BYTE_ROWS } from '../../src/decoder/opcode-table-0f.js';
import { X87_ROWS } from '../../src/decoder/opcode-table-x87.js';

describe('opcode table', () => {
  it('numbers entries by position and gives every entry a generation and a key', () => {
    OPCODE_TABLE.forEach((e, i) => {
      expect(e.index).toBe(i);
      expect(e.since).toMatch(/^(8086|186|286|386|486|pentium|p6|x86-64)$/);
      expect(e.key).toMatch(/^[a-z0-9]+(_[A-Za-z0-9]+)*$/);
    });
  });

  it('keeps every field of its row in each entry, and gives all entries the same keys in the same order (one hidden class)', () => {
    // compile() lists the row's fields one by one: a field added to OpcodeRow and not there would be lost.
    const rows = [...ONE_BYTE_ROWS, ...TWO_BYTE_ROWS, ...X87_ROWS];
    expect(rows.length).toBe(OPCODE_TABLE.length);
    rows.forEach((row, i) => {
      const entry = OPCODE_TABLE[i] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(row)) expect(entry[k], `${row.mnemonic} ${k}`).toEqual(v);
    });
    const keys = Object.keys(OPCODE_TABLE[0]).join();
    for (const e of OPCODE_TABLE) expect(Object.keys(e).join()).toBe(keys);
  });

  it('allows LOCK only on rows with a register-or-memory destination', () => {
    for (const e of OPCODE_TABLE.filter((x) => x.attrs & ENTRY_LOCK)) {
      const first = e.ops[0] & 0x1f;
      expect([OperandMethod.E, OperandMethod.M]).toContain(first);
    }
  });

  it('ends a block on every branch, call, return and interrupt', () => {
    const transfers = OPCODE_TABLE.filter((e) => /^(j|loop|call|ret|int|iret|sys)/.test(e.mnemonic) && e.mnemonic !== 'int1' || e.mnemonic === 'int1');
    for (const e of transfers) expect(e.blockEnd, e.key).toBe(true);
  });

  it('rejects unknown operand notation instead of guessing', () => {
    expect(() => parseOperand('Qx')).toThrow(/unknown operand/);
  });

  it('covers every one-byte opcode except prefixes, escapes and the 64-bit removals (SALC, D6, too)', () => {
    const prefixes = new Set([0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
    const holes: number[] = [];
    for (let op = 0; op < 256; op++) if (!prefixes.has(op) && LEGACY_TABLES.slots[op] === -1) holes.push(op);
    expect(holes).toEqual([]);
    const longHoles: number[] = [];
    for (let op = 0; op < 256; op++) if (!prefixes.has(op) && (op & 0xf0) !== 0x40 && LONG_TABLES.slots[op] === -1) longHoles.push(op);
    expect(longHoles).toEqual([0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x62,
      0x82, 0x9a, 0xc4, 0xc5, 0xce, 0xd4, 0xd5, 0xd6, 0xea]);
  });
});
