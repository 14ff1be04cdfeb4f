// The CPU model: identification (CPUID), model-specific registers and the TSC source.
export * from './cpuid-bits.js';
export * from './cpu-model.js';
export * from './cpuid.js';
export * from './msr-file.js';
export * from './cpu-environment.js';
