// The kvm structs, each an explicit byte layout over a Uint8Array.
export * from './kvm-regs.js';
export * from './kvm-sregs.js';
export * from './kvm-fpu.js';
export * from './kvm-msrs.js';
export * from './kvm-cpuid.js';
export * from './kvm-memory-region.js';
export * from './kvm-irq.js';
export * from './kvm-run.js';
