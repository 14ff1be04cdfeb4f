// 64-bit shifts, rotates and double shifts (shiftRotate64 / doubleShift64 in handlers/shift.ts):
// results and CF against a BigInt model for every count, OF where the SDM defines it (count 1),
// the 6-bit count mask, and whole REX.W instructions on the long-mode machine (the flags the SDM
// leaves undefined are compared with the real CPU in test/differential/shift64-vs-cpu.test.ts).
import { describe, expect, it } from 'vitest';
import { ARITH_FLAGS, CF, EFLAGS_FIXED, LazyFlags, OF, ZF } from '../../src/alu/lazy-flags.js';
import { wide } from '../../src/alu/wide.js';
import { doubleShift64, shiftRotate64, ShiftOp } from '../../src/interp/handlers/shift.js';
import { longModeMachine } from './long-mode-machine.js';

const M64 = (1n << 64n) - 1n;
const lo = (v: bigint) => Number(v & 0xffffffffn) | 0;
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn) | 0;
const result = () => (BigInt(wide.hi >>> 0) << 32n) | BigInt(wide.lo >>> 0);
const bit = (v: bigint, n: number) => Number((v >> BigInt(n)) & 1n);

/** The SDM's result and CF for `op` on the 64-bit v by count c (1-63), carry-in cin. */
function model(op: number, v: bigint, c: number, cin: number): [bigint, number] {
  const C = BigInt(c);
  switch (op) {
    case ShiftOp.ROL: { const r = ((v << C) | (v >> (64n - C))) & M64; return [r, bit(r, 0)]; }
    case ShiftOp.ROR: { const r = ((v >> C) | (v << (64n - C))) & M64; return [r, bit(r, 63)]; }
    case ShiftOp.RCL: { const w = (BigInt(cin) << 64n) | v; const r = ((w << C) | (w >> (65n - C))) & ((1n << 65n) - 1n); return [r & M64, bit(r, 64)]; }
    case ShiftOp.RCR: { const w = (BigInt(cin) << 64n) | v; const r = ((w >> C) | (w << (65n - C))) & ((1n << 65n) - 1n); return [r & M64, bit(r, 64)]; }
    case ShiftOp.SHL: case ShiftOp.SAL: return [(v << C) & M64, bit(v, 64 - c)];
    case ShiftOp.SHR: return [v >> C, bit(v, c - 1)];
    default: return [BigInt.asUintN(64, BigInt.asIntN(64, v) >> C), bit(v, c - 1)];
  }
}

function flags(initial: number): LazyFlags {
  const f = new LazyFlags();
  f.set(EFLAGS_FIXED | initial);
  return f;
}

describe('shiftRotate64', () => {
  it('matches the model in result and CF for every operation, count and carry-in', () => {
    for (const v of [0x8123456789abcdefn, 0x7fffffff80000001n, 1n, M64, 0xc000000000000000n]) {
      for (let op = 0; op < 8; op++) {
        for (let c = 1; c < 64; c++) {
          for (const cin of [0, 1]) {
            const f = flags(cin ? CF : 0);
            shiftRotate64(f, op, lo(v), hi(v), c);
            const [r, cf] = model(op, v, c, cin);
            const where = `op ${op} v ${v.toString(16)} count ${c} cf ${cin}`;
            expect(result(), where).toBe(r);
            expect(f.cf(), where).toBe(cf);
            if (c === 1) {
              const msb = bit(r, 63);
              const of = op === ShiftOp.ROR || op === ShiftOp.RCR ? msb ^ bit(r, 62) : op === ShiftOp.SHR ? bit(v, 63) : op === ShiftOp.SAR ? 0 : msb ^ cf;
              expect(f.of(), where).toBe(of);
            }
          }
        }
      }
    }
  });

  it('masks the count to 6 bits: 64 changes nothing, 65 shifts by one', () => {
    const f = flags(ARITH_FLAGS);
    shiftRotate64(f, ShiftOp.SHL, 1, 0, 64);
    expect(result()).toBe(1n);
    expect(f.get() & ARITH_FLAGS).toBe(ARITH_FLAGS);
    shiftRotate64(f, ShiftOp.SHL, 1, 0, 65);
    expect(result()).toBe(2n);
  });

  it('SHL by 32 moves the low half into the high half and sets ZF only from all 64 bits', () => {
    const f = flags(0);
    shiftRotate64(f, ShiftOp.SHL, 0x80000001 | 0, 0, 32);
    expect(result()).toBe(0x8000000100000000n);
    expect(f.get() & (ZF | CF)).toBe(0);
    shiftRotate64(f, ShiftOp.SHR, 0, 1, 33);
    expect(result()).toBe(0n);
    expect(f.get() & (ZF | CF)).toBe(ZF | CF);
  });
});

describe('doubleShift64', () => {
  it('matches SHLD/SHRD on the 128-bit concatenation for every count', () => {
    const d = 0x8123456789abcdefn;
    const s = 0xfedcba9876543210n;
    for (let c = 1; c < 64; c++) {
      const f = flags(0);
      doubleShift64(f, true, lo(d), hi(d), lo(s), hi(s), c);
      expect(result(), `shld ${c}`).toBe(((d << BigInt(c)) | (s >> BigInt(64 - c))) & M64);
      expect(f.cf()).toBe(bit(d, 64 - c));
      doubleShift64(f, false, lo(d), hi(d), lo(s), hi(s), c);
      expect(result(), `shrd ${c}`).toBe(((d >> BigInt(c)) | (s << BigInt(64 - c))) & M64);
      expect(f.cf()).toBe(bit(d, c - 1));
    }
  });
});

describe('64-bit shift instructions', () => {
  function run(code: number[], rax: bigint, rcx = 0n, rbx = 0n) {
    const m = longModeMachine();
    const g = m.cpu.regs.gpr;
    g.set64(0, rax);
    g.set64(1, rcx);
    g.set64(3, rbx);
    m.load(code);
    expect(m.run()).toBe('end');
    return { rax: g.get64(0), flags: m.cpu.regs.flags.get() };
  }

  it('SHL/SAR/ROR r64 by 1, CL and imm8', () => {
    expect(run([0x48, 0xd1, 0xe0], 0x4000000000000000n).rax).toBe(0x8000000000000000n); // shl rax, 1
    expect(run([0x48, 0xd1, 0xe0], 0x4000000000000000n).flags & OF).toBe(OF);
    expect(run([0x48, 0xd3, 0xf8], 0x8000000000000000n, 63n).rax).toBe(M64); // sar rax, cl
    expect(run([0x48, 0xc1, 0xc8, 0x24], 0x0000000f00000000n).rax).toBe(0xf000000000000000n); // ror rax, 36
  });

  it('a 32-bit shift clears bits 63:32 of the register, even with a count of 0', () => {
    expect(run([0xd3, 0xe0], 0xffffffff00000001n, 0n).rax).toBe(1n); // shl eax, cl (cl = 0)
    expect(run([0xd1, 0xe0], 0xffffffff80000001n).rax).toBe(2n); // shl eax, 1
  });

  it('SHLD/SHRD r64', () => {
    expect(run([0x48, 0x0f, 0xa4, 0xd8, 0x10], 0x1234n, 0n, 0xabcd000000000000n).rax).toBe(0x1234abcdn); // shld rax, rbx, 16
    expect(run([0x48, 0x0f, 0xad, 0xd8], 0x1234n, 40n, 0xffn).rax).toBe(0xff000000n); // shrd rax, rbx, cl
  });
});
