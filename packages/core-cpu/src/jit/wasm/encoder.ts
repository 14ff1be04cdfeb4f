/**
 * The WebAssembly binary format, as much of it as the JIT writes: modules importing a shared
 * memory, a function table and host functions, defining functions, exporting them or placing
 * them in the table (runtime.ts says which module has which). Opcode
 * values are the core specification's (WebAssembly Core Specification 2.0, section 5.4).
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
/** The block type of a block, loop or if that leaves nothing on the stack. */
export const EMPTY_BLOCK = 0x40;

export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i32Load8S: 0x2c,
  i32Load8U: 0x2d,
  i32Load16S: 0x2e,
  i32Load16U: 0x2f,
  i32Store: 0x36,
  i64Store: 0x37,
  i32Store8: 0x3a,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i64Ne: 0x52,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Add: 0x7c,
  i64Mul: 0x7e,
  i64DivU: 0x80,
  i64RemU: 0x82,
  i64Or: 0x84,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
} as const;

/** Where LEB128 bytes go: a function body's number[] or the module's ByteWriter. */
interface ByteSink {
  push(byte: number): unknown;
}

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb<T extends ByteSink = number[]>(value: number, out: T = [] as unknown as T): T {
  // Most values (locals, depths, small offsets) take one byte; int32s take the shift path.
  if (value >>> 0 === value) {
    let u = value;
    while (u >= 0x80) {
      out.push((u & 0x7f) | 0x80);
      u >>>= 7;
    }
    out.push(u);
    return out;
  }
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an int32 (or a safe integer). */
export function sleb<T extends ByteSink = number[]>(value: number, out: T = [] as unknown as T): T {
  if ((value | 0) === value) {
    let v = value;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        out.push(byte);
        return out;
      }
      out.push(byte | 0x80);
    }
  }
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v = Math.floor(v / 128);
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Bytes appended to a growing buffer (no intermediate arrays: a translation's module is written at every compile). */
class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  byte(b: number): this {
    this.room(1);
    this.buf[this.length++] = b;
    return this;
  }

  /** ByteSink: lets uleb and sleb write here. */
  push(b: number): void {
    this.byte(b);
  }

  uleb(value: number): this {
    return uleb(value, this);
  }

  sleb(value: number): this {
    return sleb(value, this);
  }

  bytes(bytes: ArrayLike<number>): this {
    this.room(bytes.length);
    if (bytes instanceof Uint8Array) this.buf.set(bytes, this.length);
    else for (let i = 0; i < bytes.length; i++) this.buf[this.length + i] = bytes[i];
    this.length += bytes.length;
    return this;
  }

  name(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    return this.uleb(bytes.length).bytes(bytes);
  }

  /** A section: id, then the size of what `write` appends, then that. */
  section(id: number, write: (w: ByteWriter) => void): this {
    const body = new ByteWriter();
    write(body);
    return this.byte(id).uleb(body.length).bytes(body.result());
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FunctionType {
  params: number[];
  results: number[];
}

export interface ModuleDescription {
  /** Module name of every import. */
  importModule: string;
  /** The type section: function types by index. */
  types: FunctionType[];
  /** An imported shared memory: its name and size in 64 KiB pages (initial = maximum). */
  memory?: { name: string; pages: number };
  /** An imported funcref table (minimum size 0), the module's table 0. */
  table?: { name: string };
  /** Imported functions (indices 0 ...), each with its type index. */
  functionImports?: { name: string; type: number }[];
  /**
   * Functions defined (indices after the imports): type index, local declarations as [count,
   * type] runs, body without the final `end`, and branch hints (code.ts's pairs: an `if`'s
   * offset in `body`, 1 likely or 0 unlikely, offsets increasing).
   */
  functions: { type: number; locals: [number, number][]; body: ArrayLike<number>; hints?: readonly number[] }[];
  exports?: { name: string; func: number }[];
  /** Active element segments: function indices placed in table 0 from `offset`. */
  elements?: { offset: number; funcs: number[] }[];
}

/** The bytes of a module as described: for `new WebAssembly.Module`. */
export function encodeModule(d: ModuleDescription): Uint8Array {
  const w = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  w.section(1, (s) => {
    s.uleb(d.types.length);
    for (const t of d.types) {
      s.byte(0x60).uleb(t.params.length).bytes(t.params).uleb(t.results.length).bytes(t.results);
    }
  });
  const functionImports = d.functionImports ?? [];
  const importCount = functionImports.length + (d.memory === undefined ? 0 : 1) + (d.table === undefined ? 0 : 1);
  if (importCount > 0) {
    w.section(2, (s) => {
      s.uleb(importCount);
      // Memory limits flag 3: a maximum is given, and the memory is shared.
      if (d.memory !== undefined) s.name(d.importModule).name(d.memory.name).byte(0x02).byte(0x03).uleb(d.memory.pages).uleb(d.memory.pages);
      // Table: funcref, limits flag 0 (a minimum only), minimum 0.
      if (d.table !== undefined) s.name(d.importModule).name(d.table.name).byte(0x01).byte(0x70).byte(0x00).byte(0x00);
      for (const imp of functionImports) s.name(d.importModule).name(imp.name).byte(0x00).uleb(imp.type);
    });
  }
  w.section(3, (s) => {
    s.uleb(d.functions.length);
    for (const f of d.functions) s.uleb(f.type);
  });
  const exports = d.exports ?? [];
  if (exports.length > 0) {
    w.section(7, (s) => {
      s.uleb(exports.length);
      for (const e of exports) s.name(e.name).byte(0x00).uleb(e.func);
    });
  }
  const elements = d.elements ?? [];
  if (elements.length > 0) {
    w.section(9, (s) => {
      s.uleb(elements.length);
      // Flag 0: an active segment for table 0, its offset a constant expression.
      for (const e of elements) {
        s.byte(0x00).byte(Op.i32Const).sleb(e.offset).byte(Op.end).uleb(e.funcs.length);
        for (const f of e.funcs) s.uleb(f);
      }
    });
  }
  const bodies = d.functions.map((f) => {
    const body = new ByteWriter();
    body.uleb(f.locals.length);
    for (const [count, type] of f.locals) body.uleb(count).byte(type);
    const localsLength = body.length;
    body.bytes(f.body).byte(Op.end);
    return { bytes: body.result(), localsLength };
  });
  const hinted = d.functions.map((f, i) => ({ f, i })).filter(({ f }) => f.hints !== undefined && f.hints.length > 0);
  if (hinted.length > 0) {
    // Branch hinting (a custom section before the code section): per function its index, then
    // per hint the `if`'s offset from the start of the function's body (its locals included),
    // the hint's size (1) and its value.
    w.section(0, (s) => {
      s.name('metadata.code.branch_hint').uleb(hinted.length);
      for (const { f, i } of hinted) {
        const hints = f.hints!;
        s.uleb(functionImports.length + i).uleb(hints.length / 2);
        for (let h = 0; h < hints.length; h += 2) s.uleb(bodies[i].localsLength + hints[h]).uleb(1).byte(hints[h + 1]);
      }
    });
  }
  w.section(10, (s) => {
    s.uleb(bodies.length);
    for (const b of bodies) s.uleb(b.bytes.length).bytes(b.bytes);
  });
  return w.result();
}
