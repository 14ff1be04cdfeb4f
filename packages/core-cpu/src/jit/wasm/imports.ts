/**
 * The signatures of the host functions a WebAssembly translation imports, in the order of
 * context.ts's IMPORT indices (runtime.ts supplies them).
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
  // materialize(fk, fo, fz, fa, fb, fr, fc)
  { name: 'mat', type: fn(7, 0) },
  // condition(cc) -> 0/1
  { name: 'cnd', type: fn(1, 1) },
  // carry() -> CF
  { name: 'cf', type: fn(0, 1) },
  // rotateFlags(cf, of, withOf)
  { name: 'rot', type: fn(3, 0) },
];
