/**
 * A WebAssembly function body being written: instructions appended in stack-machine order,
 * the nesting depth of blocks (so a branch can name an outer label by its depth), and the
 * function's locals by name.
 */
import { EMPTY_BLOCK, I32, I64, Op, sleb, uleb } from './encoder.js';

/** The flag record's kind, operation and width as the one value local fk holds. */
export const flagDescriptor = (kind: number, op: number, bits: number): number => kind | (op << 8) | (bits << 16);

/** The locals every translation has (the parameter is the budget; e0..e7 come from the status area). */
export const L = {
  budget: 0,
  /** e0..e7: EAX..EDI. */
  e0: 1,
  /**
   * The flag record (flag-state.ts): its kind, operation and width in one local (fk:
   * flagDescriptor; fewer values for TurboFan to keep alive across every access that may exit
   * with the record), its operands and result in fa, fb, fr, a kept carry in fc. 10 and 11 are
   * unused.
   */
  fk: 9,
  fa: 12,
  fb: 13,
  fr: 14,
  fc: 15,
  /** Instructions completed before the current case label. */
  k0: 16,
  /** Linear address of the access at hand, and its TLB entry. */
  lin: 17,
  tlb: 18,
  /** The exit's instruction count and RIP (the epilogue stores them). */
  n: 19,
  x: 20,
  /** The case to run next (br_table index). */
  pc: 21,
  /** Scratch values of one instruction. */
  a: 22,
  b: 23,
  v: 24,
  c: 25,
  s: 26,
  t: 27,
  /** A 64-bit product. */
  p: 28,
  /** A read-modify-write's TLB hit (context.ts's readForUpdate), for its write. */
  h: 29,
  /**
   * Same-page memos (context.ts), two: each one's page offset of the access it was made at
   * (MEMO_NONE when none is valid), the same for writes, and that access's RAM address.
   */
  memoOffset0: 30,
  memoWriteOffset0: 31,
  memoAddress0: 32,
  memoOffset1: 33,
  memoWriteOffset1: 34,
  memoAddress1: 35,
} as const;

export const PARAMS = 1;
/** Locals after the parameter: i32 e0..t, the one i64, then i32 h ... memoAddress1. */
export const LOCALS: [number, number][] = [[L.t - PARAMS + 1, I32], [1, I64], [L.memoAddress1 - L.h + 1, I32]];

/**
 * A branch hint for an `if`: whether its `then` arm is the likely one. With hints, TurboFan
 * places the unlikely arm out of line as deferred code, and its register allocator spills
 * values live across a slow path's host call inside that arm instead of at their definition
 * on the hot path (encoder.ts writes them as the `metadata.code.branch_hint` section).
 */
export const LIKELY = true;
export const UNLIKELY = false;

export class Code {
  /**
   * The bytes written, in a buffer that grows by doubling (a translation's body is written a
   * byte at a time: a typed array costs a fraction of a number[] there, and its copy into the
   * module is one `set`).
   */
  private buf = new Uint8Array(1024);
  /** Bytes written. */
  length = 0;
  /**
   * Branch hints as pairs: the byte offset in `bytes` of an `if` or `br_if`, then 1 (its then
   * arm, or its branch, likely) or 0.
   */
  readonly hints: number[] = [];
  /** Blocks, loops and ifs open around the current point inside the case being written. */
  depth = 0;
  /**
   * EAX..EDI (bit n: register n) whose locals the code read or wrote, and wrote: a translation
   * loads only the first from the register file and stores only the second back (region.ts).
   */
  registersUsed = 0;
  registersWritten = 0;
  /**
   * Told of every write to a register local (EAX..EDI, 0-7), to the linear-address local, and of
   * every host call as it is written (context.ts's same-page memos depend on them).
   */
  onRegisterWrite: ((reg: number) => void) | null = null;
  onLinearWrite: (() => void) | null = null;
  onHostCall: (() => void) | null = null;

  /** What was written (a view of the buffer: copy it before writing more). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Appends one byte (also what lets uleb and sleb write here). */
  push(byte: number): void {
    if (this.length === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = byte;
  }

  op(...ops: number[]): this {
    for (const o of ops) this.push(o);
    return this;
  }

  /** The flag record's kind (flag-state.ts's FLAGS_*; 0: none), operation (FlagOp) and width in bits, from fk. */
  flagKind(): this {
    return this.get(L.fk).i32(0xff).op(Op.i32And);
  }
  flagOp(): this {
    return this.get(L.fk).i32(8).op(Op.i32ShrU).i32(0xff).op(Op.i32And);
  }
  flagBits(): this {
    return this.get(L.fk).i32(16).op(Op.i32ShrU);
  }

  get(local: number): this {
    if (local >= L.e0 && local < L.e0 + 8) this.registersUsed |= 1 << (local - L.e0);
    this.push(Op.localGet);
    uleb(local, this);
    return this;
  }

  set(local: number): this {
    this.written(local);
    this.push(Op.localSet);
    uleb(local, this);
    return this;
  }

  tee(local: number): this {
    this.written(local);
    this.push(Op.localTee);
    uleb(local, this);
    return this;
  }

  i32(value: number): this {
    this.push(Op.i32Const);
    sleb(value | 0, this);
    return this;
  }

  /** local = value (an i32 constant). */
  setConst(local: number, value: number): this {
    return this.i32(value).set(local);
  }

  /** A load or store with its memory argument (alignment as a power of two, offset). */
  mem(op: number, align: number, offset: number): this {
    this.push(op);
    uleb(align, this);
    uleb(offset, this);
    return this;
  }

  /**
   * Calls host function `index` (imports.ts): through the host table, where it has slot
   * `index` (runtime.ts), and whose type is type `index` of every translation module. A module
   * that imported the functions themselves would cost V8 an import wrapper for each at every
   * compile (measured: 0.7 ms a module with ten imports, 0.1 ms without).
   */
  call(index: number): this {
    this.onHostCall?.();
    this.i32(index);
    this.push(Op.callIndirect);
    uleb(index, this);
    this.push(0);
    return this;
  }

  /** `if` over the i32 on the stack; `then` writes the body (and may call `otherwise` first). */
  if(then: () => void, otherwise?: () => void, thenLikely?: boolean): this {
    this.hint(thenLikely);
    this.push(Op.if);
    this.push(EMPTY_BLOCK);
    this.depth++;
    then();
    if (otherwise !== undefined) {
      this.push(Op.else);
      otherwise();
    }
    this.push(Op.end);
    this.depth--;
    return this;
  }

  /** `if` over the i32 on the stack whose arms each leave one i32. */
  ifValue(then: () => void, otherwise: () => void, thenLikely?: boolean): this {
    this.hint(thenLikely);
    this.push(Op.if);
    this.push(I32);
    this.depth++;
    then();
    this.push(Op.else);
    otherwise();
    this.push(Op.end);
    this.depth--;
    return this;
  }

  /** A `block` around what `body` writes: a branch to depth 0 inside it leaves to its end. */
  block(body: () => void): this {
    this.push(Op.block);
    this.push(EMPTY_BLOCK);
    this.depth++;
    body();
    this.push(Op.end);
    this.depth--;
    return this;
  }

  /** `br_if` to the label `relative` levels out on the i32 on the stack; `likely`: a hint that it is taken. */
  brIf(relative: number, likely?: boolean): this {
    this.hint(likely);
    this.push(Op.brIf);
    uleb(relative, this);
    return this;
  }

  /** EAX..EDI from their locals to the register file (dwords at `gprOffset` in the memory). */
  storeRegisters(gprOffset: number, which = 0xff): this {
    for (let r = 0; r < 8; r++) if (which & (1 << r)) this.i32(0).get(L.e0 + r).mem(Op.i32Store, 2, gprOffset + 4 * r);
    return this;
  }

  /** EAX..EDI (those in `which`) from the register file into their locals. */
  loadRegisters(gprOffset: number, which = 0xff): this {
    for (let r = 0; r < 8; r++) if (which & (1 << r)) this.i32(0).mem(Op.i32Load, 2, gprOffset + 4 * r).set(L.e0 + r);
    return this;
  }

  /** Drops what was written after byte `length` (its hints too). */
  truncate(length: number): void {
    this.length = length;
    let n = this.hints.length;
    while (n > 0 && this.hints[n - 2] >= length) n -= 2;
    this.hints.length = n;
  }

  private written(local: number): void {
    if (local >= L.e0 && local < L.e0 + 8) {
      this.registersUsed |= 1 << (local - L.e0);
      this.registersWritten |= 1 << (local - L.e0);
      this.onRegisterWrite?.(local - L.e0);
    }
    else if (local === L.lin) this.onLinearWrite?.();
  }

  private hint(thenLikely: boolean | undefined): void {
    if (thenLikely !== undefined) this.hints.push(this.length, thenLikely ? 1 : 0);
  }

  /** Branch to the label `relative` levels out (0: the innermost open block). */
  br(relative: number): this {
    this.push(Op.br);
    uleb(relative, this);
    return this;
  }

  append(code: readonly number[]): this {
    for (const b of code) this.push(b);
    return this;
  }
}
