// Test support: drive LazyFlags the way the interpreter will, from BigInt reference arithmetic.
import { FlagOp, LazyFlags } from '../../src/alu/lazy-flags.js';

export const OPS = ['add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test', 'inc', 'dec', 'neg'] as const;
export type AluOp = (typeof OPS)[number];
export const SIZES = [8, 16, 32, 64] as const;

const lo = (v: bigint) => Number(BigInt.asIntN(32, v));
const hi = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));

/** Applies `op` to (a, b) of `bits` with the given carry-in; returns the result and records flags. */
export function applyOp(flags: LazyFlags, op: AluOp, bits: number, a: bigint, b: bigint, carryIn: number): bigint {
  const mask = (1n << BigInt(bits)) - 1n;
  a &= mask;
  b &= mask;
  let r: bigint;
  let kind: FlagOp;
  let keepCarry = false;
  let recA = a;
  let recB = b;
  switch (op) {
    case 'add': r = a + b; kind = FlagOp.ADD; break;
    case 'adc': r = a + b + BigInt(carryIn); kind = FlagOp.ADD; break;
    case 'sub': case 'cmp': r = a - b; kind = FlagOp.SUB; break;
    case 'sbb': r = a - b - BigInt(carryIn); kind = FlagOp.SUB; break;
    case 'and': case 'test': r = a & b; kind = FlagOp.LOGIC; break;
    case 'or': r = a | b; kind = FlagOp.LOGIC; break;
    case 'xor': r = a ^ b; kind = FlagOp.LOGIC; break;
    case 'inc': r = a + 1n; recB = 1n; kind = FlagOp.ADD; keepCarry = true; break;
    case 'dec': r = a - 1n; recB = 1n; kind = FlagOp.SUB; keepCarry = true; break;
    case 'neg': r = -a; recA = 0n; recB = a; kind = FlagOp.NEG; break;
  }
  r &= mask;
  if (bits === 64) {
    if (keepCarry) flags.recordKeepCarry64(kind, lo(recA), hi(recA), lo(recB), hi(recB), lo(r), hi(r));
    else flags.record64(kind, lo(recA), hi(recA), lo(recB), hi(recB), lo(r), hi(r));
  } else if (keepCarry) {
    flags.recordKeepCarry(kind, bits, lo(recA), lo(recB), lo(r));
  } else {
    flags.record(kind, bits, lo(recA), lo(recB), lo(r));
  }
  return r;
}
