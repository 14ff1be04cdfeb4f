/**
 * The local vector table and the LINT0/LINT1 input pins (SDM Vol. 3A 11.5.1 "Local
 * Vector Table", figure 11-8).
 *
 * - Every entry resets masked; while the APIC is software-disabled the mask bits are
 *   forced on and cannot be cleared (11.4.7.2).
 * - Timer and error entries always deliver as fixed; thermal, perfmon and the LINT
 *   pins use their delivery-mode field (fixed, NMI or ExtINT here; SMI and INIT are
 *   counted as unsupported).
 * - An edge-triggered pin acts on a rising edge. A level-triggered fixed LINT0 asserts
 *   while high, sets remote IRR, and asserts again only after the EOI of its vector
 *   clears remote IRR. LINT1 is always edge-triggered (the SDM requires trigger 0).
 * - ExtINT on LINT0 does not use IRR at all: the CPU takes the vector from the 8259
 *   during INTA; see LocalApic.acknowledgeInterrupt.
 */
import {
  DM_EXTINT, DM_FIXED, DM_NMI, LVT_COUNT, LVT_DELIVERY_MODE_SHIFT, LVT_ERROR, LVT_LINT0, LVT_MASKED, LVT_REMOTE_IRR,
  LVT_RESET_VALUE, LVT_TIMER, LVT_TIMER_MODE_SHIFT, LVT_TRIGGER_LEVEL, LVT_VECTOR, lvtWritableMask,
} from './local-apic-registers.js';

/** What the LVT needs from its APIC. */
export interface LvtSink {
  /** Hardware- and software-enabled. */
  active(): boolean;
  accept(vector: number, trigger: 'edge' | 'level'): void;
  nmi(): void;
  unsupported(): void;
}

export class ApicLvt {
  readonly entries = new Uint32Array(LVT_COUNT);
  /** Current level of the LINT0 and LINT1 pins. */
  readonly lintLevels: [boolean, boolean] = [false, false];

  constructor(
    private readonly sink: LvtSink,
    private readonly tscDeadline: boolean,
  ) {
    this.reset();
  }

  /** All entries masked; the pins keep their levels. */
  reset(): void {
    this.entries.fill(LVT_RESET_VALUE);
  }

  maskAll(): void {
    for (let i = 0; i < LVT_COUNT; i++) this.entries[i] |= LVT_MASKED;
  }

  timerMode(): number {
    return (this.entries[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & 3;
  }

  /** LINT0 unmasked in ExtINT mode: the 8259's INTR reaches the CPU. */
  extIntOpen(): boolean {
    const e = this.entries[LVT_LINT0];
    return (e & LVT_MASKED) === 0 && ((e >> LVT_DELIVERY_MODE_SHIFT) & 7) === DM_EXTINT;
  }

  /** A register write; `softwareEnabled` false forces the mask bit. */
  write(index: number, value: number, softwareEnabled: boolean): void {
    let v = (value & lvtWritableMask(index, this.tscDeadline)) | (this.entries[index] & LVT_REMOTE_IRR);
    if (!softwareEnabled) v |= LVT_MASKED;
    this.entries[index] = v >>> 0;
    // A level-triggered pin that is already high asserts once unmasked.
    if (index === LVT_LINT0 && this.lintLevels[0]) this.lintInput(0, true, true);
  }

  /** A local source fired: deliver through its entry unless masked. */
  signal(index: number, trigger: 'edge' | 'level' = 'edge'): void {
    const entry = this.entries[index];
    if ((entry & LVT_MASKED) !== 0 || !this.sink.active()) return;
    const mode = index === LVT_TIMER || index === LVT_ERROR ? DM_FIXED : (entry >> LVT_DELIVERY_MODE_SHIFT) & 7;
    if (mode === DM_FIXED) this.sink.accept(entry & LVT_VECTOR, trigger);
    else if (mode === DM_NMI) this.sink.nmi();
    else if (mode !== DM_EXTINT) this.sink.unsupported();
  }

  /**
   * A LINT pin changed level (or, with `recheck`, its entry or remote IRR did). With the
   * APIC inactive the pins act as INTR (polled through the 8259) and NMI.
   */
  lintInput(lint: 0 | 1, high: boolean, recheck = false): void {
    const rising = high && !this.lintLevels[lint];
    this.lintLevels[lint] = high;
    if (!this.sink.active()) {
      if (lint === 1 && rising) this.sink.nmi();
      return;
    }
    const index = LVT_LINT0 + lint;
    const entry = this.entries[index];
    const mode = (entry >> LVT_DELIVERY_MODE_SHIFT) & 7;
    if (lint === 0 && mode === DM_FIXED && (entry & LVT_TRIGGER_LEVEL) !== 0) {
      if (high && (entry & (LVT_REMOTE_IRR | LVT_MASKED)) === 0) {
        this.entries[index] |= LVT_REMOTE_IRR;
        this.signal(index, 'level');
      }
    } else if (rising && !recheck && mode !== DM_EXTINT) {
      this.signal(index);
    }
  }

  /** EOI of a level-triggered vector: clears a matching LINT0 remote IRR and re-asserts. */
  levelEoi(vector: number): void {
    const e = this.entries[LVT_LINT0];
    if ((e & LVT_REMOTE_IRR) === 0 || (e & LVT_VECTOR) !== vector) return;
    this.entries[LVT_LINT0] = e & ~LVT_REMOTE_IRR;
    if (this.lintLevels[0]) this.lintInput(0, true, true);
  }
}
