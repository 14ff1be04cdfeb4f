// String instructions in 64-bit mode against the real CPU: MOVS STOS LODS SCAS CMPS at every
// element size (REX.W: MOVSQ ...), with and without REP/REPE/REPNE, 64-bit RSI/RDI/RCX or
// (67) ESI/EDI/ECX with random upper halves (on Intel hosts), either direction (DF), and data where equal and
// unequal elements both occur so REPE/REPNE stop early. Whole instructions on the long-mode
// test machine and natively (soft64-vs-cpu.ts): registers, flags and memory.
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, Rng, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';
import { HOST_MATCHES_UNDEFINED, UNDEFINED_NOTE } from './undefined-flags.js';

const SIZES = [8, 16, 32, 64] as const;
type Size = (typeof SIZES)[number];
const RCX = 1, RSI = 6, RDI = 7;
const DF = 0x400;

/** Opcode of the byte form; +1 for the word/doubleword/quadword form. */
const OPS = { movs: 0xa4, cmps: 0xa6, stos: 0xaa, lods: 0xac, scas: 0xae } as const;

/** Mostly-zero data: elements compare equal often enough for REPE and REPNE both to stop early. */
function sparse(rng: Rng): Uint8Array {
  const out = rng.bytes(0x10000);
  const keep = rng.bytes(0x10000);
  for (let i = 0; i < out.length; i++) if (keep[i] & 0xf0) out[i] = 0;
  return out;
}

const DATA_FILL = sparse(new Rng(7));

function makeCase(rng: Rng, size: Size): Case {
  const [name, opcode] = rng.pick(Object.entries(OPS));
  const rep = rng.pick([[], [0xf3], [0xf2]]);
  const a32 = rng.int(3) === 0;
  const seg = rng.int(6) === 0 ? [0x64] : [];
  const prefixes = [...(a32 ? [0x67] : []), ...seg, ...rep, ...(size === 16 ? [0x66] : [])];
  const code = [...prefixes, ...(size === 64 ? [0x48] : []), opcode + (size === 8 ? 0 : 1)];
  const gpr = rng.gprs();
  // Random upper halves: an Intel core clears them when a 67-prefixed instruction writes the
  // register (tsemu too), AMD's leave them, so another host gets zero ones (drawn all the same,
  // to keep the cases the same).
  const upper = (v: bigint) => (a32 ? v | (rng.u64() & (HOST_MATCHES_UNDEFINED ? 0xffffffff00000000n : 0n)) : v);
  gpr[RSI] = upper(BigInt(DATA + 0x2000 + rng.int(0x1000)));
  gpr[RDI] = upper(BigInt(DATA + 0x6000 + rng.int(0x1000)));
  // Start the compares where the two strings are equal sometimes: same offsets in a copy.
  if (rng.int(2)) gpr[RDI] = gpr[RSI] + 0x4000n;
  gpr[RCX] = upper(BigInt(rng.pick([0, 1, 2, 3, 7, 16, 33, rng.int(200)])));
  const flags = rng.flags() | (rng.int(2) ? DF : 0);
  // Now and then more elements than a REP runs per step (REP_CHUNK), forward so they stay in the data area.
  if (size === 8 && !(flags & DF) && rng.int(8) === 0) gpr[RCX] = upper(5000n);
  return { name: `${rep.length ? (rep[0] === 0xf3 ? 'rep ' : 'repne ') : ''}${name}${size}${a32 ? ' a32' : ''}`, code, gpr, flags, data: DATA_FILL };
}

describe.skipIf(!kvmUsable())('64-bit mode string instructions against the real CPU', () => {
  it('match the hardware in registers, flags and memory', () => {
    const diff = Soft64VsCpu.open();
    const rng = new Rng(0x737472);
    // The copy that makes equal runs: the data at +0x6000.. mirrors +0x2000...
    DATA_FILL.copyWithin(0x6000, 0x2000, 0x3000);
    try {
      for (let i = 0; i < 4000; i++) diff.compare(makeCase(rng, SIZES[i & 3]));
    } finally {
      diff.close();
    }
    console.log(`4000 string instructions compared; ${UNDEFINED_NOTE}`);
    expect(diff.mismatches).toEqual([]);
    expect(diff.compared).toBe(4000);
  });
});
