/*
 * One-byte opcode map (SDM Vol. 2, Table A-2) for the P6 integer ISA plus the x86-64 changes.
 * Rows only; notation in operands.ts, row fields in opcode-types.ts. Prefix bytes (26 2E 36 3E
 * 64 65 66 67 F0 F2 F3, and 40-4F as REX in 64-bit mode) are consumed by the decoder, 0F escapes
 * to opcode-table-0f.ts and D8-DF to opcode-table-x87.ts. D6 (undocumented SALC) is left invalid.
 */
import type { FlagSpec, OpcodeRow } from './opcode-types.js';

const ARITH: FlagSpec = { written: 'OSZAPC' };
const LOGIC: FlagSpec = { written: 'OSZPC', undefined: 'A' };
const CARRY_IN: FlagSpec = { read: 'C', written: 'OSZAPC' };

/** The six ALU forms at op..op+5 (Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz). */
function alu(op: number, mnemonic: string, flags: FlagSpec, lockable: boolean): OpcodeRow[] {
  return [
    { op, mnemonic, operands: 'Eb,Gb', flags, lock: lockable, since: '8086' },
    { op: op + 1, mnemonic, operands: 'Ev,Gv', flags, lock: lockable, since: '8086' },
    { op: op + 2, mnemonic, operands: 'Gb,Eb', flags, since: '8086' },
    { op: op + 3, mnemonic, operands: 'Gv,Ev', flags, since: '8086' },
    { op: op + 4, mnemonic, operands: 'AL,Ib', flags, since: '8086' },
    { op: op + 5, mnemonic, operands: 'rAX,Iz', flags, since: '8086' },
  ];
}

/** Condition codes in encoding order with the EFLAGS each one reads (SDM Vol. 1, B.1). */
export const CONDITIONS: readonly (readonly [string, string])[] = [
  ['o', 'O'], ['no', 'O'], ['b', 'C'], ['ae', 'C'], ['e', 'Z'], ['ne', 'Z'], ['be', 'CZ'], ['a', 'CZ'],
  ['s', 'S'], ['ns', 'S'], ['p', 'P'], ['np', 'P'], ['l', 'SO'], ['ge', 'SO'], ['le', 'ZSO'], ['g', 'ZSO'],
];

const GROUP1 = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const GROUP1_FLAGS: FlagSpec[] = [ARITH, LOGIC, CARRY_IN, CARRY_IN, LOGIC, ARITH, LOGIC, ARITH];

/** Group 1 (80 81 82 83): /digit selects the ALU operation; CMP (/7) is not lockable. */
function group1(op: number, operands: string, extra: Partial<OpcodeRow>): OpcodeRow[] {
  return GROUP1.map((mnemonic, reg) => ({
    op, reg, mnemonic, operands, flags: GROUP1_FLAGS[reg], lock: reg !== 7, since: '8086' as const, ...extra,
  }));
}

const SHIFT_FLAGS: FlagSpec[] = [
  { written: 'OC', undefined: 'O' }, { written: 'OC', undefined: 'O' },
  { read: 'C', written: 'OC', undefined: 'O' }, { read: 'C', written: 'OC', undefined: 'O' },
  { written: 'OSZPC', undefined: 'OA' }, { written: 'OSZPC', undefined: 'OA' },
  { written: 'OSZPC', undefined: 'OA' }, { written: 'OSZPC', undefined: 'OA' },
];
/** SDM: /6 is reserved; every P6 executes it as SHL (= SAL), and objdump names it so. */
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'shl', 'sar'];

/** Group 2 (C0 C1 D0-D3): rotate/shift by Ib, 1 or CL. */
function group2(op: number, operands: string, since: '8086' | '186'): OpcodeRow[] {
  return SHIFTS.map((mnemonic, reg) => ({ op, reg, mnemonic, operands, flags: SHIFT_FLAGS[reg], since }));
}

/** Group 3 (F6 F7). */
function group3(op: number, size: 'b' | 'v'): OpcodeRow[] {
  const e = `E${size}`;
  const imm = size === 'b' ? 'Ib' : 'Iz';
  const mulFlags: FlagSpec = { written: 'OSZAPC', undefined: 'SZAP' };
  const divFlags: FlagSpec = { undefined: 'OSZAPC', written: 'OSZAPC' };
  return [
    { op, reg: 0, mnemonic: 'test', operands: `${e},${imm}`, flags: LOGIC, since: '8086' },
    // /1 is an undocumented alias of /0 that P6 executes; objdump decodes it too.
    { op, reg: 1, mnemonic: 'test', operands: `${e},${imm}`, flags: LOGIC, since: '8086' },
    { op, reg: 2, mnemonic: 'not', operands: e, lock: true, since: '8086' },
    { op, reg: 3, mnemonic: 'neg', operands: e, flags: ARITH, lock: true, since: '8086' },
    { op, reg: 4, mnemonic: 'mul', operands: e, flags: mulFlags, since: '8086' },
    { op, reg: 5, mnemonic: 'imul', operands: e, flags: mulFlags, since: '8086' },
    { op, reg: 6, mnemonic: 'div', operands: e, flags: divFlags, since: '8086' },
    { op, reg: 7, mnemonic: 'idiv', operands: e, flags: divFlags, since: '8086' },
  ];
}

const STRING_FLAGS: FlagSpec = { read: 'D' };
const BCD_ADJUST: FlagSpec = { read: 'AC', written: 'SZAPC', undefined: 'O' };
const ASCII_ADJUST: FlagSpec = { read: 'A', written: 'AC', undefined: 'OSZP' };

export const ONE_BYTE_ROWS: OpcodeRow[] = [
  ...alu(0x00, 'add', ARITH, true),
  { op: 0x06, mnemonic: 'push', operands: 'ES', i64: true, since: '8086' },
  { op: 0x07, mnemonic: 'pop', operands: 'ES', i64: true, since: '8086' },
  ...alu(0x08, 'or', LOGIC, true),
  { op: 0x0e, mnemonic: 'push', operands: 'CS', i64: true, since: '8086' },
  ...alu(0x10, 'adc', CARRY_IN, true),
  { op: 0x16, mnemonic: 'push', operands: 'SS', i64: true, since: '8086' },
  // POP SS inhibits interrupts for one instruction; the executor handles the shadow.
  { op: 0x17, mnemonic: 'pop', operands: 'SS', i64: true, since: '8086' },
  ...alu(0x18, 'sbb', CARRY_IN, true),
  { op: 0x1e, mnemonic: 'push', operands: 'DS', i64: true, since: '8086' },
  { op: 0x1f, mnemonic: 'pop', operands: 'DS', i64: true, since: '8086' },
  ...alu(0x20, 'and', LOGIC, true),
  { op: 0x27, mnemonic: 'daa', flags: BCD_ADJUST, i64: true, since: '8086' },
  ...alu(0x28, 'sub', ARITH, true),
  { op: 0x2f, mnemonic: 'das', flags: BCD_ADJUST, i64: true, since: '8086' },
  ...alu(0x30, 'xor', LOGIC, true),
  { op: 0x37, mnemonic: 'aaa', flags: ASCII_ADJUST, i64: true, since: '8086' },
  ...alu(0x38, 'cmp', ARITH, false),
  { op: 0x3f, mnemonic: 'aas', flags: ASCII_ADJUST, i64: true, since: '8086' },
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({
    op: 0x40 + r, mnemonic: 'inc', operands: 'Zv', flags: { written: 'OSZAP' }, i64: true, since: '8086',
  })),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({
    op: 0x48 + r, mnemonic: 'dec', operands: 'Zv', flags: { written: 'OSZAP' }, i64: true, since: '8086',
  })),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0x50 + r, mnemonic: 'push', operands: 'Zv', d64: true, since: '8086' })),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0x58 + r, mnemonic: 'pop', operands: 'Zv', d64: true, since: '8086' })),
  { op: 0x60, mnemonic: 'pusha', i64: true, since: '186' },
  { op: 0x61, mnemonic: 'popa', i64: true, since: '186' },
  { op: 0x62, mnemonic: 'bound', operands: 'Gv,Ma', i64: true, since: '186' },
  { op: 0x63, mnemonic: 'arpl', operands: 'Ew,Gw', flags: { written: 'Z' }, i64: true, since: '286' },
  { op: 0x63, mnemonic: 'movsxd', operands: 'Gv,Ez', o64: true, since: 'x86-64' },
  { op: 0x68, mnemonic: 'push', operands: 'Iz', d64: true, since: '186' },
  { op: 0x69, mnemonic: 'imul', operands: 'Gv,Ev,Iz', flags: { written: 'OSZAPC', undefined: 'SZAP' }, since: '186' },
  { op: 0x6a, mnemonic: 'push', operands: 'Ibs', d64: true, since: '186' },
  { op: 0x6b, mnemonic: 'imul', operands: 'Gv,Ev,Ibs', flags: { written: 'OSZAPC', undefined: 'SZAP' }, since: '186' },
  { op: 0x6c, mnemonic: 'ins', operands: 'Yb,DX', flags: STRING_FLAGS, rep: 'rep', iopl: true, since: '186' },
  { op: 0x6d, mnemonic: 'ins', operands: 'Yz,DX', flags: STRING_FLAGS, rep: 'rep', iopl: true, since: '186' },
  { op: 0x6e, mnemonic: 'outs', operands: 'DX,Xb', flags: STRING_FLAGS, rep: 'rep', iopl: true, since: '186' },
  { op: 0x6f, mnemonic: 'outs', operands: 'DX,Xz', flags: STRING_FLAGS, rep: 'rep', iopl: true, since: '186' },
  ...CONDITIONS.map(([cc, read], i): OpcodeRow => ({
    op: 0x70 + i, mnemonic: `j${cc}`, operands: 'Jb', flags: { read }, f64: true, blockEnd: true, since: '8086',
  })),
  ...group1(0x80, 'Eb,Ib', {}),
  ...group1(0x81, 'Ev,Iz', {}),
  ...group1(0x82, 'Eb,Ib', { i64: true }),
  ...group1(0x83, 'Ev,Ibs', {}),
  { op: 0x84, mnemonic: 'test', operands: 'Eb,Gb', flags: LOGIC, since: '8086' },
  { op: 0x85, mnemonic: 'test', operands: 'Ev,Gv', flags: LOGIC, since: '8086' },
  { op: 0x86, mnemonic: 'xchg', operands: 'Eb,Gb', lock: true, since: '8086' },
  { op: 0x87, mnemonic: 'xchg', operands: 'Ev,Gv', lock: true, since: '8086' },
  { op: 0x88, mnemonic: 'mov', operands: 'Eb,Gb', since: '8086' },
  { op: 0x89, mnemonic: 'mov', operands: 'Ev,Gv', since: '8086' },
  { op: 0x8a, mnemonic: 'mov', operands: 'Gb,Eb', since: '8086' },
  { op: 0x8b, mnemonic: 'mov', operands: 'Gv,Ev', since: '8086' },
  // Sreg 6 and 7 do not exist (#UD).
  { op: 0x8c, mnemonic: 'mov', operands: 'Rv/Mw,Sw', reg: [0, 1, 2, 3, 4, 5], since: '8086' },
  { op: 0x8d, mnemonic: 'lea', operands: 'Gv,M', since: '8086' },
  // Loading CS with MOV is #UD.
  { op: 0x8e, mnemonic: 'mov', operands: 'Sw,Rv/Mw', reg: [0, 2, 3, 4, 5], since: '8086' },
  { op: 0x8f, reg: 0, mnemonic: 'pop', operands: 'Ev', d64: true, since: '8086' },
  // 0x90 is XCHG eAX,eAX; without REX.B the decoder turns it into NOP (or PAUSE with F3).
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0x90 + r, mnemonic: 'xchg', operands: 'Zv,rAX', since: '8086' })),
  { op: 0x90, mnemonic: 'nop', special: true, since: '8086' },
  { op: 0x90, mnemonic: 'pause', prefix: 'f3', special: true, since: '8086' },
  { op: 0x98, mnemonic: 'cbw/cwde/cdqe', since: '8086' },
  { op: 0x99, mnemonic: 'cwd/cdq/cqo', since: '8086' },
  { op: 0x9a, mnemonic: 'call', operands: 'Ap', i64: true, blockEnd: true, since: '8086' },
  { op: 0x9b, mnemonic: 'fwait', since: '8086' },
  { op: 0x9c, mnemonic: 'pushf', flags: { read: '*' }, d64: true, since: '8086' },
  { op: 0x9d, mnemonic: 'popf', flags: { written: '*' }, d64: true, blockEnd: true, since: '8086' },
  { op: 0x9e, mnemonic: 'sahf', flags: { written: 'SZAPC' }, since: '8086' },
  { op: 0x9f, mnemonic: 'lahf', flags: { read: 'SZAPC' }, since: '8086' },
  { op: 0xa0, mnemonic: 'mov', operands: 'AL,Ob', since: '8086' },
  { op: 0xa1, mnemonic: 'mov', operands: 'rAX,Ov', since: '8086' },
  { op: 0xa2, mnemonic: 'mov', operands: 'Ob,AL', since: '8086' },
  { op: 0xa3, mnemonic: 'mov', operands: 'Ov,rAX', since: '8086' },
  { op: 0xa4, mnemonic: 'movs', operands: 'Yb,Xb', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xa5, mnemonic: 'movs', operands: 'Yv,Xv', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xa6, mnemonic: 'cmps', operands: 'Xb,Yb', flags: { read: 'D', written: 'OSZAPC' }, rep: 'repe', since: '8086' },
  { op: 0xa7, mnemonic: 'cmps', operands: 'Xv,Yv', flags: { read: 'D', written: 'OSZAPC' }, rep: 'repe', since: '8086' },
  { op: 0xa8, mnemonic: 'test', operands: 'AL,Ib', flags: LOGIC, since: '8086' },
  { op: 0xa9, mnemonic: 'test', operands: 'rAX,Iz', flags: LOGIC, since: '8086' },
  { op: 0xaa, mnemonic: 'stos', operands: 'Yb,AL', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xab, mnemonic: 'stos', operands: 'Yv,rAX', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xac, mnemonic: 'lods', operands: 'AL,Xb', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xad, mnemonic: 'lods', operands: 'rAX,Xv', flags: STRING_FLAGS, rep: 'rep', since: '8086' },
  { op: 0xae, mnemonic: 'scas', operands: 'AL,Yb', flags: { read: 'D', written: 'OSZAPC' }, rep: 'repe', since: '8086' },
  { op: 0xaf, mnemonic: 'scas', operands: 'rAX,Yv', flags: { read: 'D', written: 'OSZAPC' }, rep: 'repe', since: '8086' },
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0xb0 + r, mnemonic: 'mov', operands: 'Zb,Ib', since: '8086' })),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0xb8 + r, mnemonic: 'mov', operands: 'Zv,Iv', since: '8086' })),
  ...group2(0xc0, 'Eb,Ib', '186'),
  ...group2(0xc1, 'Ev,Ib', '186'),
  { op: 0xc2, mnemonic: 'ret', operands: 'Iw', f64: true, blockEnd: true, since: '8086' },
  { op: 0xc3, mnemonic: 'ret', f64: true, blockEnd: true, since: '8086' },
  // In 64-bit mode C4/C5 are the VEX escapes (not in scope), so LES/LDS are i64.
  { op: 0xc4, mnemonic: 'les', operands: 'Gz,Mp', i64: true, since: '8086' },
  { op: 0xc5, mnemonic: 'lds', operands: 'Gz,Mp', i64: true, since: '8086' },
  { op: 0xc6, reg: 0, mnemonic: 'mov', operands: 'Eb,Ib', since: '8086' },
  { op: 0xc7, reg: 0, mnemonic: 'mov', operands: 'Ev,Iz', since: '8086' },
  { op: 0xc8, mnemonic: 'enter', operands: 'Iw,Ib', d64: true, since: '186' },
  { op: 0xc9, mnemonic: 'leave', d64: true, since: '186' },
  { op: 0xca, mnemonic: 'retf', operands: 'Iw', blockEnd: true, since: '8086' },
  { op: 0xcb, mnemonic: 'retf', blockEnd: true, since: '8086' },
  { op: 0xcc, mnemonic: 'int3', flags: { written: 'TI' }, blockEnd: true, since: '8086' },
  { op: 0xcd, mnemonic: 'int', operands: 'Ib', flags: { written: 'TI' }, blockEnd: true, since: '8086' },
  { op: 0xce, mnemonic: 'into', flags: { read: 'O', written: 'TI' }, i64: true, blockEnd: true, since: '8086' },
  { op: 0xcf, mnemonic: 'iret', flags: { written: '*' }, blockEnd: true, since: '8086' },
  ...group2(0xd0, 'Eb,1', '8086'),
  ...group2(0xd1, 'Ev,1', '8086'),
  ...group2(0xd2, 'Eb,CL', '8086'),
  ...group2(0xd3, 'Ev,CL', '8086'),
  { op: 0xd4, mnemonic: 'aam', operands: 'Ib', flags: { written: 'SZP', undefined: 'OAC' }, i64: true, since: '8086' },
  { op: 0xd5, mnemonic: 'aad', operands: 'Ib', flags: { written: 'SZP', undefined: 'OAC' }, i64: true, since: '8086' },
  // SALC (undocumented until the SDM listed it as reserved; every Intel CPU runs it): AL = CF ? 0xFF : 0.
  { op: 0xd6, mnemonic: 'salc', flags: { read: 'C' }, i64: true, since: '8086' },
  { op: 0xd7, mnemonic: 'xlat', operands: 'BXb', since: '8086' },
  { op: 0xe0, mnemonic: 'loopne', operands: 'Jb', flags: { read: 'Z' }, f64: true, blockEnd: true, since: '8086' },
  { op: 0xe1, mnemonic: 'loope', operands: 'Jb', flags: { read: 'Z' }, f64: true, blockEnd: true, since: '8086' },
  { op: 0xe2, mnemonic: 'loop', operands: 'Jb', f64: true, blockEnd: true, since: '8086' },
  { op: 0xe3, mnemonic: 'jcxz/jecxz/jrcxz', mnemonicBy: 'addr', operands: 'Jb', f64: true, blockEnd: true, since: '8086' },
  { op: 0xe4, mnemonic: 'in', operands: 'AL,Ib', iopl: true, since: '8086' },
  { op: 0xe5, mnemonic: 'in', operands: 'eAX,Ib', iopl: true, since: '8086' },
  { op: 0xe6, mnemonic: 'out', operands: 'Ib,AL', iopl: true, since: '8086' },
  { op: 0xe7, mnemonic: 'out', operands: 'Ib,eAX', iopl: true, since: '8086' },
  { op: 0xe8, mnemonic: 'call', operands: 'Jz', f64: true, blockEnd: true, since: '8086' },
  { op: 0xe9, mnemonic: 'jmp', operands: 'Jz', f64: true, blockEnd: true, since: '8086' },
  { op: 0xea, mnemonic: 'jmp', operands: 'Ap', i64: true, blockEnd: true, since: '8086' },
  { op: 0xeb, mnemonic: 'jmp', operands: 'Jb', f64: true, blockEnd: true, since: '8086' },
  { op: 0xec, mnemonic: 'in', operands: 'AL,DX', iopl: true, since: '8086' },
  { op: 0xed, mnemonic: 'in', operands: 'eAX,DX', iopl: true, since: '8086' },
  { op: 0xee, mnemonic: 'out', operands: 'DX,AL', iopl: true, since: '8086' },
  { op: 0xef, mnemonic: 'out', operands: 'DX,eAX', iopl: true, since: '8086' },
  // INT1/ICEBP: undocumented until recent SDMs, present since the 386.
  { op: 0xf1, mnemonic: 'int1', flags: { written: 'TI' }, blockEnd: true, since: '386' },
  { op: 0xf4, mnemonic: 'hlt', privileged: true, blockEnd: true, since: '8086' },
  { op: 0xf5, mnemonic: 'cmc', flags: { read: 'C', written: 'C' }, since: '8086' },
  ...group3(0xf6, 'b'),
  ...group3(0xf7, 'v'),
  { op: 0xf8, mnemonic: 'clc', flags: { written: 'C' }, since: '8086' },
  { op: 0xf9, mnemonic: 'stc', flags: { written: 'C' }, since: '8086' },
  { op: 0xfa, mnemonic: 'cli', flags: { written: 'I' }, iopl: true, since: '8086' },
  // STI opens an interrupt window after the next instruction: end the block so it is seen.
  { op: 0xfb, mnemonic: 'sti', flags: { written: 'I' }, iopl: true, blockEnd: true, since: '8086' },
  { op: 0xfc, mnemonic: 'cld', flags: { written: 'D' }, since: '8086' },
  { op: 0xfd, mnemonic: 'std', flags: { written: 'D' }, since: '8086' },
  { op: 0xfe, reg: 0, mnemonic: 'inc', operands: 'Eb', flags: { written: 'OSZAP' }, lock: true, since: '8086' },
  { op: 0xfe, reg: 1, mnemonic: 'dec', operands: 'Eb', flags: { written: 'OSZAP' }, lock: true, since: '8086' },
  { op: 0xff, reg: 0, mnemonic: 'inc', operands: 'Ev', flags: { written: 'OSZAP' }, lock: true, since: '8086' },
  { op: 0xff, reg: 1, mnemonic: 'dec', operands: 'Ev', flags: { written: 'OSZAP' }, lock: true, since: '8086' },
  { op: 0xff, reg: 2, mnemonic: 'call', operands: 'Ev', f64: true, blockEnd: true, since: '8086' },
  { op: 0xff, reg: 3, mnemonic: 'call', operands: 'Mp', blockEnd: true, since: '8086' },
  { op: 0xff, reg: 4, mnemonic: 'jmp', operands: 'Ev', f64: true, blockEnd: true, since: '8086' },
  { op: 0xff, reg: 5, mnemonic: 'jmp', operands: 'Mp', blockEnd: true, since: '8086' },
  { op: 0xff, reg: 6, mnemonic: 'push', operands: 'Ev', d64: true, since: '8086' },
];
