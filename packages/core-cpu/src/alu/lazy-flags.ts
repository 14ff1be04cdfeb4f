/**
 * Lazy arithmetic flags (the technique of Bochs, QEMU's cc_op and v86).
 *
 * Most instructions write CF PF AF ZF SF OF, and most of those values are never read:
 * the next arithmetic instruction overwrites them. So an ALU instruction records *what
 * it did* (the operation, the operand size, both inputs and the result) and the flags
 * are computed only when something reads them (Jcc, SETcc, ADC, PUSHF, an interrupt).
 *
 * `lazy` says which arithmetic flags must be derived from the record; every other bit
 * of EFLAGS lives in `raw`. Instructions that leave some flags alone (INC/DEC keep CF)
 * first fold the current value of those flags into `raw`.
 *
 * Values are held as 32-bit halves; 64-bit operations also record the high halves.
 * The carry and borrow out of the top bit come from the full-adder identities
 *   carry  = (a & b) | ((a | b) & ~r)      (at the sign bit)
 *   borrow = (~a & b) | ((~a | b) & r)
 * which hold with a carry-in as well (ADC, SBB), so no wider arithmetic is needed.
 */

/**
 * The arithmetic flags' bits, and the sets that shifts, multiplies and rotates compute outright
 * (LazyFlags.recordResultOnly's eager mask), as const enums: tsc writes the numbers in. Handlers
 * of modules with imports that combine them in a module `const` leave a variable in the bundle
 * (esbuild inlines constants only from modules without imports) that V8 loads and checks at
 * every use (see SegmentTest in interp/protected/segment-checks.ts).
 */
export const enum FlagBit { CF = 0x0001, PF = 0x0004, AF = 0x0010, ZF = 0x0040, SF = 0x0080, OF = 0x0800 }
export const enum EagerFlags {
  Shift = FlagBit.CF | FlagBit.OF | FlagBit.AF,
  Mul = FlagBit.CF | FlagBit.OF | FlagBit.AF | FlagBit.ZF,
  Rotate = FlagBit.CF | FlagBit.OF,
}
export const CF: number = FlagBit.CF;
export const PF: number = FlagBit.PF;
export const AF: number = FlagBit.AF;
export const ZF: number = FlagBit.ZF;
export const SF: number = FlagBit.SF;
export const OF: number = FlagBit.OF;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bit 1 of EFLAGS always reads as one. */
export const EFLAGS_FIXED = 0x0002;

/**
 * The operation whose flags are pending. A const enum: tsc writes the numbers in at every use,
 * where an object's properties would be loaded and checked by V8 in every ALU handler and
 * flag test of the interpreter's hot path.
 */
export const enum FlagOp {
  ADD = 0,
  SUB = 1,
  /** AND, OR, XOR, TEST: CF = OF = 0; AF = 0 as Intel and AMD hardware leave it. */
  LOGIC = 2,
  /** NEG: a SUB from zero, except that CF means "the operand was not zero". */
  NEG = 3,
}

/** 1 for even parity of the low byte, as the PF bit wants it. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let v = i; v; v >>= 1) bits += v & 1;
  PARITY[i] = bits & 1 ? 0 : 1;
}

/**
 * CF (0 or 1) of a flag record kept outside LazyFlags, as the JIT keeps it in locals at a loop
 * head (jit/flag-state.ts): kind 1 is record(op, bits, a, b, r); 2 the same with CF kept in `c`
 * (INC/DEC); 3 recordResultOnly(bits, r, 0, a, b), the eager flags in `a` and their mask in `b`.
 * Returns -1 when the record does not tell (kind 0, or a result record without CF): LazyFlags
 * must, once the record is written into it.
 */
export function carryOfRecord(kind: number, op: number, bits: number, a: number, b: number, r: number, c: number): number {
  if (kind === 2) return c;
  if (kind === 3) return b & CF ? a & 1 : -1;
  if (kind !== 1) return -1;
  const top = bits - 1;
  switch (op) {
    case FlagOp.ADD:
      return (((a & b) | ((a | b) & ~r)) >>> top) & 1;
    case FlagOp.SUB:
      return (((~a & b) | ((~a | b) & r)) >>> top) & 1;
    case FlagOp.NEG:
      return (bits === 32 ? b : b & ((1 << bits) - 1)) !== 0 ? 1 : 0;
    default:
      return 0;
  }
}

export class LazyFlags {
  /** EFLAGS bits not covered by `lazy`. */
  raw = EFLAGS_FIXED;
  /** Arithmetic flags to compute from the recorded operation. */
  lazy = 0;
  op: FlagOp = FlagOp.ADD;
  /** Operand size in bits: 8, 16, 32 or 64. */
  bits = 32;
  a = 0;
  b = 0;
  r = 0;
  aHi = 0;
  bHi = 0;
  rHi = 0;

  /**
   * Records an 8/16/32-bit ADD/ADC/SUB/SBB/CMP/NEG/logic result. `r` is the result as
   * computed (extra high bits are ignored); for ADC/SBB it includes the carry-in.
   */
  record(op: FlagOp, bits: number, a: number, b: number, r: number): void {
    this.op = op;
    this.bits = bits;
    this.a = a | 0;
    this.b = b | 0;
    this.r = r | 0;
    this.lazy = ARITH_FLAGS;
  }

  /** Records a 64-bit operation from its 32-bit halves. */
  record64(op: FlagOp, aLo: number, aHi: number, bLo: number, bHi: number, rLo: number, rHi: number): void {
    this.op = op;
    this.bits = 64;
    this.a = aLo;
    this.b = bLo;
    this.r = rLo;
    this.aHi = aHi;
    this.bHi = bHi;
    this.rHi = rHi;
    this.lazy = ARITH_FLAGS;
  }

  /**
   * INC/DEC: like ADD/SUB of 1, but CF keeps its value. The current CF is folded into
   * `raw` before the record replaces the operation it came from.
   */
  recordKeepCarry(op: FlagOp, bits: number, a: number, b: number, r: number): void {
    const carry = this.cf();
    this.record(op, bits, a, b, r);
    this.raw = (this.raw & ~CF) | carry;
    this.lazy = ARITH_FLAGS & ~CF;
  }

  recordKeepCarry64(op: FlagOp, aLo: number, aHi: number, bLo: number, bHi: number, rLo: number, rHi: number): void {
    const carry = this.cf();
    this.record64(op, aLo, aHi, bLo, bHi, rLo, rHi);
    this.raw = (this.raw & ~CF) | carry;
    this.lazy = ARITH_FLAGS & ~CF;
  }

  /**
   * Shifts and rotates compute CF and OF themselves (their rules differ per count) and
   * leave SF, ZF and PF to the result: record the result as a logic result for those.
   */
  recordResultOnly(bits: number, r: number, rHi: number, eagerFlags: number, eagerMask: number): void {
    this.op = FlagOp.LOGIC;
    this.bits = bits;
    this.r = r | 0;
    this.rHi = rHi | 0;
    this.raw = (this.raw & ~eagerMask) | (eagerFlags & eagerMask);
    this.lazy = (SF | ZF | PF) & ~eagerMask;
  }

  cf(): number {
    if (!(this.lazy & CF)) return this.raw & CF;
    const wide = this.bits === 64;
    const a = wide ? this.aHi : this.a;
    const b = wide ? this.bHi : this.b;
    const r = wide ? this.rHi : this.r;
    const shift = wide ? 31 : this.bits - 1;
    switch (this.op) {
      case FlagOp.ADD:
        return (((a & b) | ((a | b) & ~r)) >>> shift) & 1;
      case FlagOp.SUB:
        return (((~a & b) | ((~a | b) & r)) >>> shift) & 1;
      case FlagOp.NEG:
        return this.zeroIn(this.b, this.bHi) ? 0 : 1;
      default:
        return 0;
    }
  }

  of(): number {
    if (!(this.lazy & OF)) return (this.raw & OF) >>> 11;
    const wide = this.bits === 64;
    const a = wide ? this.aHi : this.a;
    const b = wide ? this.bHi : this.b;
    const r = wide ? this.rHi : this.r;
    const shift = wide ? 31 : this.bits - 1;
    switch (this.op) {
      case FlagOp.ADD:
        return (((a ^ r) & (b ^ r)) >>> shift) & 1;
      case FlagOp.SUB:
      case FlagOp.NEG:
        return (((a ^ b) & (a ^ r)) >>> shift) & 1;
      default:
        return 0;
    }
  }

  af(): number {
    if (!(this.lazy & AF)) return (this.raw & AF) >>> 4;
    return this.op === FlagOp.LOGIC ? 0 : ((this.a ^ this.b ^ this.r) >>> 4) & 1;
  }

  zf(): number {
    if (!(this.lazy & ZF)) return (this.raw & ZF) >>> 6;
    return this.zeroIn(this.r, this.rHi) ? 1 : 0;
  }

  sf(): number {
    if (!(this.lazy & SF)) return (this.raw & SF) >>> 7;
    return this.bits === 64 ? this.rHi >>> 31 : (this.r >>> (this.bits - 1)) & 1;
  }

  pf(): number {
    if (!(this.lazy & PF)) return (this.raw & PF) >>> 2;
    return PARITY[this.r & 0xff];
  }

  /** True when the operand-sized value held in (lo, hi) is zero. */
  private zeroIn(lo: number, hi: number): boolean {
    switch (this.bits) {
      case 8:
        return (lo & 0xff) === 0;
      case 16:
        return (lo & 0xffff) === 0;
      case 32:
        return lo === 0;
      default:
        return (lo | hi) === 0;
    }
  }

  /** The whole EFLAGS value, computing the lazy flags. */
  get(): number {
    const lazy = this.lazy;
    if (lazy === 0) return this.raw;
    let f = this.raw & ~lazy;
    if (lazy & CF) f |= this.cf();
    if (lazy & PF) f |= this.pf() << 2;
    if (lazy & AF) f |= this.af() << 4;
    if (lazy & ZF) f |= this.zf() << 6;
    if (lazy & SF) f |= this.sf() << 7;
    if (lazy & OF) f |= this.of() << 11;
    return f;
  }

  /** Loads EFLAGS (POPF, IRET, a task switch, a state load): nothing is lazy afterwards. */
  set(value: number): void {
    this.raw = (value | EFLAGS_FIXED) >>> 0;
    this.lazy = 0;
  }
}
