/**
 * A minimal machine for the KVM integration tests: guest RAM on an mmap backing, port and
 * MMIO buses with a recording device, a stub PIC, and the events the accelerator reports.
 * Guests are hand-assembled real-mode bytes (CPL0 code is slow under some KVMs, so they
 * are a handful of instructions each).
 */
import { existsSync } from 'node:fs';
import {
  GuestMemory, createMmioBus, createPortBus, realModeSegment, resetCpuState,
  type AccessSize, type CpuState, type InterruptSource, type IoBus, type IoDevice, type MachineBinding, type MachineEvent,
  type RamBacking, type RamRegion,
} from '@tsemu/devices/platform';
import { createMmapRamBacking } from '../src/mmap-ram-backing.js';
import { probeKvm } from '../src/probe.js';

/** Whether the integration tests can run, and why not. */
export function kvmStatus(): { usable: boolean; reason: string; mustWork: boolean } {
  const mustWork = process.env.CI === 'true' && existsSync('/dev/kvm');
  const probe = probeKvm();
  if (!probe.available) console.log(`KVM integration tests skipped: ${probe.reason}`);
  return { usable: probe.available, reason: probe.reason ?? '', mustWork };
}

export interface Access {
  offset: number;
  size: AccessSize;
  value: number;
}

/** Records every access; reads answer from `nextRead` (counting up) unless `readValue` is set. */
export class Recorder implements IoDevice {
  readonly writes: Access[] = [];
  readonly reads: Access[] = [];
  nextRead = 0x41;
  readValue: number | null = null;
  constructor(readonly name = 'recorder') {}
  read(offset: number, size: AccessSize): number {
    const value = this.readValue ?? this.nextRead++;
    this.reads.push({ offset, size, value });
    return value;
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.writes.push({ offset, size, value });
  }
  /** The byte writes as text. */
  text(): string {
    return this.writes.filter((w) => w.size === 1).map((w) => String.fromCharCode(w.value)).join('');
  }
}

/** A user-space interrupt controller that delivers queued vectors. */
export class StubPic implements InterruptSource {
  readonly pending: number[] = [];
  acknowledged = 0;
  hasPendingInterrupt(): boolean {
    return this.pending.length > 0;
  }
  acknowledgeInterrupt(): number {
    this.acknowledged++;
    return this.pending.shift() ?? 0xff;
  }
}

export interface TestMachine {
  binding: MachineBinding;
  memory: GuestMemory;
  backing: RamBacking;
  pio: IoBus;
  mmio: IoBus;
  /** On port 0x3f8-0x3ff, accepting 1, 2 and 4-byte accesses. */
  serial: Recorder;
  pic: StubPic;
  events: MachineEvent[];
}

export const SERIAL = 0x3f8;
export const CODE = 0x1000;

export function testMachine(regions: RamRegion[] = [{ gpa: 0, size: 0x80000, offset: 0 }], ramSize = 0x80000): TestMachine {
  const backing = createMmapRamBacking(ramSize);
  const memory = new GuestMemory(backing, regions);
  const pio = createPortBus();
  const mmio = createMmioBus();
  const serial = new Recorder('serial');
  pio.register(SERIAL, 8, serial, [1, 2, 4]);
  const pic = new StubPic();
  const events: MachineEvent[] = [];
  const binding: MachineBinding = { memory, pio, mmio, interrupts: pic, onEvent: (e) => void events.push(e) };
  return { binding, memory, backing, pio, mmio, serial, pic, events };
}

/** Real mode, CS = DS = ES = SS = 0, IP = `ip`, SP = 0x8000, interrupts off. */
export function realModeAt(ip: number): CpuState {
  const s = resetCpuState();
  s.cs = realModeSegment(0, true);
  s.rip = BigInt(ip);
  s.gpr[4] = 0x8000n;
  return s;
}

export async function waitFor(what: string, done: () => boolean, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
