/**
 * Where guest RAM lives on the host.
 *
 * KVM needs a page-aligned host address (KVM_SET_USER_MEMORY_REGION), which a
 * SharedArrayBuffer does not give (seen: addresses ending in ...010), so on Linux the
 * KVM accelerator supplies an anonymous-mmap backing (packages/accel-kvm). Everywhere
 * else a SharedArrayBuffer serves: it can still be shared with worker threads.
 */
export interface RamBacking {
  /** The whole of guest RAM, viewable from any thread that holds it. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly size: number;
  /** Host virtual address of byte 0, when the backing has a stable one (mmap). */
  readonly hostAddress: bigint | null;
  /** Human-readable kind, for traces ("mmap", "shared-array-buffer"). */
  readonly kind: string;
  /** Returns the memory to the host. The buffer must not be used afterwards. */
  release(): void;
}

/** A RAM backing on a SharedArrayBuffer: portable, shareable, no fixed host address. */
export function createSharedRamBacking(size: number): RamBacking {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid RAM size ${size}`);
  const buffer = new SharedArrayBuffer(size);
  return { buffer, size, hostAddress: null, kind: 'shared-array-buffer', release() {} };
}
