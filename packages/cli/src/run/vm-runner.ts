/**
 * Runs one VM from a validated config: RAM, the PC machine, the accelerator, the
 * console; then waits for the machine to end (debug-exit, power-off, Ctrl-A x, a
 * triple fault under --no-reboot, a fatal accelerator error) and returns the exit
 * status. Resets reload the guest images and restart the vCPU, as a PC's firmware would.
 */
import { writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createKvmAccelerator, createMmapRamBacking, probeKvm } from '@tsemu/accel-kvm';
import { createTcgAccelerator, type TcgAccelerator } from '@tsemu/core-cpu';
import { PcMachine } from '@tsemu/devices';
import { createSharedRamBacking, type Accelerator, type MachineEvent } from '@tsemu/devices/platform';
import { ConfigError } from '../config/errors.js';
import type { VmConfig } from '../config/vm-config.js';
import { StdioConsole } from '../console/stdio-console.js';
import { readGuestImages } from './guest-images.js';
import { checkAcceleratorOptions, createMachineClock, softwareCpuOption } from './machine-clock.js';
import { openSerialBackend } from './serial-backend.js';
import { formatHostLine, formatStatsTable, formatTcgStats } from './stats-table.js';
import { TraceSink } from './trace-sink.js';
import { deprioritiseHelperThreads } from './thread-priority.js';

/**
 * Exit status when the accelerator cannot go on (QEMU aborts in the same cases). Even, so it
 * can never be mistaken for an isa-debug-exit status ((value << 1) | 1, always odd): test
 * runners such as kvm-unit-tests' read status 1 as "the guest passed".
 */
export const EXIT_FATAL = 2;

function stderrLine(line: string): void {
  writeSync(2, line.endsWith('\n') ? line : `${line}\n`);
}

/** The KVM device; TSEMU_KVM_DEVICE overrides it (tests, hosts with KVM elsewhere). */
function kvmDevicePath(): string {
  return process.env.TSEMU_KVM_DEVICE ?? '/dev/kvm';
}

/**
 * TSEMU_JIT_THRESHOLD: the JIT threshold when --jit-threshold is not given (the test suite's JIT
 * run sets it to 0 for every tsemu it starts); undefined: the JIT's default.
 */
function jitThresholdFromEnvironment(): number | undefined {
  const text = process.env.TSEMU_JIT_THRESHOLD;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`TSEMU_JIT_THRESHOLD '${text}' is not a non-negative integer`);
  return n;
}

/** TSEMU_JIT_BACKEND: the JIT backend when --jit-backend is not given (the test suite's JIT run). */
function jitBackendFromEnvironment(): 'wasm' | 'js' | undefined {
  const text = process.env.TSEMU_JIT_BACKEND;
  if (text === undefined || text === '') return undefined;
  if (text !== 'wasm' && text !== 'js') throw new ConfigError(`TSEMU_JIT_BACKEND '${text}' is not wasm or js`);
  return text;
}

/**
 * kvm when asked for or (auto) usable; tcg when asked for, when (auto) an option needs the
 * software CPU, or when (auto) KVM is not usable.
 */
function chooseAccelerator(config: VmConfig, trace: ((line: string) => void) | null): 'kvm' | 'tcg' {
  if (config.accel === 'tcg') return 'tcg';
  if (config.accel === 'kvm') checkAcceleratorOptions(config, 'kvm');
  else if (softwareCpuOption(config) !== null) return 'tcg';
  const probe = probeKvm({ path: kvmDevicePath() });
  if (probe.available) return 'kvm';
  if (config.accel === 'kvm') throw new ConfigError(`cannot use KVM: ${probe.reason}; --accel=tcg runs without it`);
  trace?.(`KVM not usable (${probe.reason}): using the software CPU`);
  return 'tcg';
}

export async function runVm(config: VmConfig): Promise<number> {
  const images = readGuestImages(config);
  const trace = config.trace.includes('kvm') ? stderrLine : null;
  const serial = openSerialBackend(config.serial);
  const accelKind = chooseAccelerator(config, trace);
  // Before any vCPU worker thread exists: those inherit this thread's priority.
  deprioritiseHelperThreads();
  const machineClock = createMachineClock(config, accelKind);
  const clock = machineClock.clock;
  if (images.bios && accelKind === 'kvm') {
    // The ROM is an MMIO window, and KVM cannot fetch code from MMIO (a read-only memory slot would be needed).
    throw new ConfigError('--bios runs only under --accel=tcg for now');
  }
  // KVM needs page-aligned memory (mmap); the software CPU takes any shareable buffer.
  const backing = accelKind === 'kvm' ? createMmapRamBacking(config.memoryBytes) : createSharedRamBacking(config.memoryBytes);
  // The software CPU always uses tsemu's own PIC and PIT.
  const irqchip = accelKind === 'kvm' ? config.irqchip : 'user';

  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let accel: Accelerator | null = null;
  let tcg: TcgAccelerator | null = null;
  let resetting = false;

  const onEvent = (event: MachineEvent): void => {
    // The software CPU stops at the instruction that ended the run (its figures stay exact).
    if (event.kind !== 'reset' || config.noReboot) void tcg?.pause();
    switch (event.kind) {
      case 'exit':
        trace?.(`machine exit: ${event.reason}, status ${event.status}`);
        finish(event.status);
        return;
      case 'fatal':
        stderrLine(`tsemu: ${event.message}`);
        finish(EXIT_FATAL);
        return;
      case 'reset':
        if (config.noReboot) {
          trace?.(`machine reset (${event.reason}) with --no-reboot: exiting`);
          finish(0);
          return;
        }
        if (!resetting) void resetMachine(event.reason);
        return;
    }
  };

  const machine = new PcMachine({
    backing,
    clock,
    irqchip,
    com1Output: serial ? (bytes) => serial.write(bytes) : null,
    debugExit: config.debugExit,
    onEvent,
    // A local APIC beside tsemu's own PIC (tcg, kvm with --irqchip=user); KVM's irqchip has its own.
    localApic: irqchip === 'user',
    pcTestdev: config.devices.includes('pc-testdev'),
    pciTestdev: config.devices.includes('pci-testdev'),
    bios: images.bios,
    // test386.asm (and some chipsets) report POST codes on 0x190.
    extraPostPorts: images.bios ? [0x190] : [],
  });

  const resetMachine = async (reason: string): Promise<void> => {
    if (!accel) return;
    resetting = true;
    trace?.(`machine reset: ${reason}`);
    try {
      await accel.pause();
      machine.reset();
      const cpu = images.load(machine.memory);
      if (config.biosHandoff) machine.applyBiosHandoff();
      await accel.vcpus[0].setState(cpu);
      accel.resume();
    } catch (err) {
      stderrLine(`tsemu: reset failed: ${(err as Error).message}`);
      finish(EXIT_FATAL);
    } finally {
      resetting = false;
    }
  };

  const terminal = config.serial.kind === 'stdio'
    ? new StdioConsole({ toGuest: (bytes) => machine.com1.receive(bytes), quit: () => finish(0) })
    : null;

  const traced = config.trace.includes('cpu') || config.trace.includes('jit');
  const traceSink = traced ? new TraceSink(config.traceFile) : null;
  const cpuTrace = config.trace.includes('cpu') ? traceSink : null;
  const jitTrace = config.trace.includes('jit') ? traceSink : null;
  const started = process.hrtime.bigint();
  try {
    const cpu = images.load(machine.memory);
    if (config.biosHandoff) machine.applyBiosHandoff();
    if (accelKind === 'kvm') {
      accel = await createKvmAccelerator(machine.binding, {
        vcpuCount: 1, irqchip, trace, devicePath: kvmDevicePath(), userLocalApic: machine.localApic !== null,
      });
    } else {
      tcg = createTcgAccelerator(machine.binding, {
        trace,
        clock,
        localApic: machine.localApic,
        // QEMU's icount sleep=on by default for a person at the console: an idle guest then does
        // not burn a host core; scripts and tests (stdin not a terminal) skip idle time at once.
        idleSleep: config.idleSleep ?? (config.serial.kind === 'stdio' && process.stdin.isTTY === true),
        cpuTrace: cpuTrace ? { write: cpuTrace.write, range: config.cpuTraceRange } : null,
        jit: config.jit === 'off' ? null : {
          threshold: config.jitThreshold ?? jitThresholdFromEnvironment(),
          blocks: config.jitBlocks ?? undefined,
          backend: config.jitBackend ?? jitBackendFromEnvironment(),
          onCompile: jitTrace === null ? null : (compiled, block) => {
            jitTrace.write(`-- jit: translated ${block.insns.length} instructions (${compiled.inlined} inline, ${compiled.direct} over registers in locals${compiled.loops ? ', loops' : ''})`);
            for (const line of compiled.source.split('\n')) jitTrace.write(line);
          },
          // A JIT bug, contained: the block stays interpreted; say so once per block on stderr.
          onFailure: (reason, block) => process.stderr.write(`tsemu: JIT: a block of ${block.insns.length} instructions stays interpreted (${reason})\n`),
        },
      });
      accel = tcg;
    }
    machine.connectInterrupts(accel.kernelIrqLines, () => accel?.notifyInterrupt());
    await accel.vcpus[0].setState(cpu);
    terminal?.attach();
    accel.start();
    const status = await finished;
    return status;
  } finally {
    terminal?.detach();
    machineClock.stop();
    // The guest's last words before tsemu's own (the figures on stderr).
    serial?.flush();
    if (accel) {
      // Stop the vCPUs first so the figures are final.
      await accel.pause().catch(() => {});
      if (config.stats) {
        const elapsed = Number(process.hrtime.bigint() - started);
        if (accel.kind === 'kvm') stderrLine(formatStatsTable('kvm exits', accel.stats(), elapsed));
        else if (tcg) stderrLine(formatTcgStats(tcg.tcgStats(), elapsed));
        stderrLine(formatHostLine(process.version, availableParallelism(), process.execArgv));
        if (images.bios) stderrLine(`POST codes: ${machine.post.count}, last 0x${(machine.post.lastCode ?? 0xff).toString(16)}`);
      }
      await accel.destroy();
    }
    traceSink?.close();
    serial?.close();
    backing.release();
  }
}
