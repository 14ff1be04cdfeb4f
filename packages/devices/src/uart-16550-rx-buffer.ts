/**
 * Receive-side storage of the 16550A model: the chip's RX FIFO (a ring over its 16
 * bytes; with FIFOs off only one slot, the RBR, is used) and behind it an unbounded
 * host-side queue for input the FIFO has no room for yet, so pasted input is never lost.
 *
 * Kept apart from uart-16550.ts because it is plain ordered buffering with no register
 * semantics: the device decides the usable depth (FCR), whether host input may enter
 * (not during loopback) and what an overrun means; this only keeps the bytes in order.
 */
import { UART_FIFO_SIZE } from './uart-16550-registers.js';

export class UartRxBuffer {
  private readonly fifo = new Uint8Array(UART_FIFO_SIZE);
  private head = 0;
  private count = 0;

  // Host input waiting for FIFO room: chunks consumed from hostOffset in the first one.
  private hostChunks: Uint8Array[] = [];
  private hostOffset = 0;
  private hostQueued = 0;

  /** Bytes in the FIFO (what the guest can read now). */
  get fifoCount(): number {
    return this.count;
  }

  /** Host bytes still waiting behind the FIFO. */
  get hostCount(): number {
    return this.hostQueued;
  }

  /** Appends a byte to the FIFO; the caller has checked there is room. */
  push(value: number): void {
    this.fifo[(this.head + this.count) % UART_FIFO_SIZE] = value;
    this.count++;
  }

  /** Removes and returns the oldest FIFO byte; the caller has checked the FIFO is not empty. */
  shift(): number {
    const value = this.fifo[this.head];
    this.head = (this.head + 1) % UART_FIFO_SIZE;
    this.count--;
    return value;
  }

  /** Replaces the oldest FIFO byte: without FIFOs a new character overwrites the unread RBR. */
  overwriteOldest(value: number): void {
    this.fifo[this.head] = value;
  }

  /** Empties the FIFO (reset, FCR receiver reset); the host queue is kept. */
  clearFifo(): void {
    this.head = 0;
    this.count = 0;
  }

  /**
   * Host input. When `direct` and nothing is queued yet, bytes go straight into the FIFO
   * up to `capacity`; the rest is queued in order behind it.
   */
  receive(bytes: Uint8Array, capacity: number, direct: boolean): void {
    let i = 0;
    if (this.hostQueued === 0 && direct) {
      while (i < bytes.length && this.count < capacity) this.push(bytes[i++]);
    }
    if (i < bytes.length) {
      // Copy: the caller may reuse its buffer.
      this.hostChunks.push(bytes.slice(i));
      this.hostQueued += bytes.length - i;
    }
  }

  /** Moves queued host input into the FIFO while it holds fewer than `capacity` bytes. */
  refill(capacity: number): void {
    while (this.hostQueued > 0 && this.count < capacity) {
      const chunk = this.hostChunks[0];
      this.push(chunk[this.hostOffset++]);
      this.hostQueued--;
      if (this.hostOffset === chunk.length) {
        this.hostChunks.shift();
        this.hostOffset = 0;
      }
    }
  }

  /** The FIFO contents, oldest first. */
  fifoBytes(): number[] {
    const bytes: number[] = [];
    for (let i = 0; i < this.count; i++) bytes.push(this.fifo[(this.head + i) % UART_FIFO_SIZE]);
    return bytes;
  }

  /** The queued host input, oldest first. */
  hostBytes(): number[] {
    const bytes: number[] = [];
    this.hostChunks.forEach((chunk, n) => {
      for (let i = n === 0 ? this.hostOffset : 0; i < chunk.length; i++) bytes.push(chunk[i]);
    });
    return bytes;
  }

  /** Replaces both buffers (snapshot restore); FIFO bytes beyond `capacity` are dropped. */
  load(fifo: readonly number[], host: readonly number[], capacity: number): void {
    this.head = 0;
    this.count = Math.min(fifo.length, capacity);
    this.fifo.set(fifo.slice(0, this.count));
    this.hostChunks = host.length > 0 ? [Uint8Array.from(host)] : [];
    this.hostOffset = 0;
    this.hostQueued = host.length;
  }
}
