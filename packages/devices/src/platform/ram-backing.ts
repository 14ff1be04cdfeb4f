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
  /**
   * Set when the buffer is a WebAssembly memory: the software CPU's WebAssembly translations
   * import it and reach guest RAM (at offset 0) and the scratch area past RAM (the TLB and the
   * translations' state, claimed by one MMU) without a copy.
   */
  readonly wasm?: WasmRam;
}

/** The WebAssembly side of a RAM backing (RamBacking.wasm). */
export interface WasmRam {
  readonly memory: WebAssembly.Memory;
  /** Where the scratch area starts: RAM's size rounded up to a 64 KiB page. */
  readonly scratchOffset: number;
  /** Set by the MMU that holds its TLB in the scratch area (only one may). */
  claimed: boolean;
}

/**
 * Bytes past RAM in a WebAssembly backing: the TLB (2^20 int32 entries) and 64 KiB for the
 * JIT's translation state (jit/wasm/).
 */
export const WASM_SCRATCH_BYTES = (4 << 20) + 0x10000;
const WASM_PAGE = 0x10000;
/** A WebAssembly memory holds at most 2^16 pages of 64 KiB (4 GiB). */
const WASM_MAX_PAGES = 0x10000;

/**
 * A RAM backing on a SharedArrayBuffer: portable, shareable, no fixed host address. When RAM
 * and the scratch area fit in 4 GiB the buffer is a shared WebAssembly memory's (a
 * SharedArrayBuffer too, zeroed as one), so the JIT can translate to WebAssembly; larger RAM,
 * or a host that refuses the memory, gets a plain SharedArrayBuffer and JavaScript translations.
 */
export function createSharedRamBacking(size: number): RamBacking {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid RAM size ${size}`);
  const scratchOffset = Math.ceil(size / WASM_PAGE) * WASM_PAGE;
  const pages = (scratchOffset + WASM_SCRATCH_BYTES) / WASM_PAGE;
  if (pages <= WASM_MAX_PAGES) {
    let memory: WebAssembly.Memory | null = null;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch {
      // Out of address space or memory for it: the plain buffer below.
    }
    if (memory !== null) {
      const buffer = memory.buffer as SharedArrayBuffer;
      return { buffer, size, hostAddress: null, kind: 'wasm-memory', release() {}, wasm: { memory, scratchOffset, claimed: false } };
    }
  }
  const buffer = new SharedArrayBuffer(size);
  return { buffer, size, hostAddress: null, kind: 'shared-array-buffer', release() {} };
}
