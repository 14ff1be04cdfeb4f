// The x87 extended-precision library against the real FPU: each operation runs natively at
// CPL3 under KVM on a batch of seeded random and edge-case operands, in every rounding mode and
// precision control, and the 80-bit (or memory-format) result and the status word's exception
// flags and C1 (plus C0/C2/C3 where the operation defines them) must match bit for bit.
//
// One sandbox run executes a loop over RECORDS records in the data area, each record being
//   +0 control word, +2 status word out, +16 operand A, +32 operand B, +48 result, +64 result 2,
// with `fninit; fldcw [rsi]; <body>; add rsi, RECORD; dec ecx; jnz` (all exceptions masked).
//
// Three suites: the exact operations (bit for bit); the transcendentals (special cases and
// IE/DE/ZE/C2 exact, values within the documented double-precision gap, ulps printed); and
// unmasked OE/UE, where FNSAVE captures the bias-adjusted register a trap handler would see.
// Each prints the number of cases compared per operation and the status bits the hardware
// raised, so a generator that stops reaching an edge shows up in the log.
import { describe, expect, it } from 'vitest';
import { addSub, div, mul, sqrt } from '../../packages/core-cpu/src/fpu/arith.js';
import {
  fromFloat32, fromFloat64, fromInt32, fromInt64, Int64Halves, narrowed, toFloat32, toFloat64, toInt,
} from '../../packages/core-cpu/src/fpu/convert.js';
import { fromBcd, toBcd } from '../../packages/core-cpu/src/fpu/bcd.js';
import { compare, examine } from '../../packages/core-cpu/src/fpu/compare.js';
import { FpuConstant, loadConstant } from '../../packages/core-cpu/src/fpu/constants.js';
import { Float80, loadFloat80, storeFloat80 } from '../../packages/core-cpu/src/fpu/float80.js';
import { roundToInteger } from '../../packages/core-cpu/src/fpu/integer.js';
import { partialRemainder } from '../../packages/core-cpu/src/fpu/remainder.js';
import { extract, scale } from '../../packages/core-cpu/src/fpu/scale.js';
import { f2xm1, fpatan, fyl2x, fyl2xp1 } from '../../packages/core-cpu/src/fpu/log-exp.js';
import { fcos, fptan, fsin, fsincos } from '../../packages/core-cpu/src/fpu/trig.js';
import { RC_ZERO, roundingOf } from '../../packages/core-cpu/src/fpu/round.js';
import { randomOperand, Rng } from '../../packages/core-cpu/test/fpu/operand-gen.js';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA_BASE, KvmUserSandbox } from './kvm-user-sandbox.js';
import { HOST_MATCHES_UNDEFINED, HOST_VENDOR } from './undefined-flags.js';

const RECORD = 80;
const RECORDS = 512;
const A = 16;
const B = 32;
const R = 48;
const R2 = 64;

const FLAGS_C1 = 0x023f; // IE DE ZE OE UE PE, C1
const SW_ALL_CC = 0x473f; // plus C0 C2 C3
const FLAG_NAMES: [number, string][] = [
  [0x1, 'IE'], [0x2, 'DE'], [0x4, 'ZE'], [0x8, 'OE'], [0x10, 'UE'], [0x20, 'PE'], [0x200, 'C1'], [0x100, 'C0'], [0x400, 'C2'], [0x4000, 'C3'],
];

// Instruction bytes with [rsi + disp8] operands (ModRM mod=01, rm=110).
const m = (op: number, reg: number, disp: number): number[] => [op, 0x40 | (reg << 3) | 6, disp];
const FLD_M80 = (d: number) => m(0xdb, 5, d);
const FSTP_M80 = (d: number) => m(0xdb, 7, d);
const FNSTSW = m(0xdd, 7, 2);

interface Case {
  name: string;
  body: number[];
  /** Fills one record's operand bytes. */
  make(r: Rng, rec: Uint8Array, at: number): void;
  /** Model: from the record's operands and control word, the expected result bytes and status bits. */
  model(rec: Uint8Array, at: number, cw: number, out: Uint8Array): number;
  /** Bytes of result compared (from R). */
  resultBytes: number;
  swMask: number;
}

const fa = new Float80();
const fb = new Float80();
const fr = new Float80();
const fx = new Float80();
const ZERO80 = new Float80();
const ih = new Int64Halves();

/**
 * Operands whose exact result lies just below the smallest normal (2^-16382), where tininess
 * before and after rounding differ: a tiny denormal against the smallest normal, or products
 * and quotients of significands near all-ones placed at the boundary.
 */
function underflowEdge(r: Rng, rec: Uint8Array, at: number): void {
  const sign = () => (r.chance(0.5) ? 0x8000 : 0);
  if (r.chance(0.5)) {
    storeFloat80(new Float80(sign(), 0, r.below(1 << 20)), rec, at + A);
    storeFloat80(new Float80(sign() | 1, 0x80000000, r.below(4)), rec, at + B);
  } else {
    const nearOne = () => new Float80(0, 0xffffffff, (0xffffffff - r.below(1 << 16)) >>> 0);
    const x = nearOne();
    x.se = sign() | (r.chance(0.5) ? 1 : 0x3fff);
    const y = nearOne();
    y.se = sign() | ((x.se & 0x7fff) === 1 ? 0x3ffe : 1);
    storeFloat80(x, rec, at + A);
    storeFloat80(y, rec, at + B);
  }
}

function binaryCase(name: string, opcode: number[], fn: (a: Float80, b: Float80, cw: number, out: Float80) => number): Case {
  return {
    name,
    body: [...FLD_M80(A), ...FLD_M80(B), ...opcode, ...FNSTSW, ...FSTP_M80(R)],
    make(r, rec, at) {
      if (r.chance(0.1)) {
        underflowEdge(r, rec, at);
        return;
      }
      const a = randomOperand(r, { invalid: true });
      storeFloat80(a, rec, at + A);
      storeFloat80(randomOperand(r, { invalid: true }, a), rec, at + B);
    },
    model(rec, at, cw, out) {
      loadFloat80(rec, at + A, fa);
      loadFloat80(rec, at + B, fb);
      const f = fn(fa, fb, cw, fr);
      storeFloat80(fr, out, 0);
      return f;
    },
    resultBytes: 10,
    swMask: FLAGS_C1,
  };
}

function loadCase(name: string, body: number[], fn: (rec: Uint8Array, at: number, out: Float80) => number,
  gen: (r: Rng, rec: Uint8Array, at: number) => void): Case {
  return {
    name,
    body: [...body, ...FNSTSW, ...FSTP_M80(R)],
    make: gen,
    model(rec, at, _cw, out) {
      const f = fn(rec, at + A, fr);
      storeFloat80(fr, out, 0);
      return f;
    },
    resultBytes: 10,
    swMask: FLAGS_C1,
  };
}

/** Mostly values an integer or BCD store can hold (exponent up to 2^maxExp), some of any size. */
function storeCase(name: string, store: number[], size: number, fn: (a: Float80, cw: number, out: Uint8Array) => number, maxExp = 64): Case {
  return {
    name,
    body: [...FLD_M80(A), ...store, ...FNSTSW],
    make(r, rec, at) {
      const opts = r.chance(0.7) ? { exponents: [0x3fff - 3, 0x3fff + maxExp] as [number, number], special: 0.05 } : { invalid: true };
      storeFloat80(randomOperand(r, opts), rec, at + A);
    },
    model(rec, at, cw, out) {
      loadFloat80(rec, at + A, fa);
      return fn(fa, cw, out);
    },
    resultBytes: size,
    swMask: FLAGS_C1,
  };
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function randomBits(r: Rng, rec: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < n; i += 4) dv(rec).setUint32(at + i, r.u32(), true);
  // Bias toward edge patterns: exponent all ones / zeros and small values.
  if (r.chance(0.3)) rec[at + n - 1] = r.chance(0.5) ? 0x7f | (rec[at + n - 1] & 0x80) : rec[at + n - 1] & 0x80;
}

function stackCase(name: string, body: number[], make: Case['make'], model: (cw: number, out: Uint8Array) => number,
  swMask: number, resultBytes = 10): Case {
  return {
    name, body, make, resultBytes, swMask,
    model(rec, at, cw, out) {
      loadFloat80(rec, at + A, fa);
      loadFloat80(rec, at + B, fb);
      return model(cw, out);
    },
  };
}

/** A and a B within a few exponents of it (or anywhere). */
function pair(r: Rng, rec: Uint8Array, at: number): void {
  const a = randomOperand(r, { invalid: true });
  storeFloat80(a, rec, at + A);
  storeFloat80(randomOperand(r, { invalid: true }, a), rec, at + B);
}

/** A random operand and a B that is a small (often integral) scale factor. */
function scalePair(r: Rng, rec: Uint8Array, at: number): void {
  storeFloat80(randomOperand(r, { invalid: true }), rec, at + A);
  if (r.chance(0.7)) {
    fromInt32((r.below(70000) - 35000) >> r.below(12), fb);
    if (r.chance(0.3) && fb.hi !== 0) fb.lo = r.u32();
  } else {
    fb.copyFrom(randomOperand(r, { invalid: true }));
  }
  storeFloat80(fb, rec, at + B);
}

const x80 = (out: Uint8Array, at = 0) => storeFloat80(fr, out, at);
const CASES: Case[] = [
  stackCase('frndint', [...FLD_M80(A), 0xd9, 0xfc, ...FNSTSW, ...FSTP_M80(R)],
    (r, rec, at) => storeFloat80(randomOperand(r, r.chance(0.6) ? { exponents: [0x3fff - 3, 0x3fff + 66] } : { invalid: true }), rec, at + A),
    (cw, out) => { const f = roundToInteger(fa, roundingOf(cw), fr); x80(out); return f; }, FLAGS_C1),
  stackCase('fscale', [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xfd, ...FNSTSW, ...FSTP_M80(R)], scalePair,
    (cw, out) => { const f = scale(fa, fb, cw, fr); x80(out); return f; }, FLAGS_C1),
  stackCase('fxtract', [...FLD_M80(A), 0xd9, 0xf4, ...FNSTSW, ...FSTP_M80(R), ...FSTP_M80(R2)],
    (r, rec, at) => storeFloat80(randomOperand(r, { invalid: true }), rec, at + A),
    (_cw, out) => { const f = extract(fa, fr, fx); x80(out); storeFloat80(fx, out, R2 - R); return f; }, FLAGS_C1, 26),
  stackCase('fprem', [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xf8, ...FNSTSW, ...FSTP_M80(R)], pair,
    (_cw, out) => { const f = partialRemainder(fa, fb, false, fr); x80(out); return f; }, SW_ALL_CC),
  stackCase('fprem1', [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xf5, ...FNSTSW, ...FSTP_M80(R)], pair,
    (_cw, out) => { const f = partialRemainder(fa, fb, true, fr); x80(out); return f; }, SW_ALL_CC),
  stackCase('fcom', [...FLD_M80(B), ...FLD_M80(A), 0xd8, 0xd1, ...FNSTSW], pair,
    () => compare(fa, fb, false), SW_ALL_CC, 0),
  stackCase('fxam', [...FLD_M80(A), 0xd9, 0xe5, ...FNSTSW],
    (r, rec, at) => storeFloat80(randomOperand(r, { invalid: true, special: 0.5 }), rec, at + A),
    () => examine(fa, false), SW_ALL_CC, 0),
  stackCase('ftst', [...FLD_M80(A), 0xd9, 0xe4, ...FNSTSW],
    (r, rec, at) => storeFloat80(randomOperand(r, { invalid: true, special: 0.5 }), rec, at + A),
    () => compare(fa, ZERO80, false), SW_ALL_CC, 0),
  ...([['fld1', 0xe8, FpuConstant.One], ['fldl2t', 0xe9, FpuConstant.Log2Ten], ['fldl2e', 0xea, FpuConstant.Log2E],
    ['fldpi', 0xeb, FpuConstant.Pi], ['fldlg2', 0xec, FpuConstant.Log10Two], ['fldln2', 0xed, FpuConstant.LnTwo],
    ['fldz', 0xee, FpuConstant.Zero]] as [string, number, FpuConstant][]).map(([name, op, k]) =>
    stackCase(name, [0xd9, op, ...FNSTSW, ...FSTP_M80(R)], () => {}, (cw, out) => {
      const f = loadConstant(k, roundingOf(cw), fr);
      x80(out);
      return f;
    }, FLAGS_C1)),
  stackCase('fucom', [...FLD_M80(B), ...FLD_M80(A), 0xdd, 0xe1, ...FNSTSW], pair,
    () => compare(fa, fb, true), SW_ALL_CC, 0),
  loadCase('fbld', m(0xdf, 4, A), (rec, at, o) => fromBcd(rec, at, o), (r, rec, at) => {
    for (let i = 0; i < 9; i++) rec[at + A + i] = r.below(10) | (r.below(10) << 4);
    if (r.chance(0.1)) rec.fill(0x99, at + A, at + A + 9);
    if (r.chance(0.1)) rec.fill(0, at + A, at + A + 9);
    rec[at + A + 9] = r.chance(0.5) ? 0x80 : 0;
  }),
  binaryCase('fadd', [0xde, 0xc1], (a, b, cw, o) => addSub(a, b, 0, cw, o)),
  binaryCase('fsub', [0xde, 0xe9], (a, b, cw, o) => addSub(a, b, 1, cw, o)),
  binaryCase('fmul', [0xde, 0xc9], mul),
  binaryCase('fdiv', [0xde, 0xf9], div),
  {
    name: 'fsqrt',
    body: [...FLD_M80(A), 0xd9, 0xfa, ...FNSTSW, ...FSTP_M80(R)],
    make(r, rec, at) {
      const a = randomOperand(r, { invalid: true });
      if (r.chance(0.8)) a.se &= 0x7fff;
      storeFloat80(a, rec, at + A);
    },
    model(rec, at, cw, out) {
      loadFloat80(rec, at + A, fa);
      const f = sqrt(fa, cw, fr);
      storeFloat80(fr, out, 0);
      return f;
    },
    resultBytes: 10,
    swMask: FLAGS_C1,
  },
  loadCase('fld m32', m(0xd9, 0, A), (rec, at, o) => fromFloat32(dv(rec).getUint32(at, true), o),
    (r, rec, at) => randomBits(r, rec, at + A, 4)),
  loadCase('fld m64', m(0xdd, 0, A), (rec, at, o) => fromFloat64(dv(rec).getUint32(at + 4, true), dv(rec).getUint32(at, true), o),
    (r, rec, at) => randomBits(r, rec, at + A, 8)),
  loadCase('fild m16', m(0xdf, 0, A), (rec, at, o) => (fromInt32(dv(rec).getInt16(at, true), o), 0),
    (r, rec, at) => randomBits(r, rec, at + A, 4)),
  loadCase('fild m32', m(0xdb, 0, A), (rec, at, o) => (fromInt32(dv(rec).getInt32(at, true), o), 0),
    (r, rec, at) => randomBits(r, rec, at + A, 4)),
  loadCase('fild m64', m(0xdf, 5, A), (rec, at, o) => (fromInt64(dv(rec).getUint32(at + 4, true), dv(rec).getUint32(at, true), o), 0),
    (r, rec, at) => randomBits(r, rec, at + A, 8)),
  storeCase('fstp m32', m(0xd9, 3, R), 4, (a, cw, out) => {
    const f = toFloat32(a, roundingOf(cw));
    dv(out).setUint32(0, narrowed.lo, true);
    return f;
  }),
  storeCase('fstp m64', m(0xdd, 3, R), 8, (a, cw, out) => {
    const f = toFloat64(a, roundingOf(cw));
    dv(out).setUint32(0, narrowed.lo, true);
    dv(out).setUint32(4, narrowed.hi, true);
    return f;
  }),
  storeCase('fistp m16', m(0xdf, 3, R), 2, (a, cw, out) => {
    const f = toInt(a, 16, roundingOf(cw), ih);
    dv(out).setUint16(0, ih.lo & 0xffff, true);
    return f;
  }),
  storeCase('fbstp', m(0xdf, 6, R), 10, (a, cw, out) => toBcd(a, roundingOf(cw), out, 0), 60),
  storeCase('fistp m32', m(0xdb, 3, R), 4, (a, cw, out) => {
    const f = toInt(a, 32, roundingOf(cw), ih);
    dv(out).setUint32(0, ih.lo, true);
    return f;
  }),
  storeCase('fisttp m16', m(0xdf, 1, R), 2, (a, _cw, out) => {
    const f = toInt(a, 16, RC_ZERO, ih);
    dv(out).setUint16(0, ih.lo & 0xffff, true);
    return f;
  }),
  storeCase('fisttp m32', m(0xdb, 1, R), 4, (a, _cw, out) => {
    const f = toInt(a, 32, RC_ZERO, ih);
    dv(out).setUint32(0, ih.lo, true);
    return f;
  }),
  storeCase('fisttp m64', m(0xdd, 1, R), 8, (a, _cw, out) => {
    const f = toInt(a, 64, RC_ZERO, ih);
    dv(out).setUint32(0, ih.lo, true);
    dv(out).setUint32(4, ih.hi, true);
    return f;
  }),
  storeCase('fistp m64', m(0xdf, 7, R), 8, (a, cw, out) => {
    const f = toInt(a, 64, roundingOf(cw), ih);
    dv(out).setUint32(0, ih.lo, true);
    dv(out).setUint32(4, ih.hi, true);
    return f;
  }),
];

/** The loop around a case body: rsi = DATA_BASE, ecx = RECORDS on entry. */
function loopCode(body: number[]): Uint8Array {
  const inner = [0xdb, 0xe3, 0xd9, 0x2e, ...body, 0x48, 0x83, 0xc6, RECORD, 0xff, 0xc9];
  const rel = -(inner.length + 2);
  return Uint8Array.from([...inner, 0x75, rel & 0xff]);
}

const CONTROL_WORDS: number[] = [];
for (const pc of [0, 2, 3]) for (const rc of [0, 1, 2, 3]) CONTROL_WORDS.push(0x007f | (pc << 8) | (rc << 10));

describe.skipIf(!kvmUsable())('x87 extended arithmetic against the real FPU', () => {
  it('matches the hardware bit for bit for every operation, rounding mode and precision', () => {
    const sandbox = KvmUserSandbox.open();
    const counts: Record<string, number> = {};
    const seenPerOp: Record<string, Record<string, number>> = {};
    const failures: string[] = [];
    const expected = new Uint8Array(32);
    try {
      for (const [ci, c] of CASES.entries()) {
        const code = loopCode(c.body);
        const rng = new Rng(0x5eed0000 + ci * 7919);
        counts[c.name] = 0;
        const seen: Record<string, number> = {};
        seenPerOp[c.name] = seen;
        for (const cw of [...CONTROL_WORDS, ...CONTROL_WORDS]) {
          const data = new Uint8Array(RECORD * RECORDS);
          for (let i = 0; i < RECORDS; i++) {
            const at = i * RECORD;
            dv(data).setUint16(at, cw, true);
            c.make(rng, data, at);
          }
          const gpr = new Array<bigint>(16).fill(0n);
          gpr[6] = DATA_BASE;
          gpr[1] = BigInt(RECORDS);
          gpr[4] = 0x80_0000n;
          const hw = sandbox.run({ code, gpr, rflags: 0n, data });
          expect(hw.exception).toBeNull();
          expect(hw.end).toBe('completed');
          for (let i = 0; i < RECORDS; i++) {
            const at = i * RECORD;
            expected.fill(0);
            const flags = c.model(data, at, cw, expected);
            const sw = dv(hw.data).getUint16(at + 2, true);
            let same = (sw & c.swMask) === (flags & c.swMask);
            for (let k = 0; k < c.resultBytes; k++) if (hw.data[at + R + k] !== expected[k]) same = false;
            counts[c.name]++;
            for (const [bit, flag] of FLAG_NAMES) if (sw & bit) seen[flag] = (seen[flag] ?? 0) + 1;
            if (!same) {
              const hex = (b: Uint8Array, o: number, n: number) => Array.from(b.subarray(o, o + n)).reverse().map((x) => x.toString(16).padStart(2, '0')).join('');
              failures.push(`${c.name} cw=${cw.toString(16)} a=${hex(data, at + A, 10)} b=${hex(data, at + B, 10)}: ` +
                `hw ${hex(hw.data, at + R, c.resultBytes)} sw=${(sw & c.swMask).toString(16)}, ` +
                `model ${hex(expected, 0, c.resultBytes)} sw=${(flags & c.swMask).toString(16)}`);
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    const perOp: Record<string, number> = {};
    for (const f of failures) perOp[f.split(' cw')[0]] = (perOp[f.split(' cw')[0]] ?? 0) + 1;
    console.log(`x87 differential: mismatches ${JSON.stringify(perOp)}; compared per operation (with the hardware's status bits seen):`);
    for (const [op, n] of Object.entries(counts)) console.log(`  ${op.padEnd(11)} ${n} ${JSON.stringify(seenPerOp[op])}`);
    const shown: string[] = [];
    const perOpShown: Record<string, number> = {};
    for (const f of failures) {
      const op = f.split(' cw')[0];
      perOpShown[op] = (perOpShown[op] ?? 0) + 1;
      if (perOpShown[op] <= 6) shown.push(f);
    }
    expect(shown).toEqual([]);
  });
});

// ---- transcendentals: exact special cases and flags, values within the documented gap ----

/** Monotonic position of a finite extended magnitude in units of its own ulp grid. */
function ordinal(v: Float80): bigint {
  const e = BigInt(v.se & 0x7fff);
  const sig = (BigInt(v.hi) << 32n) | BigInt(v.lo);
  return e === 0n ? sig : (e - 1n) * (1n << 63n) + sig;
}

/** Documented accuracy gap of the double-based kernels: at most this many 64-bit ulps. */
const TRANSCENDENTAL_ULPS = 1n << 13n;

/**
 * A vendor difference for tiny results in directed rounding, accepted only on a non-Intel host.
 *
 * tsemu follows Intel: for |x| far below 1, FSIN (and the sine of FSINCOS) returns x itself in
 * every rounding mode, with UE and PE. AMD's microcode (measured on a Zen 3) rounds x - x^3/6
 * in the direction RC asks, so where rounding is toward zero it delivers the next value below
 * |x|; for most x that is one ulp, inside TRANSCENDENTAL_ULPS, but for x = the smallest denormal
 * it is a zero of x's sign, which `close` never accepts against a non-zero. (Its FCOS likewise
 * gives 1 - 2^-64 for 1.0 there, already within the ulp gap.) The SDM does not pin this: it
 * bounds transcendental error by 1.5 ulps in the directed modes (Vol. 1, 8.3.10), which both
 * results meet on the denormal grid, and its special-case tables only fix +-0 -> +-0, +-inf and
 * NaN. So on such a host exactly this is accepted: the hardware gives +-0, tsemu the smallest
 * denormal of the same sign, RC rounds toward zero for that sign, and both raised UE and PE.
 * Everything else (IE/DE/ZE/C2, NaN/inf/zero results of special operands, signs, the ulp gap)
 * is compared as on Intel hosts.
 */
function tinyRoundedToZero(hw: Float80, model: Float80, cw: number, sw: number, flags: number): boolean {
  if (HOST_MATCHES_UNDEFINED) return false;
  const rc = (cw >> 10) & 3;
  const towardZero = rc === 3 || (rc === 1 && model.sign === 0) || (rc === 2 && model.sign === 1);
  const tinyInexact = (f: number) => (f & 0x30) === 0x30; // UE PE
  return towardZero && tinyInexact(sw) && tinyInexact(flags) &&
    hw.se === model.se && model.se === (model.sign << 15) && (hw.hi | hw.lo) === 0 && model.hi === 0 && model.lo === 1;
}

function close(hw: Float80, model: Float80): boolean {
  if (hw.equals(model)) return true;
  const finite = (v: Float80) => (v.se & 0x7fff) !== 0x7fff;
  if (!finite(hw) || !finite(model)) return false;
  if ((hw.hi | hw.lo) === 0 || (model.hi | model.lo) === 0) return false;
  if (hw.sign !== model.sign) return false;
  const d = ordinal(hw) - ordinal(model);
  return (d < 0n ? -d : d) <= TRANSCENDENTAL_ULPS;
}

interface TransCase {
  name: string;
  body: number[];
  make(r: Rng, rec: Uint8Array, at: number): void;
  /** Writes the expected ST values (R, and R2 when two) and returns status bits. */
  model(cw: number, outR: Float80, outR2: Float80): number;
  two: boolean;
}

const exps = (lo: number, hi: number) => ({ exponents: [lo, hi] as [number, number], invalid: true, special: 0.15 });
const one = (e: Parameters<typeof randomOperand>[1]) => (r: Rng, rec: Uint8Array, at: number) => storeFloat80(randomOperand(r, e), rec, at + A);
const BIAS = 0x3fff;
const TRANS: TransCase[] = [
  { name: 'fsin', body: [...FLD_M80(A), 0xd9, 0xfe, ...FNSTSW, ...FSTP_M80(R)], make: one(exps(BIAS - 70, BIAS + 64)), two: false,
    model: (cw, o) => fsin(fa, cw, o) },
  { name: 'fcos', body: [...FLD_M80(A), 0xd9, 0xff, ...FNSTSW, ...FSTP_M80(R)], make: one(exps(BIAS - 70, BIAS + 64)), two: false,
    model: (cw, o) => fcos(fa, cw, o) },
  { name: 'fsincos', body: [...FLD_M80(A), 0xd9, 0xfb, ...FNSTSW, ...FSTP_M80(R), ...FSTP_M80(R2)], make: one(exps(BIAS - 70, BIAS + 64)),
    two: true, model: (cw, o, o2) => fsincos(fa, cw, o2, o) },
  { name: 'fptan', body: [...FLD_M80(A), 0xd9, 0xf2, ...FNSTSW, ...FSTP_M80(R), ...FSTP_M80(R2)], make: one(exps(BIAS - 70, BIAS + 64)),
    two: true, model: (cw, o, o2) => {
      // Pushes 1.0 on success; a NaN result is pushed as well; out of range leaves the operand.
      const f = fptan(fa, cw, o2);
      if ((o2.se & 0x7fff) === 0x7fff && (o2.hi & 0x7fffffff || o2.lo)) o.copyFrom(o2);
      else if (f & 0x400) o.copyFrom(fa);
      else fromInt32(1, o);
      return f;
    } },
  { name: 'f2xm1', body: [...FLD_M80(A), 0xd9, 0xf0, ...FNSTSW, ...FSTP_M80(R)], make: one(exps(BIAS - 80, BIAS - 1)), two: false,
    model: (cw, o) => f2xm1(fa, cw, o) },
  { name: 'fyl2x', body: [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xf1, ...FNSTSW, ...FSTP_M80(R)], two: false,
    make(r, rec, at) { const x = randomOperand(r, { invalid: true }); if (r.chance(0.9)) x.se &= 0x7fff; storeFloat80(x, rec, at + A); storeFloat80(randomOperand(r, { invalid: true }), rec, at + B); },
    model: (cw, o) => fyl2x(fb, fa, cw, o) },
  { name: 'fyl2xp1', body: [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xf9, ...FNSTSW, ...FSTP_M80(R)], two: false,
    make(r, rec, at) { storeFloat80(randomOperand(r, exps(BIAS - 80, BIAS - 3)), rec, at + A); storeFloat80(randomOperand(r, exps(BIAS - 200, BIAS + 200)), rec, at + B); },
    model: (cw, o) => fyl2xp1(fb, fa, cw, o) },
  { name: 'fpatan', body: [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xf3, ...FNSTSW, ...FSTP_M80(R)], two: false, make: pair,
    model: (cw, o) => fpatan(fb, fa, cw, o) },
];

describe.skipIf(!kvmUsable())('x87 transcendentals against the real FPU', () => {
  it(`match special cases and IE/DE/ZE/C2 exactly, values within ${TRANSCENDENTAL_ULPS} ulps`, () => {
    const sandbox = KvmUserSandbox.open();
    const failures: string[] = [];
    const counts: Record<string, number> = {};
    const exact: Record<string, number> = {};
    const maxUlps: Record<string, number> = {};
    const tinyToZero: Record<string, number> = {};
    const o1 = new Float80();
    const o2 = new Float80();
    const h1 = new Float80();
    const h2 = new Float80();
    try {
      for (const [ci, c] of TRANS.entries()) {
        const code = loopCode(c.body);
        const rng = new Rng(0x7a450000 + ci * 104729);
        counts[c.name] = 0;
        for (const cw of CONTROL_WORDS) {
          const data = new Uint8Array(RECORD * RECORDS);
          for (let i = 0; i < RECORDS; i++) {
            dv(data).setUint16(i * RECORD, cw, true);
            c.make(rng, data, i * RECORD);
          }
          const gpr = new Array<bigint>(16).fill(0n);
          gpr[6] = DATA_BASE;
          gpr[1] = BigInt(RECORDS);
          const hw = sandbox.run({ code, gpr, rflags: 0n, data });
          expect(hw.end).toBe('completed');
          for (let i = 0; i < RECORDS; i++) {
            const at = i * RECORD;
            loadFloat80(data, at + A, fa);
            loadFloat80(data, at + B, fb);
            const flags = c.model(cw, o1, o2);
            const sw = dv(hw.data).getUint16(at + 2, true);
            loadFloat80(hw.data, at + R, h1);
            loadFloat80(hw.data, at + R2, h2);
            const strict = 0x0407; // IE DE ZE C2
            const near = (h: Float80, o: Float80) => {
              if (close(h, o)) return true;
              if (!tinyRoundedToZero(h, o, cw, sw, flags)) return false;
              tinyToZero[c.name] = (tinyToZero[c.name] ?? 0) + 1;
              return true;
            };
            let ok = (sw & strict) === (flags & strict) && near(h1, o1);
            if (c.two && !(sw & 0x0401)) ok = ok && near(h2, o2);
            counts[c.name]++;
            if (h1.equals(o1)) exact[c.name] = (exact[c.name] ?? 0) + 1;
            else if (ok && (h1.se & 0x7fff) !== 0x7fff) {
              const d = ordinal(h1) - ordinal(o1);
              const ulps = Number(d < 0n ? -d : d);
              if (ulps > (maxUlps[c.name] ?? 0)) maxUlps[c.name] = ulps;
            }
            if (!ok) {
              failures.push(`${c.name} cw=${cw.toString(16)} a=${fa.toHex()} b=${fb.toHex()}: hw ${h1.toHex()} ${c.two ? h2.toHex() : ''} sw=${sw.toString(16)}, ` +
                `model ${o1.toHex()} ${c.two ? o2.toHex() : ''} sw=${flags.toString(16)}`);
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    const perOp: Record<string, number> = {};
    for (const f of failures) perOp[f.split(' cw')[0]] = (perOp[f.split(' cw')[0]] ?? 0) + 1;
    console.log(`x87 transcendentals: mismatches ${JSON.stringify(perOp)}; compared, bit-exact, max ulps of ST(0):`);
    for (const [op, n] of Object.entries(counts)) console.log(`  ${op.padEnd(8)} ${n} ${exact[op] ?? 0} ${maxUlps[op] ?? 0}`);
    console.log(HOST_MATCHES_UNDEFINED
      ? `x87 transcendentals on host ${HOST_VENDOR}: IE/DE/ZE/C2 and special cases exact, values within ${TRANSCENDENTAL_ULPS} ulps (the reference comparison)`
      : `x87 transcendentals on host ${HOST_VENDOR}: IE/DE/ZE/C2 and special cases exact, values within ${TRANSCENDENTAL_ULPS} ulps, except ` +
        `that a tiny result the hardware rounded toward zero to +-0 is accepted against tsemu's (Intel's) smallest denormal ` +
        `(vendor-specific, within the SDM's 1.5-ulp bound): ${JSON.stringify(tinyToZero)}`);
    const shown: string[] = [];
    const n: Record<string, number> = {};
    for (const f of failures) {
      const op = f.split(' cw')[0];
      n[op] = (n[op] ?? 0) + 1;
      if (n[op] <= 5) shown.push(f);
    }
    expect(shown).toEqual([]);
  });
});

// ---- unmasked overflow/underflow: the bias-adjusted result a trap handler would see ----
// FNSAVE (non-waiting) stores the registers without raising the pending #MF and reinitializes.

const SAVE_RECORD = 160;
const SAVE_RECORDS = 384;
const SAVE_AT = 48;
const SAVE_ST0 = SAVE_AT + 28; // after the 28-byte 32-bit FNSAVE header

function edgeOperand(r: Rng): Float80 {
  const ranges: [number, number][] = [[1, 80], [0x7ffe - 80, 0x7ffe], [0x1f00, 0x2100], [0x5f00, 0x6100], [0x3fff - 70, 0x3fff + 70]];
  return randomOperand(r, { exponents: ranges[r.below(ranges.length)], special: 0.05 });
}

const UNMASKED: [string, number[], (cw: number, out: Float80) => number][] = [
  ['fadd', [0xde, 0xc1], (cw, o) => addSub(fa, fb, 0, cw, o)],
  ['fsub', [0xde, 0xe9], (cw, o) => addSub(fa, fb, 1, cw, o)],
  ['fmul', [0xde, 0xc9], (cw, o) => mul(fa, fb, cw, o)],
  ['fdiv', [0xde, 0xf9], (cw, o) => div(fa, fb, cw, o)],
];

describe.skipIf(!kvmUsable())('x87 unmasked overflow and underflow against the real FPU', () => {
  it('delivers the same bias-adjusted result and flags', () => {
    const sandbox = KvmUserSandbox.open();
    const failures: string[] = [];
    const counts: Record<string, number> = {};
    const seen: Record<string, number> = {};
    const o = new Float80();
    const h = new Float80();
    try {
      const cases: [string, number[], (cw: number, out: Float80) => number][] = [
        ...UNMASKED.map(([n, op, fn]): [string, number[], (cw: number, out: Float80) => number] => [n, [...FLD_M80(A), ...FLD_M80(B), ...op], fn]),
        ['fscale', [...FLD_M80(B), ...FLD_M80(A), 0xd9, 0xfd], (cw, out) => scale(fa, fb, cw, out)],
      ];
      for (const [ci, [name, ops, fn]] of cases.entries()) {
        const body = [...ops, ...FNSTSW, ...m(0xdd, 6, SAVE_AT)];
        const inner = [0xdb, 0xe3, 0xd9, 0x2e, ...body, 0x48, 0x81, 0xc6, SAVE_RECORD & 0xff, SAVE_RECORD >> 8, 0, 0, 0xff, 0xc9];
        const code = Uint8Array.from([...inner, 0x75, -(inner.length + 2) & 0xff]);
        const rng = new Rng(0x0e0e0000 + ci * 31337);
        counts[name] = 0;
        for (const pc of [0, 2, 3]) {
          for (const rc of [0, 1, 2, 3]) {
            const cw = 0x0067 | (pc << 8) | (rc << 10);
            const data = new Uint8Array(SAVE_RECORD * SAVE_RECORDS);
            for (let i = 0; i < SAVE_RECORDS; i++) {
              const at = i * SAVE_RECORD;
              dv(data).setUint16(at, cw, true);
              storeFloat80(edgeOperand(rng), data, at + A);
              if (name === 'fscale') {
                fromInt32(rng.below(40000) - 20000, fb);
                storeFloat80(fb, data, at + B);
              } else if (rng.chance(0.15)) {
                underflowEdge(rng, data, at);
              } else {
                storeFloat80(edgeOperand(rng), data, at + B);
              }
            }
            const gpr = new Array<bigint>(16).fill(0n);
            gpr[6] = DATA_BASE;
            gpr[1] = BigInt(SAVE_RECORDS);
            const hw = sandbox.run({ code, gpr, rflags: 0n, data });
            expect(hw.end).toBe('completed');
            for (let i = 0; i < SAVE_RECORDS; i++) {
              const at = i * SAVE_RECORD;
              loadFloat80(data, at + A, fa);
              loadFloat80(data, at + B, fb);
              const flags = fn(cw, o);
              const sw = dv(hw.data).getUint16(at + 2, true);
              loadFloat80(hw.data, at + SAVE_ST0, h);
              counts[name]++;
              if (sw & 0x08) seen.OE = (seen.OE ?? 0) + 1;
              if (sw & 0x10) seen.UE = (seen.UE ?? 0) + 1;
              if ((sw & FLAGS_C1) !== (flags & FLAGS_C1) || !h.equals(o)) {
                failures.push(`${name} cw=${cw.toString(16)} a=${fa.toHex()} b=${fb.toHex()}: hw ${h.toHex()} sw=${(sw & FLAGS_C1).toString(16)}, model ${o.toHex()} sw=${(flags & FLAGS_C1).toString(16)}`);
              }
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    console.log(`x87 unmasked OE/UE: compared ${JSON.stringify(counts)} (hardware raised ${JSON.stringify(seen)}); mismatches ${failures.length}`);
    expect(failures.slice(0, 12)).toEqual([]);
  });
});
