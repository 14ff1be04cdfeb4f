/**
 * CPUID feature-flag bit positions (SDM Vol. 2A, CPUID, Table 3-11 "Feature Information
 * Returned in the EDX Register"; Table 3-10 for ECX). Named as the SDM names them, so the
 * model's claims read like the manual's table.
 */

/** CPUID.01H:EDX. */
export const CPUID_1_EDX = {
  FPU: 1 << 0,
  VME: 1 << 1,
  DE: 1 << 2,
  PSE: 1 << 3,
  TSC: 1 << 4,
  MSR: 1 << 5,
  PAE: 1 << 6,
  MCE: 1 << 7,
  CX8: 1 << 8,
  APIC: 1 << 9,
  SEP: 1 << 11,
  MTRR: 1 << 12,
  PGE: 1 << 13,
  MCA: 1 << 14,
  CMOV: 1 << 15,
  PAT: 1 << 16,
  PSE36: 1 << 17,
  PSN: 1 << 18,
  CLFSH: 1 << 19,
  DS: 1 << 21,
  ACPI: 1 << 22,
  MMX: 1 << 23,
  FXSR: 1 << 24,
  SSE: 1 << 25,
  SSE2: 1 << 26,
  SS: 1 << 27,
  HTT: 1 << 28,
  TM: 1 << 29,
  PBE: 1 << 31,
} as const;

/** CPUID.01H:ECX bits a P6 must not claim (SSE3 and later); listed so tests can check them. */
export const CPUID_1_ECX = {
  SSE3: 1 << 0,
  PCLMULQDQ: 1 << 1,
  MONITOR: 1 << 3,
  SSSE3: 1 << 9,
  CX16: 1 << 13,
  SSE4_1: 1 << 19,
  SSE4_2: 1 << 20,
  X2APIC: 1 << 21,
  POPCNT: 1 << 23,
  XSAVE: 1 << 26,
  AVX: 1 << 28,
  HYPERVISOR: 1 << 31,
} as const;

/** CPUID.80000001H:EDX bits of long-mode CPUs (AMD64 APM Vol. 3, E.4.2); a P6 claims none. */
export const CPUID_80000001_EDX = {
  SYSCALL: 1 << 11,
  NX: 1 << 20,
  RDTSCP: 1 << 27,
  LM: 1 << 29,
} as const;

/** CPUID.(EAX=07H, ECX=0):EBX, structured extended features (SDM Vol. 2A, CPUID). */
export const CPUID_7_EBX = {
  SMEP: 1 << 7,
  SMAP: 1 << 20,
} as const;
