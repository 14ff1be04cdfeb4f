// The interpreter's ALU and data-movement instructions in 64-bit mode against the real CPU:
// random encodings at every operand size (8/16/32/64, REX registers, SPL..DIL and AH..BH),
// register and memory operands, random operands and flags, run as whole instructions on the
// long-mode test machine and natively through the KVM sandbox (soft64-vs-cpu.ts). Compared:
// all GPRs (so the zero-extension of 32-bit writes), the arithmetic flags and memory.
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { CODE, DATA, le32, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';

const SIZES = [8, 16, 32, 64] as const;
type Size = (typeof SIZES)[number];
/** The memory operand's base register (RDI), pointed into the data area. */
const BASE = 7;

/** Memory operand shapes: [rdi + disp8], [rip + disp32] into the data area, 67 [edi + disp8], fs: [rdi + disp8]. */
const MEM_RDI = 1, MEM_RIP = 2, MEM_EDI = 3, MEM_FS = 4;

interface Operand {
  /** 0 for a register operand, else one of the MEM_* shapes. */
  mem: number;
  /** Register number for a register operand. */
  n: number;
}

/**
 * Prefixes + opcode + ModRM (+ displacement) + immediate. A REX prefix is emitted for 64-bit
 * operands, extended registers, or (8-bit) when `forceRex`.
 */
function encode(size: Size, opcode: number[], reg: number, rm: Operand, imm: number[] = [], forceRex = false, disp = 0): number[] {
  const out: number[] = [];
  if (rm.mem === MEM_EDI) out.push(0x67);
  if (rm.mem === MEM_FS) out.push(0x64);
  if (size === 16) out.push(0x66);
  const rmN = rm.mem ? BASE : rm.n;
  if (size === 64 || reg >= 8 || rmN >= 8 || forceRex) out.push(rex(size === 64, reg, 0, rm.mem === MEM_RIP ? 0 : rmN));
  out.push(...opcode);
  if (rm.mem === MEM_RIP) {
    out.push(modrm(0, reg, 5));
    const at = out.length;
    out.push(0, 0, 0, 0, ...imm);
    // RIP-relative: from the end of the instruction to the same bytes [rdi + disp] would reach.
    out.splice(at, 4, ...le32(DATA + 0x100 + (disp & 0x7f) - (CODE + out.length)));
    return out;
  }
  if (rm.mem) out.push(modrm(1, reg, BASE), disp & 0xff);
  else out.push(modrm(3, reg, rm.n));
  return [...out, ...imm];
}

function immediate(rng: Rng, bytes: number): number[] {
  return Array.from({ length: bytes }, () => rng.int(256));
}

/** A register other than RSP and the memory base. */
function register(rng: Rng): number {
  for (;;) {
    const n = rng.int(16);
    if (n !== 4 && n !== BASE) return n;
  }
}

function baseCase(rng: Rng, name: string, code: number[]): Case {
  const gpr = rng.gprs();
  // RDI's upper half is ignored by the 67 forms: random there.
  gpr[BASE] = BigInt(DATA + 0x100) | (code[0] === 0x67 ? rng.u64() & 0xffffffff00000000n : 0n);
  return { name, code, gpr, flags: rng.flags(), data: rng.bytes(0x400) };
}

function operand(rng: Rng): Operand {
  return { mem: rng.int(2) === 0 ? 1 + rng.int(4) : 0, n: register(rng) };
}

const v = (size: Size, byteOp: number) => (size === 8 ? byteOp : byteOp + 1);
const immBytes = (size: Size) => (size === 8 ? 1 : size === 16 ? 2 : 4);

/** The generators: each returns one random case of its instruction group. */
const GROUPS: Record<string, (rng: Rng, size: Size) => Case> = {
  alu: (rng, size) => {
    const op = rng.int(8);
    const form = rng.int(6);
    const reg = register(rng);
    const rm = operand(rng);
    const force = rng.int(2) === 0;
    const disp = rng.int(0x80);
    let code: number[];
    switch (form) {
      case 0: code = encode(size, [v(size, op * 8)], reg, rm, [], force, disp); break; // op Ev, Gv
      case 1: code = encode(size, [v(size, op * 8 + 2)], reg, rm, [], force, disp); break; // op Gv, Ev
      case 2: code = encode(size, [v(size, 0x80)], op, rm, immediate(rng, immBytes(size)), force, disp); break;
      case 3: code = encode(size, [size === 8 ? 0x80 : 0x83], op, rm, immediate(rng, 1), force, disp); break;
      default: {
        const p = size === 16 ? [0x66] : size === 64 ? [0x48] : [];
        code = [...p, v(size, op * 8 + 4), ...immediate(rng, immBytes(size))];
      }
    }
    return baseCase(rng, `alu${size} op${op} form${form}`, code);
  },
  unary: (rng, size) => {
    const which = rng.int(7);
    const rm = operand(rng);
    const reg = register(rng);
    const force = rng.int(2) === 0;
    const disp = rng.int(0x80);
    let code: number[];
    switch (which) {
      case 0: code = encode(size, [v(size, 0xfe)], 0, rm, [], force, disp); break; // inc
      case 1: code = encode(size, [v(size, 0xfe)], 1, rm, [], force, disp); break; // dec
      case 2: code = encode(size, [v(size, 0xf6)], 2, rm, [], force, disp); break; // not
      case 3: code = encode(size, [v(size, 0xf6)], 3, rm, [], force, disp); break; // neg
      case 4: code = encode(size, [v(size, 0xf6)], 0, rm, immediate(rng, immBytes(size)), force, disp); break; // test imm
      case 5: code = encode(size, [v(size, 0x84)], reg, rm, [], force, disp); break; // test r/m, r
      default: {
        const p = size === 16 ? [0x66] : size === 64 ? [0x48] : [];
        code = [...p, v(size, 0xa8), ...immediate(rng, immBytes(size))];
      }
    }
    return baseCase(rng, `unary${size} #${which}`, code);
  },
  mov: (rng, size) => {
    const which = rng.int(8);
    const rm = operand(rng);
    const reg = register(rng);
    const force = rng.int(2) === 0;
    const disp = rng.int(0x80);
    let code: number[];
    switch (which) {
      case 0: code = encode(size, [v(size, 0x88)], reg, rm, [], force, disp); break;
      case 1: code = encode(size, [v(size, 0x8a)], reg, rm, [], force, disp); break;
      case 2: code = encode(size, [v(size, 0xc6)], 0, rm, immediate(rng, immBytes(size)), force, disp); break;
      case 3: { // B0+r / B8+r (imm64 with REX.W)
        const n = register(rng);
        const p = size === 16 ? [0x66] : [];
        const r = size === 64 || n >= 8 || force ? [rex(size === 64, 0, 0, n)] : [];
        code = [...p, ...r, (size === 8 ? 0xb0 : 0xb8) + (n & 7), ...immediate(rng, size === 64 ? 8 : immBytes(size))];
        break;
      }
      case 4: case 5: { // moffs: A0-A3 with a 64-bit or (67) 32-bit absolute address
        const addr = DATA + rng.int(0x300);
        const a32 = rng.int(2) === 0;
        const p = [...(a32 ? [0x67] : []), ...(size === 16 ? [0x66] : []), ...(size === 64 ? [0x48] : [])];
        const op = (which === 4 ? 0xa0 : 0xa2) + (size === 8 ? 0 : 1);
        code = [...p, op, ...le32(addr), ...(a32 ? [] : [0, 0, 0, 0])];
        break;
      }
      case 6: { // xchg r/m, r and 90+r
        if (rng.int(3) === 0 && size !== 8) {
          const n = register(rng) | 8;
          const p = size === 16 ? [0x66] : [];
          code = [...p, rex(size === 64, 0, 0, n), 0x90 + (n & 7)];
        } else code = encode(size, [v(size, 0x86)], reg, rm, [], force, disp);
        break;
      }
      default: { // movzx / movsx / movsxd
        const kind = rng.int(5);
        const s: Size = size === 8 ? 32 : size;
        if (kind === 4) code = encode(s, [0x63], reg, rm, [], force, disp);
        else code = encode(s, [0x0f, [0xb6, 0xb7, 0xbe, 0xbf][kind]], reg, rm, [], force, disp);
      }
    }
    return baseCase(rng, `mov${size} #${which}`, code);
  },
  lea: (rng, size) => {
    const s: Size = size === 8 ? 64 : size;
    const reg = register(rng);
    const base = rng.int(16);
    const index = rng.int(16);
    const scale = rng.int(4);
    const a32 = rng.int(3) === 0;
    const shape = rng.int(4);
    const p = [...(a32 ? [0x67] : []), ...(s === 16 ? [0x66] : [])];
    const disp32 = immediate(rng, 4);
    let body: number[];
    let b = 0;
    let x = 0;
    if (shape === 0) body = [modrm(0, reg, 5), ...disp32]; // RIP-relative
    else if (shape === 1) {
      b = base;
      x = index === 4 ? 5 : index;
      body = [modrm(2, reg, 4), (scale << 6) | ((x & 7) << 3) | (b & 7), ...disp32]; // [base + index*scale + disp32]
    } else if (shape === 2) {
      x = index === 4 ? 6 : index;
      body = [modrm(0, reg, 4), (scale << 6) | ((x & 7) << 3) | 5, ...disp32]; // [index*scale + disp32]
    } else {
      b = base === 4 || base === 12 ? 3 : base;
      body = [modrm(1, reg, b), rng.int(256)]; // [base + disp8]
    }
    const code = [...p, rex(s === 64, reg, x, b), 0x8d, ...body];
    return baseCase(rng, `lea${s}${a32 ? ' a32' : ''} shape${shape}`, code);
  },
  convert: (rng, size) => {
    const p = size === 16 ? [0x66] : size === 64 ? [0x48] : [];
    const which = rng.int(4);
    if (which === 3) {
      // XLAT with RBX (or EBX with 67) in the data area.
      const c = baseCase(rng, 'xlat', [...(rng.int(2) ? [0x67] : []), ...(rng.int(2) ? [0x48] : []), 0xd7]);
      c.gpr[3] = BigInt(DATA + rng.int(0x100));
      return c;
    }
    if (which === 2) {
      // BSWAP (16-bit BSWAP is undefined; compared too).
      const n = register(rng);
      return baseCase(rng, `bswap${size}`, [...(size === 16 ? [0x66] : []), rex(size === 64, 0, 0, n), 0x0f, 0xc8 + (n & 7)]);
    }
    return baseCase(rng, `${which ? 'cwd' : 'cbw'}${size}`, [...p, 0x98 + which]);
  },
};

describe.skipIf(!kvmUsable())('64-bit mode ALU and data movement against the real CPU', () => {
  for (const [group, make] of Object.entries(GROUPS)) {
    it(`${group}: registers, flags and memory match the hardware`, () => {
      const diff = Soft64VsCpu.open();
      const rng = new Rng(group.length * 7919 + group.charCodeAt(0));
      try {
        for (let i = 0; i < 1500; i++) diff.compare(make(rng, SIZES[i & 3]));
      } finally {
        diff.close();
      }
      expect(diff.mismatches).toEqual([]);
      expect(diff.compared).toBe(1500);
    });
  }
});
