// MUL, IMUL (one-, two- and three-operand) and DIV, IDIV in 64-bit mode against the real CPU,
// at every operand size with REX.W's 128-bit RDX:RAX: random encodings with register and
// memory sources, operands biased to the edges (zero, one, sign bits, all ones) and dividends
// shaped so that divisions both complete and overflow (#DE). Whole instructions on the
// long-mode test machine and natively (soft64-vs-cpu.ts): registers, the arithmetic flags, and
// the exception with its RIP. The flags the SDM leaves undefined (SF ZF AF PF after MUL/IMUL,
// all six after DIV/IDIV) are compared only on an Intel host: tsemu follows Intel's values
// there, AMD computes others (undefined-flags.ts).
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, le32, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';
import { clearUncomparedFlagsCode, DIV_UNDEFINED, MUL_UNDEFINED, UNDEFINED_NOTE } from './undefined-flags.js';

const SIZES = [8, 16, 32, 64] as const;
type Size = (typeof SIZES)[number];
const BASE = 7;
const RAX = 0;
const RDX = 2;

function register(rng: Rng): number {
  for (;;) {
    const n = rng.int(16);
    if (n !== 4 && n !== BASE) return n;
  }
}

function encode(size: Size, opcode: number[], reg: number, mem: boolean, rm: number, tail: number[]): number[] {
  const out: number[] = size === 16 ? [0x66] : [];
  const rmN = mem ? BASE : rm;
  if (size === 64 || reg >= 8 || rmN >= 8) out.push(rex(size === 64, reg, 0, rmN));
  out.push(...opcode, mem ? modrm(1, reg, BASE) : modrm(3, reg, rm));
  if (mem) out.push(0x10);
  return [...out, ...tail];
}

/** A 64-bit little-endian value as bytes. */
function le64(v: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
}

function makeCase(rng: Rng, size: Size): Case {
  const mem = rng.int(3) === 0;
  const src = register(rng);
  const form = rng.int(size === 8 ? 4 : 7);
  let code: number[];
  let name: string;
  if (form < 4) {
    // F6/F7 /4 mul, /5 imul, /6 div, /7 idiv.
    name = ['mul', 'imul', 'div', 'idiv'][form];
    code = encode(size, [size === 8 ? 0xf6 : 0xf7], 4 + form, mem, src, []);
  } else if (form === 4) {
    name = 'imul r, r/m';
    code = encode(size, [0x0f, 0xaf], register(rng), mem, src, []);
  } else {
    name = form === 5 ? 'imul r, r/m, imm32' : 'imul r, r/m, imm8';
    const imm = form === 5 ? (size === 16 ? [rng.int(256), rng.int(256)] : le32(Number(rng.value() & 0xffffffffn))) : [rng.int(256)];
    code = encode(size, [form === 5 ? 0x69 : 0x6b], register(rng), mem, src, imm);
  }
  const gpr = rng.gprs();
  gpr[BASE] = BigInt(DATA);
  const value = rng.value();
  gpr[src] = value;
  // Dividend high part: zero, a sign extension of RAX, small, or random (to reach #DE).
  const shape = rng.int(4);
  const bits = BigInt(size);
  const mask = (1n << bits) - 1n;
  const high = shape === 0 ? 0n : shape === 1 ? (gpr[RAX] >> (bits - 1n)) & 1n ? mask : 0n : shape === 2 ? BigInt(rng.int(16)) : rng.u64();
  if (size === 8) gpr[RAX] = (gpr[RAX] & ~0xff00n) | ((high & 0xffn) << 8n);
  else gpr[RDX] = (gpr[RDX] & ~mask) | (high & mask);
  // A small divisor half the time, so that divisions complete.
  if (rng.int(2) && form >= 2 && form <= 3) gpr[src] = (gpr[src] & ~mask) | ((value >> BigInt(rng.int(Number(bits)))) & mask);
  // Soft64VsCpu compares all six flags, so the ones this host may compute differently are
  // cleared on both CPUs after the instruction: PUSHFQ; AND QWORD [RSP], ~flags; POPFQ (no rng
  // drawn, so the cases stay the same on every host). A #DE stops before that, and its flags,
  // the input ones, are compared in full.
  code = [...code, ...clearUncomparedFlagsCode(form === 2 || form === 3 ? DIV_UNDEFINED : MUL_UNDEFINED)];
  return { name: `${name}${size}${mem ? ' mem' : ''}`, code, gpr, flags: rng.flags(), data: Uint8Array.from([...new Array(0x10).fill(0), ...le64(gpr[src])]) };
}

describe.skipIf(!kvmUsable())('64-bit mode multiply and divide against the real CPU', () => {
  it('match the hardware in results, all six arithmetic flags and #DE', () => {
    const diff = Soft64VsCpu.open();
    const rng = new Rng(0x6d756c);
    try {
      for (let i = 0; i < 8000; i++) diff.compare(makeCase(rng, SIZES[i & 3]));
    } finally {
      diff.close();
    }
    console.log(`8000 multiplies and divides compared; ${UNDEFINED_NOTE}`);
    expect(diff.mismatches).toEqual([]);
    expect(diff.compared).toBe(8000);
    expect(diff.faults).toBeGreaterThan(300);
  });
});
