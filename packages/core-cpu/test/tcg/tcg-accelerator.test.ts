// The tcg run loop on a tiny real-mode machine: where interrupts are taken, how virtual time
// advances (bursts cut at deadlines, HLT jumping to the next one), the CPU trace and stats.
import { describe, expect, it } from 'vitest';
import {
  createPortBus, createMmioBus, createSharedRamBacking, GuestMemory, realModeSegment, resetCpuState,
  type InterruptSource, type IoBus, type MachineEvent,
} from '@tsemu/devices/platform';
import { TcgAccelerator, type TcgAcceleratorOptions } from '../../src/tcg/tcg-accelerator.js';
import { VirtualClock } from '../../src/tcg/virtual-clock.js';
import { PAUSE_CYCLES } from '../../src/interp/handlers/stall-cycles.js';

const CODE = 0x1000;
const HANDLER = 0x2000;
const IRQ_VECTOR = 0x20;
const OUT_RAISE = [0xe6, 0x80]; // out 0x80, al: the test device raises the interrupt
const OUT_EXIT = [0xe6, 0xf4]; // out 0xf4, al: the test device ends the run
const HLT = 0xf4;

interface Ack {
  rip: number;
  retired: number;
  nowNs: number;
}

/** A real-mode machine: code at 0:1000, IRQ handler (vector 0x20) and #UD/NMI handlers at 0:2000. */
function machine(code: number[], options: Omit<TcgAcceleratorOptions, 'clock'> & { clock?: VirtualClock | null } = {}, morePorts?: (pio: IoBus) => void) {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  memory.writeBytes(CODE, Uint8Array.from(code));
  memory.writeBytes(HANDLER, Uint8Array.from([...OUT_EXIT, HLT]));
  for (const vector of [2, 6, IRQ_VECTOR]) memory.writeBytes(vector * 4, Uint8Array.from([HANDLER & 0xff, HANDLER >> 8, 0, 0]));
  const pio = createPortBus();
  const acks: Ack[] = [];
  let pending = false;
  let accel!: TcgAccelerator;
  const source: InterruptSource = {
    hasPendingInterrupt: () => pending,
    acknowledgeInterrupt: () => {
      pending = false;
      acks.push({ rip: accel.cpu.regs.rip, retired: accel.cpu.retired, nowNs: options.clock?.nowNs() ?? -1 });
      return IRQ_VECTOR;
    },
  };
  const raise = () => {
    pending = true;
    accel.notifyInterrupt();
  };
  pio.register(0x80, 1, { name: 'raise', read: () => 0, write: raise });
  morePorts?.(pio);
  let done!: (e: MachineEvent) => void;
  const finished = new Promise<MachineEvent>((resolve) => (done = resolve));
  pio.register(0xf4, 1, { name: 'exit', read: () => 0, write: () => {
    void accel.pause(); // as the runner does: stop at the instruction that ended the run
    done({ kind: 'exit', status: 0, reason: 'test' });
  } });
  accel = new TcgAccelerator({ memory, pio, mmio: createMmioBus(), interrupts: source, onEvent: (e) => done(e) }, options);
  const state = resetCpuState();
  state.cs = realModeSegment(0, true);
  state.rip = BigInt(CODE);
  state.gpr[4] = 0x8000n;
  accel.loadState(state);
  const run = async () => {
    accel.start();
    const event = await finished;
    await accel.pause();
    return event;
  };
  return { accel, acks, raise, run };
}

describe('the tcg run loop', () => {
  it('takes an interrupt a device raises during a burst right after the instruction that raised it', async () => {
    const m = machine([0xfb, ...OUT_RAISE, 0x90, 0x90, 0xeb, 0xfe]);
    expect((await m.run()).kind).toBe('exit');
    expect(m.acks).toEqual([{ rip: CODE + 3, retired: 2, nowNs: -1 }]);
    // pause() from the exit device stopped the CPU right after that OUT: sti, out, out.
    expect(m.accel.cpu.retired).toBe(3);
  });

  it('holds a pending interrupt through IF=0 and takes it one instruction after STI', async () => {
    // cli; out (raise); nop; sti; nop; nop; jmp $
    const m = machine([0xfa, ...OUT_RAISE, 0x90, 0xfb, 0x90, 0x90, 0xeb, 0xfe]);
    await m.run();
    expect(m.acks).toHaveLength(1);
    expect(m.acks[0].rip).toBe(CODE + 6);
    expect(m.acks[0].retired).toBe(5);
  });

  it('takes an interrupt that waited through a long IF-clear stretch right after the instruction that STI shadows', async () => {
    // cli; out (raise); 2000 x nop; sti; 1500 x nop; jmp $ (the code ends below the handler at 0x2000)
    const m = machine([0xfa, ...OUT_RAISE, ...new Array<number>(2000).fill(0x90), 0xfb, ...new Array<number>(1500).fill(0x90), 0xeb, 0xfe]);
    await m.run();
    expect(m.acks).toHaveLength(1);
    const sti = 2002;
    // STI ends the burst (SoftCpu.onInterruptWindow): the instruction after it, then the interrupt.
    expect(m.acks[0].retired).toBe(sti + 2);
  });

  it('fires a virtual timer at its instruction boundary (2^shift ns per instruction)', async () => {
    const clock = new VirtualClock({ shift: 1, epochMs: 0 });
    const m = machine([0xfb, ...new Array<number>(3000).fill(0x90), 0xeb, 0xfe], { clock });
    let firedAt = -1;
    clock.schedule(2468, () => {
      firedAt = m.accel.cpu.retired;
      m.raise();
    });
    await m.run();
    expect(firedAt).toBe(1234);
    expect(m.acks).toEqual([{ rip: CODE + 1234, retired: 1234, nowNs: 2468 }]);
  });

  it('fires a timer a device arms during a burst at its instruction boundary, not at the end of the burst', async () => {
    const clock = new VirtualClock({ epochMs: 0 });
    let armedNs = -1;
    let firedNs = -1;
    // sti; out 0x42, al (the device arms a timer 3,000 ns ahead); 8,000 x nop; jmp $
    const m = machine([0xfb, 0xe6, 0x42, ...new Array<number>(8000).fill(0x90), 0xeb, 0xfe], { clock }, (pio) => {
      pio.register(0x42, 1, { name: 'arm', read: () => 0, write: () => {
        armedNs = clock.nowNs();
        clock.schedule(armedNs + 3000, () => {
          firedNs = clock.nowNs();
          m.raise();
        });
      } });
    });
    await m.run();
    expect(armedNs).toBeGreaterThan(0);
    expect(firedNs).toBe(armedNs + 3000);
    expect(m.acks).toHaveLength(1);
    expect(m.acks[0].nowNs).toBe(armedNs + 3000);
  });

  it('fires a virtual timer on time while the guest spins on PAUSE, which counts 140 cycles', async () => {
    const clock = new VirtualClock({ epochMs: 0 });
    // sti; spin: pause; jmp spin
    const m = machine([0xfb, 0xf3, 0x90, 0xeb, 0xfc], { clock });
    let firedNs = -1;
    clock.schedule(1_000_000, () => {
      firedNs = clock.nowNs();
      m.raise();
    });
    await m.run();
    // Each iteration is 2 instructions and 141 cycles: some 7,000 iterations, not 500,000.
    expect(firedNs).toBeGreaterThanOrEqual(1_000_000);
    expect(firedNs).toBeLessThan(1_000_000 + PAUSE_CYCLES);
    expect(m.acks).toHaveLength(1);
    expect(m.acks[0].retired).toBeLessThan(15_000);
    expect(m.acks[0].nowNs).toBe(firedNs);
  });

  it('jumps virtual time to the next deadline in HLT instead of waiting', async () => {
    const clock = new VirtualClock({ epochMs: 0 });
    const m = machine([0xfb, HLT, 0xeb, 0xfe], { clock });
    clock.schedule(5_000_000_000, () => m.raise());
    const started = Date.now();
    await m.run();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(m.acks).toEqual([{ rip: CODE + 2, retired: 2, nowNs: 5_000_000_000 }]);
    const stats = m.accel.tcgStats();
    expect(stats.idleVirtualNs).toBe(5_000_000_000 - 2);
    expect(stats.hlts).toBe(1);
    expect(stats.interrupts).toBe(1);
  });

  it('with idleSleep waits in HLT until host time reaches the timer, then takes it at the same point', async () => {
    const clock = new VirtualClock({ epochMs: 0 });
    const m = machine([0xfb, HLT, 0xeb, 0xfe], { clock, idleSleep: true });
    clock.schedule(300_000_000, () => m.raise());
    const started = Date.now();
    await m.run();
    // 300 ms of virtual time ahead of a host that has barely started: it sleeps (a lower bound,
    // so a slow machine only makes it longer).
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(m.acks).toEqual([{ rip: CODE + 2, retired: 2, nowNs: 300_000_000 }]);
    expect(m.accel.tcgStats().sleepNs).toBeGreaterThan(200_000_000);
  });

  it('sleeps in HLT with no timer pending until the interrupt pin wakes it', async () => {
    const clock = new VirtualClock({ epochMs: 0 });
    const m = machine([0xfb, HLT, 0xeb, 0xfe], { clock });
    const done = m.run();
    await new Promise((r) => setTimeout(r, 30));
    expect(m.accel.runState).toBe('halted');
    expect(clock.nowNs()).toBe(2);
    m.raise();
    await done;
    expect(m.acks).toHaveLength(1);
  });

  it('runs the same program to the same instruction counts every time', async () => {
    const once = async () => {
      const clock = new VirtualClock({ epochMs: 0 });
      // sti; a loop of 5000 turns (mov cx; loop $); hlt
      const m = machine([0xfb, 0xb9, 0x88, 0x13, 0xe2, 0xfe, HLT, 0xeb, 0xfe], { clock });
      for (let t = 1; t <= 3; t++) clock.schedule(t * 3001, () => m.raise());
      await m.run();
      return { acks: m.acks, retired: m.accel.cpu.retired };
    };
    const a = await once();
    const b = await once();
    expect(a).toEqual(b);
    expect(a.acks.length).toBeGreaterThanOrEqual(1);
  });

  it('traces instructions, interrupts and exceptions, within the address filter', async () => {
    const lines: string[] = [];
    const m = machine([0xb8, 0x34, 0x12, 0xfb, ...OUT_RAISE, 0x90], { cpuTrace: { write: (l) => lines.push(l) } });
    await m.run();
    expect(lines[0]).toMatch(/^0000:1000 {2}00001000 {2}b8 34 12 +mov ax,0x1234$/);
    expect(lines).toContain('-- interrupt 0x20 (external) at 0000:1006');
    expect(lines.some((l) => /^0000:2000 {2}00002000 {2}e6 f4 +out 0xf4,al$/.test(l))).toBe(true);

    const ud: string[] = [];
    const u = machine([0x0f, 0x0b], { cpuTrace: { write: (l) => ud.push(l), range: { start: 0x1000, end: 0x1fff } } });
    await u.run();
    expect(ud[0]).toMatch(/ud2$/);
    expect(ud[1]).toBe('-- exception #UD, delivered; now at 0000:2000');
    expect(ud).toHaveLength(2); // the handler at 0x2000 is outside the range
  });

  it('claims an APIC in CPUID and passes IA32_APIC_BASE writes and NMIs to the local APIC', async () => {
    const bases: bigint[] = [];
    let nmi = true;
    const localApic = { setApicBase: (v: bigint) => void bases.push(v), takeNmi: () => { const n = nmi; nmi = false; return n; } };
    // cli; mov eax,1; cpuid; mov ecx,0x1b; rdmsr; and eax,~0x800; wrmsr; out 0xf4 (from the NMI handler)
    const m = machine([
      0xfa, 0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x66, 0x89, 0xd6, 0x66, 0xb9, 0x1b, 0, 0, 0, 0x0f, 0x32,
      0x66, 0x25, 0xff, 0xf7, 0xff, 0xff, 0x0f, 0x30, 0xeb, 0xfe,
    ], { localApic });
    // The NMI arrives at once (IF=0 does not hold it): move the exit out of its handler's way.
    nmi = false;
    const event = m.run();
    setTimeout(() => {
      nmi = true;
      m.accel.notifyInterrupt();
    }, 20);
    await event;
    expect(m.accel.cpu.regs.gpr.r32[6] & (1 << 9)).not.toBe(0); // CPUID.01H:EDX.APIC (copied to ESI)
    expect(bases[0]).toBe(0xfee00900n);
    expect(bases[1]).toBe(0xfee00100n);
    expect(m.accel.tcgStats().nmis).toBe(1);
  });
});
