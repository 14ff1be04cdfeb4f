import { describe, expect, it } from 'vitest';
import { LocalApic, localApicStateSchema, apicBaseReservedBits, APIC_DEFAULT_BASE, type ApicIpi, type LocalApicOptions } from '../src/local-apic.js';
import { PicPair } from '../src/pic-8259.js';
import { createMmioBus, ManualClock, RecordingIrqLine, type InterruptSource } from '../src/platform/index.js';

const ID = 0x20;
const VERSION = 0x30;
const TPR = 0x80;
const APR = 0x90;
const PPR = 0xa0;
const EOI = 0xb0;
const LDR = 0xd0;
const DFR = 0xe0;
const SVR = 0xf0;
const ISR = 0x100;
const TMR = 0x180;
const IRR = 0x200;
const ESR = 0x280;
const ICR_LOW = 0x300;
const ICR_HIGH = 0x310;
const LVT_TIMER = 0x320;
const LVT_THERMAL = 0x330;
const LVT_PERFMON = 0x340;
const LVT_LINT0 = 0x350;
const LVT_LINT1 = 0x360;
const LVT_ERROR = 0x370;
const TIMER_INITIAL = 0x380;
const TIMER_CURRENT = 0x390;
const TIMER_DIVIDE = 0x3e0;

const MASKED = 1 << 16;
const PERIODIC = 1 << 17;
const TSC_DEADLINE = 2 << 17;
const EXTINT = 7 << 8;
const NMI = 4 << 8;
const SPURIOUS = 0xef;

/** Divide configuration value for each divisor (SDM figure 11-10). */
const DIVIDE: Record<number, number> = { 1: 0xb, 2: 0x0, 4: 0x1, 8: 0x2, 16: 0x3, 32: 0x8, 64: 0x9, 128: 0xa };

interface Rig {
  apic: LocalApic;
  clock: ManualClock;
  intr: RecordingIrqLine;
  ipis: ApicIpi[];
  levelEois: number[];
}

function rig(extra: Partial<LocalApicOptions> = {}, enable = true): Rig {
  const clock = new ManualClock();
  const intr = new RecordingIrqLine();
  const ipis: ApicIpi[] = [];
  const levelEois: number[] = [];
  const apic = new LocalApic({
    clock,
    output: intr,
    sendIpi: (ipi) => ipis.push(ipi),
    onLevelEoi: (v) => levelEois.push(v),
    ...extra,
  });
  if (enable) apic.write(SVR, 4, 0x100 | SPURIOUS);
  return { apic, clock, intr, ipis, levelEois };
}

const rd = (apic: LocalApic, offset: number): number => apic.read(offset, 4);
const wr = (apic: LocalApic, offset: number, value: number): void => apic.write(offset, 4, value);
const bitOf = (apic: LocalApic, base: number, vector: number): boolean =>
  ((rd(apic, base + (vector >> 5) * 0x10) >>> (vector & 31)) & 1) === 1;

/** What software does to read the ESR: write, then read (SDM 11.5.3). */
function readEsr(apic: LocalApic): number {
  wr(apic, ESR, 0);
  return rd(apic, ESR);
}

class FakePic implements InterruptSource {
  pending: number[] = [];
  acks = 0;
  hasPendingInterrupt(): boolean {
    return this.pending.length > 0;
  }
  acknowledgeInterrupt(): number {
    this.acks++;
    return this.pending.shift() ?? 0x27;
  }
}

describe('LocalApic registers', () => {
  it('comes out of reset with the SDM 11.4.7.1 values', () => {
    const { apic } = rig({ id: 3 }, false);
    expect(rd(apic, ID)).toBe(0x03000000);
    expect(rd(apic, VERSION)).toBe(0x50014);
    expect(rd(apic, TPR)).toBe(0);
    expect(rd(apic, PPR)).toBe(0);
    expect(rd(apic, APR)).toBe(0);
    expect(rd(apic, LDR)).toBe(0);
    expect(rd(apic, DFR)).toBe(0xffffffff);
    expect(rd(apic, SVR)).toBe(0xff);
    for (let i = 0; i < 8; i++) {
      expect(rd(apic, ISR + i * 0x10)).toBe(0);
      expect(rd(apic, TMR + i * 0x10)).toBe(0);
      expect(rd(apic, IRR + i * 0x10)).toBe(0);
    }
    for (const lvt of [LVT_TIMER, LVT_THERMAL, LVT_PERFMON, LVT_LINT0, LVT_LINT1, LVT_ERROR]) expect(rd(apic, lvt)).toBe(MASKED);
    expect(rd(apic, ESR)).toBe(0);
    expect(rd(apic, ICR_LOW)).toBe(0);
    expect(rd(apic, ICR_HIGH)).toBe(0);
    expect(rd(apic, TIMER_INITIAL)).toBe(0);
    expect(rd(apic, TIMER_CURRENT)).toBe(0);
    expect(rd(apic, TIMER_DIVIDE)).toBe(0);
    expect(apic.getApicBase()).toBe(0xfee00900n);
  });

  it('keeps only the architectural bits of LDR, DFR, SVR, ICR and the divide register', () => {
    const { apic } = rig();
    wr(apic, LDR, 0xffffffff);
    wr(apic, DFR, 0x0);
    wr(apic, SVR, 0xffffffff);
    wr(apic, ICR_HIGH, 0xffffffff);
    wr(apic, TIMER_DIVIDE, 0xffffffff);
    expect(rd(apic, LDR)).toBe(0xff000000);
    expect(rd(apic, DFR)).toBe(0x0fffffff);
    expect(rd(apic, SVR)).toBe(0x3ff);
    expect(rd(apic, ICR_HIGH)).toBe(0xff000000);
    expect(rd(apic, TIMER_DIVIDE)).toBe(0xb);
    wr(apic, VERSION, 0);
    expect(rd(apic, VERSION)).toBe(0x50014);
  });

  it('answers aligned 32-bit accesses on the MMIO bus and counts the others', () => {
    const { apic } = rig();
    const bus = createMmioBus();
    bus.register(APIC_DEFAULT_BASE, 0x1000, apic, [4]);
    bus.write(APIC_DEFAULT_BASE + TPR, 4, 0x45);
    expect(bus.read(APIC_DEFAULT_BASE + TPR, 4)).toBe(0x45);
    bus.read(APIC_DEFAULT_BASE + TPR, 1);
    expect(bus.counters.rejectedSize).toBe(1);
    expect(bus.read(APIC_DEFAULT_BASE + TPR + 4, 4)).toBe(0);
    bus.write(APIC_DEFAULT_BASE + TPR + 8, 4, 0xff);
    expect(apic.counters.badAccess).toBe(2);
    expect(rd(apic, TPR)).toBe(0x45);
  });

  it('flags a reserved register offset in ESR bit 7', () => {
    const { apic } = rig();
    expect(rd(apic, 0x2f0)).toBe(0);
    expect(apic.counters.illegalRegister).toBe(1);
    expect(readEsr(apic)).toBe(0x80);
  });

  it('shows errors in the ESR only after a write, and clears them with the next write', () => {
    const { apic } = rig();
    apic.acceptInterrupt(5);
    expect(rd(apic, ESR)).toBe(0);
    wr(apic, ESR, 0);
    expect(rd(apic, ESR)).toBe(0x40);
    wr(apic, ESR, 0);
    expect(rd(apic, ESR)).toBe(0);
  });

  it('maps CR8 onto TPR[7:4]', () => {
    const { apic } = rig();
    apic.writeCr8(0x9);
    expect(rd(apic, TPR)).toBe(0x90);
    wr(apic, TPR, 0x5c);
    expect(apic.readCr8()).toBe(0x5);
  });
});

describe('LocalApic interrupt acceptance and priority', () => {
  it('delivers the highest pending vector first and moves it from IRR to ISR', () => {
    const { apic, intr } = rig();
    apic.acceptInterrupt(0x31);
    apic.acceptInterrupt(0x85);
    apic.acceptInterrupt(0x52);
    expect(intr.level).toBe(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x85);
    expect(bitOf(apic, IRR, 0x85)).toBe(false);
    expect(bitOf(apic, ISR, 0x85)).toBe(true);
    expect(rd(apic, PPR)).toBe(0x80);
    // 0x52 and 0x31 are below the in-service class 8.
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(intr.level).toBe(false);
    wr(apic, EOI, 0);
    expect(apic.acknowledgeInterrupt()).toBe(0x52);
    wr(apic, EOI, 0);
    expect(apic.acknowledgeInterrupt()).toBe(0x31);
  });

  it('holds back vectors whose class is not above the TPR class', () => {
    const { apic } = rig();
    wr(apic, TPR, 0x5f);
    apic.acceptInterrupt(0x5e);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(rd(apic, PPR)).toBe(0x5f);
    apic.acceptInterrupt(0x60);
    expect(apic.hasPendingInterrupt()).toBe(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x60);
    // In service class 6 beats TPR class 5: PPR is the ISR class, sub-class zero.
    expect(rd(apic, PPR)).toBe(0x60);
    wr(apic, EOI, 0);
    wr(apic, TPR, 0x40);
    expect(apic.acknowledgeInterrupt()).toBe(0x5e);
  });

  it('lets a higher class preempt and EOIs nested vectors innermost first', () => {
    const { apic } = rig();
    apic.acceptInterrupt(0x40);
    expect(apic.acknowledgeInterrupt()).toBe(0x40);
    apic.acceptInterrupt(0x90);
    apic.acceptInterrupt(0x41);
    expect(apic.acknowledgeInterrupt()).toBe(0x90);
    expect(bitOf(apic, ISR, 0x40) && bitOf(apic, ISR, 0x90)).toBe(true);
    wr(apic, EOI, 0);
    expect(bitOf(apic, ISR, 0x90)).toBe(false);
    expect(bitOf(apic, ISR, 0x40)).toBe(true);
    // 0x41 shares class 4 with the vector still in service.
    expect(apic.hasPendingInterrupt()).toBe(false);
    wr(apic, EOI, 0);
    expect(bitOf(apic, ISR, 0x40)).toBe(false);
    expect(apic.acknowledgeInterrupt()).toBe(0x41);
  });

  it('sets TMR for level-triggered vectors and reports their EOI', () => {
    const { apic, levelEois } = rig();
    apic.acceptInterrupt(0x71, 'level');
    apic.acceptInterrupt(0x61, 'edge');
    expect(bitOf(apic, TMR, 0x71)).toBe(true);
    expect(bitOf(apic, TMR, 0x61)).toBe(false);
    expect(apic.acknowledgeInterrupt()).toBe(0x71);
    wr(apic, EOI, 0);
    expect(levelEois).toEqual([0x71]);
    expect(apic.acknowledgeInterrupt()).toBe(0x61);
    wr(apic, EOI, 0);
    expect(levelEois).toEqual([0x71]);
  });

  it('answers the spurious vector when TPR rises after INTR was signalled', () => {
    const { apic, intr } = rig();
    apic.acceptInterrupt(0x45);
    expect(intr.level).toBe(true);
    wr(apic, TPR, 0x50);
    expect(apic.acknowledgeInterrupt()).toBe(SPURIOUS);
    expect(bitOf(apic, IRR, 0x45)).toBe(true);
    expect(bitOf(apic, ISR, SPURIOUS)).toBe(false);
    expect(rd(apic, PPR)).toBe(0x50);
  });

  it('answers the spurious vector when nothing is pending at INTA', () => {
    const { apic } = rig();
    expect(apic.acknowledgeInterrupt()).toBe(SPURIOUS);
    for (let i = 0; i < 8; i++) expect(rd(apic, ISR + i * 0x10)).toBe(0);
  });

  it('refuses vectors 0-15 with ESR "received illegal vector" and raises the LVT error vector', () => {
    const { apic } = rig();
    wr(apic, LVT_ERROR, 0xfe);
    apic.acceptInterrupt(0x0e);
    expect(bitOf(apic, IRR, 0x0e)).toBe(false);
    expect(apic.acknowledgeInterrupt()).toBe(0xfe);
    expect(readEsr(apic)).toBe(0x40);
  });
});

describe('LocalApic timer', () => {
  it.each([1, 2, 16, 128])('one-shot fires after initial x %i ns and counts down on the way', (div) => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[div]);
    wr(apic, LVT_TIMER, 0x30);
    wr(apic, TIMER_INITIAL, 1000);
    clock.advanceTo(250 * div + div - 1);
    expect(rd(apic, TIMER_CURRENT)).toBe(750);
    clock.advanceTo(1000 * div - 1);
    expect(rd(apic, TIMER_CURRENT)).toBe(1);
    expect(apic.hasPendingInterrupt()).toBe(false);
    clock.advanceTo(1000 * div);
    expect(apic.acknowledgeInterrupt()).toBe(0x30);
    expect(rd(apic, TIMER_CURRENT)).toBe(0);
    wr(apic, EOI, 0);
    clock.advanceBy(10000 * div);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(rd(apic, TIMER_INITIAL)).toBe(1000);
  });

  it.each([1, 4, 32])('periodic at divide %i gives N interrupts in N periods without drift', (div) => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[div]);
    wr(apic, LVT_TIMER, PERIODIC | 0x40);
    wr(apic, TIMER_INITIAL, 10007);
    const period = 10007 * div;
    let count = 0;
    for (let k = 1; k <= 20; k++) {
      clock.advanceTo(k * period - 1);
      expect(apic.hasPendingInterrupt()).toBe(false);
      clock.advanceTo(k * period);
      if (apic.hasPendingInterrupt()) {
        expect(apic.acknowledgeInterrupt()).toBe(0x40);
        wr(apic, EOI, 0);
        count++;
      }
      expect(rd(apic, TIMER_CURRENT)).toBe(10007);
    }
    expect(count).toBe(20);
    // Long after, the grid is still anchored at the start.
    clock.advanceTo(1000 * period + 5);
    expect(clock.nextDeadline()).toBe(1001 * period);
  });

  it('coalesces a periodic timer faster than 10 us instead of firing every period', () => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[1]);
    wr(apic, LVT_TIMER, PERIODIC | 0x40);
    wr(apic, TIMER_INITIAL, 10);
    let acks = 0;
    for (let t = 1000; t <= 1_000_000; t += 1000) {
      clock.advanceTo(t);
      if (apic.hasPendingInterrupt()) {
        apic.acknowledgeInterrupt();
        wr(apic, EOI, 0);
        acks++;
      }
    }
    expect(acks).toBe(100);
    expect(clock.nextDeadline() - clock.nowNs()).toBeGreaterThanOrEqual(10_000);
    clock.advanceTo(1_000_003);
    expect(rd(apic, TIMER_CURRENT)).toBe(7);
  });

  it('reads the current count wrapping in periodic mode', () => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[2]);
    wr(apic, LVT_TIMER, PERIODIC | 0x40);
    wr(apic, TIMER_INITIAL, 100);
    clock.advanceTo(2 * 30);
    expect(rd(apic, TIMER_CURRENT)).toBe(70);
    clock.advanceTo(2 * 130);
    expect(rd(apic, TIMER_CURRENT)).toBe(70);
    clock.advanceTo(2 * 199);
    expect(rd(apic, TIMER_CURRENT)).toBe(1);
  });

  it('counts but raises nothing while the LVT timer entry is masked', () => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[1]);
    wr(apic, LVT_TIMER, MASKED | PERIODIC | 0x40);
    wr(apic, TIMER_INITIAL, 20000);
    clock.advanceTo(70000);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(rd(apic, TIMER_CURRENT)).toBe(10000);
    wr(apic, LVT_TIMER, PERIODIC | 0x40);
    clock.advanceTo(79999);
    expect(apic.hasPendingInterrupt()).toBe(false);
    clock.advanceTo(80000);
    expect(apic.acknowledgeInterrupt()).toBe(0x40);
  });

  it('continues from the current count at the new rate when the divisor changes', () => {
    const { apic, clock } = rig();
    wr(apic, TIMER_DIVIDE, DIVIDE[1]);
    wr(apic, LVT_TIMER, 0x40);
    wr(apic, TIMER_INITIAL, 1000);
    clock.advanceTo(400);
    wr(apic, TIMER_DIVIDE, DIVIDE[4]);
    expect(rd(apic, TIMER_CURRENT)).toBe(600);
    clock.advanceTo(400 + 600 * 4 - 1);
    expect(apic.hasPendingInterrupt()).toBe(false);
    clock.advanceTo(400 + 600 * 4);
    expect(apic.acknowledgeInterrupt()).toBe(0x40);
  });

  it('stops when the initial count is written with 0', () => {
    const { apic, clock } = rig();
    wr(apic, LVT_TIMER, 0x40);
    wr(apic, TIMER_INITIAL, 1000);
    wr(apic, TIMER_INITIAL, 0);
    clock.advanceTo(100000);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it('disarms the countdown when switching into TSC-deadline mode and the deadline when leaving it', () => {
    const { apic, clock } = rig({ tscFrequencyHz: 1e9 });
    wr(apic, LVT_TIMER, 0x40);
    wr(apic, TIMER_INITIAL, 1000);
    wr(apic, LVT_TIMER, TSC_DEADLINE | 0x40);
    expect(rd(apic, TIMER_INITIAL)).toBe(0);
    apic.writeTscDeadline(5000n);
    wr(apic, LVT_TIMER, 0x40);
    expect(apic.readTscDeadline()).toBe(0n);
    clock.advanceTo(100000);
    expect(apic.hasPendingInterrupt()).toBe(false);
  });

  it('without a TSC rate keeps timer mode bit 18 read-only and ignores IA32_TSC_DEADLINE', () => {
    const { apic, clock } = rig();
    expect(apic.supportsTscDeadline()).toBe(false);
    wr(apic, LVT_TIMER, TSC_DEADLINE | 0x40);
    expect(rd(apic, LVT_TIMER)).toBe(0x40);
    apic.writeTscDeadline(100n);
    clock.advanceTo(1000);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(apic.readTscDeadline()).toBe(0n);
  });

  it('fires in TSC-deadline mode at the deadline and clears IA32_TSC_DEADLINE', () => {
    const { apic, clock } = rig({ tscFrequencyHz: 2e9 });
    apic.writeTscDeadline(500n); // ignored: not in TSC-deadline mode yet
    expect(apic.readTscDeadline()).toBe(0n);
    wr(apic, LVT_TIMER, TSC_DEADLINE | 0x50);
    wr(apic, TIMER_INITIAL, 10); // ignored in TSC-deadline mode
    expect(rd(apic, TIMER_INITIAL)).toBe(0);
    apic.writeTscDeadline(4000n);
    expect(apic.readTscDeadline()).toBe(4000n);
    clock.advanceTo(1999);
    expect(apic.hasPendingInterrupt()).toBe(false);
    clock.advanceTo(2000);
    expect(apic.acknowledgeInterrupt()).toBe(0x50);
    expect(apic.readTscDeadline()).toBe(0n);
    expect(rd(apic, TIMER_CURRENT)).toBe(0);
    wr(apic, EOI, 0);
    apic.writeTscDeadline(1000n); // already in the past: fires at once
    expect(apic.acknowledgeInterrupt()).toBe(0x50);
  });
});

describe('LocalApic LINT pins and disabling', () => {
  it('passes the PIC through while software-disabled, blocks it with LINT0 masked, and passes it in ExtINT mode', () => {
    const { apic, intr } = rig({}, false);
    const pic = new FakePic();
    apic.connectExtInt(pic);
    pic.pending.push(0x20);
    apic.lint0.setLevel(true);
    expect(intr.level).toBe(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x20);
    apic.lint0.setLevel(false);
    expect(intr.level).toBe(false);

    wr(apic, SVR, 0x100 | SPURIOUS);
    pic.pending.push(0x21);
    apic.lint0.setLevel(true);
    expect(apic.hasPendingInterrupt()).toBe(false);
    expect(intr.level).toBe(false);

    wr(apic, LVT_LINT0, EXTINT);
    expect(intr.level).toBe(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x21);
    expect(pic.acks).toBe(2);
    // ExtINT vectors never enter the APIC's ISR.
    expect(bitOf(apic, ISR, 0x21)).toBe(false);
  });

  it('carries a real 8259 pair through LINT0 in virtual-wire mode', () => {
    const { apic, intr } = rig();
    const pic = new PicPair({ output: apic.lint0 });
    apic.connectExtInt(pic);
    wr(apic, LVT_LINT0, EXTINT);
    for (const [port, v] of [[0, 0x11], [1, 0x30], [1, 0x04], [1, 0x01], [1, 0xfe]] as const) pic.master.write(port, 1, v);
    pic.irqLine(0).setLevel(true);
    expect(intr.level).toBe(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x30);
    expect(intr.level).toBe(false);
    pic.master.write(0, 1, 0x20); // non-specific EOI to the 8259, not the APIC
    pic.irqLine(0).setLevel(false);
    pic.irqLine(0).setLevel(true);
    expect(apic.acknowledgeInterrupt()).toBe(0x30);
  });

  it('offers APIC fixed interrupts before a pass-through PIC interrupt', () => {
    const { apic } = rig();
    const pic = new FakePic();
    apic.connectExtInt(pic);
    wr(apic, LVT_LINT0, EXTINT);
    pic.pending.push(0x08);
    apic.acceptInterrupt(0x30);
    expect(apic.acknowledgeInterrupt()).toBe(0x30);
    expect(apic.acknowledgeInterrupt()).toBe(0x08);
  });

  it('masks every LVT entry when disabled through SVR and refuses fixed interrupts', () => {
    const { apic } = rig();
    wr(apic, LVT_TIMER, 0x40);
    wr(apic, LVT_LINT0, EXTINT);
    apic.acceptInterrupt(0x50);
    wr(apic, SVR, SPURIOUS);
    expect(rd(apic, LVT_TIMER)).toBe(MASKED | 0x40);
    expect(rd(apic, LVT_LINT0)).toBe(MASKED | EXTINT);
    wr(apic, LVT_TIMER, 0x41);
    expect(rd(apic, LVT_TIMER)).toBe(MASKED | 0x41);
    apic.acceptInterrupt(0x60);
    expect(apic.counters.dropped).toBe(1);
    expect(apic.hasPendingInterrupt()).toBe(false);
    // IRR keeps what was accepted before.
    expect(bitOf(apic, IRR, 0x50)).toBe(true);
    expect(bitOf(apic, IRR, 0x60)).toBe(false);
  });

  it('acts as absent when IA32_APIC_BASE bit 11 is clear and comes back in its reset state', () => {
    const moves: number[] = [];
    const { apic } = rig({ onRelocate: (b) => moves.push(b) });
    const pic = new FakePic();
    apic.connectExtInt(pic);
    wr(apic, TPR, 0x30);
    apic.acceptInterrupt(0x50);
    apic.setApicBase(0xfee00000n | (1n << 8n));
    expect(rd(apic, VERSION)).toBe(0xffffffff);
    apic.acceptInterrupt(0x60);
    pic.pending.push(0x24);
    expect(apic.acknowledgeInterrupt()).toBe(0x24);
    apic.setApicBase(0xfed00800);
    expect(apic.getApicBase()).toBe(0xfed00900n);
    expect(moves).toEqual([0xfed00000]);
    expect(rd(apic, TPR)).toBe(0);
    expect(rd(apic, SVR)).toBe(0xff);
    expect(bitOf(apic, IRR, 0x50)).toBe(false);
    expect(bitOf(apic, IRR, 0x60)).toBe(false);
  });

  it('resets LINT0 to unmasked ExtINT with virtualWireAtReset, so the PIC still works once SVR enables the APIC', () => {
    const { apic } = rig({ virtualWireAtReset: true });
    expect(rd(apic, LVT_LINT0)).toBe(EXTINT);
    const pic = new FakePic();
    apic.connectExtInt(pic);
    pic.pending.push(0x20);
    expect(apic.acknowledgeInterrupt()).toBe(0x20);
  });

  it('names the IA32_APIC_BASE bits a WRMSR must not set', () => {
    const reserved = apicBaseReservedBits(36);
    expect(reserved & 0xfee00900n).toBe(0n);
    expect(reserved & (1n << 10n)).not.toBe(0n);
    expect(reserved & (1n << 36n)).not.toBe(0n);
    expect(reserved & 0x1n).not.toBe(0n);
  });

  it('keeps CR8 working while hardware-disabled, with MMIO reading all ones', () => {
    const { apic } = rig();
    apic.setApicBase(0xfee00100n);
    wr(apic, TPR, 0x70);
    expect(rd(apic, TPR)).toBe(0xffffffff);
    apic.writeCr8(0xf);
    expect(apic.readCr8()).toBe(0xf);
    apic.setApicBase(0xfee00900n);
    expect(rd(apic, TPR)).toBe(0xf0);
  });

  it('treats LINT1 as the NMI pin and ignores IPIs while hardware-disabled', () => {
    const { apic } = rig();
    apic.setApicBase(0xfee00000n);
    apic.lint1.setLevel(true);
    expect(apic.takeNmi()).toBe(true);
    apic.receiveIpi({ deliveryMode: 'nmi', vector: 0, trigger: 'edge', level: true });
    expect(apic.takeNmi()).toBe(false);
    expect(apic.counters.dropped).toBe(1);
  });

  it('turns LINT1 in NMI mode into the NMI flag, on a rising edge only', () => {
    let notified = 0;
    const { apic } = rig({ onNmi: () => notified++ });
    wr(apic, LVT_LINT1, NMI);
    apic.lint1.setLevel(true);
    apic.lint1.setLevel(true);
    expect(notified).toBe(1);
    expect(apic.takeNmi()).toBe(true);
    expect(apic.takeNmi()).toBe(false);
    apic.lint1.setLevel(false);
    wr(apic, LVT_LINT1, MASKED | NMI);
    apic.lint1.setLevel(true);
    expect(apic.takeNmi()).toBe(false);
  });

  it('asserts a level-triggered fixed LINT0 once until its EOI clears remote IRR', () => {
    const { apic, levelEois } = rig();
    wr(apic, LVT_LINT0, (1 << 15) | 0x70);
    apic.lint0.setLevel(true);
    expect(rd(apic, LVT_LINT0) & (1 << 14)).not.toBe(0);
    expect(apic.acknowledgeInterrupt()).toBe(0x70);
    wr(apic, EOI, 0);
    expect(levelEois).toEqual([0x70]);
    // Still high after the EOI: asserted again.
    expect(apic.acknowledgeInterrupt()).toBe(0x70);
    apic.lint0.setLevel(false);
    wr(apic, EOI, 0);
    expect(rd(apic, LVT_LINT0) & (1 << 14)).toBe(0);
    expect(apic.hasPendingInterrupt()).toBe(false);
  });
});

describe('LocalApic ICR and IPIs', () => {
  it('sends INIT, INIT de-assert, Startup and fixed IPIs with their fields', () => {
    const { apic, ipis } = rig({ id: 0 });
    wr(apic, ICR_HIGH, 0x01000000);
    wr(apic, ICR_LOW, 0x0000c500);
    wr(apic, ICR_LOW, 0x00008500);
    wr(apic, ICR_LOW, 0x00000699);
    wr(apic, ICR_HIGH, 0x03000000);
    wr(apic, ICR_LOW, 0x00000841);
    expect(ipis).toEqual([
      { source: 0, destination: 1, destinationMode: 'physical', deliveryMode: 'init', vector: 0, level: true, trigger: 'level', shorthand: 'none' },
      { source: 0, destination: 1, destinationMode: 'physical', deliveryMode: 'init', vector: 0, level: false, trigger: 'level', shorthand: 'none' },
      { source: 0, destination: 1, destinationMode: 'physical', deliveryMode: 'startup', vector: 0x99, level: false, trigger: 'edge', shorthand: 'none' },
      { source: 0, destination: 3, destinationMode: 'logical', deliveryMode: 'fixed', vector: 0x41, level: false, trigger: 'edge', shorthand: 'none' },
    ]);
    expect(rd(apic, ICR_LOW) & (1 << 12)).toBe(0);
  });

  it('takes a fixed self-IPI itself and forwards the all-excluding-self shorthand', () => {
    const { apic, ipis } = rig();
    wr(apic, ICR_LOW, (1 << 18) | 0x66);
    expect(ipis).toEqual([]);
    expect(apic.acknowledgeInterrupt()).toBe(0x66);
    wr(apic, ICR_LOW, (3 << 18) | (5 << 8));
    expect(ipis.map((i) => [i.shorthand, i.deliveryMode])).toEqual([['all-excluding-self', 'init']]);
  });

  it('refuses to send an illegal vector and records ESR bit 5', () => {
    const { apic, ipis } = rig();
    wr(apic, ICR_LOW, 0x0000000f);
    expect(ipis).toEqual([]);
    expect(readEsr(apic)).toBe(0x20);
  });

  it('resets itself on a received INIT and reports INIT and Startup', () => {
    const events: string[] = [];
    const { apic } = rig({ id: 2, onInit: () => events.push('init'), onStartup: (v) => events.push(`sipi ${v}`) });
    wr(apic, TPR, 0x20);
    apic.receiveIpi({ deliveryMode: 'init', vector: 0, trigger: 'level', level: false });
    expect(rd(apic, TPR)).toBe(0x20);
    apic.receiveIpi({ deliveryMode: 'init', vector: 0, trigger: 'edge', level: true });
    apic.receiveIpi({ deliveryMode: 'startup', vector: 0x9a, trigger: 'edge', level: true });
    expect(events).toEqual(['init', 'sipi 154']);
    expect(rd(apic, TPR)).toBe(0);
    expect(rd(apic, SVR)).toBe(0xff);
    expect(rd(apic, ID)).toBe(0x02000000);
  });

  it('matches physical, flat logical and cluster logical destinations', () => {
    const { apic } = rig({ id: 5 });
    expect(apic.matchesDestination(5, 'physical')).toBe(true);
    expect(apic.matchesDestination(0xff, 'physical')).toBe(true);
    expect(apic.matchesDestination(4, 'physical')).toBe(false);
    wr(apic, LDR, 0x04000000);
    expect(apic.matchesDestination(0x06, 'logical')).toBe(true);
    expect(apic.matchesDestination(0x03, 'logical')).toBe(false);
    wr(apic, DFR, 0x0fffffff);
    wr(apic, LDR, 0x32000000);
    expect(apic.matchesDestination(0x32, 'logical')).toBe(true);
    expect(apic.matchesDestination(0xf2, 'logical')).toBe(true);
    expect(apic.matchesDestination(0x22, 'logical')).toBe(false);
    expect(apic.matchesDestination(0x31, 'logical')).toBe(false);
  });
});

describe('LocalApic snapshot', () => {
  it('restores registers, pending state and a running timer', () => {
    const a = rig();
    wr(a.apic, TPR, 0x20);
    wr(a.apic, LDR, 0x01000000);
    wr(a.apic, TIMER_DIVIDE, DIVIDE[8]);
    wr(a.apic, LVT_TIMER, PERIODIC | 0x40);
    wr(a.apic, TIMER_INITIAL, 5000);
    a.apic.acceptInterrupt(0x90, 'level');
    a.apic.acknowledgeInterrupt();
    a.apic.acceptInterrupt(0x31);
    a.apic.acceptInterrupt(0x0);
    a.clock.advanceTo(100000);
    const saved = JSON.parse(JSON.stringify(a.apic.save())) as unknown;
    const state = localApicStateSchema.parse(saved);

    const b = rig({}, false);
    b.clock.advanceTo(100000);
    b.apic.restore(state);
    expect(b.apic.save()).toEqual(state);
    for (const off of [TPR, PPR, LDR, SVR, LVT_TIMER, TIMER_INITIAL, TIMER_CURRENT, TIMER_DIVIDE]) expect(rd(b.apic, off)).toBe(rd(a.apic, off));
    expect(readEsr(b.apic)).toBe(0x40);
    expect(bitOf(b.apic, ISR, 0x90)).toBe(true);
    wr(b.apic, EOI, 0);
    expect(b.levelEois).toEqual([0x90]);
    // The timer (period 40 us) fired at 40 and 80 us before the save.
    expect(b.apic.acknowledgeInterrupt()).toBe(0x40);
    wr(b.apic, EOI, 0);
    expect(b.apic.acknowledgeInterrupt()).toBe(0x31);
    wr(b.apic, EOI, 0);
    b.clock.advanceTo(119999);
    expect(b.apic.hasPendingInterrupt()).toBe(false);
    b.clock.advanceTo(120000);
    expect(b.apic.acknowledgeInterrupt()).toBe(0x40);
  });

  it('rejects a state with the wrong version', () => {
    const { apic } = rig();
    const bad = { ...apic.save(), version: 2 } as unknown as ReturnType<LocalApic['save']>;
    expect(() => apic.restore(bad)).toThrow();
  });
});
