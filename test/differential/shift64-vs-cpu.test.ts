// Shifts, rotates, double shifts and bit operations in 64-bit mode against the real CPU, at
// every operand size (REX.W with 6-bit count masking included): random encodings with counts
// from CL (any byte) or an immediate, register and memory operands, random operands and flags,
// run as whole instructions on the long-mode test machine and natively (soft64-vs-cpu.ts).
// What the SDM leaves undefined (OF for counts above 1, AF, CF when SHL/SHR shift the whole
// operand out, BT*/BSF/BSR's other flags, BSF/BSR's destination for a zero source, 16-bit
// SHLD/SHRD past 16) is compared only on an Intel host: tsemu follows Intel's values there,
// AMD computes others (undefined-flags.ts).
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';
import {
  BIT_SCAN_UNDEFINED, BIT_TEST_UNDEFINED, clearUncomparedFlagsCode, doubleShiftUndefined, group2Undefined, HOST_MATCHES_UNDEFINED,
  GROUP2, noteUndefinedOnce,
} from './undefined-flags.js';

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

/** A shift count as the CPU masks it: to 6 bits with a 64-bit operand, else 5. */
const masked = (size: Size, count: number) => count & (size === 64 ? 63 : 31);

/**
 * MOV 0 into a 16, 32 or 64-bit destination whose value the SDM leaves undefined: the operand
 * at [RDI + disp8], or register `rm` (all of it past 16 bits: the 32-bit write zero-extends).
 */
function zeroDestination(size: Size, mem: boolean, rm: number, disp: number): number[] {
  const imm = new Array<number>(size === 16 ? 2 : 4).fill(0);
  const prefix = size === 16 ? [0x66] : [];
  if (mem) return [...prefix, ...(size === 64 ? [0x48] : []), 0xc7, modrm(1, 0, BASE), disp, ...imm];
  return [...prefix, ...(rm >= 8 ? [0x41] : []), 0xb8 + (rm & 7), ...imm];
}

/**
 * Soft64VsCpu compares every register, flag and data byte, so on a host that computes what
 * the SDM leaves undefined differently from tsemu (undefined-flags.ts) the case ends, on both
 * CPUs, with code that hides it: `zero` (zeroDestination, for an undefined result), then
 * PUSHFQ; AND QWORD [RSP], ~flags; POPFQ for the undefined flags. On an Intel host nothing is
 * appended, and no rng is drawn, so the cases are the same on every host.
 */
function hideUndefined(c: Case, undefinedFlags: number, zero: number[] = []): Case {
  if (HOST_MATCHES_UNDEFINED) return c;
  c.code = [...c.code, ...zero, ...clearUncomparedFlagsCode(undefinedFlags)];
  return c;
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
    const c = makeCase(rng, `shift${size} /${op} ${['1', 'cl', 'imm'][form]}`, encode(size, opcode, op, mem, rm, tail, rng.int(0x80), rng.int(2) === 0));
    const count = form === 0 ? 1 : form === 1 ? Number(c.gpr[RCX] & 0xffn) : tail[0];
    return hideUndefined(c, group2Undefined(GROUP2[op], size, masked(size, count)));
  },
  double: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const left = rng.int(2) === 0;
    const cl = rng.int(2) === 0;
    const opcode = [0x0f, (left ? 0xa4 : 0xac) + (cl ? 1 : 0)];
    const tail = cl ? [] : [rng.pick([0, 1, 15, 16, 17, 31, 32, 33, 63, 64, rng.int(256)])];
    const mem = rng.int(3) === 0;
    const reg = register(rng, true);
    const rm = register(rng, true);
    const disp = rng.int(0x80);
    const c = makeCase(rng, `sh${left ? 'l' : 'r'}d${s} ${cl ? 'cl' : 'imm'}`, encode(s, opcode, reg, mem, rm, tail, disp, false));
    const undef = doubleShiftUndefined(s, masked(s, cl ? Number(c.gpr[RCX] & 0xffn) : tail[0]));
    return hideUndefined(c, undef.flags, undef.result ? zeroDestination(s, mem, rm, disp) : []);
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
    return hideUndefined(c, BIT_TEST_UNDEFINED);
  },
  scan: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const rm = register(rng);
    const opcode = rng.int(2) ? 0xbc : 0xbd;
    const reg = register(rng);
    const mem = rng.int(3) === 0;
    const disp = rng.int(0x80);
    const code = encode(s, [0x0f, opcode], reg, mem, rm, [], disp, false);
    const c = makeCase(rng, `bs${code.includes(0xbc) ? 'f' : 'r'}${s}`, code);
    if (rng.int(4) === 0) c.gpr[rm] = rng.int(2) ? 0n : 0xffffffff00000000n;
    // "If the content of the source operand is 0, the content of the destination operand is undefined" (SDM).
    const at = Number(c.gpr[BASE]) - DATA + disp;
    const zeroSource = mem ? FILL.subarray(at, at + s / 8).every((b) => b === 0) : BigInt.asUintN(s, c.gpr[rm]) === 0n;
    return hideUndefined(c, BIT_SCAN_UNDEFINED, zeroSource ? zeroDestination(s, false, reg, 0) : []);
  },
};

describe.skipIf(!kvmUsable())('64-bit mode shifts, rotates and bit operations against the real CPU', () => {
  for (const [group, make] of Object.entries(GROUPS)) {
    it(`${group}: registers, flags and memory match the hardware`, () => {
      noteUndefinedOnce();
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
