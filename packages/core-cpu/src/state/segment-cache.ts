/**
 * Segment registers with their hidden descriptor caches (SDM Vol. 3, 3.4.3), in the
 * order of the Sreg encoding (MOV Sreg, the ModRM reg field), then LDTR and TR.
 * Struct-of-arrays, so the address computation on the hot path is `base[seg] + offset`.
 */
import type { SegmentState } from '@tsemu/devices/platform';

/** A const enum, so tsc writes the numbers in (push, pop, CALL and RET name SS on every use). */
export const enum Seg { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7 }
export const SEGMENT_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldt', 'tr'] as const;

/**
 * Attribute bits, as in bits 8-23 of a descriptor's high dword (type, S, DPL, P, AVL, L, D/B,
 * G), and the type bits of code and data segments (SDM Vol. 3, 3.4.5.1). A const enum, so tsc
 * writes the numbers in: the interpreter tests some on every memory operand, push and pop, and
 * a module's `const` stays a variable in the bundle, loaded and checked at each use (esbuild
 * inlines constants only from modules without imports).
 */
export const enum Attr {
  /** Data: writable; code: readable. */
  Writable = 0x2,
  Readable = 0x2,
  /** Data: expand-down; code: conforming. */
  ExpandDown = 0x4,
  Code = 0x8,
  S = 0x0010,
  P = 0x0080,
  Avl = 0x1000,
  L = 0x2000,
  Db = 0x4000,
  G = 0x8000,
  /** Not a descriptor bit: the register holds a null selector and must not be used (VMX's "unusable"). */
  Unusable = 0x10000,
}
export const ATTR_TYPE_MASK = 0x000f;
export const ATTR_DPL_SHIFT = 5;

/** Where SegmentCache.fields keeps a segment's base, limit and attributes: `[seg]`, `[SegField.Limit | seg]`, `[SegField.Attr | seg]`. */
export const enum SegField {
  Base = 0,
  Limit = 8,
  Attr = 16,
}

export class SegmentCache {
  /** Where `base`, `limit` and `attr` (8 int32 each) lie in a buffer given to the constructor, and their bytes in all. */
  static readonly BASE_OFFSET = 4 * SegField.Base;
  static readonly LIMIT_OFFSET = 4 * SegField.Limit;
  static readonly ATTR_OFFSET = 4 * SegField.Attr;
  static readonly BYTES = 96;
  readonly selector = new Uint16Array(8);
  /** Low 32 bits of each base; FS, GS, LDTR and TR have 64-bit bases in long mode. */
  readonly base: Int32Array;
  readonly baseHi = new Int32Array(8);
  /** Byte-granular limit (G already applied); 0xffffffff is stored as -1. */
  readonly limit: Int32Array;
  readonly attr: Int32Array;
  /**
   * base, limit and attr as one array (the same storage), laid out as SegField says. The
   * interpreter's address computation reads all three per memory operand; through one array
   * V8 loads and checks one typed array instead of three.
   */
  readonly fields: Int32Array;

  /**
   * `buffer`: where base, limit and attr live (at `byteOffset`, BYTES bytes): SoftCpu puts them
   * in the RAM backing's WebAssembly memory, whose translations check them on entry.
   */
  constructor(buffer: ArrayBufferLike = new ArrayBuffer(SegmentCache.BYTES), byteOffset = 0) {
    this.base = new Int32Array(buffer, byteOffset + SegmentCache.BASE_OFFSET, 8);
    this.limit = new Int32Array(buffer, byteOffset + SegmentCache.LIMIT_OFFSET, 8);
    this.attr = new Int32Array(buffer, byteOffset + SegmentCache.ATTR_OFFSET, 8);
    this.fields = new Int32Array(buffer, byteOffset, SegField.Attr + 8);
  }

  load(seg: number, s: SegmentState): void {
    this.selector[seg] = s.selector;
    this.base[seg] = Number(BigInt.asIntN(32, s.base));
    this.baseHi[seg] = Number(BigInt.asIntN(32, s.base >> 32n));
    this.limit[seg] = s.limit | 0;
    this.attr[seg] =
      (s.type & ATTR_TYPE_MASK) | (s.s ? Attr.S : 0) | ((s.dpl & 3) << ATTR_DPL_SHIFT) | (s.present ? Attr.P : 0) |
      (s.avl ? Attr.Avl : 0) | (s.l ? Attr.L : 0) | (s.db ? Attr.Db : 0) | (s.g ? Attr.G : 0) | (s.unusable ? Attr.Unusable : 0);
  }

  save(seg: number): SegmentState {
    const a = this.attr[seg];
    return {
      selector: this.selector[seg],
      base: (BigInt(this.baseHi[seg] >>> 0) << 32n) | BigInt(this.base[seg] >>> 0),
      limit: this.limit[seg] >>> 0,
      type: a & ATTR_TYPE_MASK,
      s: (a & Attr.S) !== 0,
      dpl: (a >> ATTR_DPL_SHIFT) & 3,
      present: (a & Attr.P) !== 0,
      avl: (a & Attr.Avl) !== 0,
      l: (a & Attr.L) !== 0,
      db: (a & Attr.Db) !== 0,
      g: (a & Attr.G) !== 0,
      unusable: (a & Attr.Unusable) !== 0,
    };
  }
}
