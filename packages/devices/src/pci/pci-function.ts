/**
 * One PCI function's type-0 configuration space (PCI Local Bus Specification 3.0, 6.1-6.2):
 * 256 bytes, the identification registers read-only, the Command register's enable bits
 * writable, and up to six Base Address Registers that a driver sizes by writing all ones and
 * reading back (6.2.5.1: the low bits of a BAR read as zero up to its size, bit 0 says I/O).
 *
 * A function reports where its BARs decode through `onMapChange`, called whenever a BAR or the
 * Command register's I/O Space / Memory Space bits change, so the bus can (un)map its windows.
 */
import { z } from 'zod';
import type { AccessSize } from '../platform/index.js';

/** Configuration register offsets (PCI 3.0, Figure 6-1). */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_CONFIG_SIZE = 0x100;

/** Command register bits. */
export const PCI_COMMAND_IO = 1 << 0;
export const PCI_COMMAND_MEMORY = 1 << 1;
export const PCI_COMMAND_MASTER = 1 << 2;
export const PCI_COMMAND_INTX_DISABLE = 1 << 10;
/** BAR bit 0: the BAR decodes I/O space. */
export const PCI_BASE_ADDRESS_SPACE_IO = 1;

export interface PciBarSpec {
  kind: 'io' | 'mem32';
  /** A power of two: at least 4 for I/O, 16 for memory. */
  size: number;
}

export interface PciFunctionIdentity {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Base class, subclass and programming interface, as the 24-bit class code (0x060000: host bridge). */
  classCode: number;
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** INTx pin: 0 none, 1-4 INTA#-INTD#. */
  interruptPin?: number;
}

/** Where one BAR decodes now, or null when it is off (its space disabled in Command, or unassigned). */
export type PciBarMapping = { index: number; kind: 'io' | 'mem32'; base: number; size: number } | null;

export const pciFunctionStateSchema = z.object({
  version: z.literal(1),
  /** The 256 configuration bytes, two hex digits each. */
  config: z.string().regex(/^[0-9a-f]*$/).length(2 * PCI_CONFIG_SIZE),
});
export type PciFunctionState = z.infer<typeof pciFunctionStateSchema>;

export class PciFunction {
  readonly config = new Uint8Array(PCI_CONFIG_SIZE);
  /** Bits a configuration write may change. */
  private readonly writable = new Uint8Array(PCI_CONFIG_SIZE);
  readonly bars: readonly (PciBarSpec | null)[];
  /** Told each BAR's decoding whenever it may have changed. */
  onMapChange: ((mappings: readonly PciBarMapping[]) => void) | null = null;

  constructor(readonly name: string, identity: PciFunctionIdentity, bars: readonly (PciBarSpec | null)[] = []) {
    if (bars.length > 6) throw new RangeError('a type-0 PCI function has at most six BARs');
    for (const b of bars) {
      if (b === null) continue;
      const min = b.kind === 'io' ? 4 : 16;
      if (b.size < min || (b.size & (b.size - 1)) !== 0) throw new RangeError(`${name}: BAR size ${b.size} is not a power of two >= ${min}`);
    }
    this.bars = [...bars];
    const c = new DataView(this.config.buffer);
    c.setUint16(PCI_VENDOR_ID, identity.vendorId, true);
    c.setUint16(PCI_DEVICE_ID, identity.deviceId, true);
    c.setUint8(PCI_REVISION_ID, identity.revision);
    c.setUint8(PCI_CLASS_PROG, identity.classCode & 0xff);
    c.setUint16(PCI_CLASS_DEVICE, identity.classCode >>> 8, true);
    c.setUint8(PCI_HEADER_TYPE, identity.headerType ?? 0);
    c.setUint16(PCI_SUBSYSTEM_VENDOR_ID, identity.subsystemVendorId ?? 0, true);
    c.setUint16(PCI_SUBSYSTEM_VENDOR_ID + 2, identity.subsystemId ?? 0, true);
    c.setUint8(PCI_INTERRUPT_PIN, identity.interruptPin ?? 0);
    // Command: I/O, Memory, Bus Master, INTx Disable (6.2.2); Interrupt Line is scratch for software.
    const command = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
    this.writable[PCI_COMMAND] = command & 0xff;
    this.writable[PCI_COMMAND + 1] = command >> 8;
    this.writable[PCI_INTERRUPT_LINE] = 0xff;
    this.bars.forEach((b, i) => {
      if (b === null) return;
      const at = PCI_BASE_ADDRESS_0 + 4 * i;
      const mask = ~(b.size - 1) >>> 0;
      c.setUint32(at, b.kind === 'io' ? PCI_BASE_ADDRESS_SPACE_IO : 0, true);
      for (let k = 0; k < 4; k++) this.writable[at + k] = (mask >>> (8 * k)) & 0xff;
    });
  }

  read(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i < PCI_CONFIG_SIZE ? this.config[offset + i] : 0xff);
    return v >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    let touchesMap = false;
    for (let i = 0; i < size && offset + i < PCI_CONFIG_SIZE; i++) {
      const at = offset + i;
      const w = this.writable[at];
      if (w === 0) continue;
      this.config[at] = (this.config[at] & ~w) | ((value >>> (8 * i)) & w);
      if (at === PCI_COMMAND || (at >= PCI_BASE_ADDRESS_0 && at < PCI_BASE_ADDRESS_0 + 24)) touchesMap = true;
    }
    if (touchesMap) this.onMapChange?.(this.mappings());
  }

  /** Firmware's job: place BAR `index` at `base` (aligned to its size). */
  assignBar(index: number, base: number): void {
    const b = this.bars[index];
    if (!b) throw new RangeError(`${this.name} has no BAR ${index}`);
    if (base % b.size !== 0) throw new RangeError(`${this.name}: BAR ${index} base 0x${base.toString(16)} is not aligned to its size`);
    this.write(PCI_BASE_ADDRESS_0 + 4 * index, 4, base);
  }

  command(): number {
    return this.config[PCI_COMMAND] | (this.config[PCI_COMMAND + 1] << 8);
  }

  /** Where each BAR decodes now. An all-ones (sizing) or zero base is not decoded. */
  mappings(): PciBarMapping[] {
    const cmd = this.command();
    return this.bars.map((b, index) => {
      if (b === null) return null;
      const raw = new DataView(this.config.buffer).getUint32(PCI_BASE_ADDRESS_0 + 4 * index, true);
      const base = (raw & ~(b.size - 1) & (b.kind === 'io' ? 0xfffc : 0xfffffff0)) >>> 0;
      const enabled = b.kind === 'io' ? (cmd & PCI_COMMAND_IO) !== 0 : (cmd & PCI_COMMAND_MEMORY) !== 0;
      const sizing = base === (~(b.size - 1) & (b.kind === 'io' ? 0xfffc : 0xfffffff0)) >>> 0;
      if (!enabled || base === 0 || sizing) return null;
      return { index, kind: b.kind, base, size: b.size };
    });
  }

  save(): PciFunctionState {
    return { version: 1, config: Array.from(this.config, (b) => b.toString(16).padStart(2, '0')).join('') };
  }

  restore(state: PciFunctionState): void {
    const s = pciFunctionStateSchema.parse(state);
    for (let i = 0; i < PCI_CONFIG_SIZE; i++) this.config[i] = Number.parseInt(s.config.slice(2 * i, 2 * i + 2), 16);
    this.onMapChange?.(this.mappings());
  }
}
