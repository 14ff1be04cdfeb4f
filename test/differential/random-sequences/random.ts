/**
 * The seeded random source of the random-sequence differential test: mulberry32 (the same
 * generator the decoder's encoding generator uses) plus the value shapes the test wants:
 * 64-bit register values biased towards the edges where flag and carry bugs live.
 */
import { rng } from '../../../packages/core-cpu/test/decoder/encoding-generator.js';

/** Interesting 64-bit values: zero, one, all ones, and the sign boundaries of every width. */
const EDGES: readonly bigint[] = [
  0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0x100000000n,
];

export class Random {
  private readonly float: () => number;

  constructor(seed: number) {
    this.float = rng(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.float();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  bit(): number {
    return this.float() < 0.5 ? 1 : 0;
  }

  u32(): number {
    return Math.floor(this.float() * 4294967296) >>> 0;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** A 64-bit register value: an edge (20%), small (25%), a 32-bit one (15%) or anything. */
  value64(): bigint {
    const p = this.float();
    if (p < 0.2) return this.pick(EDGES);
    if (p < 0.45) return BigInt(this.int(256));
    if (p < 0.6) return BigInt(this.u32());
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** Fills `out[from, to)` with random bytes. */
  fill(out: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i += 4) {
      const v = this.u32();
      for (let k = 0; k < 4 && i + k < to; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }
}
