/**
 * The general-purpose registers of the software CPU, laid out for the hot path.
 *
 * The low 32 bits of the 16 registers sit in one Int32Array; 8- and 16-bit views alias
 * the same bytes, so AL, AX and EAX are one storage and partial writes merge for free
 * (little-endian, as the host: AL = r8[0], AH = r8[1], AX = r16[0], ECX = r32[1] ...).
 * The high halves of RAX..R15 follow them: `hi[n]` is `r32[16 + n]` (the same storage). 64-bit
 * code reads and writes them through `hi`; a 32-bit write, which clears bits 63:32 in every
 * mode, clears them through r32 (`r32[n | GprSlot.High] = 0`), the array the handler has already loaded:
 * V8 then checks and loads one typed array instead of two (interpreter bench, alternating runs:
 * the multiply-accumulate loop 100.4-101.2 MIPS against 95.7-98.1 with `hi[n] = 0`, the
 * stack-frame loop 89.1-91.2 against 81.9-87.8).
 * Values are never BigInt here; CpuState conversion is the only place that is.
 */
/** Where register n's high half sits in GprFile.r32: `[n | GprSlot.High]` (tsc writes the 16 in). */
export const enum GprSlot {
  High = 16,
}

export class GprFile {
  /** Bytes the file takes when it is placed in a given buffer: r32, then hi. */
  static readonly BYTES = 128;
  /** r32[n] is the low half of register n, r32[n | GprSlot.High] its high half. */
  readonly r32: Int32Array;
  readonly hi: Int32Array;
  /** r16[2 * n] is the low word of register n. */
  readonly r16: Uint16Array;
  /** r8[4 * n] is the low byte of register n; r8[4 * n + 1] is AH, CH, DH, BH for n < 4. */
  readonly r8: Uint8Array;

  /**
   * In a buffer of its own, or at `byteOffset` (4-aligned) of `buffer`: the software CPU puts
   * it in its RAM backing's WebAssembly memory, where WebAssembly translations read and
   * write the registers directly (jit/wasm/).
   */
  constructor(buffer: ArrayBufferLike = new ArrayBuffer(GprFile.BYTES), byteOffset = 0) {
    this.r32 = new Int32Array(buffer, byteOffset, 2 * GprSlot.High);
    this.hi = new Int32Array(buffer, byteOffset + 4 * GprSlot.High, 16);
    this.r16 = new Uint16Array(buffer, byteOffset, 32);
    this.r8 = new Uint8Array(buffer, byteOffset, 64);
  }

  /** Index into r8 of byte register `encoding` (0-15); without REX, 4-7 are AH, CH, DH, BH. */
  static byteIndex(encoding: number, rexPresent: boolean): number {
    return !rexPresent && encoding >= 4 && encoding < 8 ? ((encoding - 4) << 2) | 1 : encoding << 2;
  }

  get64(n: number): bigint {
    return (BigInt(this.hi[n] >>> 0) << 32n) | BigInt(this.r32[n] >>> 0);
  }

  set64(n: number, value: bigint): void {
    this.r32[n] = Number(BigInt.asIntN(32, value));
    this.hi[n] = Number(BigInt.asIntN(32, value >> 32n));
  }
}
