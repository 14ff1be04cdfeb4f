/**
 * The local APIC timer: the 32-bit countdown (one-shot and periodic) and the
 * TSC-deadline comparator (SDM Vol. 3A 11.5.4 "APIC Timer", 11.5.4.1 "TSC-Deadline Mode").
 *
 * Time base: a 1 GHz APIC bus clock, so one count lasts `divisor` nanoseconds. KVM
 * (APIC_BUS_CYCLE_NS = 1) and QEMU (count_shift over nanoseconds) use the same rate,
 * and Linux calibrates the timer against the PIT whatever the rate is.
 *
 * Nothing polls: the count is a function of the Clock, computed when read. A countdown
 * is described by a base (time, count at that time); expiry k falls at
 * `base + (baseCount + k * initial) * divisor` ns, so a periodic timer does not drift
 * however late its host timers run. A divisor or mode change re-bases at the current
 * count (the partial tick in progress is dropped).
 *
 * A periodic timer faster than MIN_PERIODIC_INTERVAL_NS is polled no more often than
 * that: interrupts coalesce (the IRR holds one), the count still reads exact. KVM clamps
 * the period itself (min_timer_period_us = 200); a smaller floor keeps guests that
 * count interrupts right while a tiny initial count cannot make a virtual clock step
 * through millions of expiries.
 *
 * TSC-deadline: the TSC is taken to be nowNs() * tscFrequencyHz / 1e9 (no TSC offset).
 */
import type { Clock, Timer } from './platform/index.js';

export const MIN_PERIODIC_INTERVAL_NS = 10_000;

export interface ApicTimerSnapshot {
  armed: boolean;
  baseAgoNs: number;
  baseCount: number;
  fired: number;
}

export class ApicTimer {
  /** Initial count register; 0 stops the countdown. */
  initial = 0;
  divisor = 2;
  periodic = false;
  private armed = false;
  private baseNs = 0;
  private baseCount = 0;
  private fired = 0;
  /** IA32_TSC_DEADLINE; 0 = disarmed. */
  tscDeadline = 0n;
  private hostTimer: Timer | null = null;

  constructor(
    private readonly clock: Clock,
    /** TSC rate for TSC-deadline mode; 0 when the mode is not offered. */
    readonly tscFrequencyHz: number,
    /** Called once per expiry (several late periodic expiries coalesce into one call). */
    private readonly expire: () => void,
  ) {}

  /** Stops everything and clears the counts, as at reset. */
  reset(): void {
    this.cancelHost();
    this.initial = 0;
    this.divisor = 2;
    this.periodic = false;
    this.armed = false;
    this.baseCount = 0;
    this.fired = 0;
    this.tscDeadline = 0n;
  }

  /** Writing the initial count (re)starts the countdown from it. */
  load(initial: number): void {
    this.initial = initial >>> 0;
    this.armed = this.initial !== 0;
    this.baseNs = this.clock.nowNs();
    this.baseCount = this.initial;
    this.fired = 0;
    this.reschedule();
  }

  /** Stops the countdown and zeroes the initial count (entering or leaving TSC-deadline mode). */
  stopCountdown(): void {
    this.initial = 0;
    this.armed = false;
    this.tscDeadline = 0n;
    this.reschedule();
  }

  /** Current count register. */
  currentCount(): number {
    if (!this.armed) return 0;
    const ticks = Math.floor((this.clock.nowNs() - this.baseNs) / this.divisor);
    if (ticks < this.baseCount) return this.baseCount - ticks;
    if (!this.periodic) return 0;
    return this.initial - ((ticks - this.baseCount) % this.initial);
  }

  /** Changes divisor and/or periodic mode, continuing from the count reached now. */
  rebase(divisor: number, periodic: boolean): void {
    if (divisor === this.divisor && periodic === this.periodic) return;
    this.catchUp();
    if (this.armed) {
      const count = this.currentCount();
      this.baseNs = this.clock.nowNs();
      this.baseCount = count === 0 ? this.initial : count;
      this.fired = 0;
    }
    this.divisor = divisor;
    this.periodic = periodic;
    this.reschedule();
  }

  /** Arms the TSC-deadline comparator (0 disarms); a deadline already passed fires at once. */
  setTscDeadline(ticks: bigint): void {
    this.tscDeadline = BigInt.asUintN(64, ticks);
    this.catchUp();
    this.reschedule();
  }

  /** Delivers expiries that are due but whose host timer has not run yet. */
  catchUp(): void {
    const now = this.clock.nowNs();
    if (this.tscDeadline !== 0n) {
      if (this.tscDeadlineNs() <= now) {
        this.tscDeadline = 0n;
        this.expire();
      }
      return;
    }
    const next = this.nextCountdownNs();
    if (next === null || next > now) return;
    if (this.periodic) {
      const ticks = Math.floor((now - this.baseNs) / this.divisor);
      this.fired = Math.floor((ticks - this.baseCount) / this.initial) + 1;
    } else {
      this.armed = false;
      this.fired = 1;
    }
    this.expire();
  }

  snapshot(): ApicTimerSnapshot {
    return { armed: this.armed, baseAgoNs: this.clock.nowNs() - this.baseNs, baseCount: this.baseCount, fired: this.fired };
  }

  restore(s: ApicTimerSnapshot, initial: number, divisor: number, periodic: boolean, tscDeadline: bigint): void {
    this.cancelHost();
    this.initial = initial;
    this.divisor = divisor;
    this.periodic = periodic;
    this.armed = s.armed && initial !== 0;
    this.baseNs = this.clock.nowNs() - s.baseAgoNs;
    this.baseCount = s.baseCount;
    this.fired = s.fired;
    this.tscDeadline = tscDeadline;
    this.reschedule();
  }

  private tscDeadlineNs(): number {
    return Math.ceil((Number(this.tscDeadline) * 1e9) / this.tscFrequencyHz);
  }

  private nextCountdownNs(): number | null {
    if (!this.armed) return null;
    if (this.fired > 0 && !this.periodic) return null;
    return this.baseNs + (this.baseCount + this.fired * this.initial) * this.divisor;
  }

  private cancelHost(): void {
    this.hostTimer?.cancel();
    this.hostTimer = null;
  }

  private reschedule(): void {
    this.cancelHost();
    let deadline = this.tscDeadline !== 0n ? this.tscDeadlineNs() : this.nextCountdownNs();
    if (deadline === null) return;
    if (this.tscDeadline === 0n && this.periodic && this.initial * this.divisor < MIN_PERIODIC_INTERVAL_NS) {
      // The first grid point at least the floor away from now.
      const earliest = this.clock.nowNs() + MIN_PERIODIC_INTERVAL_NS;
      if (deadline < earliest) {
        const k = Math.ceil(((earliest - this.baseNs) / this.divisor - this.baseCount) / this.initial);
        deadline = this.baseNs + (this.baseCount + k * this.initial) * this.divisor;
      }
    }
    this.hostTimer = this.clock.schedule(deadline, () => {
      this.hostTimer = null;
      this.catchUp();
      this.reschedule();
    });
  }
}
