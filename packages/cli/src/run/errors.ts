/**
 * Turns an error into the one line the user sees. Host errors we raise on purpose
 * (bad config, bad kernel image, KVM unavailable, a failed ioctl) have messages written
 * for users; anything else is an internal error, with its stack under TSEMU_DEBUG=1.
 */
const USER_FACING = new Set(['ConfigError', 'KernelImageError', 'MachineConfigError', 'KvmUnavailableError', 'KvmError', 'GuestMemoryError', 'BusError']);

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (process.env.TSEMU_DEBUG === '1') return err.stack ?? err.message;
    if (USER_FACING.has(err.name)) return err.message;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return err.message;
    return `internal error: ${err.message} (TSEMU_DEBUG=1 shows where)`;
  }
  return String(err);
}
