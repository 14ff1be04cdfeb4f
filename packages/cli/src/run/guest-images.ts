/**
 * Reads what the config names (kernel, modules, flat binary, the built-in demo) and
 * puts it into guest RAM through the PC loaders. Called at start and again on every
 * machine reset, as firmware reloads the kernel on a real reset.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFlatBinary, loadKernel } from '@tsemu/devices';
import { resetCpuState, type CpuState, type GuestMemory } from '@tsemu/devices/platform';
import { ConfigError } from '../config/errors.js';
import type { VmConfig } from '../config/vm-config.js';

/** The demo guest shipped with the CLI (source: packages/cli/guests/demo.asm). */
export const DEMO_GUEST_PATH = fileURLToPath(new URL('../../guests/demo.bin', import.meta.url));
export const DEMO_LOAD_ADDRESS = 0x7c00;

function readFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError(`${what} '${path}' ${why}`);
  }
}

/** The files of a config, read once. */
export interface GuestImages {
  load(memory: GuestMemory): CpuState;
  readonly description: string;
  /** The firmware image the machine maps as its ROM (--bios), else null. */
  readonly bios: Uint8Array | null;
}

export function readGuestImages(config: VmConfig): GuestImages {
  const kernel = config.kernel;
  if (kernel.kind === 'bios') {
    // The ROM is mapped by the machine; the CPU starts at the reset vector, RAM as it is.
    return { description: `BIOS ${kernel.path}`, bios: readFile(kernel.path, 'BIOS image'), load: () => resetCpuState() };
  }
  if (kernel.kind === 'demo' || kernel.kind === 'flat') {
    const path = kernel.kind === 'demo' ? DEMO_GUEST_PATH : kernel.path;
    const image = readFile(path, kernel.kind === 'demo' ? 'demo guest image' : 'flat binary');
    const address = kernel.kind === 'demo' ? DEMO_LOAD_ADDRESS : kernel.address;
    const mode = kernel.kind === 'demo' ? 'real' : kernel.mode;
    return {
      description: kernel.kind === 'demo' ? 'built-in demo guest' : `flat binary ${path}`,
      bios: null,
      load: (memory) => loadFlatBinary(memory, image, { address, mode }).cpu,
    };
  }
  const image = readFile(kernel.path, 'kernel');
  const modules = config.initrd.map((spec) => {
    const path = spec.split(' ')[0];
    return { path, cmdline: spec, data: readFile(path, 'initrd') };
  });
  return {
    description: `kernel ${kernel.path}`,
    bios: null,
    load: (memory) =>
      loadKernel(memory, image, {
        cmdline: config.append,
        modules: modules.map((m) => ({ data: m.data, cmdline: m.cmdline })),
        initrd: modules[0]?.data,
        // A 64-bit kernel starts in long mode (as Firecracker does), a 32-bit one at startup_32.
        linuxEntry: 'auto',
        fileName: kernel.path,
      }).cpu,
  };
}
