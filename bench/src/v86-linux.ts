/**
 * v86 (the npm package) booting the Linux guest headless in this process, for the benchmarks
 * that compare tsemu with it on the same kernel and initramfs (linux-boot-peers.ts,
 * linux-boot-phases.ts): loading the package, Debian's SeaBIOS, and the emulator's options.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SEABIOS_DIR = '/usr/share/seabios';

/** The parts of v86's API this uses (its typings are not needed to build the bench). */
export interface V86Instance {
  add_listener(event: string, listener: (arg: unknown) => void): void;
  serial0_send(text: string): void;
  destroy(): Promise<void>;
}
type V86Constructor = new (options: Record<string, unknown>) => V86Instance;

export interface V86Package {
  V86: V86Constructor;
  wasmPath: string;
  version: string;
}

/** The v86 npm package (a devDependency), or why it cannot be loaded. */
export async function loadV86(): Promise<V86Package | string> {
  try {
    const require = createRequire(import.meta.url);
    const packageJson = require.resolve('v86/package.json');
    const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? '?';
    const name = 'v86'; // a variable: the bench compiles without v86 installed
    const module = (await import(name)) as { V86?: V86Constructor };
    if (typeof module.V86 !== 'function') return 'the v86 package has no V86 export';
    return { V86: module.V86, wasmPath: join(dirname(packageJson), 'build', 'v86.wasm'), version };
  } catch (e) {
    return `v86 cannot be loaded (${(e as Error).message.split('\n')[0]}); \`npm install\` installs it (devDependency)`;
  }
}

/** A file's bytes as the ArrayBuffer v86 wants (its own, not a view on Node's buffer pool). */
function arrayBufferOf(path: string): ArrayBuffer {
  const bytes = readFileSync(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export interface Firmware {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer | null;
  version: string;
}

/**
 * Debian's SeaBIOS, or why it is missing. v86 emulates the Bochs/QEMU "std" VGA (VBE through
 * the Bochs dispi ports), which is what SeaVGABIOS's stdvga build drives.
 */
export function debianSeabios(): Firmware | string {
  const biosPath = join(SEABIOS_DIR, 'bios.bin');
  if (!existsSync(biosPath)) return `no ${biosPath} (\`apt-get install seabios\`)`;
  const bios = arrayBufferOf(biosPath);
  const vgaPath = ['vgabios-stdvga.bin', 'vgabios-isavga.bin'].map((f) => join(SEABIOS_DIR, f)).find((p) => existsSync(p));
  const version = /\d+\.\d+\.\d+-debian-[\w.+~-]+/.exec(Buffer.from(bios).toString('latin1'))?.[0] ?? '?';
  return { bios, vgaBios: vgaPath === undefined ? null : arrayBufferOf(vgaPath), version };
}

/**
 * A v86 emulator started on `kernel` and `initrd` with `console=ttyS0` and 256 MiB, its JIT on or
 * off. It runs until `destroy()`: without that the process would never exit.
 */
export function startV86(pkg: V86Package, firmware: Firmware, kernel: string, initrd: string, jit: boolean): V86Instance {
  return new pkg.V86({
    wasm_path: pkg.wasmPath,
    memory_size: 256 * 2 ** 20,
    bios: { buffer: firmware.bios },
    ...(firmware.vgaBios === null ? {} : { vga_bios: { buffer: firmware.vgaBios } }),
    bzimage: { buffer: arrayBufferOf(kernel) },
    initrd: { buffer: arrayBufferOf(initrd) },
    cmdline: 'console=ttyS0',
    disable_jit: !jit,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
}

/**
 * Hands each byte `emulator` prints on COM1 to `onByte` until it returns true, or fails with
 * `limitMessage()` once `limitMs` have passed; either way then destroys the emulator (without
 * that the process would never exit) before settling.
 */
export function runV86Until(emulator: V86Instance, onByte: (byte: number) => boolean, limitMs: number, limitMessage: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (error: Error | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      emulator.destroy().then(() => (error === null ? resolve() : reject(error)), reject);
    };
    const limit = setTimeout(() => finish(new Error(limitMessage())), limitMs);
    emulator.add_listener('serial0-output-byte', (byte) => {
      if (!finished && onByte(byte as number)) finish(null);
    });
  });
}
