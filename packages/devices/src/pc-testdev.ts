/**
 * QEMU's x86 ISA test device, `-device pc-testdev` (QEMU hw/misc/pc-testdev.c), which
 * kvm-unit-tests' x86 tests use to check port and MMIO emulation and to drive interrupt lines.
 * Its windows, as QEMU places them:
 *
 * - ports 0xE0-0xE3: a 32-bit scratch register. An access of any size at any offset reads or
 *   writes the byte lanes it covers (`in al, 0xe1` reads bits 15:8).
 * - ports 0xE4-0xE7: "flush page". QEMU remaps the host page behind the guest-physical address
 *   written (32-bit writes only) so KVM must fault it in again; nothing a guest can observe
 *   changes, so here a write is only counted. Reads are 0.
 * - ports 0xE8-0xEB: the same scratch register, reached one byte at a time (QEMU splits wider
 *   accesses into bytes there; the result is the same as through 0xE0).
 * - ports 0x2000-0x2017: one port per interrupt line 0-23; a byte written sets that line's level
 *   (non-zero: high). Reads are 0. Lines 0-15 are the ISA IRQs; QEMU routes 16-23 to IOAPIC pins.
 * - MMIO 0xFF000000-0xFF00FFFF: 64 KiB of scratch memory, little-endian, any access size.
 *
 * The machine adds it only when asked (`--device pc-testdev`); it is not part of a PC.
 */
import { z } from 'zod';
import type { AccessSize, IoDevice, IrqLine, Persistable } from './platform/index.js';

export const PC_TESTDEV_PORT_SCRATCH = 0xe0;
export const PC_TESTDEV_PORT_FLUSH = 0xe4;
export const PC_TESTDEV_PORT_SCRATCH_BYTES = 0xe8;
export const PC_TESTDEV_PORT_COUNT = 4;
export const PC_TESTDEV_PORT_IRQ = 0x2000;
export const PC_TESTDEV_IRQ_LINES = 24;
export const PC_TESTDEV_IOMEM_BASE = 0xff000000;
export const PC_TESTDEV_IOMEM_SIZE = 0x10000;

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

export const pcTestdevStateSchema = z.object({
  version: z.literal(1),
  scratch: z.number().int().min(0).max(0xffffffff),
  /** Levels of the 24 interrupt lines, as last written. */
  irqLevels: z.array(z.boolean()).length(PC_TESTDEV_IRQ_LINES),
  /** The 64 KiB MMIO scratch memory, two hex digits a byte. */
  iomem: z.string().regex(/^[0-9a-f]*$/).length(2 * PC_TESTDEV_IOMEM_SIZE),
});
export type PcTestdevState = z.infer<typeof pcTestdevStateSchema>;

export interface PcTestdevOptions {
  /** Interrupt lines 0..n-1 (n <= 24) the 0x2000 ports drive; a write to a line not given is counted. */
  irqs: readonly IrqLine[];
}

export interface PcTestdevCounters {
  flushPageWrites: number;
  /** Writes to an interrupt line the machine did not connect. */
  unconnectedIrqWrites: number;
  /** Accesses of a size the window does not take (flush: 32-bit only). */
  badSize: number;
}

function toHex(bytes: Uint8Array): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = bytes[i].toString(16).padStart(2, '0');
  return parts.join('');
}

/** One of the device's windows as a bus device; the machine registers each at its base. */
class Window implements IoDevice {
  constructor(
    readonly name: string,
    readonly read: (offset: number, size: AccessSize) => number,
    readonly write: (offset: number, size: AccessSize, value: number) => void,
  ) {}
}

export class PcTestdev implements Persistable<PcTestdevState> {
  readonly persistKey = 'pc-testdev';
  readonly counters: PcTestdevCounters = { flushPageWrites: 0, unconnectedIrqWrites: 0, badSize: 0 };
  /** The last guest-physical page a flush was asked for (for tests and traces), or null. */
  lastFlushedPage: number | null = null;

  /** Ports 0xE0-0xE3; register with access sizes [1, 2, 4]. */
  readonly scratchPort: IoDevice;
  /** Ports 0xE4-0xE7; register with access sizes [1, 2, 4] (non-32-bit accesses are counted). */
  readonly flushPort: IoDevice;
  /** Ports 0xE8-0xEB; register with access size [1] (the bus splits wider accesses). */
  readonly scratchBytePort: IoDevice;
  /** Ports 0x2000-0x2017; register with access size [1]. */
  readonly irqPort: IoDevice;
  /** MMIO 0xFF000000, 64 KiB; register with access sizes [1, 2, 4]. */
  readonly iomem: IoDevice;

  private scratch = 0;
  private readonly irqLevels = new Array<boolean>(PC_TESTDEV_IRQ_LINES).fill(false);
  private readonly memory = new Uint8Array(PC_TESTDEV_IOMEM_SIZE);
  private readonly irqs: readonly IrqLine[];

  constructor(options: PcTestdevOptions) {
    if (options.irqs.length > PC_TESTDEV_IRQ_LINES) throw new RangeError(`pc-testdev drives at most ${PC_TESTDEV_IRQ_LINES} interrupt lines`);
    this.irqs = options.irqs;
    this.scratchPort = new Window('pc-testdev-ioport', (o, s) => this.readScratch(o, s), (o, s, v) => this.writeScratch(o, s, v));
    this.scratchBytePort = new Window('pc-testdev-ioport-byte', (o, s) => this.readScratch(o, s), (o, s, v) => this.writeScratch(o, s, v));
    this.flushPort = new Window('pc-testdev-flush-page', () => 0, (o, s, v) => this.flushPage(o, s, v));
    this.irqPort = new Window('pc-testdev-irq-line', () => 0, (o, _s, v) => this.setIrq(o, v));
    this.iomem = new Window('pc-testdev-iomem', (o, s) => this.readMemory(o, s), (o, s, v) => this.writeMemory(o, s, v));
  }

  /** Power-on: QEMU's device has no reset handler, so the scratch state survives a reset there too. */
  reset(): void {}

  private readScratch(offset: number, size: AccessSize): number {
    const shift = (offset & 3) * 8;
    return ((this.scratch >>> shift) & SIZE_MASK[size]) >>> 0;
  }

  private writeScratch(offset: number, size: AccessSize, value: number): void {
    const shift = (offset & 3) * 8;
    // Lanes past bit 31 (a word at offset 3) fall off, as in QEMU's 32-bit register.
    const mask = (SIZE_MASK[size] << shift) >>> 0;
    this.scratch = ((this.scratch & ~mask) | ((value << shift) & mask)) >>> 0;
  }

  private flushPage(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || offset !== 0) {
      this.counters.badSize++;
      return;
    }
    this.counters.flushPageWrites++;
    this.lastFlushedPage = (value & ~0xfff) >>> 0;
  }

  private setIrq(line: number, value: number): void {
    const high = (value & 0xff) !== 0;
    this.irqLevels[line] = high;
    const irq = this.irqs[line];
    if (irq === undefined) this.counters.unconnectedIrqWrites++;
    else irq.setLevel(high);
  }

  private readMemory(offset: number, size: AccessSize): number {
    const m = this.memory;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i < m.length ? m[offset + i] : 0);
    return v >>> 0;
  }

  private writeMemory(offset: number, size: AccessSize, value: number): void {
    const m = this.memory;
    for (let i = 0; i < size && offset + i < m.length; i++) m[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  save(): PcTestdevState {
    return { version: 1, scratch: this.scratch, irqLevels: [...this.irqLevels], iomem: toHex(this.memory) };
  }

  restore(state: PcTestdevState): void {
    const s = pcTestdevStateSchema.parse(state);
    this.scratch = s.scratch;
    for (let i = 0; i < PC_TESTDEV_IOMEM_SIZE; i++) this.memory[i] = Number.parseInt(s.iomem.slice(2 * i, 2 * i + 2), 16);
    for (let i = 0; i < PC_TESTDEV_IRQ_LINES; i++) {
      this.irqLevels[i] = s.irqLevels[i];
      this.irqs[i]?.setLevel(s.irqLevels[i]);
    }
  }
}
