/**
 * One counter (channel) of the Intel 8254 PIT: the six counting modes, the count and OUT
 * level as functions of the Clock, the control-word reset, the LSB/MSB write and read
 * sequencing, and the count and status latches (datasheet 231164).
 *
 * Kept apart from pit-8254.ts, which owns the ports, port 0x61, the channel 0 timer and
 * the snapshot, so the per-mode arithmetic can be read and checked on its own. The
 * PIT clock rate and the clock/nanosecond conversions live here because every counter
 * runs on that grid; pit-8254.ts re-exports them.
 */
import { z } from 'zod';

/** Input clock of every counter: the PC's 14.31818 MHz crystal divided by 12. */
export const PIT_FREQUENCY_HZ = 1_193_182;

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

/** Snapshot of one counter; times are stored relative to the save. */
export const pitChannelStateSchema = z.object({
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
export type PitChannelState = z.infer<typeof pitChannelStateSchema>;

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
export class PitChannel {
  s: PitChannelState;
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

  save(now: number): PitChannelState {
    return {
      ...this.s,
      baseAgoNs: now - this.base,
      loadInNs: this.loadAt === null ? null : this.loadAt - now,
    };
  }

  restore(now: number, state: PitChannelState): void {
    this.s = { ...state };
    this.base = now - state.baseAgoNs;
    this.loadAt = state.loadInNs === null ? null : now + state.loadInNs;
  }
}
