/**
 * What one software vCPU needs beyond its registers for the identification and
 * model-specific instructions: the CPU model, its CPUID table, its MSRs and its TSC source.
 * Kept beside the CPU (a WeakMap keyed by it) rather than inside SoftCpu, so the core stays
 * small; the machine attaches one with its options, and a CPU without one gets the default
 * model with the TSC counting retired instructions (deterministic: same input, same counts).
 */
import type { CpuRegisters } from '../state/cpu-registers.js';
import { createCpuModel, type CpuModel, type CpuModelConfig } from './cpu-model.js';
import { buildCpuidTable, type CpuidTable } from './cpuid.js';
import { MsrFile, type TscSource } from './msr-file.js';

/** The parts of a vCPU the environment reads: its registers and its clock cycles. */
export interface CpuCore {
  readonly regs: CpuRegisters;
  /** Instructions retired, PAUSE's extra cycles added (SoftCpu.cycles). */
  readonly cycles: number;
}

export interface CpuEnvironmentConfig extends CpuModelConfig {
  /** A prebuilt model; when given, the model options above are ignored. */
  model?: CpuModel;
  /** The TSC source; default: the CPU's cycles (retired instructions, PAUSE's extra cycles added). */
  tsc?: TscSource;
  /**
   * The given source counts the CPU's cycles, 2^tscCycleShift per cycle (MsrFile.tscCycleShift);
   * absent: it does not (with the default source, 0).
   */
  tscCycleShift?: number;
  /** Told when the guest writes IA32_APIC_BASE, so the machine can move the local APIC's page. */
  onApicBaseWrite?: (lo: number, hi: number) => void;
}

export class CpuEnvironment {
  readonly cpuid: CpuidTable;
  readonly msrs: MsrFile;
  /** CPUID's EAX, EBX, ECX, EDX scratch (reused: the instruction allocates nothing). */
  readonly cpuidOut = new Int32Array(4);

  constructor(readonly model: CpuModel, regs: CpuRegisters, tsc: TscSource, onApicBaseWrite: ((lo: number, hi: number) => void) | null) {
    this.cpuid = buildCpuidTable(model);
    this.msrs = new MsrFile(model, regs, tsc, onApicBaseWrite);
  }
}

const ENVIRONMENTS = new WeakMap<CpuCore, CpuEnvironment>();

/** Gives `cpu` a model, MSRs and TSC source (replacing any it had). */
export function attachCpuEnvironment(cpu: CpuCore, config: CpuEnvironmentConfig = {}): CpuEnvironment {
  const model = config.model ?? createCpuModel(config);
  const env = new CpuEnvironment(model, cpu.regs, config.tsc ?? (() => cpu.cycles), config.onApicBaseWrite ?? null);
  env.msrs.tscCycleShift = config.tsc === undefined ? 0 : config.tscCycleShift ?? -1;
  ENVIRONMENTS.set(cpu, env);
  if (cpu === lastCpu) lastEnvironment = env;
  return env;
}

/** The last lookup: RDTSC runs millions of times a boot, and a WeakMap lookup each time shows. */
let lastCpu: CpuCore | null = null;
let lastEnvironment: CpuEnvironment | null = null;

/** The environment of `cpu`, creating the default one on first use. */
export function cpuEnvironmentOf(cpu: CpuCore): CpuEnvironment {
  if (cpu === lastCpu) return lastEnvironment!;
  const env = ENVIRONMENTS.get(cpu) ?? attachCpuEnvironment(cpu);
  lastCpu = cpu;
  lastEnvironment = env;
  return env;
}
