// The software CPU's lazy flags against the real CPU: every ALU operation at every operand
// size on random and edge-case operands, run natively at CPL3 under KVM, compared bit for bit.
// AF after AND/OR/XOR/TEST is undefined in the SDM; the hardware here clears it, and so do we.
import { describe, expect, it } from 'vitest';
import { ARITH_FLAGS, CF, EFLAGS_FIXED, LazyFlags } from '../../packages/core-cpu/src/alu/lazy-flags.js';
import { applyOp, OPS, SIZES, type AluOp } from '../../packages/core-cpu/test/alu/flag-model.js';
import { kvmUsable } from '../support/tsemu-process.js';
import { KvmUserSandbox } from './kvm-user-sandbox.js';

/** `op rax, rbx` (dst in r/m = rax, src in reg = rbx), or the one-operand forms on rax. */
function encode(op: AluOp, bits: number): number[] {
  const prefix = bits === 16 ? [0x66] : bits === 64 ? [0x48] : [];
  const wide = bits === 8 ? 0 : 1;
  const twoOperand: Partial<Record<AluOp, number>> = { add: 0x00, or: 0x08, adc: 0x10, sbb: 0x18, and: 0x20, sub: 0x28, xor: 0x30, cmp: 0x38, test: 0x84 };
  if (twoOperand[op] !== undefined) return [...prefix, twoOperand[op]! + wide, 0xd8];
  const oneOperand: Partial<Record<AluOp, [number, number]>> = { inc: [0xfe, 0xc0], dec: [0xfe, 0xc8], neg: [0xf6, 0xd8] };
  const [opcode, modrm] = oneOperand[op]!;
  return [...prefix, opcode + wide, modrm];
}

/** Deterministic operands: edges around zero, the sign bit and all ones, plus pseudo-random values. */
function* operands(bits: number, count: number): Generator<[bigint, bigint]> {
  const max = (1n << BigInt(bits)) - 1n;
  const sign = 1n << BigInt(bits - 1);
  const edges = [0n, 1n, 0xfn, 0x10n, sign - 1n, sign, sign + 1n, max - 1n, max];
  for (const a of edges) for (const b of edges) yield [a, b];
  let seed = 0x9e3779b97f4a7c15n * BigInt(bits);
  const next = () => {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return seed & max;
  };
  for (let i = 0; i < count; i++) yield [next(), next()];
}

describe.skipIf(!kvmUsable())('lazy flags against the real CPU', () => {
  it('match the hardware for every ALU operation, size and carry-in', () => {
    const sandbox = KvmUserSandbox.open();
    let compared = 0;
    try {
      for (const op of OPS) {
        for (const bits of SIZES) {
          const code = Uint8Array.from(encode(op, bits));
          for (const [a, b] of operands(bits, 24)) {
            for (const carryIn of [0, 1]) {
              const gpr = new Array<bigint>(16).fill(0n);
              gpr[0] = a;
              gpr[3] = b;
              const hw = sandbox.run({ code, gpr, rflags: BigInt(EFLAGS_FIXED | carryIn) });
              expect(hw.exception).toBeNull();
              const flags = new LazyFlags();
              flags.set(EFLAGS_FIXED | (carryIn ? CF : 0));
              applyOp(flags, op, bits, a, b, carryIn);
              const want = Number(hw.rflags) & ARITH_FLAGS;
              const got = flags.get() & ARITH_FLAGS;
              if (got !== want) {
                throw new Error(`${op}${bits} a=0x${a.toString(16)} b=0x${b.toString(16)} cf=${carryIn}: flags 0x${got.toString(16)}, hardware 0x${want.toString(16)}`);
              }
              compared++;
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    expect(compared).toBe(OPS.length * SIZES.length * (81 + 24) * 2);
  });
});
