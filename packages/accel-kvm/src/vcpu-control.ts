/**
 * The control block one vCPU worker and the main thread share (an Int32Array over a
 * SharedArrayBuffer). The main thread writes the command; the worker reports its status.
 *
 * Wake-ups go through one counter, WAKE: whoever changes something the worker may be
 * waiting for (the command, the interrupt-pending flag) bumps WAKE and notifies it, and
 * the worker re-checks its condition after loading WAKE and before Atomics.wait on it,
 * so no wake-up is lost. The worker never blocks on anything else except its mailbox.
 */
import { waitForChange } from './wait-async.js';

/** What the main thread wants the vCPU to do. */
export const Command = {
  /** Created, not started yet. */
  IDLE: 0,
  RUN: 1,
  PAUSE: 2,
  STOP: 3,
} as const;

/** What the worker is doing. */
export const Status = {
  STARTING: -1,
  /** Waiting for the first start(). */
  CREATED: 0,
  /** In its run loop (in KVM_RUN, or serving an exit). */
  RUNNING: 1,
  /** Parked by pause(), or after an exit that ended the machine: state is consistent. */
  PARKED: 2,
  /** Waiting in HLT for an interrupt (user-space irqchip only). */
  HALTED: 3,
  STOPPED: 4,
} as const;

export const ControlIndex = {
  COMMAND: 0,
  STATUS: 1,
  WAKE: 2,
  /** User-space irqchip: the PIC asserts INTR (set by the main thread). */
  IRQ_PENDING: 3,
  /** The worker's Linux thread id, the target of the kick signal. */
  TID: 4,
  /** Set by the main thread when it replaced the vCPU state while parked (ends a HLT wait). */
  STATE_REPLACED: 5,
} as const;

const WORDS = 8;

export class VcpuControl {
  constructor(readonly words: Int32Array) {}

  static create(): VcpuControl {
    const c = new VcpuControl(new Int32Array(new SharedArrayBuffer(WORDS * 4)));
    c.words[ControlIndex.STATUS] = Status.STARTING;
    return c;
  }

  get command(): number {
    return Atomics.load(this.words, ControlIndex.COMMAND);
  }
  get status(): number {
    return Atomics.load(this.words, ControlIndex.STATUS);
  }
  get tid(): number {
    return Atomics.load(this.words, ControlIndex.TID);
  }
  get irqPending(): boolean {
    return Atomics.load(this.words, ControlIndex.IRQ_PENDING) !== 0;
  }

  // Main thread.

  setCommand(command: number): void {
    Atomics.store(this.words, ControlIndex.COMMAND, command);
    this.wake();
  }

  /** RUN -> PAUSE only (never overrides STOP); true if it changed. */
  requestPause(): boolean {
    const prev = Atomics.compareExchange(this.words, ControlIndex.COMMAND, Command.RUN, Command.PAUSE);
    this.wake();
    return prev === Command.RUN;
  }

  /** PAUSE -> RUN only (never overrides STOP or a not-yet-started IDLE); true if it changed. */
  resumeIfPaused(): boolean {
    const prev = Atomics.compareExchange(this.words, ControlIndex.COMMAND, Command.PAUSE, Command.RUN);
    this.wake();
    return prev === Command.PAUSE;
  }

  setIrqPending(pending: boolean): void {
    Atomics.store(this.words, ControlIndex.IRQ_PENDING, pending ? 1 : 0);
    if (pending) this.wake();
  }

  markStateReplaced(): void {
    Atomics.store(this.words, ControlIndex.STATE_REPLACED, 1);
    this.wake();
  }

  wake(): void {
    Atomics.add(this.words, ControlIndex.WAKE, 1);
    Atomics.notify(this.words, ControlIndex.WAKE);
  }

  /** Resolves with the status once `accept(status)` holds (never blocks the thread). */
  async waitForStatus(accept: (status: number) => boolean): Promise<number> {
    for (;;) {
      const s = this.status;
      if (accept(s)) return s;
      await waitForChange(this.words, ControlIndex.STATUS, s);
    }
  }

  // Worker thread.

  setStatus(status: number): void {
    Atomics.store(this.words, ControlIndex.STATUS, status);
    Atomics.notify(this.words, ControlIndex.STATUS);
  }

  setTid(tid: number): void {
    Atomics.store(this.words, ControlIndex.TID, tid);
  }

  /** Takes (and clears) the state-replaced flag. */
  takeStateReplaced(): boolean {
    return Atomics.exchange(this.words, ControlIndex.STATE_REPLACED, 0) !== 0;
  }

  /** Blocks the worker while `keepWaiting()` holds; re-checked after every wake-up. */
  blockWhile(keepWaiting: () => boolean): void {
    for (;;) {
      const seq = Atomics.load(this.words, ControlIndex.WAKE);
      if (!keepWaiting()) return;
      Atomics.wait(this.words, ControlIndex.WAKE, seq);
    }
  }
}
