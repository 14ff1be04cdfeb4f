/**
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c): a guest write of value v ends the
 * emulator with exit status (v << 1) | 1, so a test guest reports pass/fail without a
 * shutdown path, and status 0 stays distinct from any guest-chosen result.
 *
 * QEMU's property defaults are iobase=0x501, iosize=2, but test harnesses (kvm-unit-tests,
 * the blog_os tutorial) use `-device isa-debug-exit,iobase=0xf4,iosize=0x04`; tsemu's
 * default port follows them. QEMU accepts 1-, 2- and 4-byte accesses anywhere in the
 * window, ignores the offset, and reads as 0. Register the device with accessSizes
 * [1, 2, 4] so a 32-bit `out` arrives whole instead of split into four exits.
 *
 * The status is kept as a full number (up to 2^33 - 1 for a 32-bit write): a process
 * exit status is truncated to 8 bits by the OS, and that masking is the CLI's to do.
 */
import type { AccessSize, IoDevice } from './platform/index.js';

export const DEBUG_EXIT_DEFAULT_PORT = 0xf4;
export const DEBUG_EXIT_DEFAULT_SIZE = 4;

export interface IsaDebugExitOptions {
  /** Width of the port window: 1, 2 or 4 (default 4). */
  iosize?: AccessSize;
  name?: string;
  /** status = value * 2 + 1; value is the written value masked to the access size. */
  onExit: (status: number, value: number) => void;
}

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

export class IsaDebugExit implements IoDevice {
  readonly name: string;
  /** Size of the port range to register. */
  readonly size: AccessSize;
  /** Access sizes to register with, so wide writes are not split into bytes. */
  readonly accessSizes: readonly AccessSize[] = [1, 2, 4];
  private readonly onExit: (status: number, value: number) => void;

  constructor(options: IsaDebugExitOptions) {
    const size = options.iosize ?? DEBUG_EXIT_DEFAULT_SIZE;
    if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`isa-debug-exit iosize must be 1, 2 or 4, not ${String(size)}`);
    this.size = size;
    this.name = options.name ?? 'isa-debug-exit';
    this.onExit = options.onExit;
  }

  read(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(_offset: number, size: AccessSize, value: number): void {
    const v = (value & SIZE_MASK[size]) >>> 0;
    // Arithmetic, not <<: a 32-bit value shifted left would lose its top bit.
    this.onExit(v * 2 + 1, v);
  }
}
