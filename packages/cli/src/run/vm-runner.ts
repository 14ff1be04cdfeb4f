/**
 * Runs one VM from a validated config: RAM, the PC machine, the accelerator, the
 * console; then waits for the machine to end (debug-exit, power-off, Ctrl-A x, a
 * triple fault under --no-reboot, a fatal accelerator error) and returns the exit
 * status. Resets reload the guest images and restart the vCPU, as a PC's firmware would.
 */
import { writeSync } from 'node:fs';
import { createKvmAccelerator, createMmapRamBacking, probeKvm } from '@tsemu/accel-kvm';
import { createTcgAccelerator } from '@tsemu/core-cpu';
import { PcMachine } from '@tsemu/devices';
import { createSharedRamBacking, type Accelerator, type MachineEvent } from '@tsemu/devices/platform';
import { ConfigError } from '../config/errors.js';
import type { VmConfig } from '../config/vm-config.js';
import { StdioConsole } from '../console/stdio-console.js';
import { readGuestImages } from './guest-images.js';
import { HostClock } from './host-clock.js';
import { openSerialBackend } from './serial-backend.js';
import { formatStatsTable, formatTcgStats } from './stats-table.js';

/** Exit status when the accelerator cannot go on (QEMU aborts in the same cases). */
export const EXIT_FATAL = 1;

function stderrLine(line: string): void {
  writeSync(2, line.endsWith('\n') ? line : `${line}\n`);
}

/** The KVM device; TSEMU_KVM_DEVICE overrides it (tests, hosts with KVM elsewhere). */
function kvmDevicePath(): string {
  return process.env.TSEMU_KVM_DEVICE ?? '/dev/kvm';
}

/** kvm when asked for or (auto) usable; tcg when asked for or (auto) KVM is not usable. */
function chooseAccelerator(config: VmConfig, trace: ((line: string) => void) | null): 'kvm' | 'tcg' {
  if (config.accel === 'tcg') return 'tcg';
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
  const clock = new HostClock();
  const accelKind = chooseAccelerator(config, trace);
  // KVM needs page-aligned memory (mmap); the software CPU takes any shareable buffer.
  const backing = accelKind === 'kvm' ? createMmapRamBacking(config.memoryBytes) : createSharedRamBacking(config.memoryBytes);
  // The software CPU always uses tsemu's own PIC and PIT.
  const irqchip = accelKind === 'kvm' ? config.irqchip : 'user';

  let finish!: (status: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let accel: Accelerator | null = null;
  let resetting = false;

  const onEvent = (event: MachineEvent): void => {
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
  });

  const resetMachine = async (reason: string): Promise<void> => {
    if (!accel) return;
    resetting = true;
    trace?.(`machine reset: ${reason}`);
    try {
      await accel.pause();
      machine.reset();
      const cpu = images.load(machine.memory);
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

  const started = process.hrtime.bigint();
  try {
    const cpu = images.load(machine.memory);
    accel = accelKind === 'kvm'
      ? await createKvmAccelerator(machine.binding, { vcpuCount: 1, irqchip, trace, devicePath: kvmDevicePath() })
      : createTcgAccelerator(machine.binding, { trace });
    machine.connectInterrupts(accel.kernelIrqLines, () => accel?.notifyInterrupt());
    await accel.vcpus[0].setState(cpu);
    terminal?.attach();
    accel.start();
    const status = await finished;
    return status;
  } finally {
    terminal?.detach();
    clock.stop();
    if (accel) {
      // Stop the vCPUs first so the figures are final.
      await accel.pause().catch(() => {});
      if (config.stats) {
        const elapsed = Number(process.hrtime.bigint() - started);
        if (accel.kind === 'kvm') stderrLine(formatStatsTable('kvm exits', accel.stats(), elapsed));
        else stderrLine(formatTcgStats(accel.stats(), elapsed));
      }
      await accel.destroy();
    }
    serial?.close();
    backing.release();
  }
}
