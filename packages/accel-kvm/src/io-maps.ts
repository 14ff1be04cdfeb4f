/**
 * Which port and MMIO addresses a device claims, shared with the vCPU workers so that an
 * access nothing claims is answered in the vCPU thread (reads all ones, writes dropped,
 * counted) instead of crossing to the main thread. That saves the cross-thread round
 * trip for the unclaimed ports guests poke all the time (POST code 0x80, probes of absent
 * hardware), which is what keeps a port-I/O exit close to C's cost.
 *
 * Layout (one SharedArrayBuffer): a sequence word, a 64 Kibit bitmap of claimed ports,
 * and a table of MMIO ranges. The main thread rewrites it whenever a bus layout changes;
 * the sequence word is odd while it writes (a seqlock), and a worker that sees it odd or
 * changed forwards the access to the main thread, whose buses are always authoritative.
 */
import type { IoRange } from '@tsemu/devices/platform';

export const PORT_COUNT = 0x10000;
export const MAX_MMIO_RANGES = 256;

const SEQ = 0;
const BITMAP_WORD = 16;
const BITMAP_WORDS = PORT_COUNT / 32;
const MMIO_BYTE = (BITMAP_WORD + BITMAP_WORDS) * 4;
const BYTES = MMIO_BYTE + 8 * (1 + 2 * MAX_MMIO_RANGES);

/** findMmio(): no range and the layout was stable: answer locally. */
export const MMIO_UNCLAIMED = -1;
/** findMmio(): the layout was being rewritten: forward to the main thread to be sure. */
export const MMIO_UNSURE = -2;

export class IoMaps {
  private readonly words: Int32Array;
  private readonly table: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, BITMAP_WORD + BITMAP_WORDS);
    this.table = new Float64Array(buffer, MMIO_BYTE, 1 + 2 * MAX_MMIO_RANGES);
  }

  static create(): IoMaps {
    return new IoMaps(new SharedArrayBuffer(BYTES));
  }

  /** Main thread: publishes the current registrations of both buses. */
  update(ports: readonly IoRange[], mmio: readonly IoRange[]): void {
    if (mmio.length > MAX_MMIO_RANGES) throw new RangeError(`more than ${MAX_MMIO_RANGES} MMIO ranges`);
    Atomics.add(this.words, SEQ, 1);
    this.words.fill(0, BITMAP_WORD);
    for (const r of ports) {
      const end = Math.min(r.base + r.size, PORT_COUNT);
      for (let p = r.base; p < end; p++) this.words[BITMAP_WORD + (p >>> 5)] |= 1 << (p & 31);
    }
    this.table[0] = mmio.length;
    mmio.forEach((r, i) => {
      this.table[1 + 2 * i] = r.base;
      this.table[2 + 2 * i] = r.base + r.size;
    });
    Atomics.add(this.words, SEQ, 1);
  }

  /** Worker: true when a device may claim any byte of [port, port+size) (or when unsure). */
  portClaimed(port: number, size: number): boolean {
    const seq = Atomics.load(this.words, SEQ);
    if (seq & 1) return true;
    let claimed = false;
    for (let i = 0; i < size && !claimed; i++) {
      const p = (port + i) & 0xffff;
      claimed = (this.words[BITMAP_WORD + (p >>> 5)] & (1 << (p & 31))) !== 0;
    }
    return claimed || Atomics.load(this.words, SEQ) !== seq;
  }

  /** Worker: index of the MMIO range overlapping [address, address+length), or MMIO_UNCLAIMED / MMIO_UNSURE. */
  findMmio(address: number, length: number): number {
    const seq = Atomics.load(this.words, SEQ);
    if (seq & 1) return MMIO_UNSURE;
    let found = MMIO_UNCLAIMED;
    const n = this.table[0];
    for (let i = 0; i < n; i++) {
      if (address < this.table[2 + 2 * i] && this.table[1 + 2 * i] < address + length) {
        found = i;
        break;
      }
    }
    return Atomics.load(this.words, SEQ) !== seq ? MMIO_UNSURE : found;
  }
}

/**
 * Remembers a bus layout to notice when it changes. IoBus replaces its range array on
 * unregister and grows it on register, so identity plus length catches both.
 */
export class LayoutWatch {
  private list: readonly IoRange[] | null = null;
  private length = -1;

  changed(current: readonly IoRange[]): boolean {
    if (current === this.list && current.length === this.length) return false;
    this.list = current;
    this.length = current.length;
    return true;
  }
}
