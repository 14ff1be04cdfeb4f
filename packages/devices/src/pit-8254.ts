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
 *
 * One channel's counting logic is in pit-8254-counter.ts; this file holds the ports,
 * port 0x61, the channel 0 timer that drives IRQ 0, and the snapshot.
 */
import { z } from 'zod';
import type { AccessSize, Clock, IoDevice, IrqLine, Persistable, Timer } from './platform/index.js';
import { PitChannel, pitChannelStateSchema, pitClocksIn } from './pit-8254-counter.js';

// The PIT clock grid is defined beside the counter; callers keep importing it from here.
export { PIT_FREQUENCY_HZ, pitClocksIn, pitNsForClocks } from './pit-8254-counter.js';

export const PIT_BASE = 0x40;
export const PIT_CONTROL_PORT = 0x43;
export const SYSTEM_CONTROL_PORT_B = 0x61;
/** Refresh requests come from channel 1 at 18 clocks on the AT; port 0x61 bit 4 toggles with them. */
const REFRESH_CLOCKS = 18;

const PORT_B_GATE2 = 0x01;
const PORT_B_SPEAKER_DATA = 0x02;
const PORT_B_WRITABLE = 0x0f;
const PORT_B_REFRESH = 0x10;
const PORT_B_OUT2 = 0x20;

export const pit8254StateSchema = z.object({
  version: z.literal(1),
  channels: z.array(pitChannelStateSchema).length(3),
  portB: z.number().int().min(0).max(0xff),
  irq0Level: z.boolean(),
});
export type Pit8254State = z.infer<typeof pit8254StateSchema>;

export interface PitCounters {
  /** Accesses the chip ignores: reads of the control port, illegal counts. */
  ignored: number;
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
