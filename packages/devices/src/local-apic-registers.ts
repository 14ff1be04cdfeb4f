/**
 * Local APIC (xAPIC) register map, field masks and snapshot schema.
 *
 * Facts from the Intel SDM Vol. 3A chapter 11 "Advanced Programmable Interrupt
 * Controller (APIC)": table 11-1 (register address map), figures 11-8 (LVT),
 * 11-9 (ESR), 11-10 (divide configuration), 11-12 (ICR), 11-13 (LDR), 11-14 (DFR),
 * 11-18/11-19 (TPR/PPR), 11-23 (SVR) and section 11.4.7.1 (state after power-up or
 * reset). Registers sit at 16-byte strides in a 4 KiB page; only aligned 32-bit
 * accesses are defined.
 */
import { z } from 'zod';

export const APIC_DEFAULT_BASE = 0xfee00000;
export const APIC_MMIO_SIZE = 0x1000;

// Register offsets inside the page (SDM table 11-1).
export const APIC_ID = 0x020;
export const APIC_VERSION = 0x030;
export const APIC_TPR = 0x080;
export const APIC_APR = 0x090;
export const APIC_PPR = 0x0a0;
export const APIC_EOI = 0x0b0;
export const APIC_RRD = 0x0c0;
export const APIC_LDR = 0x0d0;
export const APIC_DFR = 0x0e0;
export const APIC_SVR = 0x0f0;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR_LOW = 0x300;
export const APIC_ICR_HIGH = 0x310;
export const APIC_LVT_TIMER = 0x320;
export const APIC_LVT_THERMAL = 0x330;
export const APIC_LVT_PERFMON = 0x340;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
export const APIC_LVT_ERROR = 0x370;
export const APIC_TIMER_INITIAL_COUNT = 0x380;
export const APIC_TIMER_CURRENT_COUNT = 0x390;
export const APIC_TIMER_DIVIDE_CONFIG = 0x3e0;

/** Index into the LVT array, in register order (timer at 0x320 .. error at 0x370). */
export const LVT_TIMER = 0;
export const LVT_THERMAL = 1;
export const LVT_PERFMON = 2;
export const LVT_LINT0 = 3;
export const LVT_LINT1 = 4;
export const LVT_ERROR = 5;
export const LVT_COUNT = 6;

/** Version 0x14 (integrated APIC), max LVT entry = LVT_COUNT - 1, no EOI-broadcast suppression. */
export const APIC_VERSION_VALUE = 0x14 | ((LVT_COUNT - 1) << 16);

// LVT fields (SDM figure 11-8).
export const LVT_VECTOR = 0xff;
export const LVT_DELIVERY_MODE_SHIFT = 8;
export const LVT_DELIVERY_STATUS = 1 << 12;
export const LVT_INPUT_POLARITY = 1 << 13;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_TRIGGER_LEVEL = 1 << 15;
export const LVT_MASKED = 1 << 16;
export const LVT_TIMER_MODE_SHIFT = 17;
export const LVT_RESET_VALUE = LVT_MASKED;

export const TIMER_MODE_ONE_SHOT = 0;
export const TIMER_MODE_PERIODIC = 1;
export const TIMER_MODE_TSC_DEADLINE = 2;

/** Writable bits of each LVT entry; the timer's mode bit 18 only with TSC-deadline support. */
export function lvtWritableMask(index: number, tscDeadline: boolean): number {
  switch (index) {
    case LVT_TIMER:
      return LVT_VECTOR | LVT_MASKED | ((tscDeadline ? 3 : 1) << LVT_TIMER_MODE_SHIFT);
    case LVT_LINT0:
    case LVT_LINT1:
      return LVT_VECTOR | (7 << LVT_DELIVERY_MODE_SHIFT) | LVT_INPUT_POLARITY | LVT_TRIGGER_LEVEL | LVT_MASKED;
    case LVT_ERROR:
      return LVT_VECTOR | LVT_MASKED;
    default:
      return LVT_VECTOR | (7 << LVT_DELIVERY_MODE_SHIFT) | LVT_MASKED;
  }
}

// Delivery modes (ICR bits 10:8, LVT bits 10:8).
export const DM_FIXED = 0;
export const DM_LOWEST_PRIORITY = 1;
export const DM_SMI = 2;
export const DM_NMI = 4;
export const DM_INIT = 5;
export const DM_STARTUP = 6;
export const DM_EXTINT = 7;

export type ApicDeliveryMode = 'fixed' | 'lowest-priority' | 'smi' | 'nmi' | 'init' | 'startup' | 'extint';
export const DELIVERY_MODE_NAMES: readonly (ApicDeliveryMode | null)[] = [
  'fixed', 'lowest-priority', 'smi', null, 'nmi', 'init', 'startup', 'extint',
];

// ICR fields (SDM figure 11-12).
export const ICR_VECTOR = 0xff;
export const ICR_DEST_LOGICAL = 1 << 11;
export const ICR_DELIVERY_STATUS = 1 << 12;
export const ICR_LEVEL_ASSERT = 1 << 14;
export const ICR_TRIGGER_LEVEL = 1 << 15;
export const ICR_SHORTHAND_SHIFT = 18;
/** Vector, delivery mode, destination mode, level, trigger, shorthand. */
export const ICR_LOW_WRITABLE = 0x000ccfff;
export const ICR_HIGH_WRITABLE = 0xff000000;

export type ApicShorthand = 'none' | 'self' | 'all-including-self' | 'all-excluding-self';
export const SHORTHAND_NAMES: readonly ApicShorthand[] = ['none', 'self', 'all-including-self', 'all-excluding-self'];

// SVR (SDM figure 11-23). Bit 12 (EOI-broadcast suppression) is absent: version bit 24 is 0.
export const SVR_VECTOR = 0xff;
export const SVR_APIC_ENABLED = 1 << 8;
export const SVR_FOCUS_DISABLED = 1 << 9;
export const SVR_WRITABLE = SVR_VECTOR | SVR_APIC_ENABLED | SVR_FOCUS_DISABLED;
export const SVR_RESET_VALUE = 0xff;

// ESR bits (SDM figure 11-9).
export const ESR_SEND_CHECKSUM = 1 << 0;
export const ESR_RECEIVE_CHECKSUM = 1 << 1;
export const ESR_SEND_ACCEPT = 1 << 2;
export const ESR_RECEIVE_ACCEPT = 1 << 3;
export const ESR_REDIRECTABLE_IPI = 1 << 4;
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER_ADDRESS = 1 << 7;

export const LDR_WRITABLE = 0xff000000;
export const DFR_WRITABLE = 0xf0000000;
export const DFR_RESET_VALUE = 0xffffffff;
/** Divide configuration bits 0, 1 and 3 (SDM figure 11-10). */
export const DIVIDE_CONFIG_WRITABLE = 0x0b;

// IA32_APIC_BASE (MSR 0x1B) fields (SDM figure 11-5).
export const APIC_BASE_BSP = 1n << 8n;
export const APIC_BASE_X2APIC_ENABLE = 1n << 10n;
export const APIC_BASE_GLOBAL_ENABLE = 1n << 11n;
/** Base address bits 12..51 (the architectural maximum physical-address width). */
export const APIC_BASE_ADDRESS_MASK = 0x000ffffffffff000n;

/**
 * IA32_APIC_BASE bits a WRMSR must leave clear (else #GP, the CPU's check): bits 0-7,
 * 9, the x2APIC enable (not modelled) and those at or above MAXPHYADDR.
 */
export function apicBaseReservedBits(physAddrBits: number): bigint {
  const addressLimit = ~((1n << BigInt(physAddrBits)) - 1n) & 0xffffffffffffffffn;
  return 0xffn | (1n << 9n) | APIC_BASE_X2APIC_ENABLE | addressLimit;
}

/** Divisor for a divide-configuration value: 0b1011 is divide by 1, else 2^(n+1). */
export function timerDivisor(divideConfig: number): number {
  const n = (divideConfig & 3) | ((divideConfig & 8) >> 1);
  return n === 7 ? 1 : 2 << n;
}

/** Highest set bit index (0-255) in a 256-bit register held as 8 x 32 bits, or -1. */
export function highestVector(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = bits[i];
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

const u32 = z.number().int().min(0).max(0xffffffff);
const u8 = z.number().int().min(0).max(0xff);
const bits256 = z.array(u32).length(8);

export const localApicStateSchema = z.object({
  version: z.literal(1),
  /** IA32_APIC_BASE as a number (bits 0-51 fit a double exactly). */
  apicBase: z.number().int().min(0).max(2 ** 52 - 1),
  id: u8,
  tpr: u8,
  ldr: u32,
  dfr: u32,
  svr: u32,
  isr: bits256,
  tmr: bits256,
  irr: bits256,
  /** ESR as software reads it (latched by the last ESR write). */
  esr: u8,
  /** Errors detected since the last ESR write. */
  esrPending: u8,
  icrLow: u32,
  icrHigh: u32,
  lvt: z.array(u32).length(LVT_COUNT),
  divideConfig: z.number().int().min(0).max(DIVIDE_CONFIG_WRITABLE),
  initialCount: u32,
  timer: z.object({
    armed: z.boolean(),
    /** nowNs() - base of the countdown at save time. */
    baseAgoNs: z.number(),
    baseCount: z.number().int().min(0).max(0xffffffff),
    /** Expiries already delivered since the base. */
    fired: z.number().int().min(0),
  }),
  /** IA32_TSC_DEADLINE as a decimal string (a 64-bit value). */
  tscDeadline: z.string().regex(/^\d+$/),
  lintLevels: z.tuple([z.boolean(), z.boolean()]),
  nmiPending: z.boolean(),
});
export type LocalApicState = z.infer<typeof localApicStateSchema>;
