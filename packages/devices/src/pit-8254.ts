/**
 * Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC/AT system
 * control port B (0x61) that gates channel 2 and shows its output.
 *
 * Facts from the Intel 8254 datasheet (231164), QEMU hw/timer/i8254*.c and Linux
 * arch/x86/kernel/i8253.c / tsc.c:
 * - Input clock 1.193182 MHz. Control word: SC1:0 (3 = read-back), RW1:0 (0 = counter
 *   latch, 1 = LSB, 2 = MSB, 3 = LSB then MSB), M2:0 (6, 7 alias 2, 3), BCD.
 * - Writing a control word resets the counter logic: OUT low in mode 0, high otherwise,
 *   and nothing counts until a count is written.
 * - Mode 0: OUT high when the count reaches 0, then stays high while the counter wraps.
 *   Writing the first byte of a new LSB/MSB count stops counting with OUT low.
 *   Mode 1: gate rising edge (re)triggers a one-shot with OUT low until terminal count.
 *   Mode 2: OUT low for one clock when the count reaches 1, period N. Mode 3: OUT high
 *   for ceil(N/2) clocks, low for floor(N/2). In modes 2 and 3 a new count takes effect
 *   at the end of the current period (mode 2) or half cycle (mode 3); gate low stops
 *   counting and forces OUT high, gate rising reloads. Mode 4: OUT low for one clock when
 *   the initial count expires. Mode 5: mode 4 triggered by a gate rising edge. Gate low
 *   suspends counting in modes 0, 2, 3 and 4.
 * - Read-back (0xC0 | !COUNT << 5 | !STATUS << 4 | CNT2..0 << 1); status byte =
 *   OUT << 7 | NULL COUNT << 6 | RW << 4 | M << 1 | BCD; latched status reads first.
 * - Port 0x61: bit 0 gate 2, bit 1 speaker data, bits 2-3 parity/channel check enables
 *   (stored), bit 4 refresh detect (toggles every 18 PIT clocks = 15.09 us), bit 5 OUT2.
 *
 * Time model: every count and output level is a function of the Clock, computed when
 * read; nothing polls. Only channel 0 (wired to IRQ 0) schedules a timer, at its next
 * output transition. Deadlines are `base + ceil(k * 1e9 / f)` for whole clock counts k
 * since the count was loaded, so periodic modes do not drift.
 *
 * Simplifications: a count is loaded into the counting element at the write (the real
 * chip waits for the next clock edge, 838 ns); NULL COUNT clears one clock later. Modes
 * 2 and 3 with a count of 1 are illegal on the chip: OUT stays high, counted.
 */
import { z } from 'zod';
import type { AccessSize, Clock, IoDevice, IrqLine, Persistable, Timer } from './platform/index.js';

export const PIT_BASE = 0x40;
export const PIT_CONTROL_PORT = 0x43;
export const SYSTEM_CONTROL_PORT_B = 0x61;
export const PIT_FREQUENCY_HZ = 1_193_182;
/** Refresh requests come from channel 1 at 18 clocks on the AT; port 0x61 bit 4 toggles with them. */
const REFRESH_CLOCKS = 18;

const PORT_B_GATE2 = 0x01;
const PORT_B_SPEAKER_DATA = 0x02;
const PORT_B_WRITABLE = 0x0f;
const PORT_B_REFRESH = 0x10;
const PORT_B_OUT2 = 0x20;

const NS_PER_S = 1e9;

/** Whole PIT clocks in `elapsedNs` (>= 0); split by seconds so the products stay exact. */
export function pitClocksIn(elapsedNs: number): number {
  const e = Math.floor(elapsedNs);
  const sec = Math.floor(e / NS_PER_S);
  return sec * PIT_FREQUENCY_HZ + Math.floor(((e - sec * NS_PER_S) * PIT_FREQUENCY_HZ) / NS_PER_S);
}

/** The first whole nanosecond by which `clocks` PIT clocks have elapsed. */
export function pitNsForClocks(clocks: number): number {
  const sec = Math.floor(clocks / PIT_FREQUENCY_HZ);
  return sec * NS_PER_S + Math.ceil(((clocks - sec * PIT_FREQUENCY_HZ) * NS_PER_S) / PIT_FREQUENCY_HZ);
}

const channelStateSchema = z.object({
  modeBits: z.number().int().min(0).max(7),
  bcd: z.boolean(),
  access: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  cr: z.number().int().min(0).max(0xffff),
  crValid: z.boolean(),
  writeLow: z.number().int().min(0).max(0xff).nullable(),
  readHigh: z.boolean(),
  latch: z.number().int().min(0).max(0xffff).nullable(),
  latchHigh: z.boolean(),
  status: z.number().int().min(0).max(0xff).nullable(),
  gate: z.boolean(),
  phase: z.enum(['idle', 'running', 'suspended']),
  /** Origin of the channel's clock grid, as nowNs() - base at save time. */
  baseAgoNs: z.number(),
  /** PIT clocks from `base` to the start of the current counting segment. */
  startClock: z.number().int().min(0),
  /** Reload value N (1..65536) of modes 2/3, or the count at `base` (S) of modes 0/1/4/5. */
  initial: z.number().int().min(0).max(0x10000),
  /** Mode 3: clocks already elapsed in the cycle at `base` (starts in the low half). */
  offset: z.number().int().min(0).max(0x10000),
  /** Modes 0/1/4/5: terminal count already passed before `base`. */
  fired: z.boolean(),
  frozenCount: z.number().int().min(0).max(0x10000),
  frozenOut: z.boolean(),
  pending: z.number().int().min(1).max(0x10000).nullable(),
  pendingOffset: z.number().int().min(0).max(0x10000),
  /** PIT clocks from `base` to the boundary where `pending` is loaded. */
  pendingClock: z.number().int().min(0),
  nullCount: z.boolean(),
  loadInNs: z.number().nullable(),
});
type ChannelState = z.infer<typeof channelStateSchema>;

export const pit8254StateSchema = z.object({
  version: z.literal(1),
  channels: z.array(channelStateSchema).length(3),
  portB: z.number().int().min(0).max(0xff),
  irq0Level: z.boolean(),
});
export type Pit8254State = z.infer<typeof pit8254StateSchema>;

export interface PitCounters {
  /** Accesses the chip ignores: reads of the control port, illegal counts. */
  ignored: number;
}

function toBcd(v: number): number {
  return (Math.floor(v / 1000) % 10) * 0x1000 + (Math.floor(v / 100) % 10) * 0x100 + (Math.floor(v / 10) % 10) * 0x10 + (v % 10);
}
function fromBcd(v: number): number {
  return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

/**
 * One counter. Times are absolute clock nanoseconds. `base` (a whole number) is where
 * the clock grid starts when a count is loaded; a later reload at a period boundary
 * keeps the grid and moves `startClock`, so the boundary stays exact to the clock.
 */
class PitChannel {
  s: ChannelState;
  base = 0;
  loadAt: number | null = null;

  constructor(gate: boolean) {
    this.s = {
      modeBits: 0, bcd: false, access: 3, cr: 0, crValid: false, writeLow: null, readHigh: false, latch: null,
      latchHigh: false, status: null, gate, phase: 'idle', baseAgoNs: 0, startClock: 0, initial: 0, offset: 0, fired: false,
      frozenCount: 0, frozenOut: false, pending: null, pendingOffset: 0, pendingClock: 0, nullCount: true, loadInNs: null,
    };
  }

  get mode(): number {
    return this.s.modeBits > 5 ? this.s.modeBits - 4 : this.s.modeBits;
  }
  private get modulus(): number {
    return this.s.bcd ? 10000 : 0x10000;
  }
  private decode(raw: number): number {
    const v = this.s.bcd ? fromBcd(raw) : raw;
    return v === 0 ? this.modulus : v;
  }

  /** Applies a mode 2/3 reload whose boundary has been reached. */
  private settle(now: number): void {
    const s = this.s;
    if (s.pending !== null && now >= this.base + pitNsForClocks(s.pendingClock)) {
      s.startClock = s.pendingClock;
      s.initial = s.pending;
      s.offset = s.pendingOffset;
      s.pending = null;
    }
  }

  /** PIT clocks since the current segment started. */
  private clocks(now: number): number {
    // A late channel-0 timer may evaluate an edge from before a reload another access applied.
    return now > this.base ? Math.max(0, pitClocksIn(now - this.base) - this.s.startClock) : 0;
  }

  out(now: number): boolean {
    this.settle(now);
    const s = this.s;
    if (s.phase === 'idle') return this.mode !== 0;
    if (s.phase === 'suspended') return s.frozenOut;
    const d = this.clocks(now);
    const n = s.initial;
    switch (this.mode) {
      case 0:
      case 1:
        return s.fired || d >= n;
      case 4:
      case 5:
        return s.fired || d !== n;
      case 2:
        return n < 2 || d % n !== n - 1;
      default:
        return n < 2 || (d + s.offset) % n < Math.ceil(n / 2);
    }
  }

  /** The counting element, in binary (0..65535 or 0..9999). */
  count(now: number): number {
    this.settle(now);
    const s = this.s;
    if (s.phase !== 'running') return s.frozenCount % this.modulus;
    const d = this.clocks(now);
    const n = s.initial;
    const m = this.modulus;
    switch (this.mode) {
      case 2:
        return (n - (d % n)) % m;
      case 3: {
        const p = (d + s.offset) % n;
        const h = Math.ceil(n / 2);
        const inHalf = p < h ? p : p - h;
        return ((n & 1 ? n - 1 : n) - 2 * inHalf) % m;
      }
      default:
        return (((n - d) % m) + m) % m;
    }
  }

  /** Clock time of the next OUT change after `now`, or null if OUT is steady. */
  nextTransition(now: number): number | null {
    this.settle(now);
    const s = this.s;
    if (s.phase !== 'running') return null;
    const d = this.clocks(now);
    const n = s.initial;
    let k: number | null = null;
    switch (this.mode) {
      case 0:
      case 1:
        k = !s.fired && d < n ? n : null;
        break;
      case 4:
      case 5:
        k = s.fired ? null : d < n ? n : d === n ? n + 1 : null;
        break;
      case 2:
        if (n >= 2) k = d % n < n - 1 ? d - (d % n) + n - 1 : d + 1;
        break;
      default:
        if (n >= 2) {
          const dd = d + s.offset;
          const p = dd % n;
          k = dd - p + (p < Math.ceil(n / 2) ? Math.ceil(n / 2) : n) - s.offset;
        }
    }
    return k === null ? null : this.base + pitNsForClocks(s.startClock + k);
  }

  nullCount(now: number): boolean {
    if (this.s.nullCount && this.loadAt !== null && now >= this.loadAt) this.s.nullCount = false;
    return this.s.nullCount;
  }

  private startAt(now: number, n: number): void {
    this.base = Math.floor(now);
    this.s.startClock = 0;
    this.s.phase = 'running';
    this.s.initial = n;
    this.s.offset = 0;
    this.s.fired = false;
    this.s.pending = null;
    this.loadAt = this.base + pitNsForClocks(1);
  }

  private freeze(now: number, out: boolean): void {
    const s = this.s;
    if (s.phase === 'running') {
      const m = this.mode;
      const d = this.clocks(now);
      s.frozenCount = this.count(now);
      s.fired = s.fired || ((m === 0 || m === 4) && d >= s.initial);
    }
    s.frozenOut = out;
    s.phase = 'suspended';
    s.pending = null;
  }

  control(now: number, modeBits: number, access: 1 | 2 | 3, bcd: boolean): void {
    const s = this.s;
    const held = this.count(now);
    Object.assign(s, {
      modeBits, access, bcd, phase: 'idle', crValid: false, writeLow: null, readHigh: false, latch: null,
      latchHigh: false, status: null, fired: false, pending: null, nullCount: true, frozenCount: held,
    });
    this.loadAt = null;
  }

  /** Returns false when the count is illegal for the mode. */
  writeByte(now: number, value: number): boolean {
    const s = this.s;
    if (s.access === 1) return this.load(now, value);
    if (s.access === 2) return this.load(now, value << 8);
    if (s.writeLow === null) {
      s.writeLow = value;
      if (this.mode === 0) this.freeze(now, false);
      return true;
    }
    const raw = s.writeLow | (value << 8);
    s.writeLow = null;
    return this.load(now, raw);
  }

  private load(now: number, raw: number): boolean {
    const s = this.s;
    s.cr = raw;
    s.crValid = true;
    s.nullCount = true;
    const n = this.decode(raw);
    switch (this.mode) {
      case 0:
      case 4:
        if (s.gate) {
          this.startAt(now, n);
        } else {
          s.phase = 'suspended';
          s.frozenCount = n;
          s.fired = false;
          s.frozenOut = this.mode === 4;
          this.loadAt = Math.floor(now) + pitNsForClocks(1);
        }
        break;
      case 1:
      case 5:
        this.loadAt = null; // loaded by the next trigger
        break;
      default:
        if (s.phase === 'running') {
          this.settle(now);
          const d = this.clocks(now);
          const cur = s.initial;
          let boundary: number;
          if (this.mode === 2) {
            boundary = d - (d % cur) + cur;
            s.pendingOffset = 0;
          } else {
            const h = Math.ceil(cur / 2);
            const p = (d + s.offset) % cur;
            boundary = d - p + (p < h ? h : cur);
            s.pendingOffset = p < h ? Math.ceil(n / 2) : 0;
          }
          s.pending = n;
          s.pendingClock = s.startClock + boundary;
          this.loadAt = this.base + pitNsForClocks(s.pendingClock);
        } else if (s.gate) {
          this.startAt(now, n);
        } else {
          s.phase = 'suspended';
          s.frozenCount = n;
          s.frozenOut = true;
        }
        return n >= 2;
    }
    return true;
  }

  setGate(now: number, high: boolean): void {
    const s = this.s;
    if (s.gate === high) return;
    this.settle(now);
    s.gate = high;
    switch (this.mode) {
      case 0:
      case 4:
        if (!high && s.phase === 'running') {
          this.freeze(now, this.out(now));
        } else if (high && s.phase === 'suspended' && s.crValid && s.writeLow === null) {
          const { fired, frozenCount, nullCount } = s;
          // A frozen 0 that has not expired yet is a full 65536 (10000 in BCD) still to go.
          this.startAt(now, !fired && frozenCount === 0 ? this.modulus : frozenCount);
          s.fired = fired;
          s.nullCount = nullCount;
        }
        break;
      case 1:
      case 5:
        if (high && s.crValid) this.startAt(now, this.decode(s.cr));
        break;
      default:
        if (!high && s.phase === 'running') this.freeze(now, true);
        else if (high && s.crValid) this.startAt(now, this.decode(s.cr));
    }
  }

  latchCount(now: number): void {
    const s = this.s;
    if (s.latch !== null) return;
    const c = this.count(now);
    s.latch = s.bcd ? toBcd(c) : c;
    s.latchHigh = false;
  }

  latchStatus(now: number): void {
    const s = this.s;
    if (s.status !== null) return;
    s.status =
      (this.out(now) ? 0x80 : 0) | (this.nullCount(now) ? 0x40 : 0) | (s.access << 4) | (s.modeBits << 1) | (s.bcd ? 1 : 0);
  }

  readByte(now: number): number {
    const s = this.s;
    if (s.status !== null) {
      const v = s.status;
      s.status = null;
      return v;
    }
    let high: boolean;
    let value: number;
    if (s.latch !== null) {
      value = s.latch;
      high = s.access === 2 || (s.access === 3 && s.latchHigh);
      if (s.access === 3 && !s.latchHigh) s.latchHigh = true;
      else s.latch = null;
    } else {
      const c = this.count(now);
      value = s.bcd ? toBcd(c) : c;
      high = s.access === 2 || (s.access === 3 && s.readHigh);
      if (s.access === 3) s.readHigh = !s.readHigh;
    }
    return high ? (value >> 8) & 0xff : value & 0xff;
  }

  save(now: number): ChannelState {
    return {
      ...this.s,
      baseAgoNs: now - this.base,
      loadInNs: this.loadAt === null ? null : this.loadAt - now,
    };
  }

  restore(now: number, state: ChannelState): void {
    this.s = { ...state };
    this.base = now - state.baseAgoNs;
    this.loadAt = state.loadInNs === null ? null : now + state.loadInNs;
  }
}

export interface Pit8254Options {
  clock: Clock;
  /** Channel 0 OUT, wired to IRQ 0. */
  irq0: IrqLine;
  persistKey?: string;
}

export class Pit8254 implements IoDevice, Persistable<Pit8254State> {
  readonly name = 'pit-8254';
  readonly persistKey: string;
  readonly counters: PitCounters = { ignored: 0 };
  /** System control port B (0x61): gate 2, speaker data, refresh detect, OUT2. */
  readonly port61: IoDevice;
  private readonly clock: Clock;
  private readonly irq0: IrqLine;
  private channels: PitChannel[] = [];
  private portB = 0;
  private irq0Level = false;
  private timer: Timer | null = null;

  constructor(options: Pit8254Options) {
    this.clock = options.clock;
    this.irq0 = options.irq0;
    this.persistKey = options.persistKey ?? 'pit-8254';
    this.port61 = {
      name: 'system-control-port-b',
      read: () => this.readPortB(),
      write: (_offset, _size, value) => this.writePortB(value),
    };
    this.reset();
  }

  /**
   * Power-on state as QEMU leaves it: every channel in mode 3 with count 0 (65536),
   * channels 0 and 1 gated on, channel 2 gated by port 0x61 (off).
   */
  reset(): void {
    const now = this.clock.nowNs();
    this.portB = 0;
    this.channels = [new PitChannel(true), new PitChannel(true), new PitChannel(false)];
    for (const ch of this.channels) {
      ch.control(now, 3, 3, false);
      ch.writeByte(now, 0);
      ch.writeByte(now, 0);
    }
    this.reschedule(now);
  }

  read(offset: number, _size: AccessSize): number {
    if (offset >= 3) {
      this.counters.ignored++;
      return 0xff;
    }
    return this.channels[offset].readByte(this.clock.nowNs());
  }

  write(offset: number, _size: AccessSize, value: number): void {
    const now = this.clock.nowNs();
    value &= 0xff;
    if (offset < 3) {
      if (!this.channels[offset].writeByte(now, value)) this.counters.ignored++;
      if (offset === 0) this.reschedule(now);
      return;
    }
    const sc = value >> 6;
    if (sc === 3) {
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        if ((value & 0x20) === 0) this.channels[i].latchCount(now);
        if ((value & 0x10) === 0) this.channels[i].latchStatus(now);
      }
      return;
    }
    const rw = (value >> 4) & 3;
    if (rw === 0) {
      this.channels[sc].latchCount(now);
      return;
    }
    this.channels[sc].control(now, (value >> 1) & 7, rw as 1 | 2 | 3, (value & 1) !== 0);
    if (sc === 0) this.reschedule(now);
  }

  /** Drives a gate input (channels 0 and 1 are tied high on the PC; 2 follows port 0x61). */
  setGate(channel: 0 | 1 | 2, high: boolean): void {
    const now = this.clock.nowNs();
    this.channels[channel].setGate(now, high);
    if (channel === 0) this.reschedule(now);
  }

  /** The OUT pin of `channel` now. */
  output(channel: 0 | 1 | 2): boolean {
    return this.channels[channel].out(this.clock.nowNs());
  }

  private readPortB(): number {
    const now = this.clock.nowNs();
    const refresh = Math.floor(pitClocksIn(now) / REFRESH_CLOCKS) & 1 ? PORT_B_REFRESH : 0;
    const out2 = this.channels[2].out(now) ? PORT_B_OUT2 : 0;
    return (this.portB & PORT_B_WRITABLE) | refresh | out2;
  }

  private writePortB(value: number): void {
    this.portB = value & PORT_B_WRITABLE;
    this.channels[2].setGate(this.clock.nowNs(), (value & PORT_B_GATE2) !== 0);
  }

  /** True while the speaker is driven: OUT2 gated by the speaker data bit. */
  speakerOn(): boolean {
    return (this.portB & PORT_B_SPEAKER_DATA) !== 0 && this.output(2);
  }

  private drive(level: boolean): void {
    if (level === this.irq0Level) return;
    this.irq0Level = level;
    this.irq0.setLevel(level);
  }

  /** Re-evaluates channel 0 at `at` and arms a timer for its next OUT transition only. */
  private reschedule(at: number): void {
    this.timer?.cancel();
    this.timer = null;
    const ch = this.channels[0];
    this.drive(ch.out(at));
    const next = ch.nextTransition(at);
    if (next !== null) {
      // Evaluate at the scheduled edge, not at "now": a late timer still shows every edge.
      this.timer = this.clock.schedule(next, () => {
        this.timer = null;
        this.reschedule(next);
      });
    }
  }

  save(): Pit8254State {
    const now = this.clock.nowNs();
    return { version: 1, channels: this.channels.map((c) => c.save(now)), portB: this.portB, irq0Level: this.irq0Level };
  }

  restore(state: Pit8254State): void {
    if (state.version !== 1) throw new Error(`${this.persistKey}: unsupported state version ${String(state.version)}`);
    const parsed = pit8254StateSchema.parse(state);
    const now = this.clock.nowNs();
    this.channels.forEach((c, i) => c.restore(now, parsed.channels[i]));
    this.portB = parsed.portB;
    this.irq0Level = parsed.irq0Level;
    this.reschedule(now);
  }
}
