/**
 * The general-purpose registers of the software CPU, laid out for the hot path.
 *
 * The low 32 bits of the 16 registers sit in one Int32Array; 8- and 16-bit views alias
 * the same bytes, so AL, AX and EAX are one storage and partial writes merge for free
 * (little-endian, as the host: AL = r8[0], AH = r8[1], AX = r16[0], ECX = r32[1] ...).
 * The high halves of RAX..R15 sit in a second array, touched only by 64-bit code.
 * Values are never BigInt here; CpuState conversion is the only place that is.
 */
export class GprFile {
  readonly r32 = new Int32Array(16);
  readonly hi = new Int32Array(16);
  /** r16[2 * n] is the low word of register n. */
  readonly r16 = new Uint16Array(this.r32.buffer);
  /** r8[4 * n] is the low byte of register n; r8[4 * n + 1] is AH, CH, DH, BH for n < 4. */
  readonly r8 = new Uint8Array(this.r32.buffer);

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
