/*
 * x87 escape opcodes D8-DF (SDM Vol. 2, Tables ). Memory forms are selected by
 * ModRM.reg; register forms (mod = 3) either by reg with ST(i) in rm, or by the exact ModRM byte.
 * Only documented encodings are rows (plus FFREEP, DF C0+i, which every P6 executes, and the
 * legacy FNENI/FNDISI/FNSETPM that the 387+ treat as FNOP); the
 * undocumented aliases (D9 D8+i FSTP1, DC D0+i FCOM2 ...) and FISTTP (SSE3) decode as invalid.
 * FLAGS are EFLAGS effects only; FPU status-word effects belong to the FPU model.
 */
import type { OpcodeRow } from './opcode-types.js';

type Row = Omit<OpcodeRow, 'op' | 'since'>;

/** Memory form of escape `op`, /reg. */
function mem(op: number, reg: number, mnemonic: string, operands: string): OpcodeRow {
  return { op, reg, mod: 'mem', mnemonic, operands, since: '8086' };
}

/** Register form of escape `op`, /reg, ST(i) in rm. */
function sti(op: number, reg: number, mnemonic: string, operands: string, extra: Row | object = {}): OpcodeRow {
  return { op, reg, mod: 'reg', mnemonic, operands, since: '8086', ...extra };
}

/** Register form given by the whole ModRM byte (e.g. D9 E0 = FCHS). */
function exact(op: number, modrm: number, mnemonic: string, operands = '', since: OpcodeRow['since'] = '8086'): OpcodeRow {
  return { op, reg: (modrm >> 3) & 7, rm: modrm & 7, mod: 'reg', mnemonic, operands, since };
}

const ARITH = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];

const D9_CONSTANTS: [number, string][] = [
  [0xe0, 'fchs'], [0xe1, 'fabs'], [0xe4, 'ftst'], [0xe5, 'fxam'],
  [0xe8, 'fld1'], [0xe9, 'fldl2t'], [0xea, 'fldl2e'], [0xeb, 'fldpi'], [0xec, 'fldlg2'], [0xed, 'fldln2'], [0xee, 'fldz'],
  [0xf0, 'f2xm1'], [0xf1, 'fyl2x'], [0xf2, 'fptan'], [0xf3, 'fpatan'], [0xf4, 'fxtract'], [0xf5, 'fprem1'],
  [0xf6, 'fdecstp'], [0xf7, 'fincstp'], [0xf8, 'fprem'], [0xf9, 'fyl2xp1'], [0xfa, 'fsqrt'], [0xfb, 'fsincos'],
  [0xfc, 'frndint'], [0xfd, 'fscale'], [0xfe, 'fsin'], [0xff, 'fcos'],
];
/** 387 additions among the D9 register forms. */
const SINCE_387 = new Set(['fprem1', 'fsincos', 'fsin', 'fcos']);

const FCMOV = [['b', 'C'], ['e', 'Z'], ['be', 'CZ'], ['u', 'P']] as const;
const FCMOVN = [['nb', 'C'], ['ne', 'Z'], ['nbe', 'CZ'], ['nu', 'P']] as const;
const COMI = { written: 'OSZAPC' };

export const X87_ROWS: OpcodeRow[] = [
  // D8: arithmetic with m32fp, or ST(0) op ST(i).
  ...ARITH.map((a, reg) => mem(0xd8, reg, `f${a}`, 'M32fp')),
  ...ARITH.map((a, reg) => sti(0xd8, reg, `f${a}`, reg === 2 || reg === 3 ? 'STi' : 'ST,STi')),
  // D9
  mem(0xd9, 0, 'fld', 'M32fp'), mem(0xd9, 2, 'fst', 'M32fp'), mem(0xd9, 3, 'fstp', 'M32fp'),
  mem(0xd9, 4, 'fldenv', 'Menv'), mem(0xd9, 5, 'fldcw', 'Mw'), mem(0xd9, 6, 'fnstenv', 'Menv'), mem(0xd9, 7, 'fnstcw', 'Mw'),
  sti(0xd9, 0, 'fld', 'STi'), sti(0xd9, 1, 'fxch', 'STi'),
  exact(0xd9, 0xd0, 'fnop'),
  ...D9_CONSTANTS.map(([m, n]) => exact(0xd9, m, n, '', SINCE_387.has(n) ? '386' : '8086')),
  // DA: m32int arithmetic; FCMOVcc and FUCOMPP.
  ...ARITH.map((a, reg) => mem(0xda, reg, `fi${a}`, 'M32int')),
  ...FCMOV.map(([cc, read], reg) => sti(0xda, reg, `fcmov${cc}`, 'ST,STi', { flags: { read }, since: 'p6' })),
  exact(0xda, 0xe9, 'fucompp', '', '386'),
  // DB
  mem(0xdb, 0, 'fild', 'M32int'), mem(0xdb, 2, 'fist', 'M32int'), mem(0xdb, 3, 'fistp', 'M32int'),
  mem(0xdb, 5, 'fld', 'M80fp'), mem(0xdb, 7, 'fstp', 'M80fp'),
  ...FCMOVN.map(([cc, read], reg) => sti(0xdb, reg, `fcmov${cc}`, 'ST,STi', { flags: { read }, since: 'p6' })),
  exact(0xdb, 0xe2, 'fnclex'), exact(0xdb, 0xe3, 'fninit'),
  // 8087/287 controls that the 387 and later execute as FNOP.
  exact(0xdb, 0xe0, 'fneni'), exact(0xdb, 0xe1, 'fndisi'), exact(0xdb, 0xe4, 'fnsetpm', '', '286'),
  sti(0xdb, 5, 'fucomi', 'ST,STi', { flags: COMI, since: 'p6' }),
  sti(0xdb, 6, 'fcomi', 'ST,STi', { flags: COMI, since: 'p6' }),
  // DC: m64fp arithmetic, or ST(i) op ST(0) (note SUB/SUBR and DIV/DIVR swap in this form).
  ...ARITH.map((a, reg) => mem(0xdc, reg, `f${a}`, 'M64fp')),
  sti(0xdc, 0, 'fadd', 'STi,ST'), sti(0xdc, 1, 'fmul', 'STi,ST'),
  sti(0xdc, 4, 'fsubr', 'STi,ST'), sti(0xdc, 5, 'fsub', 'STi,ST'),
  sti(0xdc, 6, 'fdivr', 'STi,ST'), sti(0xdc, 7, 'fdiv', 'STi,ST'),
  // DD
  mem(0xdd, 0, 'fld', 'M64fp'), mem(0xdd, 2, 'fst', 'M64fp'), mem(0xdd, 3, 'fstp', 'M64fp'),
  mem(0xdd, 4, 'frstor', 'Mstate'), mem(0xdd, 6, 'fnsave', 'Mstate'), mem(0xdd, 7, 'fnstsw', 'Mw'),
  sti(0xdd, 0, 'ffree', 'STi'), sti(0xdd, 2, 'fst', 'STi'), sti(0xdd, 3, 'fstp', 'STi'),
  sti(0xdd, 4, 'fucom', 'STi', { since: '386' }), sti(0xdd, 5, 'fucomp', 'STi', { since: '386' }),
  // DE: m16int arithmetic; pop forms.
  ...ARITH.map((a, reg) => mem(0xde, reg, `fi${a}`, 'M16int')),
  sti(0xde, 0, 'faddp', 'STi,ST'), sti(0xde, 1, 'fmulp', 'STi,ST'),
  exact(0xde, 0xd9, 'fcompp'),
  sti(0xde, 4, 'fsubrp', 'STi,ST'), sti(0xde, 5, 'fsubp', 'STi,ST'),
  sti(0xde, 6, 'fdivrp', 'STi,ST'), sti(0xde, 7, 'fdivp', 'STi,ST'),
  // DF
  mem(0xdf, 0, 'fild', 'M16int'), mem(0xdf, 2, 'fist', 'M16int'), mem(0xdf, 3, 'fistp', 'M16int'),
  mem(0xdf, 4, 'fbld', 'M80bcd'), mem(0xdf, 5, 'fild', 'M64int'), mem(0xdf, 6, 'fbstp', 'M80bcd'), mem(0xdf, 7, 'fistp', 'M64int'),
  sti(0xdf, 0, 'ffreep', 'STi', { since: '386' }),
  exact(0xdf, 0xe0, 'fnstsw', 'AX', '286'),
  sti(0xdf, 5, 'fucomip', 'ST,STi', { flags: COMI, since: 'p6' }),
  sti(0xdf, 6, 'fcomip', 'ST,STi', { flags: COMI, since: 'p6' }),
];
