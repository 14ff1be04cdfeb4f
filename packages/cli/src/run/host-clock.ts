/**
 * The Clock devices see when guest code runs in real time (KVM): monotonic host time
 * since the machine was created, with timers on the Node event loop. One host timer
 * is armed at a time, for the earliest deadline, so a busy PIT costs one setTimeout
 * per period, not one per device.
 */
import type { Clock, Timer } from '@tsemu/devices/platform';

interface Entry {
  deadline: number;
  callback: () => void;
  cancelled: boolean;
}

export class HostClock implements Clock {
  /** The RTC's date at time 0: the host's time now unless given (--rtc-base). */
  readonly epochMs: number;
  private readonly origin = process.hrtime.bigint();
  private entries: Entry[] = [];
  private armed: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(epochMs: number = Date.now()) {
    this.epochMs = epochMs;
  }

  nowNs(): number {
    return Number(process.hrtime.bigint() - this.origin);
  }

  schedule(deadlineNs: number, callback: () => void): Timer {
    const entry: Entry = { deadline: deadlineNs, callback, cancelled: false };
    this.entries.push(entry);
    if (deadlineNs < this.armedFor) this.arm();
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Cancels every timer; used when the machine stops so the process can exit. */
  stop(): void {
    this.stopped = true;
    if (this.armed) clearTimeout(this.armed);
    this.armed = null;
    this.entries = [];
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.armed) clearTimeout(this.armed);
    this.armed = null;
    this.armedFor = Infinity;
    let next = Infinity;
    for (const e of this.entries) if (!e.cancelled && e.deadline < next) next = e.deadline;
    if (next === Infinity) return;
    const delayMs = Math.max(0, (next - this.nowNs()) / 1e6);
    this.armedFor = next;
    this.armed = setTimeout(() => this.fire(), delayMs);
  }

  private fire(): void {
    this.armed = null;
    this.armedFor = Infinity;
    const now = this.nowNs();
    const due = this.entries.filter((e) => !e.cancelled && e.deadline <= now).sort((a, b) => a.deadline - b.deadline);
    this.entries = this.entries.filter((e) => !e.cancelled && e.deadline > now);
    for (const e of due) {
      if (!e.cancelled) e.callback();
    }
    this.arm();
  }
}
