/**
 * The WebAssembly binary format, as much of it as the JIT writes: one module per translation
 * with a shared memory and functions imported from the host, and one exported function. Opcode
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
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8S: 0x2c,
  i32Load8U: 0x2d,
  i32Load16S: 0x2e,
  i32Load16U: 0x2f,
  i32Store: 0x36,
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
  i64Mul: 0x7e,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
} as const;

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb(value: number, out: number[] = []): number[] {
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
export function sleb(value: number, out: number[] = []): number[] {
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v = Math.floor(v / 128);
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export interface FunctionType {
  params: number[];
  results: number[];
}

export interface ModuleDescription {
  /** Module name of every import. */
  importModule: string;
  /** The imported shared memory: its name and size in 64 KiB pages (initial = maximum). */
  memory: { name: string; pages: number };
  /** Imported functions, called by index in this order. */
  imports: { name: string; type: FunctionType }[];
  /** The one function the module defines, exported as `exportName`. */
  exportName: string;
  type: FunctionType;
  /** Local declarations after the parameters, as [count, type] runs. */
  locals: [number, number][];
  /** The body's instructions, without the final `end`. */
  body: number[];
}

/** The bytes of a module as described: for `new WebAssembly.Module`. */
export function encodeModule(d: ModuleDescription): Uint8Array {
  const types = [...d.imports.map((i) => i.type), d.type];
  const typeSection = vector(types.map((t) => [0x60, ...vector(t.params.map((p) => [p])), ...vector(t.results.map((r) => [r]))]));
  // Memory limits flag 3: a maximum is given, and the memory is shared.
  const memoryImport = [...name(d.importModule), ...name(d.memory.name), 0x02, 0x03, ...uleb(d.memory.pages), ...uleb(d.memory.pages)];
  const functionImports = d.imports.map((imp, i) => [...name(d.importModule), ...name(imp.name), 0x00, ...uleb(i)]);
  const importSection = vector([memoryImport, ...functionImports]);
  const functionSection = vector([uleb(d.imports.length)]);
  const exportSection = vector([[...name(d.exportName), 0x00, ...uleb(d.imports.length)]]);
  const locals = vector(d.locals.map(([count, type]) => [...uleb(count), type]));
  const body = [...locals, ...d.body, Op.end];
  const codeSection = vector([[...uleb(body.length), ...body]]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, typeSection),
    ...section(2, importSection),
    ...section(3, functionSection),
    ...section(7, exportSection),
    ...section(10, codeSection),
  ];
  return Uint8Array.from(bytes);
}
