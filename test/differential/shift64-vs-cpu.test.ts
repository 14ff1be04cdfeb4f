// Shifts, rotates, double shifts and bit operations in 64-bit mode against the real CPU, at
// every operand size (REX.W with 6-bit count masking included): random encodings with counts
// from CL (any byte) or an immediate, register and memory operands, random operands and flags,
// run as whole instructions on the long-mode test machine and natively (soft64-vs-cpu.ts).
// The flags the SDM leaves undefined (OF for counts above 1, AF, BT*/BSF/BSR's others) are
// compared too: they are what the hardware does.
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';

const SIZES = [8, 16, 32, 64] as const;
type Size = (typeof SIZES)[number];
const BASE = 7; // RDI: the memory operand's base
const RCX = 1;

function register(rng: Rng, avoidRcx = false): number {
  for (;;) {
    const n = rng.int(16);
    if (n !== 4 && n !== BASE && !(avoidRcx && n === RCX)) return n;
  }
}

function encode(size: Size, opcode: number[], reg: number, mem: boolean, rm: number, tail: number[], disp: number, forceRex: boolean): number[] {
  const out: number[] = size === 16 ? [0x66] : [];
  const rmN = mem ? BASE : rm;
  if (size === 64 || reg >= 8 || rmN >= 8 || forceRex) out.push(rex(size === 64, reg, 0, rmN));
  out.push(...opcode, mem ? modrm(1, reg, BASE) : modrm(3, reg, rm));
  if (mem) out.push(disp);
  return [...out, ...tail];
}

/** One random fill of the whole data area, shared by the cases (bit strings reach all of it). */
const FILL = new Rng(64).bytes(0x10000);

function makeCase(rng: Rng, name: string, code: number[]): Case {
  const gpr = rng.gprs();
  gpr[BASE] = BigInt(DATA + 0x8000 + rng.int(0x100));
  // CL: any byte often, a count near the width edges often.
  if (rng.int(2)) gpr[RCX] = (gpr[RCX] & ~0xffn) | BigInt(rng.pick([0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255]));
  return { name, code, gpr, flags: rng.flags(), data: FILL };
}

const GROUPS: Record<string, (rng: Rng, size: Size) => Case> = {
  group2: (rng, size) => {
    const op = rng.int(8);
    const mem = rng.int(3) === 0;
    const rm = register(rng, true);
    const form = rng.int(3);
    const w = size === 8 ? 0 : 1;
    const opcode = [form === 0 ? 0xd0 + w : form === 1 ? 0xd2 + w : 0xc0 + w];
    const tail = form === 2 ? [rng.pick([0, 1, 2, 31, 32, 33, 63, 64, 255, rng.int(256)])] : [];
    return makeCase(rng, `shift${size} /${op} ${['1', 'cl', 'imm'][form]}`, encode(size, opcode, op, mem, rm, tail, rng.int(0x80), rng.int(2) === 0));
  },
  double: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const left = rng.int(2) === 0;
    const cl = rng.int(2) === 0;
    const opcode = [0x0f, (left ? 0xa4 : 0xac) + (cl ? 1 : 0)];
    const tail = cl ? [] : [rng.pick([0, 1, 15, 16, 17, 31, 32, 33, 63, 64, rng.int(256)])];
    const mem = rng.int(3) === 0;
    return makeCase(rng, `sh${left ? 'l' : 'r'}d${s} ${cl ? 'cl' : 'imm'}`, encode(s, opcode, register(rng, true), mem, register(rng, true), tail, rng.int(0x80), false));
  },
  bittest: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const op = rng.int(4);
    const imm = rng.int(2) === 0;
    const mem = rng.int(2) === 0;
    const reg = register(rng);
    const code = imm
      ? encode(s, [0x0f, 0xba], 4 + op, mem, register(rng), [rng.int(256)], rng.int(0x80), false)
      : encode(s, [0x0f, 0xa3 + op * 8], reg, mem, register(rng), [], rng.int(0x80), false);
    const c = makeCase(rng, `bt${op}${s} ${imm ? 'imm' : 'reg'}${mem ? ' mem' : ''}`, code);
    // A register bit offset into memory stays within the 64 KiB data area (signed: either side of the base).
    if (mem && !imm) c.gpr[reg] = BigInt(rng.int(0x7000 * 8)) - BigInt(0x3800 * 8);
    return c;
  },
  scan: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const rm = register(rng);
    const code = encode(s, [0x0f, rng.int(2) ? 0xbc : 0xbd], register(rng), rng.int(3) === 0, rm, [], rng.int(0x80), false);
    const c = makeCase(rng, `bs${code.includes(0xbc) ? 'f' : 'r'}${s}`, code);
    if (rng.int(4) === 0) c.gpr[rm] = rng.int(2) ? 0n : 0xffffffff00000000n;
    return c;
  },
};

describe.skipIf(!kvmUsable())('64-bit mode shifts, rotates and bit operations against the real CPU', () => {
  for (const [group, make] of Object.entries(GROUPS)) {
    it(`${group}: registers, flags and memory match the hardware`, () => {
      const diff = Soft64VsCpu.open();
      const rng = new Rng(group.length * 104729 + group.charCodeAt(1));
      try {
        for (let i = 0; i < 2000; i++) diff.compare(make(rng, SIZES[i & 3]));
      } finally {
        diff.close();
      }
      expect(diff.mismatches).toEqual([]);
      expect(diff.compared).toBe(2000);
    });
  }
});
