/**
 * The host functions a WebAssembly translation calls (runtime.ts supplies them by these names),
 * in order: IMPORT gives each one's index, which is its slot in the translations' table and its
 * type's index in every translation module (Code.call).
 */
import { I32, type FunctionType } from './encoder.js';

const fn = (params: number, results: number): FunctionType => ({ params: new Array(params).fill(I32), results: new Array(results).fill(I32) });

export const IMPORT_TYPES: { name: string; type: FunctionType }[] = [
  // read<size>(linear, segment, count before, instruction index) -> value
  { name: 'r1', type: fn(4, 1) },
  { name: 'r2', type: fn(4, 1) },
  { name: 'r4', type: fn(4, 1) },
  // write<size>(linear, value, segment, count before, instruction index)
  { name: 'w1', type: fn(5, 0) },
  { name: 'w2', type: fn(5, 0) },
  { name: 'w4', type: fn(5, 0) },
  // materialize(fk, fo, fz, fa, fb, fr, fc): the flag locals' record into LazyFlags
  { name: 'mat', type: fn(7, 0) },
  // condition(cc) -> 0/1, from LazyFlags
  { name: 'cnd', type: fn(1, 1) },
  // carry() -> CF, from LazyFlags
  { name: 'cf', type: fn(0, 1) },
  // rotateFlags(cf, of, withOf): a rotate's CF (and OF) into LazyFlags
  { name: 'rot', type: fn(3, 0) },
  // timeStamp(with TSC_AUX, count before, instruction index) -> TSC bits 31:0 (31:63 and the
  // aux value into the status area)
  { name: 'tsc', type: fn(3, 1) },
  // eflags() -> EFLAGS as PUSHF pushes it (from LazyFlags: materialize first)
  { name: 'efl', type: fn(0, 1) },
  // handler(next IP, count before, instruction index) -> RIP after it (handler-calls.ts)
  { name: 'hnd', type: fn(3, 1) },
  // divideError(count before, instruction index): raises #DE (the translation leaves through its fault exit)
  { name: 'de', type: fn(2, 0) },
];

const index = (name: string): number => IMPORT_TYPES.findIndex((i) => i.name === name);

/** Each import's index. */
export const IMPORT = {
  read1: index('r1'),
  read2: index('r2'),
  read4: index('r4'),
  write1: index('w1'),
  write2: index('w2'),
  write4: index('w4'),
  materialize: index('mat'),
  condition: index('cnd'),
  carry: index('cf'),
  rotateFlags: index('rot'),
  timeStamp: index('tsc'),
  eflags: index('efl'),
  handler: index('hnd'),
  divideError: index('de'),
} as const;
