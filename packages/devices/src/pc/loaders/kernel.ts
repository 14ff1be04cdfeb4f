/**
 * `-kernel` handling: recognise what kind of kernel an image is and boot it the way
 * QEMU's x86 loader does (hw/i386/x86-common.c x86_load_linux): a "HdrS" setup header
 * means the Linux boot protocol, even if a Multiboot header is also present; otherwise
 * a Multiboot header means Multiboot; a bare ELF would need a PVH note, which tsemu
 * does not support; anything else is refused.
 *
 * Detection is lenient (a Multiboot magic word with a bad checksum still counts, so
 * loading reports the checksum instead of "unknown format"); loading is strict.
 */
import type { GuestMemory } from '../../platform/index.js';
import { KernelImageError } from '../errors.js';
import { hasBzImageMagic } from './bzimage-header.js';
import { isElf } from './elf32.js';
import { loadLinux, type LinuxLoadResult } from './linux.js';
import { findMultibootMagic } from './multiboot-header.js';
import { loadMultiboot, type MultibootLoadResult, type MultibootModule } from './multiboot.js';

export type KernelFormat = 'linux' | 'multiboot' | 'elf' | 'unknown';

export function detectKernelFormat(image: Uint8Array): KernelFormat {
  if (hasBzImageMagic(image)) return 'linux';
  if (findMultibootMagic(image).length > 0) return 'multiboot';
  if (isElf(image)) return 'elf';
  return 'unknown';
}

export interface KernelLoadOptions {
  cmdline?: string;
  /**
   * Linux: the initial ramdisk. Multiboot: when `modules` is not given, becomes the
   * single module, its string being `initrdName` (QEMU passes `-initrd` files as modules).
   */
  initrd?: Uint8Array;
  initrdName?: string;
  /**
   * Multiboot modules. A Linux kernel takes one ramdisk: without `initrd`, a single
   * module serves as it; two or more modules are refused.
   */
  modules?: readonly MultibootModule[];
  /** Linux entry mode, default '32' (see LinuxBootOptions.entry). */
  linuxEntry?: '32' | '64' | 'auto';
  /** Linux: load a relocatable kernel at pref_address. */
  usePreferredAddress?: boolean;
  /** Names the kernel in error messages. */
  fileName?: string;
}

export type KernelLoadResult =
  | ({ format: 'linux' } & LinuxLoadResult)
  | ({ format: 'multiboot' } & MultibootLoadResult);

export function loadKernel(mem: GuestMemory, image: Uint8Array, opts: KernelLoadOptions = {}): KernelLoadResult {
  const fail = (reason: string): never => {
    throw new KernelImageError(reason, opts.fileName);
  };
  if (image.length === 0) fail('image is empty');
  switch (detectKernelFormat(image)) {
    case 'linux': {
      const modules = opts.modules ?? [];
      if (modules.length > 1) {
        fail(`a Linux kernel takes one initial ramdisk; ${modules.length} were given`);
      }
      const r = loadLinux(mem, image, {
        cmdline: opts.cmdline,
        initrd: opts.initrd ?? modules[0]?.data,
        initrdName: opts.initrdName ?? modules[0]?.cmdline,
        entry: opts.linuxEntry,
        usePreferredAddress: opts.usePreferredAddress, fileName: opts.fileName,
      });
      return { format: 'linux', ...r };
    }
    case 'multiboot': {
      const modules = opts.modules ?? (opts.initrd ? [{ data: opts.initrd, cmdline: opts.initrdName ?? '' }] : []);
      const r = loadMultiboot(mem, image, { cmdline: opts.cmdline, modules, fileName: opts.fileName });
      return { format: 'multiboot', ...r };
    }
    case 'elf':
      return fail('ELF kernel without a Multiboot header or PVH note is not supported');
    case 'unknown':
      return fail('not a Linux bzImage, Multiboot or ELF kernel');
  }
}
