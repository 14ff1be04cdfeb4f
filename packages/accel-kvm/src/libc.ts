/**
 * The few libc calls KVM needs, bound with the koffi FFI.
 *
 * koffi is loaded lazily (on the first call of `libc()`), so importing this package on
 * macOS or Windows, or without the native module, costs nothing until KVM is used.
 * Each thread (the main thread and every vCPU worker) loads its own binding: koffi
 * functions belong to the isolate that declared them.
 *
 * `ioctl` is variadic in C; koffi cannot call a variadic function asynchronously and
 * needs fixed argument types, so it is declared twice: with an integer third argument
 * (`_IO` requests such as KVM_RUN or KVM_CREATE_VCPU) and with a pointer (struct
 * arguments, passed as a Uint8Array whose memory the kernel reads or fills in place).
 * koffi returns `void *` as a bigint address, which is also what `koffi.view` accepts.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/** Linux x86-64 values (asm-generic/fcntl.h, mman-common.h, signal.h, unistd_64.h). */
export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
/** mmap's error return, (void *)-1. */
export const MAP_FAILED = 0xffffffffffffffffn;
export const SIGUSR2 = 12;
export const SYS_gettid = 186;
export const SYS_tgkill = 234;
export const PAGE_SIZE = 4096;

/** errno values (asm-generic/errno-base.h) the accelerator tells apart. */
export const Errno = {
  EPERM: 1, ENOENT: 2, EINTR: 4, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28,
} as const;

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(Errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  /** ioctl with an integer (or no) argument. */
  ioctlInt(fd: number, request: number, arg: number | bigint): number;
  /** ioctl with a pointer to a struct the kernel reads and/or writes in place. */
  ioctlBuf(fd: number, request: number, buf: Uint8Array): number;
  mmap(addr: bigint | null, length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): number;
  /** The calling thread's errno; read it right after the failing call. */
  errno(): number;
  strerror(errno: number): string;
  gettid(): number;
  getpid(): number;
  tgkill(tgid: number, tid: number, signal: number): number;
  /** An ArrayBuffer over host memory at `address` (no copy). */
  view(address: bigint, length: number): ArrayBuffer;
}

let cached: Libc | null = null;
let loadError: Error | null = null;

/** Thrown when the FFI cannot be loaded on this host (not Linux, koffi missing). */
export class FfiUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FfiUnavailableError';
  }
}

/** The libc binding for this thread, loading koffi on first use. */
export function libc(): Libc {
  if (cached) return cached;
  if (loadError) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new FfiUnavailableError(`KVM needs Linux (this host is ${process.platform})`);
    throw loadError;
  }
  let koffi: typeof Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  } catch (e) {
    loadError = new FfiUnavailableError(`the koffi FFI module could not be loaded (${(e as Error).message})`);
    throw loadError;
  }
  const lib = koffi.load('libc.so.6');
  const open = lib.func('open', 'int', ['str', 'int']);
  const close = lib.func('close', 'int', ['int']);
  const ioctlInt = lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
  const ioctlBuf = lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
  const mmap = lib.func('mmap', 'void *', ['void *', 'size_t', 'int', 'int', 'int', 'long']);
  const munmap = lib.func('munmap', 'int', ['void *', 'size_t']);
  const errnoLocation = lib.func('__errno_location', 'int *', []);
  const strerror = lib.func('strerror', 'str', ['int']);
  const syscall1 = lib.func('syscall', 'long', ['long']);
  const syscall3 = lib.func('syscall', 'long', ['long', 'long', 'long', 'long']);
  const getpid = lib.func('getpid', 'int', []);
  // errno lives at a fixed per-thread address: look it up once.
  const errnoAddress = errnoLocation() as bigint;
  cached = {
    open: (path, flags) => open(path, flags) as number,
    close: (fd) => close(fd) as number,
    ioctlInt: (fd, request, arg) => ioctlInt(fd, request, arg) as number,
    ioctlBuf: (fd, request, buf) => ioctlBuf(fd, request, buf) as number,
    mmap: (addr, length, prot, flags, fd, offset) => BigInt(mmap(addr, length, prot, flags, fd, offset) ?? 0n),
    munmap: (addr, length) => munmap(addr, length) as number,
    errno: () => koffi.decode(errnoAddress, 'int') as number,
    strerror: (errno) => strerror(errno) as string,
    gettid: () => Number(syscall1(SYS_gettid)),
    getpid: () => getpid() as number,
    tgkill: (tgid, tid, signal) => Number(syscall3(SYS_tgkill, tgid, tid, signal)),
    view: (address, length) => koffi.view(address, length),
  };
  return cached;
}
