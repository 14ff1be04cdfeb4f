/**
 * POST code port 0x80: firmware writes its progress codes here, which a POST card on the
 * ISA bus shows on a display. tsemu records them for debugging boot failures: the last
 * code, a bounded history and a total count, plus an optional callback.
 *
 * Reads return the last code written, as many chipsets do (they latch the port for the
 * POST card; an empty ISA bus would read 0xFF, which we return before any write).
 * Linux writes this port as a ~1 us I/O delay (outb_p / io_delay), so a write does
 * nothing but store a byte and bump counters.
 */
import { z } from 'zod';
import type { AccessSize, IoDevice, Persistable } from './platform/index.js';

export const POST_CODE_PORT = 0x80;
export const POST_CODE_HISTORY_DEFAULT = 4096;

export const postCodePortStateSchema = z.object({
  version: z.literal(1),
  lastCode: z.number().int().min(0).max(0xff).nullable(),
  count: z.number().int().min(0),
  /** The most recent codes, oldest first. */
  history: z.array(z.number().int().min(0).max(0xff)),
});
export type PostCodePortState = z.infer<typeof postCodePortStateSchema>;

export interface PostCodePortOptions {
  name?: string;
  /** How many recent codes to keep; default 4096. */
  historySize?: number;
  /** Called with each code written; must be cheap (Linux writes the port as a delay). */
  onCode?: (code: number) => void;
}

export class PostCodePort implements IoDevice, Persistable<PostCodePortState> {
  readonly name: string;
  readonly persistKey: string;
  /** Codes written since creation (or restore), including those the history dropped. */
  count = 0;
  /** The last code written, or null before the first write. */
  lastCode: number | null = null;

  private readonly ring: Uint8Array;
  private next = 0;
  /** Entries of the ring that hold codes. */
  private filled = 0;
  private readonly onCode: ((code: number) => void) | undefined;

  constructor(options: PostCodePortOptions = {}) {
    this.name = options.name ?? 'post-code-port';
    this.persistKey = this.name;
    const size = options.historySize ?? POST_CODE_HISTORY_DEFAULT;
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`invalid POST code history size ${size}`);
    this.ring = new Uint8Array(size);
    this.onCode = options.onCode;
  }

  read(_offset: number, _size: AccessSize): number {
    return this.lastCode ?? 0xff;
  }

  write(_offset: number, _size: AccessSize, value: number): void {
    const code = value & 0xff;
    this.ring[this.next] = code;
    if (++this.next === this.ring.length) this.next = 0;
    if (this.filled < this.ring.length) this.filled++;
    this.count++;
    this.lastCode = code;
    this.onCode?.(code);
  }

  /** The most recent codes (at most historySize), oldest first. */
  history(): Uint8Array {
    const size = this.ring.length;
    if (this.filled < size) return this.ring.slice(0, this.filled);
    const out = new Uint8Array(size);
    out.set(this.ring.subarray(this.next), 0);
    out.set(this.ring.subarray(0, this.next), size - this.next);
    return out;
  }

  save(): PostCodePortState {
    return { version: 1, lastCode: this.lastCode, count: this.count, history: Array.from(this.history()) };
  }

  restore(state: PostCodePortState): void {
    const s = postCodePortStateSchema.parse(state);
    const kept = s.history.slice(-this.ring.length);
    this.ring.fill(0);
    this.ring.set(kept);
    this.next = kept.length % this.ring.length;
    this.filled = kept.length;
    this.lastCode = s.lastCode;
    this.count = Math.max(s.count, kept.length);
  }
}
