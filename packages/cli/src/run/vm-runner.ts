/**
 * Runs one VM from a validated config: RAM, the PC machine, the accelerator, the
 * console; then waits for the machine to end (debug-exit, power-off, Ctrl-A x, a
 * triple fault under --no-reboot, a fatal accelerator error) and returns the exit
 * status. Resets reload the guest images and restart the vCPU, as a PC's firmware would.
 */
import { writeSync } from 'node:fs';
import { createKvmAccelerator, createMmapRamBacking, probeKvm } from '@tsemu/accel-kvm';
import { PcMachine } from '@tsemu/devices';
import type { Accelerator, MachineEvent } from '@tsemu/devices/platform';
import { ConfigError } from '../config/errors.js';
import type { VmConfig } from '../config/vm-config.js';
import { StdioConsole } from '../console/stdio-console.js';
import { readGuestImages } from './guest-images.js';
import { HostClock } from './host-clock.js';
import { openSerialBackend } from './serial-backend.js';
import { formatStatsTable } from './stats-table.js';

/** Exit status when the accelerator cannot go on (QEMU aborts in the same cases). */
export const EXIT_FATAL = 1;

function stderrLine(line: string): void {
  writeSync(2, line.endsWith('\n') ? line : `${line}\n`);
}

/** The KVM device; TSEMU_KVM_DEVICE overrides it (tests, hosts with KVM elsewhere). */
function kvmDevicePath(): string {
  return process.env.TSEMU_KVM_DEVICE ?? '/dev/kvm';
}

function chooseAccelerator(config: VmConfig): 'kvm' {
  if (config.accel === 'tcg') {
    throw new ConfigError('the software CPU (--accel=tcg) is not part of this build yet; use --accel=kvm');
  }
  const probe = probeKvm({ path: kvmDevicePath() });
  if (!probe.available) {
    const prefix = config.accel === 'kvm' ? 'cannot use KVM' : 'no usable accelerator';
    throw new ConfigError(`${prefix}: ${probe.reason}; the software CPU (--accel=tcg) is not in this build yet`);
  }
  return 'kvm';
}

export async function runVm(config: VmConfig): Promise<number> {
  const images = readGuestImages(config);
  const trace = config.trace.includes('kvm') ? stderrLine : null;
  const serial = openSerialBackend(config.serial);
  const clock = new HostClock();
  const backing = createMmapRamBacking(config.memoryBytes);

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
    irqchip: config.irqchip,
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
    // Load first: a bad kernel is reported as such whatever the accelerator situation.
    const cpu = images.load(machine.memory);
    chooseAccelerator(config);
    accel = await createKvmAccelerator(machine.binding, { vcpuCount: 1, irqchip: config.irqchip, trace, devicePath: kvmDevicePath() });
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
        stderrLine(formatStatsTable('kvm exits', accel.stats(), Number(process.hrtime.bigint() - started)));
      }
      await accel.destroy();
    }
    serial?.close();
    backing.release();
  }
}
