/**
 * Port-I/O exit benchmark: what one KVM_EXIT_IO round trip costs through tsemu, next to C.
 *
 * The same real-mode guest runs three ways: N `out dx, al` to port 0x3ff between two
 * writes to a marker port, then `hlt`.
 *   1. bench/c/kvm-pio-loop.c, compiled here with `cc -O2`: re-enters KVM_RUN at once.
 *   2. tsemu's KvmAccelerator with 0x3ff unclaimed: the vCPU worker thread answers the exit
 *      itself (the claimed-port bitmap says no device is there). Target: within 1.3x of C.
 *   3. tsemu with a trivial scratch-register device on 0x3ff: every exit crosses to the
 *      main thread through the SharedArrayBuffer mailbox and back.
 * Time is taken between the two marker exits, divided by N, so set-up is not counted.
 * Each tsemu run is preceded by a warm-up pass on the same VM (JIT, page faults).
 *
 * Run alone: node bench/dist/kvm-pio-exit.js [exits]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKvmAccelerator, createMmapRamBacking, probeKvm } from '@tsemu/accel-kvm';
import {
  GuestMemory, createMmioBus, createPortBus, realModeSegment, resetCpuState, type IoDevice, type MachineBinding,
} from '@tsemu/devices/platform';

const run = promisify(execFile);

const PORT = 0x3ff;
const MARKER_PORT = 0x500;
const CODE_GPA = 0x1000;
const RAM_SIZE = 0x10000;
const EXITS_OFFSET = 6;

/** The guest; bench/c/kvm-pio-loop.c carries the same bytes. */
function guestCode(exits: number): Uint8Array {
  const code = Uint8Array.from([
    0xba, 0x00, 0x05, //       mov dx, MARKER_PORT
    0xee, //                   out dx, al            ; start marker
    0x66, 0xb9, 0, 0, 0, 0, // mov ecx, exits
    0xba, PORT & 0xff, PORT >> 8, // mov dx, PORT
    0xee, //                   loop: out dx, al
    0x66, 0x49, //             dec ecx
    0x75, 0xfb, //             jnz loop
    0xba, 0x00, 0x05, //       mov dx, MARKER_PORT
    0xee, //                   out dx, al            ; end marker
    0xf4, //                   hlt
    0xeb, 0xfd, //             jmp back to hlt
  ]);
  new DataView(code.buffer).setUint32(EXITS_OFFSET, exits, true);
  return code;
}

async function cBaseline(exits: number): Promise<number | string> {
  const source = fileURLToPath(new URL('../c/kvm-pio-loop.c', import.meta.url));
  if (!existsSync(source)) return `C source ${source} not found`;
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-kvm-pio-'));
  try {
    const exe = join(dir, 'kvm-pio-loop');
    try {
      await run('cc', ['-O2', '-o', exe, source]);
    } catch (e) {
      return `cc is unavailable or failed (${(e as Error).message.split('\n')[0]})`;
    }
    const { stdout } = await run(exe, [String(exits), `0x${PORT.toString(16)}`]);
    const m = /ns_per_exit=([\d.]+)/.exec(stdout);
    return m ? Number(m[1]) : `unexpected output: ${stdout.trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A COM1 scratch register (16550 offset 7): stores what is written, reads it back. */
class ScratchRegister implements IoDevice {
  readonly name = 'scratch';
  value = 0;
  read(): number {
    return this.value;
  }
  write(_offset: number, _size: number, value: number): void {
    this.value = value;
  }
}

/** Marker port: timestamps on the main thread, resolves after the second write. */
class Marker implements IoDevice {
  readonly name = 'bench-marker';
  private stamps: number[] = [];
  private done: (() => void) | null = null;
  read(): number {
    return 0xff;
  }
  write(): void {
    this.stamps.push(performance.now());
    if (this.stamps.length === 2) this.done?.();
  }
  /** Resolves with the marked span in ms. */
  span(): Promise<number> {
    this.stamps = [];
    return new Promise((resolve) => {
      this.done = () => resolve(this.stamps[1] - this.stamps[0]);
    });
  }
}

async function tsemuRun(exits: number, claimed: boolean): Promise<number> {
  const backing = createMmapRamBacking(RAM_SIZE);
  const memory = new GuestMemory(backing, [{ gpa: 0, size: RAM_SIZE, offset: 0 }]);
  const pio = createPortBus();
  const marker = new Marker();
  pio.register(MARKER_PORT, 1, marker);
  if (claimed) pio.register(PORT, 1, new ScratchRegister());
  let failure: string | null = null;
  const binding: MachineBinding = {
    memory, pio, mmio: createMmioBus(),
    interrupts: { hasPendingInterrupt: () => false, acknowledgeInterrupt: () => 0 },
    onEvent: (e) => {
      failure = JSON.stringify(e);
    },
  };
  const acc = await createKvmAccelerator(binding, { irqchip: 'user', trace: null });
  try {
    const state = resetCpuState();
    state.cs = realModeSegment(0, true);
    state.rip = BigInt(CODE_GPA);
    let ms = 0;
    // A warm-up pass (a tenth of the exits), then the measured one, on the same VM.
    for (const n of [Math.max(1, Math.floor(exits / 10)), exits]) {
      memory.writeBytes(CODE_GPA, guestCode(n));
      await acc.pause();
      await acc.vcpus[0].setState(state);
      const span = marker.span();
      acc.start();
      ms = await span;
      if (failure) throw new Error(`guest stopped: ${failure}`);
    }
    return (ms * 1e6) / exits;
  } finally {
    await acc.destroy();
    backing.release();
  }
}

const fmt = (ns: number): string => `${ns.toFixed(0).padStart(7)} ns/exit`;

export async function runKvmPioBench(opts: { exits?: number } = {}): Promise<string[]> {
  const exits = opts.exits ?? 20000;
  const head = `kvm-pio-exit: ${exits} OUT exits to port 0x${PORT.toString(16)} (real-mode guest, one KVM_EXIT_IO each)`;
  const probe = probeKvm();
  if (!probe.available) return [`${head}: skipped, ${probe.reason}`];
  const c = await cBaseline(exits);
  const unclaimed = await tsemuRun(exits, false);
  const claimed = await tsemuRun(exits, true);
  const ratio = (ns: number): string => (typeof c === 'number' ? `${(ns / c).toFixed(2)}x C` : 'n/a');
  return [
    head,
    typeof c === 'number' ? `  C, kvm-pio-loop.c (cc -O2)              ${fmt(c)}  1.00x C` : `  C baseline skipped: ${c}`,
    `  tsemu, unclaimed port (vCPU thread)     ${fmt(unclaimed)}  ${ratio(unclaimed)}  (target <= 1.3x)`,
    `  tsemu, device on the main thread        ${fmt(claimed)}  ${ratio(claimed)}`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const exits = process.argv[2] ? Number(process.argv[2]) : undefined;
  for (const line of await runKvmPioBench({ exits })) console.log(line);
}
