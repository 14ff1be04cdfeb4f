/**
 * The request/response mailbox between a vCPU worker and the main thread, where the
 * device models live. One SharedArrayBuffer per vCPU; one request in flight at a time.
 *
 * The worker writes a request (operation, port or address, size, count, data), bumps
 * REQUEST and blocks in Atomics.wait on RESPONSE. The main thread is woken by
 * Atomics.waitAsync on REQUEST (it never blocks), serves the request against its buses,
 * writes the answer, sets RESPONSE to the request's number and notifies. KVM holds the
 * vCPU at the exiting instruction meanwhile, so the guest sees a synchronous access.
 *
 * Waking a sleeping thread is what costs here: measured on this host, a ping-pong where
 * both sides sleep between requests takes 5-65 us a round trip (an idle CPU has to be
 * woken, and on a virtual machine that goes through the hypervisor), while one where
 * both poll takes about 2 us. Guests access devices in bursts (a string to the UART, a
 * disk sector through a data port), so each side polls briefly before it sleeps: the
 * worker for its answer (workerSpinUs), the main thread for the next request
 * (serverSpinUs). The main thread's polling is bounded: after serverSliceUs of
 * back-to-back requests it yields to the event loop (timers, stdio) before going on.
 * With a single CPU polling would only steal time from the other side, so it is off.
 */
import type { AccessSize, MachineEvent } from '@tsemu/devices/platform';
import type { IoExit, MmioExit } from './exit-dispatch.js';
import { availableParallelism } from 'node:os';
import { waitForChange } from './wait-async.js';

export interface MailboxTiming {
  /** Worker: poll for the answer this long before sleeping in Atomics.wait. */
  workerSpinUs: number;
  /** Main thread: after an answer, poll for the next request this long before awaiting. */
  serverSpinUs: number;
  /** Main thread: serve back-to-back requests at most this long, then yield to the event loop. */
  serverSliceUs: number;
}

export function defaultMailboxTiming(): MailboxTiming {
  return availableParallelism() >= 2
    ? { workerSpinUs: 50, serverSpinUs: 100, serverSliceUs: 2000 }
    : { workerSpinUs: 0, serverSpinUs: 0, serverSliceUs: 2000 };
}

export const MailboxOp = {
  PIO_IN: 1,
  PIO_OUT: 2,
  MMIO_READ: 3,
  MMIO_WRITE: 4,
  /** INTA cycle with the user-space PIC: the answer is the vector, or -1 for none. */
  INTA: 5,
  /** A MachineEvent for binding.onEvent (triple fault, failed entry ...). */
  EVENT: 6,
} as const;

const I = { REQUEST: 0, RESPONSE: 1, OP: 2, SIZE: 3, COUNT: 4, PORT: 5, RESULT: 6, EVENT_KIND: 7, EVENT_STATUS: 8, TEXT_LENGTH: 9 } as const;
const HEADER_WORDS = 16;
const ADDRESS_BYTE = HEADER_WORDS * 4;
const DATA_BYTE = ADDRESS_BYTE + 8;
/** KVM's port-I/O data area is one page; event texts are cut to fit too. */
export const MAILBOX_DATA_BYTES = 4096;

const EVENT_KINDS = ['exit', 'reset', 'fatal'] as const;

export class Mailbox {
  readonly words: Int32Array;
  readonly data: Uint8Array;
  readonly address: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    /** Worker side: how long call() polls before it sleeps. */
    private readonly spinUs = 0,
  ) {
    this.words = new Int32Array(buffer, 0, HEADER_WORDS);
    this.address = new Float64Array(buffer, ADDRESS_BYTE, 1);
    this.data = new Uint8Array(buffer, DATA_BYTE, MAILBOX_DATA_BYTES);
  }

  static create(): Mailbox {
    return new Mailbox(new SharedArrayBuffer(DATA_BYTE + MAILBOX_DATA_BYTES));
  }

  // Worker side: each call blocks until the main thread has answered.

  /** Forwards a whole IO exit (all `count` accesses); IN data is copied back into the exit. */
  pio(exit: IoExit): void {
    const bytes = exit.data.length;
    if (bytes > MAILBOX_DATA_BYTES) throw new RangeError(`port I/O of ${bytes} bytes exceeds the ${MAILBOX_DATA_BYTES}-byte mailbox`);
    this.words[I.OP] = exit.direction === 'out' ? MailboxOp.PIO_OUT : MailboxOp.PIO_IN;
    this.words[I.PORT] = exit.port;
    this.words[I.SIZE] = exit.size;
    this.words[I.COUNT] = exit.count;
    if (exit.direction === 'out') this.data.set(exit.data);
    this.call();
    if (exit.direction === 'in') exit.data.set(this.data.subarray(0, bytes));
  }

  mmio(exit: MmioExit): void {
    this.words[I.OP] = exit.direction === 'write' ? MailboxOp.MMIO_WRITE : MailboxOp.MMIO_READ;
    this.address[0] = exit.address;
    this.words[I.SIZE] = exit.data.length;
    if (exit.direction === 'write') this.data.set(exit.data);
    this.call();
    if (exit.direction === 'read') exit.data.set(this.data.subarray(0, exit.data.length));
  }

  inta(): number {
    this.words[I.OP] = MailboxOp.INTA;
    this.call();
    return this.words[I.RESULT];
  }

  event(event: MachineEvent): void {
    this.words[I.OP] = MailboxOp.EVENT;
    this.words[I.EVENT_KIND] = EVENT_KINDS.indexOf(event.kind);
    this.words[I.EVENT_STATUS] = event.kind === 'exit' ? event.status : 0;
    const text = new TextEncoder().encode(event.kind === 'fatal' ? event.message : event.reason);
    const n = Math.min(text.length, MAILBOX_DATA_BYTES);
    this.data.set(text.subarray(0, n));
    this.words[I.TEXT_LENGTH] = n;
    this.call();
  }

  private call(): void {
    const seq = (Atomics.load(this.words, I.REQUEST) + 1) | 0;
    Atomics.store(this.words, I.REQUEST, seq);
    Atomics.notify(this.words, I.REQUEST);
    if (this.spinUs > 0) {
      const until = performance.now() + this.spinUs / 1000;
      do {
        if (Atomics.load(this.words, I.RESPONSE) === seq) return;
      } while (performance.now() < until);
    }
    for (;;) {
      const answered = Atomics.load(this.words, I.RESPONSE);
      if (answered === seq) return;
      Atomics.wait(this.words, I.RESPONSE, answered);
    }
  }
}

/** What the main thread does with each request. */
export interface MailboxHandlers {
  pio(exit: IoExit): void;
  mmio(exit: MmioExit): void;
  /** The vector to inject, or -1 when no interrupt is pending any more. */
  inta(): number;
  /** Called after the worker was released, so a handler may pause() and reset the vCPU. */
  event(event: MachineEvent): void;
  /** After every answered request (bus layout and interrupt line checks). */
  afterServe(): void;
  /** A handler threw: the access was answered with all ones; report it. */
  error(e: unknown): void;
}

/** The main-thread end: serves requests as they come, without ever blocking. */
export class MailboxServer {
  private stopped = false;
  /** True while a request is being served (the worker is blocked in the mailbox). */
  serving = false;

  constructor(
    private readonly box: Mailbox,
    private readonly handlers: MailboxHandlers,
    private readonly timing: MailboxTiming = defaultMailboxTiming(),
  ) {}

  /** Runs until stop(); the promise settles when the loop has ended. */
  async run(): Promise<void> {
    const w = this.box.words;
    let seen = Atomics.load(w, I.REQUEST);
    while (!this.stopped) {
      await waitForChange(w, I.REQUEST, seen);
      let sliceStart = performance.now();
      for (;;) {
        const current = Atomics.load(w, I.REQUEST);
        if (this.stopped) return;
        if (current === seen) {
          if (!this.pollForRequest(seen)) break;
          continue;
        }
        seen = current;
        const event = this.serve();
        Atomics.store(w, I.RESPONSE, current);
        Atomics.notify(w, I.RESPONSE);
        if (event) this.handlers.event(event);
        if (performance.now() - sliceStart > this.timing.serverSliceUs / 1000) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    }
  }

  /** Polls up to serverSpinUs for a request after `seen`; true if one came. */
  private pollForRequest(seen: number): boolean {
    if (this.timing.serverSpinUs <= 0) return false;
    const w = this.box.words;
    const until = performance.now() + this.timing.serverSpinUs / 1000;
    do {
      if (Atomics.load(w, I.REQUEST) !== seen || this.stopped) return true;
    } while (performance.now() < until);
    return false;
  }

  stop(): void {
    this.stopped = true;
    // Wake our own waitAsync so run() returns.
    Atomics.notify(this.box.words, I.REQUEST);
  }

  /** Serves the current request in place; returns an event to deliver after answering. */
  private serve(): MachineEvent | null {
    const { words, data } = this.box;
    const op = words[I.OP];
    this.serving = true;
    try {
      switch (op) {
        case MailboxOp.PIO_IN:
        case MailboxOp.PIO_OUT: {
          const size = words[I.SIZE] as AccessSize;
          const count = words[I.COUNT];
          const exit: IoExit = {
            kind: 'io', direction: op === MailboxOp.PIO_OUT ? 'out' : 'in', port: words[I.PORT], size, count,
            data: data.subarray(0, Math.min(size * count, MAILBOX_DATA_BYTES)),
          };
          // Whatever a handler leaves unwritten reads as a floating bus.
          if (op === MailboxOp.PIO_IN) exit.data.fill(0xff);
          this.handlers.pio(exit);
          break;
        }
        case MailboxOp.MMIO_READ:
        case MailboxOp.MMIO_WRITE: {
          const exit: MmioExit = {
            kind: 'mmio', direction: op === MailboxOp.MMIO_WRITE ? 'write' : 'read',
            address: this.box.address[0], data: data.subarray(0, Math.min(words[I.SIZE], 8)),
          };
          if (op === MailboxOp.MMIO_READ) exit.data.fill(0xff);
          this.handlers.mmio(exit);
          break;
        }
        case MailboxOp.INTA:
          words[I.RESULT] = this.handlers.inta();
          break;
        case MailboxOp.EVENT: {
          const text = new TextDecoder().decode(data.slice(0, words[I.TEXT_LENGTH]));
          const kind = EVENT_KINDS[words[I.EVENT_KIND]] ?? 'fatal';
          if (kind === 'exit') return { kind, status: words[I.EVENT_STATUS], reason: text };
          if (kind === 'reset') return { kind, reason: text };
          return { kind: 'fatal', message: text };
        }
      }
      this.handlers.afterServe();
    } catch (e) {
      // A device model must not throw; if one does, the guest still gets an answer.
      if (op === MailboxOp.PIO_IN || op === MailboxOp.MMIO_READ) data.fill(0xff, 0, MAILBOX_DATA_BYTES);
      if (op === MailboxOp.INTA) words[I.RESULT] = -1;
      this.handlers.error(e);
    } finally {
      this.serving = false;
    }
    return null;
  }
}
