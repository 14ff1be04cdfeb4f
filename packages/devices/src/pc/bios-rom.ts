/**
 * A firmware image mapped as read-only memory, where a PC's chipset decodes the BIOS flash:
 * at the top of the 4 GiB space, so that the reset vector at 0xFFFFFFF0 (SDM Vol. 3, 9.1.4
 * "First Instruction Executed": CS base 0xFFFF0000, EIP 0xFFF0) lands in its last 16 bytes;
 * and its last 128 KiB (all of it when smaller) again just below 1 MiB, where real-mode code
 * reaches it once the first far jump reloads CS with a 20-bit base (PIIX4 datasheet, 3.2
 * "BIOS memory space": the 0xE0000-0xFFFFF "isa-bios" window; QEMU's pc_system_flash_map
 * does the same aliasing). A 64 KiB image is thus at 0xF0000 and 0xFFFF0000, a 128 KiB one
 * at 0xE0000 and 0xFFFE0000, as test386.asm's README asks.
 *
 * The device sits on the MMIO bus: reads return the image, writes are ignored and counted
 * (a guest that writes its ROM is buggy or probing, never fatal). Its only state is that
 * counter, a debugging figure, so it is not Persistable: the image comes from the command
 * line again on restore.
 */
import type { AccessSize, IoDevice, RamRegion } from '../platform/index.js';
import { MachineConfigError } from './errors.js';
import { BIOS_ROM_ALIAS_SIZE, FOUR_GIB, HIGH_MEMORY_START, KiB } from './layout.js';

/** Images are whole 64 KiB blocks (the real-mode segment a reset vector's far jump targets). */
export const BIOS_ROM_GRANULE = 64 * KiB;
/** The part of the image also decoded below 1 MiB (PIIX "isa-bios": 0xE0000-0xFFFFF at most). */
export const BIOS_ROM_LOW_WINDOW = 128 * KiB;
/** Largest image: the firmware area reserved below 4 GiB. */
export const BIOS_ROM_MAX_SIZE = BIOS_ROM_ALIAS_SIZE;

/** Where an image of a given size is decoded. */
export interface BiosRomLayout {
  /** Guest-physical base of the full image below 4 GiB (4 GiB - size). */
  readonly highBase: number;
  /** Guest-physical base of the low window (1 MiB - min(size, 128 KiB)). */
  readonly lowBase: number;
  /** Bytes in the low window (the image's last ones). */
  readonly lowSize: number;
}

/** The layout of an image of `size` bytes; a MachineConfigError when no PC could map it. */
export function biosRomLayout(size: number): BiosRomLayout {
  if (!Number.isSafeInteger(size) || size <= 0 || size % BIOS_ROM_GRANULE !== 0 || size > BIOS_ROM_MAX_SIZE) {
    throw new MachineConfigError(
      `BIOS image of ${size} bytes: it must be a whole number of 64 KiB blocks, at most ${BIOS_ROM_MAX_SIZE / KiB} KiB`,
    );
  }
  const lowSize = Math.min(size, BIOS_ROM_LOW_WINDOW);
  return { highBase: FOUR_GIB - size, lowBase: HIGH_MEMORY_START - lowSize, lowSize };
}

/**
 * The RAM regions left once the low window is taken out of them: the window's RAM bytes
 * stay in the backing (unused), as shadow RAM does on a chipset with shadowing off.
 */
export function ramRegionsWithoutBios(regions: readonly RamRegion[], layout: BiosRomLayout): RamRegion[] {
  const start = layout.lowBase;
  const end = start + layout.lowSize;
  const out: RamRegion[] = [];
  for (const r of regions) {
    const rEnd = r.gpa + r.size;
    if (rEnd <= start || r.gpa >= end) {
      out.push(r);
      continue;
    }
    if (r.gpa < start) out.push({ gpa: r.gpa, size: start - r.gpa, offset: r.offset });
    if (rEnd > end) out.push({ gpa: end, size: rEnd - end, offset: r.offset + (end - r.gpa) });
  }
  return out;
}

/** One mapping of the image (the low window or the high alias): offset 0 is `skip` bytes in. */
export class BiosRom implements IoDevice {
  readonly name: string;
  /** Guest writes that were dropped (ROM). */
  ignoredWrites = 0;
  private readonly view: DataView;

  constructor(
    private readonly image: Uint8Array,
    /** Image bytes before this window (the low window maps the image's tail). */
    private readonly skip = 0,
    name = 'bios-rom',
  ) {
    this.name = name;
    this.view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  }

  /** Bytes this window shows. */
  get size(): number {
    return this.image.length - this.skip;
  }

  read(offset: number, size: AccessSize): number {
    const at = this.skip + offset;
    if (at + size > this.image.length) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    return size === 1 ? this.image[at] : size === 2 ? this.view.getUint16(at, true) : this.view.getUint32(at, true);
  }

  write(_offset: number, _size: AccessSize, _value: number): void {
    this.ignoredWrites++;
  }
}
