/**
 * VmConfig: everything a run needs, validated by zod after the command line (tsemu's
 * own flags or QEMU's spellings) has been normalised. Anything invalid is a
 * ConfigError naming the option.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';

export const MIN_MEMORY_BYTES = 2 * 2 ** 20;

export const serialSchema = z.union([
  z.object({ kind: z.literal('stdio') }),
  z.object({ kind: z.literal('file'), path: z.string().min(1) }),
  z.object({ kind: z.literal('none') }),
]);
export type SerialConfig = z.infer<typeof serialSchema>;

export const traceSchema = z.enum(['kvm', 'cpu', 'jit']);
export type TraceKind = z.infer<typeof traceSchema>;

/** The clock devices see: host time, or time counted in instructions (tcg only). */
export const clockSchema = z.enum(['host', 'virtual']);
export type ClockKind = z.infer<typeof clockSchema>;

/** --trace=cpu's address filter: linear addresses, both ends inclusive. */
export const traceRangeSchema = z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() })
  .refine((r) => r.start <= r.end, { message: 'the trace range ends before it starts' });

export const vmConfigSchema = z.object({
  accel: z.enum(['kvm', 'tcg', 'auto']),
  memoryBytes: z.number().int().min(MIN_MEMORY_BYTES, 'memory must be at least 2 MiB'),
  smp: z.literal(1, { message: 'only --smp 1 is supported for now' }),
  kernel: z
    .union([
      z.object({ kind: z.literal('file'), path: z.string().min(1) }),
      z.object({ kind: z.literal('flat'), path: z.string().min(1), address: z.number().int().nonnegative(), mode: z.enum(['real', 'protected']) }),
      z.object({ kind: z.literal('demo') }),
      z.object({ kind: z.literal('bios'), path: z.string().min(1) }),
    ]),
  initrd: z.array(z.string().min(1)),
  append: z.string(),
  serial: serialSchema,
  noReboot: z.boolean(),
  debugExit: z.object({ port: z.number().int().min(0).max(0xffff), size: z.union([z.literal(1), z.literal(2), z.literal(4)]) }).nullable(),
  irqchip: z.enum(['kernel', 'user']),
  trace: z.array(traceSchema),
  /** --trace=cpu:START-END; null traces every address. */
  cpuTraceRange: traceRangeSchema.nullable(),
  /** Where --trace=cpu lines go; null: stderr. */
  traceFile: z.string().min(1).nullable(),
  stats: z.boolean(),
  /** null: virtual under tcg, host under kvm. */
  clock: clockSchema.nullable(),
  /** --icount: 2^shift ns of virtual time per instruction; null: 0. */
  icountShift: z.number().int().min(0).max(10, '--icount shift must be 0-10').nullable(),
  /** --icount ...,sleep=on|off: an idle guest sleeps to keep virtual time behind host time; null: on when stdin is a terminal. */
  idleSleep: z.boolean().nullable(),
  /** The RTC's date at power-on (ms since the Unix epoch); null: the host's time at start. */
  rtcBaseMs: z.number().int().nullable(),
  /** Start --kernel with the PIC, PIT and real-mode IVT as a BIOS leaves them (QEMU boots -kernel through SeaBIOS). */
  biosHandoff: z.boolean().default(false),
  /** Test devices added on request (--device; QEMU: -device pc-testdev / pci-testdev), for kvm-unit-tests. */
  devices: z.array(z.enum(['pc-testdev', 'pci-testdev'])).default([]),
  /** --jit: the software CPU translates hot code (on; null means on) or interprets everything (off). */
  jit: z.enum(['on', 'off']).nullable(),
  /** --jit-threshold: interpreted runs of a block before translation; null: the JIT's default. */
  jitThreshold: z.number().int().min(0).max(1_000_000_000).nullable(),
  /** --jit-blocks: blocks one translation may cover (1: single blocks); null: the JIT's default (4). */
  jitBlocks: z.number().int().min(1).max(8).nullable(),
  /** --jit-backend: what translations are made of (wasm: WebAssembly where it can, else JavaScript); null: the JIT's default (wasm). */
  jitBackend: z.enum(['wasm', 'js']).nullable(),
});
export type VmConfig = z.infer<typeof vmConfigSchema>;

/** Validates a candidate config; the first problem becomes one ConfigError line. */
export function validateVmConfig(candidate: unknown): VmConfig {
  const result = vmConfigSchema.safeParse(candidate);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new ConfigError(`invalid configuration: ${where}${issue.message}`);
}
