/**
 * Time as devices see it. A device never reads the host clock or sets host timers
 * itself: it is handed a Clock, so it runs the same under real time (kvm), under a
 * virtual clock driven by executed instructions (tcg), and under a test's ManualClock.
 * Times are nanoseconds as a double: exact to the nanosecond for 104 days of uptime.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Nanoseconds since the machine was created. */
  nowNs(): number;
  /** Calls `callback` once the clock reaches `deadlineNs` (at once if it already has). */
  schedule(deadlineNs: number, callback: () => void): Timer;
  /** Wall-clock time at nowNs() === 0, in milliseconds since the Unix epoch (for the RTC). */
  readonly epochMs: number;
}

interface PendingTimer {
  deadline: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to: deterministic, for tests and for the software
 * CPU's instruction-counted virtual time. Timers fire in deadline order, ties in the
 * order they were scheduled.
 */
export class ManualClock implements Clock {
  private now = 0;
  private seq = 0;
  private pending: PendingTimer[] = [];

  constructor(readonly epochMs = Date.UTC(2026, 0, 1)) {}

  nowNs(): number {
    return this.now;
  }

  schedule(deadlineNs: number, callback: () => void): Timer {
    const t: PendingTimer = { deadline: deadlineNs, seq: this.seq++, callback, cancelled: false };
    this.pending.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  /** The earliest pending deadline, or Infinity. */
  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.pending) if (!t.cancelled && t.deadline < d) d = t.deadline;
    return d;
  }

  /** Moves time forward to `targetNs`, firing every timer due on the way at its own deadline. */
  advanceTo(targetNs: number): void {
    for (;;) {
      this.pending = this.pending.filter((t) => !t.cancelled);
      let next: PendingTimer | null = null;
      for (const t of this.pending) {
        if (t.deadline <= targetNs && (next === null || t.deadline < next.deadline || (t.deadline === next.deadline && t.seq < next.seq))) next = t;
      }
      if (next === null) break;
      this.now = Math.max(this.now, next.deadline);
      next.cancelled = true;
      next.callback();
    }
    this.now = Math.max(this.now, targetNs);
  }

  advanceBy(ns: number): void {
    this.advanceTo(this.now + ns);
  }
}
