/**
 * Which accelerator the software-CPU options ask for, and the clock the machine runs on.
 *
 * `--trace=cpu|jit`, `--clock=virtual`, `--icount` and `--jit[-threshold]` only mean something to the
 * software CPU: with `--accel=auto` they select it, with `--accel=kvm` they are an error
 * (KVM runs the guest on the host CPU, in host time, and cannot single-step it cheaply).
 *
 * Clock: tcg defaults to virtual time (instruction-counted, reproducible: virtual-clock.ts in
 * core-cpu), kvm has only host time. The RTC's date at power-on is `--rtc-base` or the
 * host's time now.
 */
import { VirtualClock } from '@tsemu/core-cpu';
import type { Clock } from '@tsemu/devices/platform';
import { ConfigError } from '../config/errors.js';
import type { VmConfig } from '../config/vm-config.js';
import { HostClock } from './host-clock.js';

/** The first option given that needs the software CPU, as the user spelled it; null for none. */
export function softwareCpuOption(config: VmConfig): string | null {
  if (config.trace.includes('cpu')) return '--trace=cpu';
  if (config.trace.includes('jit')) return '--trace=jit';
  if (config.icountShift !== null) return '--icount';
  if (config.clock === 'virtual') return '--clock=virtual';
  if (config.jit !== null) return `--jit=${config.jit}`;
  if (config.jitThreshold !== null) return '--jit-threshold';
  if (config.jitBlocks !== null) return '--jit-blocks';
  if (config.jitBackend !== null) return '--jit-backend';
  return null;
}

/** Throws when `--accel=kvm` is combined with a software-CPU-only option. */
export function checkAcceleratorOptions(config: VmConfig, accel: 'kvm' | 'tcg'): void {
  const option = softwareCpuOption(config);
  if (accel === 'kvm' && option !== null) {
    throw new ConfigError(`${option} needs the software CPU (--accel=tcg): under KVM the guest runs on the host CPU in host time`);
  }
}

export interface MachineClock {
  readonly clock: Clock;
  readonly kind: 'virtual' | 'host';
  /** Cancels host timers so the process can exit. */
  stop(): void;
}

export function createMachineClock(config: VmConfig, accel: 'kvm' | 'tcg'): MachineClock {
  const epochMs = config.rtcBaseMs ?? Date.now();
  const kind = config.clock ?? (accel === 'tcg' ? 'virtual' : 'host');
  if (kind === 'virtual') {
    return { clock: new VirtualClock({ shift: config.icountShift ?? 0, epochMs }), kind, stop: () => {} };
  }
  const host = new HostClock(epochMs);
  return { clock: host, kind, stop: () => host.stop() };
}
