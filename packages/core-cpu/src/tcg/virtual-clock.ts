/**
 * Instruction-counted virtual time for the software CPU (QEMU's `-icount shift=N,sleep=off`):
 * the machine's devices see a Clock whose time is a function of the instructions retired,
 * 2^shift nanoseconds each (a PAUSE counts as several: SoftCpu.cycles), so the same guest with
 * the same input runs the same way every time: the PIT reads the same counts at the same
 * instruction, timer interrupts arrive at the same instruction boundary, and serial output (tick counts included) is byte-identical.
 *
 * The run loop drives it: it asks how many instructions remain before the next timer
 * deadline and runs at most that many (so a timer fires at its instruction boundary; a device
 * that arms an earlier one during a burst ends the burst: onEarlierDeadline), then fires what
 * is due.
 * While the CPU is halted no instruction retires, so the loop jumps time to the next
 * deadline (`skipTo`): idle time costs no host time. Host time never enters the count.
 */
import type { Clock, Timer } from '@tsemu/devices/platform';
import { WIDE_ZERO } from '@tsemu/devices/platform';

/** QEMU accepts icount shifts 0-10 (1 ns to 1024 ns per instruction). */
export const MAX_ICOUNT_SHIFT = 10;

export interface VirtualClockOptions {
  /** 2^shift ns per instruction; default 0 (1 ns: a 1 GHz virtual CPU). */
  shift?: number;
  /** Wall-clock time at virtual time 0 (the RTC's date), ms since the Unix epoch. */
  epochMs: number;
}

interface Entry {
  deadline: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  readonly epochMs: number;
  readonly shift: number;
  readonly nsPerInstruction: number;
  /** Virtual nanoseconds skipped while the CPU was halted. */
  idleNs = WIDE_ZERO;
  /** Timer callbacks run. */
  timersFired = 0;
  // Times and counts pass 2^31 within seconds (WIDE_ZERO).
  private baseNs = WIDE_ZERO;
  private baseCount = WIDE_ZERO;
  private counter: () => number = () => 0;
  private entries: Entry[] = [];
  private seq = 0;
  /** Cached earliest live deadline; NaN when it must be recomputed. */
  private next = Infinity;
  /**
   * Called when a timer is armed before every other pending deadline: the run loop, which cut
   * its burst at the earlier one, ends the burst there so that the new timer too fires at its
   * instruction boundary.
   */
  onEarlierDeadline: (() => void) | null = null;

  constructor(options: VirtualClockOptions) {
    const shift = options.shift ?? 0;
    if (!Number.isInteger(shift) || shift < 0 || shift > MAX_ICOUNT_SHIFT) {
      throw new RangeError(`icount shift ${shift} is not an integer 0-${MAX_ICOUNT_SHIFT}`);
    }
    this.shift = shift;
    this.nsPerInstruction = 2 ** shift;
    this.epochMs = options.epochMs;
  }

  /**
   * Makes `counter` (the CPU's retired-instruction count) the source of time from now on;
   * time is continuous across the switch.
   */
  bindCounter(counter: () => number): void {
    const now = this.nowNs();
    this.counter = counter;
    this.baseNs = now;
    this.baseCount = counter();
  }

  nowNs(): number {
    return this.baseNs + (this.counter() - this.baseCount) * this.nsPerInstruction;
  }

  schedule(deadlineNs: number, callback: () => void): Timer {
    const entry: Entry = { deadline: deadlineNs, seq: this.seq++, callback, cancelled: false };
    const earliest = deadlineNs < this.nextDeadline();
    this.entries.push(entry);
    if (earliest) {
      this.next = deadlineNs;
      this.onEarlierDeadline?.();
    }
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        if (entry.deadline <= this.next) this.next = NaN;
      },
    };
  }

  /** The earliest pending deadline in virtual ns, or Infinity. */
  nextDeadline(): number {
    if (Number.isNaN(this.next)) {
      let d = Infinity;
      for (const e of this.entries) if (!e.cancelled && e.deadline < d) d = e.deadline;
      this.next = d;
    }
    return this.next;
  }

  /** Instructions to run before the next deadline is reached: at least 1, at most `max`. */
  instructionsUntilDeadline(max: number): number {
    const d = this.nextDeadline();
    if (d === Infinity) return max;
    const n = Math.ceil((d - this.nowNs()) / this.nsPerInstruction);
    return n < 1 ? 1 : n > max ? max : n;
  }

  /**
   * Fires every timer whose deadline has been reached, earliest first (ties in the order
   * they were armed), including timers those callbacks arm for a time already past.
   * Returns how many fired.
   */
  runDue(): number {
    let fired = 0;
    const now = this.nowNs();
    while (this.nextDeadline() <= now) {
      let pick: Entry | null = null;
      for (const e of this.entries) {
        if (!e.cancelled && e.deadline <= now && (pick === null || e.deadline < pick.deadline || (e.deadline === pick.deadline && e.seq < pick.seq))) pick = e;
      }
      if (pick === null) break;
      pick.cancelled = true;
      this.next = NaN;
      fired++;
      pick.callback();
    }
    if (fired > 0) {
      this.entries = this.entries.filter((e) => !e.cancelled);
      this.timersFired += fired;
    }
    return fired;
  }

  /** Jumps time forward to `deadlineNs` without retiring instructions (the CPU is halted). */
  skipTo(deadlineNs: number): void {
    const now = this.nowNs();
    if (deadlineNs <= now) return;
    this.idleNs += deadlineNs - now;
    this.baseNs = deadlineNs;
    this.baseCount = this.counter();
  }
}
