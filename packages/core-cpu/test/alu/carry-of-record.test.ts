// carryOfRecord (the JIT's CF read from its flag locals at a loop head) against LazyFlags.cf()
// after the same record, for every operation and operand size on random and edge operands.
import { describe, expect, it } from 'vitest';
import { carryOfRecord, CF, FlagOp, LazyFlags } from '../../src/alu/lazy-flags.js';

let seed = 0x7357;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return seed ^ (seed >>> 13);
}
const EDGES = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000];
const value = (): number => ((rand() & 3) === 0 ? EDGES[(rand() >>> 0) % EDGES.length] : rand());

describe('carryOfRecord', () => {
  it('gives the CF LazyFlags computes from the same record (ADD, SUB with and without carry-in, LOGIC, NEG)', () => {
    const f = new LazyFlags();
    let checked = 0;
    for (const bits of [8, 16, 32]) {
      for (const op of [FlagOp.ADD, FlagOp.SUB, FlagOp.LOGIC, FlagOp.NEG]) {
        for (let n = 0; n < 2000; n++) {
          const a = op === FlagOp.NEG ? 0 : value();
          const b = value();
          const carryIn = rand() & 1;
          const r = op === FlagOp.ADD ? a + b + carryIn : op === FlagOp.SUB ? a - b - carryIn : op === FlagOp.NEG ? -b : a & b;
          f.record(op, bits, a, b, r);
          expect(carryOfRecord(1, op, bits, a, b, r, 0), `${op}/${bits} ${a} ${b}`).toBe(f.cf());
          checked++;
        }
      }
    }
    expect(checked).toBe(3 * 4 * 2000);
  });

  it('keeps CF for INC/DEC records, reads an eager CF, and says -1 when the record cannot tell', () => {
    expect(carryOfRecord(2, FlagOp.ADD, 32, 5, 1, 6, 1)).toBe(1);
    expect(carryOfRecord(2, FlagOp.SUB, 32, 5, 1, 4, 0)).toBe(0);
    expect(carryOfRecord(3, 0, 32, CF, CF, 0, 0)).toBe(1);
    expect(carryOfRecord(3, 0, 32, 0, CF, 0, 0)).toBe(0);
    expect(carryOfRecord(3, 0, 32, CF, 0, 0, 0)).toBe(-1);
    expect(carryOfRecord(0, FlagOp.ADD, 32, 1, 1, 2, 0)).toBe(-1);
  });
});
