/**
 * ACPI table plumbing (ACPI 6.5 spec, 5.2.6 "System Description Table Header"): the 36-byte
 * header every table but the RSDP and FACS starts with, and the checksum rule (all bytes of a
 * table sum to zero modulo 256).
 */

export const SDT_HEADER_LENGTH = 36;
export const OEM_ID = 'TSEMU ';
export const OEM_TABLE_ID = 'TSEMUPC ';
export const CREATOR_ID = 'TSEM';

/** A little-endian byte builder for table bodies. */
export class TableBytes {
  private bytes: number[] = [];

  get length(): number {
    return this.bytes.length;
  }
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number): this {
    return this.u32(v >>> 0).u32(Math.floor(v / 0x100000000));
  }
  ascii(s: string, length: number): this {
    if (s.length !== length) throw new Error(`ACPI: '${s}' must be ${length} characters`);
    for (let i = 0; i < length; i++) this.u8(s.charCodeAt(i));
    return this;
  }
  raw(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.u8(data[i]);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }
  toArray(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Sets byte `at` so that bytes [start, end) sum to zero. */
export function fixChecksum(table: Uint8Array, at: number, start = 0, end = table.length): void {
  table[at] = 0;
  let sum = 0;
  for (let i = start; i < end; i++) sum += table[i];
  table[at] = (256 - (sum & 0xff)) & 0xff;
}

/** A complete table: header (signature, length, revision, checksum, OEM fields) + body. */
export function sdt(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const h = new TableBytes()
    .ascii(signature, 4)
    .u32(SDT_HEADER_LENGTH + body.length)
    .u8(revision)
    .u8(0)
    .ascii(OEM_ID, 6)
    .ascii(OEM_TABLE_ID, 8)
    .u32(1)
    .ascii(CREATOR_ID, 4)
    .u32(1)
    .raw(body)
    .toArray();
  fixChecksum(h, 9);
  return h;
}
