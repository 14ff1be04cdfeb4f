/**
 * Guest RAM for KVM: one anonymous mmap, page aligned (KVM_SET_USER_MEMORY_REGION needs
 * a page-aligned host address, which a SharedArrayBuffer does not give). MAP_NORESERVE:
 * pages are only committed when the guest touches them, like QEMU's RAM. The memory is
 * viewed through koffi as an ArrayBuffer; any thread can view the same address again.
 */
import type { RamBacking } from '@tsemu/devices/platform';
import { KvmError } from './errors.js';
import { kvmLibc } from './kvm.js';
import { MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from './libc.js';

export function createMmapRamBacking(size: number): RamBacking {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid RAM size ${size}`);
  const c = kvmLibc();
  const mapped = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  const address = c.mmap(null, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (address === MAP_FAILED || address === 0n) {
    const errno = c.errno();
    throw new KvmError(`mmap(${mapped} bytes of guest RAM)`, errno, c.strerror(errno));
  }
  let released = false;
  return {
    buffer: c.view(address, mapped),
    size,
    hostAddress: address,
    kind: 'mmap',
    release() {
      if (released) return;
      released = true;
      c.munmap(address, mapped);
    },
  };
}
