/**
 * Runs test386.asm (github.com/barotto/test386.asm, a 386 CPU test ROM) as the firmware of a
 * PC machine under the software CPU: the image mapped at the top of 1 MiB and of 4 GiB, the
 * CPU at the reset vector, POST codes collected from port 0x190 (and 0x80), COM1 output kept.
 * The ROM is built locally (see docs/testing.md), never committed.
 *
 * The run is driven synchronously (no event-loop slices): test386 keeps interrupts off, so
 * the accelerator's interrupt checks have nothing to do; it ends on HLT (test386 halts on
 * success, POST 0xFF, and on the first failing test), on a triple fault, on an instruction the
 * interpreter lacks, or when the instruction budget runs out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createTcgAccelerator } from '@tsemu/core-cpu';
import { PcMachine } from '@tsemu/devices';
import { createSharedRamBacking, ManualClock, resetCpuState, type MachineEvent } from '@tsemu/devices/platform';

/** Where the test looks for the 64 KiB ROM when $TEST386_ROM is not set (built outside the repo). */
export const TEST386_DEFAULT_ROM = '/work/t386/test386.bin';
export const TEST386_POST_PORT = 0x190;

export function test386RomPath(): string | null {
  const path = process.env.TEST386_ROM ?? TEST386_DEFAULT_ROM;
  return existsSync(path) ? path : null;
}

export interface Test386Result {
  /** Every POST code, in order. */
  codes: number[];
  lastCode: number | null;
  /** Why the run ended. */
  end: 'halt' | 'triple-fault' | 'error' | 'budget' | 'event';
  message: string;
  instructions: number;
  /** CS:EIP where it ended, and the bytes there (for diagnosis). */
  where: string;
  com1: string;
  romWrites: number;
  /** With `traceLast`: the linear addresses of the last instructions run, oldest first. */
  trace: number[];
}

export interface Test386Options {
  /** Instruction budget (default 200 million). */
  budget?: number;
  /** Keep the linear address of the last N instructions (runs one step at a time: slow). */
  traceLast?: number;
}

/**
 * Runs the ROM until it halts, raises an event or uses up the budget. Asynchronous: it yields to
 * the event loop after every burst, so a run of minutes never blocks the test worker.
 */
export async function runTest386(image: Uint8Array, options: Test386Options = {}): Promise<Test386Result> {
  const budget = options.budget ?? 200_000_000;
  const traceLast = options.traceLast ?? 0;
  const ring: number[] = [];
  const codes: number[] = [];
  let com1 = '';
  const events: MachineEvent[] = [];
  const backing = createSharedRamBacking(16 * 2 ** 20);
  const machine = new PcMachine({
    backing,
    clock: new ManualClock(),
    irqchip: 'user',
    com1Output: (bytes) => {
      for (const b of bytes) com1 += String.fromCharCode(b);
    },
    debugExit: null,
    onEvent: (e) => events.push(e),
    bios: image,
    extraPostPorts: [TEST386_POST_PORT],
  });
  // Collect every code: the device keeps a bounded history only.
  const post = machine.post;
  const write = post.write.bind(post);
  post.write = (offset, size, value) => {
    codes.push(value & 0xff);
    write(offset, size, value);
  };
  const acc = createTcgAccelerator(machine.binding);
  acc.loadState(resetCpuState());
  const cpu = acc.cpu;
  let end: Test386Result['end'] = 'budget';
  let message = '';
  try {
    while (cpu.retired < budget) {
      if (traceLast > 0) {
        for (let n = 0; n < 100_000 && !cpu.halted; n++) {
          ring.push((cpu.regs.seg.base[1] + cpu.regs.rip) >>> 0);
          if (ring.length > traceLast) ring.shift();
          cpu.step();
        }
      } else {
        cpu.run(Math.min(1_000_000, budget - cpu.retired));
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (cpu.halted) {
        end = 'halt';
        break;
      }
      if (events.length) {
        end = 'event';
        message = events.map((e) => JSON.stringify(e)).join('; ');
        break;
      }
    }
  } catch (e) {
    message = (e as Error).message;
    end = (e as Error).name === 'TripleFaultError' || /triple/i.test(message) ? 'triple-fault' : 'error';
  }
  // After a host Error (an instruction the interpreter lacks) EIP is already past that instruction;
  // after a guest fault or HLT it is where the run loop left it. Code bytes are read at the linear
  // address taken as physical (test386 keeps its code identity-mapped).
  const r = cpu.regs;
  const csBase = r.seg.base[1];
  const eip = r.rip >>> 0;
  let bytes = '';
  for (let i = 0; i < 8; i++) {
    try {
      const lin = (csBase + eip + i) >>> 0;
      const b = machine.memory.isRam(lin) ? machine.memory.read8(lin) : machine.mmio.read(lin, 1);
      bytes += b.toString(16).padStart(2, '0') + ' ';
    } catch {
      bytes += '?? ';
    }
  }
  const where = `${r.seg.selector[1].toString(16)}:${eip.toString(16)} (cr0=${(r.cr0 >>> 0).toString(16)}) bytes ${bytes.trim()}`;
  return {
    codes, lastCode: post.lastCode, end, message, instructions: cpu.retired, where, com1,
    romWrites: machine.biosRoms.reduce((n, rom) => n + rom.ignoredWrites, 0),
    trace: ring,
  };
}

export function readTest386Rom(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
