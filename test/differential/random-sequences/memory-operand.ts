/**
 * Random ModRM memory operands for 64-bit code whose effective address is known at generation
 * time: every register the address uses is set by a `mov r64, imm64` emitted just before the
 * instruction (so earlier random instructions cannot move it), and the base value is solved
 * from the chosen target so that base + index * scale + disp lands inside the sandbox data
 * area (or, now and then, deliberately outside it). Covers SIB with and without index, every
 * scale, disp8/disp32, RBP/R13 bases (which need a displacement), R12 bases (which need a
 * SIB), REX.X/REX.B extensions, 32-bit addressing (67 prefix: registers truncated, upper
 * halves left random on purpose), absolute disp32 and RIP-relative forms, and RSP-based
 * operands on the user stack. Encoding: SDM Vol. 2A 2.1.5 and 2.2.1.
 */
import { DATA_BASE, DATA_SIZE } from '../sandbox-layout.js';
import type { Random } from './random.js';

/** A register the instruction needs set first: an exact value, or the address of a label. */
export type Setup = { reg: number; value: bigint } | { reg: number; label: number };

export interface MemoryOperand {
  mod: number;
  rm: number;
  /** The SIB byte, or -1. */
  sib: number;
  disp: number[];
  rexX: number;
  rexB: number;
  setups: Setup[];
  /** RIP-relative: the data-area offset the operand must point at (disp patched after layout). */
  ripTarget: number | null;
  /** The data-area offset the operand addresses (null for stack and wild forms). */
  dataTarget: number | null;
}

const RSP = 4;
const MASK64 = (1n << 64n) - 1n;

/** A data-area offset with room for a 16-byte operand: mostly a small shared window, so instructions meet. */
export function pickDataTarget(r: Random, align16 = false): number {
  const p = r.next();
  let t: number;
  if (p < 0.8) t = 0x100 + r.int(0x200);
  else if (p < 0.95) t = r.int(DATA_SIZE - 16);
  // Straddles the end of the data area: the access faults on the unmapped page after it.
  else t = DATA_SIZE - 16 + r.int(24);
  return align16 ? t & ~15 : t;
}

function dispBytes(value: number, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push((value >>> (8 * i)) & 0xff);
  return out;
}

/**
 * A memory operand for an instruction with 64-bit (or, with `addr32`, 32-bit) addressing.
 * `avoid` lists registers the instruction sets up for other roles (they cannot be base/index).
 */
export function memoryOperand(r: Random, addr32: boolean, avoid: ReadonlySet<number>, align16: boolean, dataOnly = false): MemoryOperand {
  // dataOnly: an operand the generator must fill (an indirect branch target), so never stack or wild.
  let p = r.next();
  if (dataOnly && p >= 0.17) p = 0.27 + r.next() * 0.7;
  const target = pickDataTarget(r, align16);
  const address = DATA_BASE + BigInt(target);
  if (p < 0.12) {
    // RIP-relative (mod 00, rm 101): disp32 from the end of the instruction, patched later.
    return { mod: 0, rm: 5, sib: -1, disp: [0, 0, 0, 0], rexX: 0, rexB: r.bit(), setups: [], ripTarget: target, dataTarget: target };
  }
  if (p < 0.17) {
    // SIB with no base and no index: absolute disp32 (sign-extended; the data area is below 2 GiB).
    return {
      mod: 0, rm: 4, sib: (r.int(4) << 6) | (4 << 3) | 5, disp: dispBytes(Number(address), 4), rexX: 0, rexB: r.bit(),
      setups: [], ripTarget: null, dataTarget: target,
    };
  }
  if (p < 0.27) {
    // [rsp + disp8] on the user stack (RSP is never a random destination, see sequence-generator).
    const disp = r.int(128) - 64;
    return {
      mod: 1, rm: 4, sib: (r.int(4) << 6) | (4 << 3) | RSP, disp: dispBytes(disp, 1), rexX: 0, rexB: 0,
      setups: [], ripTarget: null, dataTarget: null,
    };
  }
  const wild = p > 0.97;
  const usable = [...Array(16).keys()].filter((n) => n !== RSP && !avoid.has(n));
  const base = r.pick(usable);
  const withIndex = r.next() < 0.5;
  const index = withIndex ? r.pick(usable.filter((n) => n !== base)) : -1;
  const scale = withIndex ? r.int(4) : 0;
  // RBP/R13 as base with mod 00 means "no base" (disp32): they need mod 01/10.
  const mod = (base & 7) === 5 ? 1 + r.int(2) : r.int(3);
  const dispSize = mod === 0 ? 0 : mod === 1 ? 1 : 4;
  const dispValue = dispSize === 0 ? 0 : dispSize === 1 ? r.int(256) - 128 : r.next() < 0.5 ? r.int(0x2000) - 0x1000 : r.u32() | 0;
  const needSib = withIndex || (base & 7) === 4 || r.next() < 0.2;
  const setups: Setup[] = [];
  let indexValue = 0n;
  if (withIndex) {
    indexValue = r.value64();
    setups.push({ reg: index, value: indexValue });
  }
  let baseValue: bigint;
  if (wild) {
    baseValue = r.value64();
  } else {
    baseValue = address - (indexValue << BigInt(scale)) - BigInt(dispValue);
    if (addr32) {
      // Only the low 32 bits take part: leave random upper halves in the registers.
      baseValue = (baseValue & 0xffffffffn) | (BigInt(r.u32()) << 32n);
    }
  }
  setups.push({ reg: base, value: baseValue & MASK64 });
  return {
    mod,
    rm: needSib ? 4 : base & 7,
    sib: needSib ? (scale << 6) | ((withIndex ? index & 7 : 4) << 3) | (base & 7) : -1,
    disp: dispBytes(dispValue, dispSize),
    rexX: withIndex ? index >> 3 : 0,
    rexB: base >> 3,
    setups,
    ripTarget: null,
    dataTarget: wild ? null : target,
  };
}
