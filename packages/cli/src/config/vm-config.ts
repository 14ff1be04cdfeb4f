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

export const traceSchema = z.enum(['kvm']);
export type TraceKind = z.infer<typeof traceSchema>;

export const vmConfigSchema = z.object({
  accel: z.enum(['kvm', 'tcg', 'auto']),
  memoryBytes: z.number().int().min(MIN_MEMORY_BYTES, 'memory must be at least 2 MiB'),
  smp: z.literal(1, { message: 'only --smp 1 is supported for now' }),
  kernel: z
    .union([
      z.object({ kind: z.literal('file'), path: z.string().min(1) }),
      z.object({ kind: z.literal('flat'), path: z.string().min(1), address: z.number().int().nonnegative(), mode: z.enum(['real', 'protected']) }),
      z.object({ kind: z.literal('demo') }),
    ]),
  initrd: z.array(z.string().min(1)),
  append: z.string(),
  serial: serialSchema,
  noReboot: z.boolean(),
  debugExit: z.object({ port: z.number().int().min(0).max(0xffff), size: z.union([z.literal(1), z.literal(2), z.literal(4)]) }).nullable(),
  irqchip: z.enum(['kernel', 'user']),
  trace: z.array(traceSchema),
  stats: z.boolean(),
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
