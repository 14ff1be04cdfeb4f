/**
 * Random straight-line 32-bit programs for the JIT-vs-interpreter test
 * (direct-forms-random.test.ts), hand-assembled from encodings of the forms the JIT writes over
 * locals (src/jit/register-forms.ts): MOV, the ALU group and TEST at 8/16/32 bits, INC/DEC,
 * LEA, MOVZX/MOVSX, PUSH/POP, SETcc, CMOVcc, shifts by a constant, IMUL; with flag consumers
 * (Jcc over one instruction, SETcc, CMOVcc, ADC/SBB) right after flag producers, operands
 * made equal or adjacent on purpose (the edge of every condition), counted loops (DEC + JNZ
 * back), and some instructions that stay on their interpreter handler, so the spills and
 * reloads around handler calls are exercised too, and stores into a later instruction of the
 * same block. Fault programs touch a not-present page, write through CS or pass GS's limit in
 * the middle of such code.
 *
 * Encodings follow SDM Vol. 2, 2.1 (ModRM/SIB) and Appendix A. Addresses stay inside the data
 * area (or the stack): ESI holds a fixed base in it and EDI a fixed small index, neither is
 * ever written; other address registers are first masked with `movzx r32, r8` (flag-neutral).
 * Segment overrides come now and then (FS has a base, GS a limit). The writable registers are
 * EAX, ECX, EDX, EBX, EBP (ESP only through PUSH/POP).
 */

export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export const DATA_START = 0x3000;
export const DATA_END = 0x5000;
/** The page the fault programs touch (its PTE is not present in the paging variant). */
export const UNMAPPED_PAGE = 0x6000;
/** FS has this base (DS, ES, SS and CS are flat); GS has base 0 and this (byte) limit. */
export const FS_BASE = 0x1000;
export const GS_LIMIT = DATA_END - 1;
const CS_PREFIX = 0x2e, FS_PREFIX = 0x64, GS_PREFIX = 0x65;
/** ES, SS, DS, FS, GS overrides: writable data segments. */
const WRITABLE_SEGMENTS = [0x26, 0x36, 0x3e, FS_PREFIX, GS_PREFIX];

export type Item =
  | { kind: 'insn'; bytes: number[] }
  | { kind: 'jcc'; cc: number; near: boolean; label: number }
  | { kind: 'label'; id: number }
  /** MOV BYTE/WORD/DWORD [label + offset], value: code that rewrites code (the label's). */
  | { kind: 'poke'; label: number; offset: number; size: number; value: number };

export interface Program {
  seed: number;
  items: Item[];
  /** EAX..EDI at the start (ESP is the stack top). */
  regs: number[];
  /** Initial EFLAGS: bit 1 and random arithmetic flags. */
  eflags: number;
}

/** mulberry32: a small seeded PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Mem { base: number; index: number; scale: number; disp: number; wide: boolean }
type Rm = { reg: number } | { mem: Mem };
/** An instruction plus the flag-neutral ones that must run first (index masking). */
interface Built { pre: number[][]; bytes: number[] }

function le(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 255);
  return out;
}

/** ModRM (+ SIB + displacement) for `reg` and operand `rm`, 32-bit addressing. */
function modrm(reg: number, rm: Rm): number[] {
  const r = (reg & 7) << 3;
  if ('reg' in rm) return [0xc0 | r | rm.reg];
  const { base, index, scale, disp, wide } = rm.mem;
  const short = !wide && disp >= -128 && disp <= 127;
  if (base < 0 && index < 0) return [r | 5, ...le(disp, 4)];
  if (index < 0 && base !== ESP) {
    if (disp === 0 && base !== EBP && !wide) return [r | base];
    return short ? [0x40 | r | base, disp & 255] : [0x80 | r | base, ...le(disp, 4)];
  }
  const sib = (scale << 6) | ((index < 0 ? 4 : index) << 3) | (base < 0 ? 5 : base);
  if (base < 0) return [r | 4, sib, ...le(disp, 4)];
  if (disp === 0 && base !== EBP && !wide) return [r | 4, sib];
  return short ? [0x44 | r, sib, disp & 255] : [0x84 | r, sib, ...le(disp, 4)];
}

const SPECIAL32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x80000001, 31, 32,
];
const SPECIAL8 = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x81];
const SPECIAL16 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0xfffe];
const SHIFT_COUNTS = [0, 1, 1, 2, 7, 8, 15, 16, 30, 31, 32, 33, 0xff];
const IMUL_EDGES: readonly [number, number][] = [
  [0x10000, 0x8000], [0x10000, 0x7fff], [-0x10000, 0x8000], [-0x10000, 0x8001], [0xffff, 0x8001], [-1, 0x80000000],
  [2, 0x40000000], [2, 0x3fffffff], [-2, 0x40000000], [0x80000000, 1], [0x80000000, -1], [-1, -1], [0, -1],
];
const ALU_ADC = 2, ALU_SBB = 3, ALU_CMP = 7, TEST = 8;
/** JMP rel8 to the instruction after it: a block boundary that changes nothing else. */
const JMP_NEXT = [0xeb, 0x00];

export class ProgramGenerator {
  readonly items: Item[] = [];
  private labels = 0;
  private writable = [EAX, ECX, EDX, EBX, EBP];
  private count = 0;
  /**
   * Loops get a `JMP` to the next instruction before their head or inside their body, which
   * ends the decoder's block there: a translation then spans several blocks (jit/region.ts).
   */
  splitBlocks = false;
  constructor(private readonly rnd: () => number, readonly esi: number, readonly edi: number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  imm(size: number): number {
    if (size === 1) return this.chance(0.5) ? this.pick(SPECIAL8) : this.int(256);
    if (size === 2) return this.chance(0.5) ? this.pick(SPECIAL16) : this.int(65536);
    return (this.chance(0.5) ? this.pick(SPECIAL32) : this.int(2 ** 32)) | 0;
  }
  private immBytes(size: number): number[] {
    return le(this.imm(size), size);
  }
  private prefix(size: number): number[] {
    return size === 2 ? [0x66] : [];
  }

  /** Any register number (at byte size: AL..BH). */
  anyReg(): number {
    return this.int(8);
  }
  /** A register of `size` the program may write. */
  dstReg(size: number): number {
    if (size !== 1) return this.pick(this.writable);
    const ok = [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => this.writable.includes(b & 3));
    return this.pick(ok);
  }

  /**
   * A memory operand of `size` bytes at an address in the data area or on the stack, with a
   * segment-override prefix now and then (CS, read-only, only when `write` is false).
   */
  mem(size: number, write: boolean): { pre: number[][]; mem: Mem; seg: number[] } {
    const { pre, mem } = this.address(size);
    const seg = mem.base === ESP ? [] : this.override(mem, write ? WRITABLE_SEGMENTS : [...WRITABLE_SEGMENTS, CS_PREFIX]);
    return { pre, mem, seg };
  }

  /**
   * A segment-override prefix for `mem` (mostly none) out of `allowed`; FS has a base, which
   * the displacement makes up for, so the linear address stays the same.
   */
  override(mem: Mem, allowed: readonly number[]): number[] {
    if (!this.chance(0.25)) return [];
    const prefix = this.pick(allowed);
    if (prefix === FS_PREFIX) mem.disp = (mem.disp - FS_BASE) | 0;
    return [prefix];
  }

  private address(size: number): { pre: number[][]; mem: Mem } {
    const wide = this.chance(0.2);
    const scale = this.int(4);
    const target = (slack: number): number => {
      const t = DATA_START + this.int(DATA_END - DATA_START - size - slack);
      return this.chance(0.4) ? t & ~(size - 1) : t;
    };
    switch (this.int(8)) {
      case 0:
        return { pre: [], mem: { base: ESI, index: -1, scale: 0, disp: target(0) - this.esi, wide } };
      case 1:
        return { pre: [], mem: { base: ESI, index: EDI, scale, disp: target(0) - this.esi - (this.edi << scale), wide } };
      case 2:
        return { pre: [], mem: { base: -1, index: EDI, scale, disp: target(0) - (this.edi << scale), wide } };
      case 3:
        return { pre: [], mem: { base: -1, index: -1, scale: 0, disp: target(0), wide } };
      case 4:
        return { pre: [], mem: { base: ESP, index: -1, scale: 0, disp: this.int(0x80) - 0x40, wide } };
      case 5: {
        // A register masked to 0..255 as base (EBP: the SS default segment) or scaled index.
        const r = this.dstReg(4);
        const pre = [[0x0f, 0xb6, ...modrm(r, { reg: this.anyReg() })]];
        const asBase = this.chance(0.5);
        const s = asBase ? 0 : scale;
        const disp = target(255 << s) - this.esi;
        return { pre, mem: asBase ? { base: r, index: ESI, scale: 0, disp, wide } : { base: ESI, index: r, scale: s, disp, wide } };
      }
      default: {
        // Page-crossing and unaligned accesses around the page boundary in the data area.
        const t = 0x4000 - size + this.int(size + 3);
        return this.chance(0.5)
          ? { pre: [], mem: { base: ESI, index: -1, scale: 0, disp: t - this.esi, wide } }
          : { pre: [], mem: { base: -1, index: -1, scale: 0, disp: t, wide } };
      }
    }
  }

  /** An r/m operand: a register (writable if `write`) or memory. */
  rm(size: number, write: boolean): { pre: number[][]; rm: Rm; seg: number[] } {
    if (this.chance(0.5)) return { pre: [], rm: { reg: write ? this.dstReg(size) : this.anyReg() }, seg: [] };
    const { pre, mem, seg } = this.mem(size, write);
    return { pre, rm: { mem }, seg };
  }

  private size(): number {
    const r = this.int(10);
    return r < 3 ? 1 : r < 6 ? 2 : 4;
  }

  // ---- the direct forms

  /** ALU op 0..7 (ADD OR ADC SBB AND SUB XOR CMP) or 8 (TEST), any form. */
  alu(op = this.int(9), size = this.size()): Built {
    const writes = op !== ALU_CMP && op !== TEST;
    const p = this.prefix(size);
    const w = size === 1 ? 0 : 1;
    const immSize = size === 1 ? 1 : size;
    let form = this.int(op === TEST ? 3 : 5);
    if (form === 2 && writes && !this.writable.includes(EAX)) form = 3;
    if (form === 4 && size === 1) form = 3;
    if (op === TEST) {
      if (form === 0) {
        const { pre, rm, seg } = this.rm(size, false);
        return { pre, bytes: [...seg, ...p, 0x84 | w, ...modrm(this.anyReg(), rm)] };
      }
      if (form === 1) return { pre: [], bytes: [...p, 0xa8 | w, ...this.immBytes(immSize)] };
      const { pre, rm, seg } = this.rm(size, false);
      return { pre, bytes: [...seg, ...p, 0xf6 | w, ...modrm(0, rm), ...this.immBytes(immSize)] };
    }
    switch (form) {
      case 0: {
        const { pre, rm, seg } = this.rm(size, writes);
        return { pre, bytes: [...seg, ...p, op * 8 + w, ...modrm(this.anyReg(), rm)] };
      }
      case 1: {
        const { pre, rm, seg } = this.rm(size, false);
        return { pre, bytes: [...seg, ...p, op * 8 + 2 + w, ...modrm(writes ? this.dstReg(size) : this.anyReg(), rm)] };
      }
      case 2:
        return { pre: [], bytes: [...p, op * 8 + 4 + w, ...this.immBytes(immSize)] };
      case 3: {
        const { pre, rm, seg } = this.rm(size, writes);
        const opcode = size === 1 ? (this.chance(0.2) ? 0x82 : 0x80) : 0x81;
        return { pre, bytes: [...seg, ...p, opcode, ...modrm(op, rm), ...this.immBytes(immSize)] };
      }
      default: {
        const { pre, rm, seg } = this.rm(size, writes);
        return { pre, bytes: [...seg, ...p, 0x83, ...modrm(op, rm), ...this.immBytes(1)] };
      }
    }
  }

  mov(): Built {
    const size = this.size();
    const p = this.prefix(size);
    const w = size === 1 ? 0 : 1;
    switch (this.int(4)) {
      case 0: {
        const { pre, rm, seg } = this.rm(size, true);
        return { pre, bytes: [...seg, ...p, 0x88 | w, ...modrm(this.anyReg(), rm)] };
      }
      case 1: {
        const { pre, rm, seg } = this.rm(size, false);
        return { pre, bytes: [...seg, ...p, 0x8a | w, ...modrm(this.dstReg(size), rm)] };
      }
      case 2: {
        const { pre, rm, seg } = this.rm(size, true);
        return { pre, bytes: [...seg, ...p, 0xc6 | w, ...modrm(0, rm), ...this.immBytes(size)] };
      }
      default:
        return { pre: [], bytes: [...p, (size === 1 ? 0xb0 : 0xb8) + this.dstReg(size), ...this.immBytes(size)] };
    }
  }

  incDec(size = this.size()): Built {
    const dec = this.int(2);
    const p = this.prefix(size);
    if (size !== 1 && this.chance(0.5)) return { pre: [], bytes: [...p, 0x40 + dec * 8 + this.dstReg(size)] };
    const { pre, rm, seg } = this.rm(size, true);
    return { pre, bytes: [...seg, ...p, size === 1 ? 0xfe : 0xff, ...modrm(dec, rm)] };
  }

  lea(): Built {
    const size = this.chance(0.2) ? 2 : 4;
    const index = this.int(9) - 1;
    const base = this.int(9) - 1;
    const mem: Mem = { base, index: index === ESP ? -1 : index, scale: this.int(4), disp: this.imm(4), wide: this.chance(0.2) };
    return { pre: [], bytes: [...this.prefix(size), 0x8d, ...modrm(this.dstReg(size), { mem })] };
  }

  movx(): Built {
    const size = this.chance(0.2) ? 2 : 4;
    const from = this.chance(0.5) ? 1 : 2;
    const op = (this.chance(0.5) ? 0xb6 : 0xbe) + (from === 2 ? 1 : 0);
    const { pre, rm, seg } = this.rm(from, false);
    return { pre, bytes: [...seg, ...this.prefix(size), 0x0f, op, ...modrm(this.dstReg(size), rm)] };
  }

  pushPop(): Built {
    switch (this.int(4)) {
      case 0: return { pre: [], bytes: [0x50 + this.anyReg()] };
      case 1: return { pre: [], bytes: [0x58 + this.dstReg(4)] };
      case 2: return { pre: [], bytes: [0x68, ...this.immBytes(4)] };
      default: return { pre: [], bytes: [0x6a, ...this.immBytes(1)] };
    }
  }

  setcc(cc = this.int(16)): Built {
    const { pre, rm, seg } = this.rm(1, true);
    return { pre, bytes: [...seg, 0x0f, 0x90 + cc, ...modrm(0, rm)] };
  }

  cmovcc(cc = this.int(16)): Built {
    const { pre, rm, seg } = this.rm(4, false);
    return { pre, bytes: [...seg, 0x0f, 0x40 + cc, ...modrm(this.dstReg(4), rm)] };
  }

  shift(): Built {
    const ext = this.pick([4, 5, 6, 7]);
    const { pre, rm, seg } = this.rm(4, true);
    if (this.chance(0.3)) return { pre, bytes: [...seg, 0xd1, ...modrm(ext, rm)] };
    return { pre, bytes: [...seg, 0xc1, ...modrm(ext, rm), this.chance(0.5) ? this.pick(SHIFT_COUNTS) : this.int(32)] };
  }

  imul(): Built {
    const { pre, rm, seg } = this.rm(4, false);
    const reg = this.dstReg(4);
    switch (this.int(3)) {
      case 0: return { pre, bytes: [...seg, 0x0f, 0xaf, ...modrm(reg, rm)] };
      case 1: return { pre, bytes: [...seg, 0x69, ...modrm(reg, rm), ...this.immBytes(4)] };
      default: return { pre, bytes: [...seg, 0x6b, ...modrm(reg, rm), ...this.immBytes(1)] };
    }
  }

  // ---- edge cases: operands that are equal or one apart, results at the sign and carry limits

  /** MOV r, v then an ALU op of r with an immediate near v (or r with a copy of it), or INC/DEC. */
  edge(): void {
    const size = this.size();
    const p = this.prefix(size);
    const mask = size === 4 ? -1 : (1 << (size * 8)) - 1;
    const r = this.dstReg(size);
    const v = this.chance(0.5) ? this.pick(SPECIAL32) & mask : this.imm(size) & mask;
    this.emit({ pre: [], bytes: [...p, (size === 1 ? 0xb0 : 0xb8) + r, ...le(v, size)] });
    const w = size === 1 ? 0 : 1;
    const kind = this.int(3);
    if (kind === 0) {
      this.emit({ pre: [], bytes: [...p, size === 1 ? 0xfe : 0xff, ...modrm(this.int(2), { reg: r })] });
      return;
    }
    const op = this.pick([ALU_CMP, ALU_CMP, 5, 0, ALU_SBB, ALU_ADC, 4, 6]);
    if (kind === 1) {
      const imm = (v + this.pick([0, 0, 1, -1, mask === -1 ? 0x80000000 : (mask >>> 1) + 1])) & mask;
      this.emit({ pre: [], bytes: [...p, size === 1 ? 0x80 : 0x81, ...modrm(op, { reg: r }), ...le(imm, size)] });
      return;
    }
    // A copy in a second register: equal operands through the register forms.
    const r2 = this.dstReg(size);
    this.emit({ pre: [], bytes: [...p, 0x88 | w, ...modrm(r, { reg: r2 })] });
    this.emit({ pre: [], bytes: [...p, op * 8 + (this.chance(0.5) ? 2 : 0) + w, ...modrm(r, { reg: r2 })] });
  }

  /** IMUL with factors whose product sits at the edge of the signed 32-bit range. */
  imulEdge(): void {
    const [a, b] = this.pick(IMUL_EDGES);
    const r = this.dstReg(4);
    this.emit({ pre: [], bytes: [0xb8 + r, ...le(a, 4)] });
    this.emit({ pre: [], bytes: [0x69, ...modrm(this.dstReg(4), { reg: r }), ...le(b, 4)] });
  }

  // ---- instructions that keep their handler (the block spills and reloads around them)

  handler(): Built {
    const w = this.writable;
    switch (this.int(19)) {
      case 0: {
        // NOT / NEG r/m8 or r/m32.
        const byte = this.chance(0.3);
        const { pre, rm, seg } = this.rm(byte ? 1 : 4, true);
        return { pre, bytes: [...seg, byte ? 0xf6 : 0xf7, ...modrm(this.pick([2, 3]), rm)] };
      }
      case 1: return { pre: [], bytes: [0x87, ...modrm(this.dstReg(4), { reg: this.dstReg(4) })] };
      case 2: return { pre: [], bytes: [this.pick([0xf5, 0xf8, 0xf9])] };
      case 3: return { pre: [], bytes: [w.includes(EAX) ? this.pick([0x9f, 0x9e]) : 0x9e] };
      case 4: return { pre: [], bytes: [0x0f, 0xc8 + this.dstReg(4)] };
      case 5: return { pre: [], bytes: [w.includes(EDX) ? 0x99 : 0x90] };
      case 6: {
        const { pre, rm, seg } = this.rm(4, true);
        return { pre, bytes: [...seg, 0xd1, ...modrm(this.pick([0, 1, 2, 3]), rm)] };
      }
      case 7: {
        const { pre, rm, seg } = this.rm(4, true);
        return { pre, bytes: [...seg, 0xc1, ...modrm(this.pick([0, 1, 2, 3]), rm), this.int(40)] };
      }
      case 8: {
        const { pre, rm, seg } = this.rm(4, true);
        return { pre, bytes: [...seg, 0xd3, ...modrm(this.pick([4, 5, 7]), rm)] };
      }
      case 9: {
        const { pre, rm, seg } = this.rm(4, false);
        return { pre, bytes: [...seg, 0x0f, 0xba, ...modrm(4, rm), this.int(64)] };
      }
      case 10: {
        // MUL / IMUL r/m32 (one operand): written directly since, so checked here as well.
        if (!w.includes(EAX) || !w.includes(EDX)) return { pre: [], bytes: [0x90] };
        const { pre, rm, seg } = this.rm(4, false);
        return { pre, bytes: [...seg, 0xf7, ...modrm(this.pick([4, 5]), rm)] };
      }
      case 11: {
        const { pre, rm, seg } = this.rm(2, true);
        return { pre, bytes: [...seg, 0x66, 0xc1, ...modrm(this.pick([4, 5, 7]), rm), this.int(20)] };
      }
      case 12: return { pre: [], bytes: [0x66, this.chance(0.5) ? 0x50 + this.anyReg() : 0x58 + this.dstReg(2)] };
      // PUSHF; POP r32: EFLAGS after whatever flag producer came before (written directly by
      // the WebAssembly backend: the record goes to LazyFlags first).
      case 13: return { pre: [[0x9c]], bytes: [0x58 + this.dstReg(4)] };
      // CMPXCHG r/m32, r32 (EAX equal to the destination or not); XADD r/m32, r32; XCHG EAX, r32:
      // written directly by the WebAssembly backend since, so checked here as well.
      case 14: {
        if (!w.includes(EAX)) return { pre: [], bytes: [0x90] };
        const { pre, rm, seg } = this.rm(4, true);
        // Half the time EAX is made equal to the destination first (MOV EAX, r/m32), where that
        // leaves the operand's address as it was.
        const loads = 'reg' in rm || (rm.mem.base !== EAX && rm.mem.index !== EAX);
        const equal: number[][] = loads && this.chance(0.5) ? [[...seg, 0x8b, ...modrm(EAX, rm)]] : [];
        return { pre: [...pre, ...equal], bytes: [...seg, 0x0f, 0xb1, ...modrm(this.anyReg(), rm)] };
      }
      case 15: {
        const { pre, rm, seg } = this.rm(4, true);
        return { pre, bytes: [...seg, 0x0f, 0xc1, ...modrm(this.dstReg(4), rm)] };
      }
      case 16: return { pre: [], bytes: [w.includes(EAX) ? 0x90 + this.dstReg(4) : 0x90] };
      // SHLD/SHRD r32, r32 by an immediate or by CL (set to an edge count first, now and then).
      case 17: return { pre: [], bytes: [0x0f, this.pick([0xa4, 0xac]), ...modrm(this.anyReg(), { reg: this.dstReg(4) }), this.chance(0.5) ? this.pick(SHIFT_COUNTS) : this.int(256)] };
      case 18: {
        const pre = w.includes(ECX) && this.chance(0.5) ? [[0xb1, this.pick(SHIFT_COUNTS)]] : [];
        return { pre, bytes: [0x0f, this.pick([0xa5, 0xad]), ...modrm(this.anyReg(), { reg: this.dstReg(4) })] };
      }
      default: return { pre: [], bytes: [0x90] };
    }
  }

  // ---- program structure

  emit(b: Built): void {
    for (const bytes of b.pre) this.items.push({ kind: 'insn', bytes });
    this.items.push({ kind: 'insn', bytes: b.bytes });
    this.count += b.pre.length + 1;
  }

  private label(): number {
    return this.labels++;
  }

  /** Jcc `cc` forward over one random instruction. */
  jccOver(cc = this.int(16)): void {
    const skipped = this.single();
    for (const bytes of skipped.pre) this.items.push({ kind: 'insn', bytes });
    const l = this.label();
    this.items.push({ kind: 'jcc', cc, near: this.chance(0.2), label: l });
    this.items.push({ kind: 'insn', bytes: skipped.bytes }, { kind: 'label', id: l });
    this.count += skipped.pre.length + 2;
  }

  /** One flag consumer of condition `cc` (random when omitted). */
  consumer(cc = this.int(16)): void {
    switch (this.int(4)) {
      case 0: return this.jccOver(cc);
      case 1: return this.emit(this.setcc(cc));
      case 2: return this.emit(this.cmovcc(cc));
      default: return this.emit(this.alu(this.chance(0.5) ? ALU_ADC : ALU_SBB));
    }
  }

  producer(): Built {
    const r = this.int(20);
    if (r < 9) return this.alu();
    if (r < 12) return this.incDec();
    if (r < 15) return this.shift();
    if (r < 18) return this.imul();
    return this.handler();
  }

  /** Any one non-branch instruction. */
  single(): Built {
    const r = this.int(28);
    if (r < 8) return this.alu();
    if (r < 12) return this.mov();
    if (r < 14) return this.incDec();
    if (r < 15) return this.lea();
    if (r < 17) return this.movx();
    if (r < 19) return this.pushPop();
    if (r < 20) return this.setcc();
    if (r < 21) return this.cmovcc();
    if (r < 23) return this.shift();
    if (r < 24) return this.imul();
    return this.handler();
  }

  /**
   * A counted loop: C = n; L: body; DEC C (or SUB/ADD); JNZ L. The body may start with a flag
   * consumer (in the loop's translation it reads what the back edge left, known only at run
   * time); `middle` adds an instruction of the caller's inside the body.
   */
  loop(middle?: () => void): void {
    const c = this.pick(this.writable);
    const saved = this.writable;
    const word = this.chance(0.2) && middle === undefined;
    const passes = middle ? 16 : 1 + this.int(12);
    this.emit({ pre: [], bytes: word ? [0x66, 0xb8 + c, ...le(passes, 2)] : [0xb8 + c, ...le(passes, 4)] });
    this.writable = saved.filter((r) => r !== c);
    if (this.splitBlocks && this.chance(0.3)) this.emit({ pre: [], bytes: JMP_NEXT });
    const l = this.label();
    this.items.push({ kind: 'label', id: l });
    if (this.chance(0.4)) this.consumer();
    this.body(2 + this.int(8), false);
    if (this.splitBlocks && this.chance(0.5)) {
      this.emit({ pre: [], bytes: JMP_NEXT });
      this.body(1 + this.int(4), false);
    }
    if (middle) {
      middle();
      this.body(this.int(4), false);
    }
    const p = word ? [0x66] : [];
    const step = this.pick([[0x48 + c], [0xff, 0xc8 + c], [0x83, 0xe8 + c, 1], [0x83, 0xc0 + c, 0xff]]);
    this.emit({ pre: [], bytes: [...p, ...step] });
    this.items.push({ kind: 'jcc', cc: 5, near: this.chance(0.3), label: l });
    this.count++;
    this.writable = saved;
  }

  /** Runs `f` with register `r` kept out of the writable ones. */
  reserving(r: number, f: () => void): void {
    const saved = this.writable;
    this.writable = saved.filter((x) => x !== r);
    f();
    this.writable = saved;
  }

  /** Adds about `n` instructions of random patterns (loops only when `loops`). */
  body(n: number, loops: boolean): void {
    const end = this.count + n;
    while (this.count < end) {
      const r = this.int(100);
      if (r < 30) {
        this.emit(this.producer());
        for (let k = 1 + this.int(3); k > 0; k--) {
          if (this.chance(0.15)) this.emit(this.pick([() => this.mov(), () => this.lea(), () => this.movx(), () => this.pushPop()])());
          this.consumer();
        }
      } else if (r < 40) {
        // INC/DEC keep CF: JB/JAE/SETB/ADC/SBB/CMOVB read the older producer's carry.
        this.emit(this.chance(0.5) ? this.alu(this.int(8)) : this.handler());
        this.emit(this.incDec());
        this.consumer(this.pick([2, 3]));
      } else if (r < 48) {
        this.emit(this.imul());
        this.consumer(this.pick([0, 1, 2, 3]));
      } else if (r < 58) {
        this.emit(this.shift());
        this.consumer();
      } else if (r < 63) {
        this.consumer();
      } else if (r < 75) {
        // Equal or adjacent operands, sign and carry limits: the edges of every condition.
        if (this.chance(0.8)) this.edge();
        else this.imulEdge();
        for (let k = 1 + this.int(2); k > 0; k--) this.consumer();
      } else if (r < 80 && loops) {
        this.loop();
      } else if (r < 83) {
        this.rewrite();
      } else {
        this.emit(this.single());
      }
    }
  }

  /**
   * A store into a later instruction of the same block (its immediate, or the register in its
   * opcode byte), through the direct MOV form: the translation must stop and the new bytes run.
   */
  rewrite(): void {
    const l = this.label();
    const r = this.dstReg(4);
    const kind = this.int(4);
    const poke = [
      { offset: 1, size: 4, value: this.imm(4) }, //               the imm32 of MOV r32, imm32
      { offset: 2, size: this.pick([1, 2, 4]), value: this.imm(4) }, // (part of) the imm32 of ADD r32, imm32
      { offset: 1, size: 1, value: this.imm(1) }, //               the imm8 of MOV r8, imm8
      { offset: 0, size: 1, value: 0xb8 + this.dstReg(4) }, //     MOV r32, imm32 to another register
    ][kind];
    this.items.push({ kind: 'poke', label: l, ...poke, value: poke.value & (poke.size === 4 ? -1 : (1 << (poke.size * 8)) - 1) });
    this.count++;
    this.body(this.int(4), false);
    this.items.push({ kind: 'label', id: l });
    const target = kind === 1 ? [0x81, 0xc0 + r, ...this.immBytes(4)] : kind === 2 ? [0xb0 + this.dstReg(1), this.imm(1)] : [0xb8 + r, ...this.immBytes(4)];
    this.emit({ pre: [], bytes: target });
  }

  /** PUSHFD; POP r; HLT. */
  finish(): void {
    this.emit({ pre: [], bytes: [0x9c] });
    this.emit({ pre: [], bytes: [0x58 + this.dstReg(4)] });
    this.emit({ pre: [], bytes: [0xf4] });
  }
}

/** Random registers (ESI, EDI fixed address registers) and arithmetic flags for `seed`. */
function start(seed: number): { rnd: () => number; gen: ProgramGenerator; regs: number[]; eflags: number } {
  const rnd = mulberry32(seed);
  const esi = 0x3900 + Math.floor(rnd() * 0x300);
  const edi = Math.floor(rnd() * 0x80);
  const gen = new ProgramGenerator(rnd, esi, edi);
  const regs = [gen.imm(4), gen.imm(4), gen.imm(4), gen.imm(4), 0x8000, gen.imm(4), esi, edi];
  const eflags = 0x2 | (gen.int(0x1000) & 0x8d5);
  return { rnd, gen, regs, eflags };
}

/** A random program of about `min`..`max` instructions for `seed`. */
export function randomProgram(seed: number, min = 10, max = 40, splitBlocks = false): Program {
  const { gen, regs, eflags } = start(seed);
  gen.splitBlocks = splitBlocks;
  // Sometimes the first instruction reads the initial EFLAGS.
  if (gen.chance(0.3)) gen.consumer();
  gen.body(min + gen.int(max - min + 1), true);
  gen.finish();
  return { seed, items: gen.items, regs, eflags };
}

/** Which of memoryForms' first entries write memory: MOV [m], r; MOV [m], imm; ALU [m], r; INC/DEC [m]. */
const WRITE_FORMS = [1, 2, 3, 6];

/** Instructions of every kind whose memory operand is `rm` (`size` bytes); `gen` picks the rest. */
function memoryForms(gen: ProgramGenerator, rm: Rm, size: number): number[][] {
  const p = size === 2 ? [0x66] : [];
  const w = size === 1 ? 0 : 1;
  const reg = gen.dstReg(size);
  const forms: number[][] = [
    [...p, 0x8a | w, ...modrm(reg, rm)], //                           mov r, [m]
    [...p, 0x88 | w, ...modrm(gen.anyReg(), rm)], //                   mov [m], r
    [...p, 0xc6 | w, ...modrm(0, rm), ...le(gen.imm(size), size)], //  mov [m], imm
    [...p, gen.int(7) * 8 + w, ...modrm(gen.anyReg(), rm)], //         alu [m], r (read-modify-write, not CMP)
    [...p, gen.int(8) * 8 + 2 + w, ...modrm(reg, rm)], //              alu r, [m]
    [...p, 0x84 | w, ...modrm(gen.anyReg(), rm)], //                   test [m], r
    [...p, size === 1 ? 0xfe : 0xff, ...modrm(gen.int(2), rm)], //     inc/dec [m]
  ];
  if (size === 1) forms.push([0x0f, 0x90 + gen.int(16), ...modrm(0, rm)]); // setcc [m]
  if (size === 2) forms.push([0x0f, gen.pick([0xb7, 0xbf]), ...modrm(gen.dstReg(4), rm)]); // movzx/movsx r, [m]
  if (size === 4) {
    forms.push(
      [0x0f, 0x40 + gen.int(16), ...modrm(gen.dstReg(4), rm)], //   cmovcc r, [m]
      [0x6b, ...modrm(gen.dstReg(4), rm), gen.imm(1)], //           imul r, [m], imm8
      [0x0f, 0xaf, ...modrm(gen.dstReg(4), rm)], //                 imul r, [m]
      [0xc1, ...modrm(gen.pick([4, 5, 7]), rm), 1 + gen.int(31)], // shift [m], imm8
      [0xff, ...modrm(6, rm)], //                                    push [m] (a handler)
    );
  }
  return forms;
}

/** How a fault program's access goes wrong. */
export type FaultKind = 'page' | 'segment';

/**
 * A program whose access in the middle of random code faults; what follows never runs.
 * 'page': it touches UNMAPPED_PAGE (or crosses into it from the page before), either straight
 * after a random flag producer (record, kept-carry or eager kind) or on a later pass of a loop
 * whose address register walks up to the page, so the fault comes from inside the loop's
 * translation. 'segment': a write through a CS override, or an access past GS's limit (#GP).
 */
export function faultProgram(seed: number, kind: FaultKind = 'page'): Program {
  const { gen, regs, eflags } = start(seed);
  gen.body(3 + gen.int(12), true);
  const size = gen.pick([1, 2, 4, 4]);
  // No GS for the page faults: the unmapped page lies past its limit.
  const pageSegments = [0x26, 0x36, 0x3e, FS_PREFIX];
  if (kind === 'page' && gen.chance(0.35)) {
    const r = gen.dstReg(4);
    const disp = gen.int(0x100) - 0x80;
    gen.emit({ pre: [], bytes: [0xb8 + r, ...le(DATA_START + 0x80 + gen.int(0xf00), 4)] });
    gen.reserving(r, () => gen.loop(() => {
      const mem: Mem = { base: r, index: -1, scale: 0, disp, wide: gen.chance(0.3) };
      const seg = gen.override(mem, pageSegments);
      gen.emit({ pre: [], bytes: [...seg, ...gen.pick(memoryForms(gen, { mem }, size))] });
      // LEA keeps the flags; ADD is one more producer.
      const step: Rm = { mem: { base: r, index: -1, scale: 0, disp: 0x800, wide: true } };
      gen.emit({ pre: [], bytes: gen.chance(0.5) ? [0x8d, ...modrm(r, step)] : [0x81, 0xc0 + r, ...le(0x800, 4)] });
    }));
  } else {
    let t: number;
    let seg: number[];
    let writesOnly = false;
    if (kind === 'page') {
      const cross = size > 1 && gen.chance(0.3);
      t = cross ? UNMAPPED_PAGE - 1 - gen.int(size - 1) : UNMAPPED_PAGE + gen.int(4096 - size);
      seg = [];
    } else if (gen.chance(0.5)) {
      t = DATA_START + gen.int(DATA_END - DATA_START - size);
      seg = [CS_PREFIX];
      writesOnly = true;
    } else {
      // Past the limit, or straddling it.
      t = size > 1 && gen.chance(0.4) ? GS_LIMIT - gen.int(size - 1) : GS_LIMIT + 1 + gen.int(0x800);
      seg = [GS_PREFIX];
    }
    const scale = gen.int(4);
    const mem: Mem = gen.pick([
      { base: ESI, index: -1, scale: 0, disp: t - gen.esi, wide: true },
      { base: -1, index: -1, scale: 0, disp: t, wide: true },
      { base: ESI, index: EDI, scale, disp: t - gen.esi - (gen.edi << scale), wide: true },
    ]);
    if (kind === 'page') seg = gen.override(mem, pageSegments);
    // The flags at the fault come from the translation's locals, of each kind.
    gen.emit(gen.pick([() => gen.alu(), () => gen.incDec(), () => gen.shift(), () => gen.imul(), () => gen.mov()])());
    const forms = memoryForms(gen, { mem }, size);
    gen.emit({ pre: [], bytes: [...seg, ...(writesOnly ? gen.pick(WRITE_FORMS.map((k) => forms[k])) : gen.pick(forms))] });
  }
  gen.body(3 + gen.int(8), false);
  gen.finish();
  return { seed, items: gen.items, regs, eflags };
}

/** MOV [disp32], imm: opcode, ModRM, disp32, the immediate (and 0x66 for a word). */
function pokeLength(size: number): number {
  return (size === 2 ? 1 : 0) + 2 + 4 + size;
}

/** The program's bytes at `origin`; short jumps that do not reach become near ones. */
export function assemble(items: readonly Item[], origin: number): Uint8Array {
  const near = items.map((it) => it.kind === 'jcc' && it.near);
  for (;;) {
    const at: number[] = [];
    const labels = new Map<number, number>();
    let pc = origin;
    items.forEach((it, k) => {
      at.push(pc);
      if (it.kind === 'label') labels.set(it.id, pc);
      else pc += it.kind === 'insn' ? it.bytes.length : it.kind === 'poke' ? pokeLength(it.size) : near[k] ? 6 : 2;
    });
    const out: number[] = [];
    let grown = false;
    items.forEach((it, k) => {
      if (it.kind === 'insn') out.push(...it.bytes);
      if (it.kind === 'poke') {
        const at = labels.get(it.label);
        if (at === undefined) throw new Error(`poke of missing label ${it.label}`);
        out.push(...(it.size === 2 ? [0x66] : []), it.size === 1 ? 0xc6 : 0xc7, 0x05, ...le(at + it.offset, 4), ...le(it.value, it.size));
      }
      if (it.kind !== 'jcc') return;
      const target = labels.get(it.label);
      if (target === undefined) throw new Error(`jcc to missing label ${it.label}`);
      const rel = target - (at[k] + (near[k] ? 6 : 2));
      if (near[k]) out.push(0x0f, 0x80 + it.cc, ...le(rel, 4));
      else if (rel >= -128 && rel <= 127) out.push(0x70 + it.cc, rel & 255);
      else {
        near[k] = true;
        grown = true;
      }
    });
    if (!grown) return Uint8Array.from(out);
  }
}

/**
 * Drops instructions from a failing program while `fails` stays true: runs of them first, then
 * single ones, until no single removal keeps it failing (ddmin-like). Labels stay, so jumps
 * keep their targets.
 */
export function shrink(p: Program, fails: (p: Program) => boolean): Program {
  let cur = p;
  const without = (from: number, n: number): Program => {
    let seen = 0;
    const items = cur.items.filter((it) => it.kind === 'label' || seen++ < from || seen > from + n);
    return { ...cur, items };
  };
  const count = (): number => cur.items.filter((it) => it.kind !== 'label').length;
  for (let chunk = Math.max(1, count() >> 1); ; chunk = Math.max(1, chunk >> 1)) {
    let changed = false;
    for (let from = count() - chunk; from >= 0; from -= chunk) {
      const next = without(from, chunk);
      if (fails(next)) {
        cur = next;
        changed = true;
      }
    }
    if (chunk === 1 && !changed) return cur;
  }
}
