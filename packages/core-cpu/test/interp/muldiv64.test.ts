// 64-bit multiply and divide: the wide helpers (alu/wide.ts) against BigInt on edge and
// pseudo-random operands, and MUL/IMUL/DIV/IDIV with REX.W as whole instructions in 64-bit
// mode (RDX:RAX, CF/OF, #DE before anything is written).
import { describe, expect, it } from 'vitest';
import { CF, OF } from '../../src/alu/lazy-flags.js';
import { divU128, mulS64, mulU64, shl64, shr64, sar64, wide } from '../../src/alu/wide.js';
import { longModeMachine } from './long-mode-machine.js';

const M64 = (1n << 64n) - 1n;
const lo = (v: bigint) => Number(v & 0xffffffffn) | 0;
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn) | 0;
const u32 = (v: number) => BigInt(v >>> 0);
const pair = (l: number, h: number) => (u32(h) << 32n) | u32(l);
const s64 = (v: bigint) => BigInt.asIntN(64, v);

function* values(count: number): Generator<bigint> {
  const edges = [0n, 1n, 2n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 0xffffffff00000000n, 0x12345678n];
  yield* edges;
  let s = 0x243f6a8885a308d3n;
  for (let i = 0; i < count; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & M64;
    yield i & 1 ? s : s >> BigInt(Number(s & 63n));
  }
}

describe('wide arithmetic helpers', () => {
  it('mulU64 and mulS64 give the exact 128-bit products', () => {
    const vs = [...values(60)];
    for (const a of vs) {
      for (const b of vs) {
        mulU64(lo(a), hi(a), lo(b), hi(b));
        const got = (u32(wide.w3) << 96n) | (u32(wide.w2) << 64n) | (u32(wide.w1) << 32n) | u32(wide.w0);
        expect(got, `${a} * ${b}`).toBe(a * b);
        mulS64(lo(a), hi(a), lo(b), hi(b));
        const sgot = (u32(wide.w3) << 96n) | (u32(wide.w2) << 64n) | (u32(wide.w1) << 32n) | u32(wide.w0);
        expect(sgot, `signed ${a} * ${b}`).toBe(BigInt.asUintN(128, s64(a) * s64(b)));
      }
    }
  });

  it('divU128 divides by small and large divisors exactly', () => {
    const vs = [...values(40)];
    for (const d of vs) {
      if (d === 0n) continue;
      for (const nLo of vs) {
        for (const nHi of [0n, 1n, d - 1n, (d >> 1n)]) {
          if (nHi >= d) continue;
          const n = (nHi << 64n) | nLo;
          divU128(hi(nHi), lo(nHi), hi(nLo), lo(nLo), lo(d), hi(d));
          expect(pair(wide.lo, wide.hi), `${n} / ${d}`).toBe(n / d);
          expect(pair(wide.remLo, wide.remHi), `${n} % ${d}`).toBe(n % d);
        }
      }
    }
  });

  it('shifts by every count 0-64', () => {
    for (const v of [0x8123456789abcdefn, 1n, M64]) {
      for (let c = 0; c <= 64; c++) {
        shl64(lo(v), hi(v), c);
        expect(pair(wide.lo, wide.hi)).toBe((v << BigInt(c)) & M64);
        shr64(lo(v), hi(v), c);
        expect(pair(wide.lo, wide.hi)).toBe(v >> BigInt(c));
        if (c < 64) {
          sar64(lo(v), hi(v), c);
          expect(pair(wide.lo, wide.hi)).toBe(BigInt.asUintN(64, s64(v) >> BigInt(c)));
        }
      }
    }
  });

  it('a 128/64 division with a large divisor stays fast (the BigInt path)', () => {
    const start = performance.now();
    for (let i = 0; i < 20000; i++) divU128(0x1234, i, 0x9abcdef0, 0x13579bdf, 0x2468ace0, 0x123456);
    const perOp = ((performance.now() - start) / 20000) * 1000;
    // Measured about 1-2 us here; the bound only catches a pathological regression.
    expect(perOp).toBeLessThan(50);
  });
});

describe('64-bit MUL, IMUL, DIV, IDIV', () => {
  const RAX = 0, RDX = 2, RBX = 3, RCX = 1;

  function run(code: number[], regs: Record<number, bigint>) {
    const m = longModeMachine();
    for (const [n, v] of Object.entries(regs)) m.cpu.regs.gpr.set64(Number(n), BigInt.asUintN(64, v));
    m.load(code);
    const stop = m.run();
    return { stop, reg: (n: number) => m.cpu.regs.gpr.get64(n), flags: m.cpu.regs.flags.get(), vector: m.cpu.lastException };
  }

  it('MUL r64 puts the 128-bit product in RDX:RAX and sets CF/OF when RDX is not zero', () => {
    const r = run([0x48, 0xf7, 0xe3], { [RAX]: M64, [RBX]: M64 }); // mul rbx
    expect(r.reg(RAX)).toBe(1n);
    expect(r.reg(RDX)).toBe(M64 - 1n);
    expect(r.flags & (CF | OF)).toBe(CF | OF);
    const small = run([0x48, 0xf7, 0xe3], { [RAX]: 0x100000000n, [RBX]: 0xffffffffn, [RDX]: 7n });
    expect(small.reg(RDX)).toBe(0n);
    expect(small.flags & (CF | OF)).toBe(0);
  });

  it('IMUL r64 (one, two and three operands) flags a product that does not fit in 64 bits', () => {
    const one = run([0x48, 0xf7, 0xeb], { [RAX]: -1n, [RBX]: 0x8000000000000000n }); // imul rbx
    expect(one.reg(RAX)).toBe(0x8000000000000000n);
    expect(one.reg(RDX)).toBe(0n);
    expect(one.flags & (CF | OF)).toBe(CF | OF);
    const two = run([0x48, 0x0f, 0xaf, 0xcb], { [RCX]: -3n, [RBX]: 5n }); // imul rcx, rbx
    expect(two.reg(RCX)).toBe(BigInt.asUintN(64, -15n));
    expect(two.flags & (CF | OF)).toBe(0);
    const three = run([0x48, 0x6b, 0xcb, 0x80], { [RBX]: 0x100000000000000n }); // imul rcx, rbx, -128
    expect(three.reg(RCX)).toBe(0x8000000000000000n);
    expect(three.flags & (CF | OF)).toBe(0);
    const over = run([0x48, 0x69, 0xcb, 0, 0, 0, 1], { [RBX]: 0x100000000000n }); // imul rcx, rbx, 0x1000000
    expect(over.flags & (CF | OF)).toBe(CF | OF);
  });

  it('DIV r64 divides RDX:RAX, and raises #DE for a zero divisor or a quotient over 64 bits', () => {
    const r = run([0x48, 0xf7, 0xf3], { [RDX]: 1n, [RAX]: 5n, [RBX]: 0x100000000n }); // div rbx
    expect(r.reg(RAX)).toBe(0x100000000n);
    expect(r.reg(RDX)).toBe(5n);
    const zero = run([0x48, 0xf7, 0xf3], { [RDX]: 1n, [RAX]: 5n, [RBX]: 0n });
    expect(zero.vector).toBe(0);
    expect(zero.reg(RAX)).toBe(5n);
    const big = run([0x48, 0xf7, 0xf3], { [RDX]: 2n, [RAX]: 5n, [RBX]: 2n });
    expect(big.vector).toBe(0);
    expect(big.reg(RDX)).toBe(2n);
  });

  it('IDIV r64 truncates toward zero, gives the remainder the dividend sign, and faults on overflow', () => {
    const r = run([0x48, 0xf7, 0xfb], { [RDX]: -1n, [RAX]: -7n, [RBX]: 2n }); // idiv rbx: -7 / 2
    expect(s64(r.reg(RAX))).toBe(-3n);
    expect(s64(r.reg(RDX))).toBe(-1n);
    const min = run([0x48, 0xf7, 0xfb], { [RDX]: -1n, [RAX]: 0x8000000000000000n, [RBX]: 1n });
    expect(min.reg(RAX)).toBe(0x8000000000000000n);
    const over = run([0x48, 0xf7, 0xfb], { [RDX]: -1n, [RAX]: 0x8000000000000000n, [RBX]: -1n });
    expect(over.vector).toBe(0);
    const wide128 = run([0x48, 0xf7, 0xfb], { [RDX]: 0x3fffffffffffffffn, [RAX]: 0n, [RBX]: 0x7fffffffffffffffn });
    expect(wide128.stop).toBe('end');
    expect(wide128.reg(RAX)).toBe(((0x3fffffffffffffffn << 64n) / 0x7fffffffffffffffn));
  });
});
