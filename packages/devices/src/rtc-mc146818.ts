/**
 * Motorola MC146818A real-time clock and its 128 bytes of CMOS RAM, at ports 0x70
 * (index; bit 7 = NMI disable, as on the PC/AT) and 0x71 (data), interrupting on IRQ 8.
 *
 * Facts from the MC146818A datasheet, QEMU hw/rtc/mc146818rtc.c / hw/i386/pc.c
 * (pc_cmos_init) and Linux drivers/rtc (rtc-mc146818-lib.c, rtc-cmos.c):
 * - Register A: UIP (read-only; set during the last 244 us before each update),
 *   DV2:0 (010 = 32.768 kHz; 11x holds the divider chain in reset, and the first update
 *   after release comes half a second later), RS3:0 periodic rate (RS 1, 2 alias 8, 9;
 *   rate = 65536 >> RS Hz for RS >= 3, i.e. 2 Hz .. 8192 Hz).
 * - Register B: SET (stops updates so software can load the time; clears UIE), PIE,
 *   AIE, UIE, SQWE, DM (1 = binary), 24/12, DSE.
 * - Register C: IRQF = PF&PIE | AF&AIE | UF&UIE; PF, AF, UF are set whatever the enables;
 *   reading C clears it and releases IRQ 8. Register D: VRT = 1 (battery good).
 *
 * Time model: the guest's time of day is the Clock's wall time (epochMs + nowNs) plus an
 * offset the guest changes by writing the time registers; registers are computed from it
 * when read, so no per-second work is needed to keep time. The divider chain is phase-
 * locked to that guest time: updates happen at guest second boundaries, periodic ticks
 * on the 32.768 kHz grid. Timers exist only for interrupts the guest can see: the
 * periodic one while PIE is set, the update one while UF or AF can still change.
 *
 * Not modelled: daylight saving (DSE), the SQW pin, NMI masking itself (the bit is kept
 * in `nmiDisabled` for the machine), QEMU's lost-tick reinjection.
 *
 * The register map, the time register encoding (BCD/binary, 12/24 hours, alarms) and the
 * CMOS memory size layout are in rtc-mc146818-registers.ts.
 */
import { z } from 'zod';
import type { AccessSize, Clock, IoDevice, IrqLine, Persistable, Timer } from './platform/index.js';
import {
  CMOS_SHUTDOWN_STATUS, CMOS_SIZE, REG_A_UIP, REG_B_24H, REG_B_AIE, REG_B_PIE, REG_B_SET, REG_B_SQWE, REG_B_UIE,
  REG_C_AF, REG_C_IRQF, REG_C_PF, REG_C_UF, REG_D_VRT, RTC_HOURS_ALARM, RTC_MINUTES_ALARM, RTC_REG_A, RTC_REG_B,
  RTC_REG_C, RTC_REG_D, RTC_SECONDS_ALARM, RTC_TIME_REGISTERS, alarmMatches, decodeTime, encodeTime,
  writeCmosMemorySize,
} from './rtc-mc146818-registers.js';

// The register map is defined in its own file; callers keep importing it from here.
export {
  CMOS_SHUTDOWN_STATUS, REG_A_UIP, REG_B_24H, REG_B_AIE, REG_B_DM, REG_B_PIE, REG_B_SET, REG_B_SQWE, REG_B_UIE,
  REG_C_AF, REG_C_IRQF, REG_C_PF, REG_C_UF, REG_D_VRT, RTC_CENTURY, RTC_DAY_OF_MONTH, RTC_DAY_OF_WEEK, RTC_HOURS,
  RTC_HOURS_ALARM, RTC_MINUTES, RTC_MINUTES_ALARM, RTC_MONTH, RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_REG_D, RTC_SECONDS,
  RTC_SECONDS_ALARM, RTC_YEAR,
} from './rtc-mc146818-registers.js';

export const RTC_INDEX_PORT = 0x70;
export const RTC_DATA_PORT = 0x71;
export const RTC_IRQ = 8;

const NS_PER_S = 1e9;
const RTC_CLOCK_HZ = 32768;
/** UIP is set 244 us (8 cycles of the 32.768 kHz base) before each update. */
const UIP_HOLD_NS = (8 * NS_PER_S) / RTC_CLOCK_HZ;

export const rtcMc146818StateSchema = z.object({
  version: z.literal(1),
  cmos: z.array(z.number().int().min(0).max(0xff)).length(CMOS_SIZE),
  index: z.number().int().min(0).max(0x7f),
  nmiDisabled: z.boolean(),
  /** Guest time minus wall time: whole seconds plus nanoseconds (0 <= offsetNs < 1e9). */
  offsetSec: z.number().int(),
  offsetNs: z.number().min(0).max(NS_PER_S),
});
export type RtcMc146818State = z.infer<typeof rtcMc146818StateSchema>;

export interface RtcMc146818Options {
  clock: Clock;
  irq8: IrqLine;
  /** Initial contents of the battery-backed bytes 0x0E-0x7F (a saved NVRAM image). */
  cmos?: ArrayLike<number>;
  persistKey?: string;
}

export interface RtcCounters {
  /** Writes to the read-only registers C and D. */
  ignored: number;
}

/** Whole 32.768 kHz cycles in `ns` (>= 0), split by seconds so products stay exact. */
function cyclesIn(ns: number): number {
  const sec = Math.floor(ns / NS_PER_S);
  return sec * RTC_CLOCK_HZ + Math.floor(((ns - sec * NS_PER_S) * RTC_CLOCK_HZ) / NS_PER_S);
}

/** The first whole nanosecond by which `cycles` cycles have elapsed (1e9/32768 is exact in binary). */
function nsForCycles(cycles: number): number {
  const sec = Math.floor(cycles / RTC_CLOCK_HZ);
  return sec * NS_PER_S + Math.ceil((cycles - sec * RTC_CLOCK_HZ) * (NS_PER_S / RTC_CLOCK_HZ));
}

export class RtcMc146818 implements IoDevice, Persistable<RtcMc146818State> {
  readonly name = 'rtc-mc146818';
  readonly persistKey: string;
  readonly counters: RtcCounters = { ignored: 0 };
  private readonly clock: Clock;
  private readonly irq8: IrqLine;
  private readonly cmos = new Uint8Array(CMOS_SIZE);
  private index = 0;
  private nmi = false;
  private readonly epochSec: number;
  private readonly epochFracNs: number;
  private offsetSec = 0;
  private offsetNs = 0;
  /** Last periodic tick accounted for in PF. */
  private pfSeen = 0;
  private irqLevel = false;
  private updateTimer: Timer | null = null;
  private periodicTimer: Timer | null = null;

  constructor(options: RtcMc146818Options) {
    this.clock = options.clock;
    this.irq8 = options.irq8;
    this.persistKey = options.persistKey ?? 'rtc-mc146818';
    this.epochSec = Math.floor(options.clock.epochMs / 1000);
    this.epochFracNs = (options.clock.epochMs - this.epochSec * 1000) * 1e6;
    if (options.cmos) {
      for (let i = RTC_REG_D + 1; i < Math.min(CMOS_SIZE, options.cmos.length); i++) this.cmos[i] = options.cmos[i] & 0xff;
    }
    this.cmos[RTC_REG_A] = 0x26; // 32.768 kHz divider, 1024 Hz periodic rate
    this.cmos[RTC_REG_B] = REG_B_24H;
    this.cmos[RTC_REG_D] = REG_D_VRT;
    this.afterConfigChange(this.clock.nowNs());
  }

  /** True when the guest last wrote port 0x70 with bit 7 set. */
  get nmiDisabled(): boolean {
    return this.nmi;
  }

  // --- port access ---------------------------------------------------------------

  read(offset: number, _size: AccessSize): number {
    if ((offset & 1) === 0) return 0xff; // the index register is write-only
    const now = this.clock.nowNs();
    const i = this.index;
    if (RTC_TIME_REGISTERS.has(i)) {
      this.syncTimeRegisters(now);
      return this.cmos[i];
    }
    switch (i) {
      case RTC_REG_A:
        return this.cmos[RTC_REG_A] | (this.updateInProgress(now) ? REG_A_UIP : 0);
      case RTC_REG_C: {
        this.syncPeriodicFlag(now);
        const value = this.cmos[RTC_REG_C] | (this.irqFlag() ? REG_C_IRQF : 0);
        this.cmos[RTC_REG_C] = 0;
        this.updateIrq();
        if (value & (REG_C_UF | REG_C_AF)) this.scheduleUpdate(now);
        return value;
      }
      default:
        return this.cmos[i];
    }
  }

  write(offset: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    if ((offset & 1) === 0) {
      this.index = value & 0x7f;
      this.nmi = (value & 0x80) !== 0;
      return;
    }
    const now = this.clock.nowNs();
    const i = this.index;
    if (RTC_TIME_REGISTERS.has(i)) {
      if (this.clockRunning()) {
        this.syncTimeRegisters(now);
        this.cmos[i] = value;
        this.setTimeFromRegisters(now);
        this.scheduleUpdate(now);
      } else {
        this.cmos[i] = value; // takes effect when SET is cleared
      }
      return;
    }
    switch (i) {
      case RTC_REG_A:
        this.writeRegA(now, value);
        return;
      case RTC_REG_B:
        this.writeRegB(now, value);
        return;
      case RTC_REG_C:
      case RTC_REG_D:
        this.counters.ignored++;
        return;
      default:
        this.cmos[i] = value;
        if (i === RTC_SECONDS_ALARM || i === RTC_MINUTES_ALARM || i === RTC_HOURS_ALARM) this.scheduleUpdate(now);
    }
  }

  private writeRegA(now: number, value: number): void {
    const wasStopped = !this.dividerRunning();
    if (!wasStopped && ((value >> 4) & 7) > 2) this.syncTimeRegisters(now);
    this.syncPeriodicFlag(now);
    this.cmos[RTC_REG_A] = value & ~REG_A_UIP;
    if (wasStopped && this.dividerRunning() && !(this.cmos[RTC_REG_B] & REG_B_SET)) {
      // Divider released: the chain restarts half a second before the next update.
      this.offsetNs = ((((NS_PER_S / 2 - this.epochFracNs - now) % NS_PER_S) + NS_PER_S) % NS_PER_S);
      this.setTimeFromRegisters(now);
    }
    this.afterConfigChange(now);
  }

  private writeRegB(now: number, value: number): void {
    const old = this.cmos[RTC_REG_B];
    this.syncPeriodicFlag(now);
    if (value & REG_B_SET) {
      if (!(old & REG_B_SET)) this.syncTimeRegisters(now);
      value &= ~REG_B_UIE; // the datasheet: SET going high clears UIE
      this.cmos[RTC_REG_B] = value;
    } else {
      this.cmos[RTC_REG_B] = value;
      if (old & REG_B_SET && this.dividerRunning()) this.setTimeFromRegisters(now);
    }
    this.afterConfigChange(now);
  }

  // --- host side -----------------------------------------------------------------

  setCmosByte(index: number, value: number): void {
    if (Number.isInteger(index) && index >= 0 && index < CMOS_SIZE) this.cmos[index] = value & 0xff;
  }

  getCmosByte(index: number): number {
    return Number.isInteger(index) && index >= 0 && index < CMOS_SIZE ? this.cmos[index] : 0xff;
  }

  /** Fills the memory size bytes the BIOS reads (see writeCmosMemorySize for the layout). */
  setMemorySize(totalLowBytes: number, highBytes: number): void {
    writeCmosMemorySize(this.cmos, totalLowBytes, highBytes);
  }

  /** The guest's time of day in ms since the Unix epoch (what the registers say). */
  guestTimeMs(): number {
    const now = this.clock.nowNs();
    if (!this.clockRunning()) return this.registerSeconds() * 1000;
    const { sec, frac } = this.guestTime(now);
    return sec * 1000 + frac / 1e6;
  }

  /** The RESET pin: interrupt enables and flags cleared (time and NVRAM kept). */
  reset(): void {
    const now = this.clock.nowNs();
    this.syncPeriodicFlag(now);
    // BIOS convention kept by QEMU: 0xFE marks an S3 resume and survives reset.
    if (this.cmos[CMOS_SHUTDOWN_STATUS] !== 0xfe) this.cmos[CMOS_SHUTDOWN_STATUS] = 0;
    this.cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    this.cmos[RTC_REG_C] = 0;
    this.afterConfigChange(now);
  }

  save(): RtcMc146818State {
    const now = this.clock.nowNs();
    this.syncTimeRegisters(now);
    this.syncPeriodicFlag(now);
    return {
      version: 1, cmos: Array.from(this.cmos), index: this.index, nmiDisabled: this.nmi,
      offsetSec: this.offsetSec, offsetNs: this.offsetNs,
    };
  }

  restore(state: RtcMc146818State): void {
    if (state.version !== 1) throw new Error(`${this.persistKey}: unsupported state version ${String(state.version)}`);
    const s = rtcMc146818StateSchema.parse(state);
    this.cmos.set(s.cmos);
    this.index = s.index;
    this.nmi = s.nmiDisabled;
    this.offsetSec = s.offsetSec;
    this.offsetNs = s.offsetNs;
    this.afterConfigChange(this.clock.nowNs());
  }

  // --- time ----------------------------------------------------------------------

  private dividerRunning(): boolean {
    return ((this.cmos[RTC_REG_A] >> 4) & 7) <= 2;
  }

  /** Registers advance: divider running and SET clear. */
  private clockRunning(): boolean {
    return this.dividerRunning() && (this.cmos[RTC_REG_B] & REG_B_SET) === 0;
  }

  /** Nanoseconds into the divider chain's timeline (guest seconds are whole multiples of 1e9). */
  private phaseNs(now: number): number {
    return this.epochFracNs + this.offsetNs + now;
  }

  private guestTime(now: number): { sec: number; frac: number } {
    const x = this.phaseNs(now);
    const q = Math.floor(x / NS_PER_S);
    return { sec: this.epochSec + this.offsetSec + q, frac: x - q * NS_PER_S };
  }

  private updateInProgress(now: number): boolean {
    return this.clockRunning() && this.guestTime(now).frac >= NS_PER_S - UIP_HOLD_NS;
  }

  private syncTimeRegisters(now: number): void {
    if (this.clockRunning()) encodeTime(this.cmos, this.guestTime(now).sec);
  }

  /** The time the registers hold, in seconds since the epoch (day of week ignored). */
  private registerSeconds(): number {
    // Registers naming no valid date leave the guest clock where it is.
    return decodeTime(this.cmos) ?? this.guestTime(this.clock.nowNs()).sec;
  }

  /** Moves the guest clock to the registers' time, keeping the divider's sub-second phase. */
  private setTimeFromRegisters(now: number): void {
    this.offsetSec += this.registerSeconds() - this.guestTime(now).sec;
  }

  // --- interrupts ----------------------------------------------------------------

  /** Periodic interval in 32.768 kHz cycles, or 0 when RS = 0 or the divider is stopped. */
  private periodCycles(): number {
    const rs = this.cmos[RTC_REG_A] & 0x0f;
    if (rs === 0 || !this.dividerRunning()) return 0;
    return 1 << ((rs <= 2 ? rs + 7 : rs) - 1);
  }

  private periodicIndex(now: number, period: number): number {
    return Math.floor(cyclesIn(this.phaseNs(now)) / period);
  }

  private periodicDeadline(k: number, period: number): number {
    return nsForCycles(k * period) - this.epochFracNs - this.offsetNs;
  }

  /** Sets PF if a periodic tick passed since it was last accounted for (PF ignores PIE). */
  private syncPeriodicFlag(now: number): void {
    const period = this.periodCycles();
    if (period === 0) return;
    const k = this.periodicIndex(now, period);
    if (k > this.pfSeen) {
      this.cmos[RTC_REG_C] |= REG_C_PF;
      this.pfSeen = k;
    }
  }

  private irqFlag(): boolean {
    return (this.cmos[RTC_REG_C] & this.cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF)) !== 0;
  }

  private updateIrq(): void {
    const level = this.irqFlag();
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq8.setLevel(level);
  }

  /** After A, B or the offset changed: periodic grid re-based, IRQ and timers re-evaluated. */
  private afterConfigChange(now: number): void {
    const period = this.periodCycles();
    if (period !== 0) this.pfSeen = this.periodicIndex(now, period);
    this.updateIrq();
    this.scheduleUpdate(now);
    this.schedulePeriodic();
  }

  /** Arms the update-ended timer for the next guest second boundary after `now`. */
  private scheduleUpdate(now: number): void {
    this.armUpdate(Math.floor(this.phaseNs(now) / NS_PER_S) + 1);
  }

  /** Arms it for boundary number `q` of the divider timeline (tracked by index, not re-derived from a time). */
  private armUpdate(q: number): void {
    this.updateTimer?.cancel();
    this.updateTimer = null;
    if (!this.clockRunning() || (this.cmos[RTC_REG_C] & (REG_C_UF | REG_C_AF)) === (REG_C_UF | REG_C_AF)) return;
    const at = q * NS_PER_S - this.epochFracNs - this.offsetNs;
    this.updateTimer = this.clock.schedule(at, () => {
      this.updateTimer = null;
      encodeTime(this.cmos, this.epochSec + this.offsetSec + q);
      this.cmos[RTC_REG_C] |= REG_C_UF | (alarmMatches(this.cmos) ? REG_C_AF : 0);
      this.updateIrq();
      this.armUpdate(q + 1);
    });
  }

  private schedulePeriodic(): void {
    this.periodicTimer?.cancel();
    this.periodicTimer = null;
    const period = this.periodCycles();
    if (period === 0 || !(this.cmos[RTC_REG_B] & REG_B_PIE)) return;
    const k = this.pfSeen + 1;
    this.periodicTimer = this.clock.schedule(this.periodicDeadline(k, period), () => {
      this.periodicTimer = null;
      if (k > this.pfSeen) {
        this.cmos[RTC_REG_C] |= REG_C_PF;
        this.pfSeen = k;
      }
      this.updateIrq();
      this.schedulePeriodic();
    });
  }
}
