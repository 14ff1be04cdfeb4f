/**
 * struct kvm_userspace_memory_region (include/uapi/linux/kvm.h), for
 * KVM_SET_USER_MEMORY_REGION: slot, flags (__u32), guest_phys_addr, memory_size,
 * userspace_addr (__u64). 32 bytes. memory_size 0 deletes the slot. All three addresses
 * must be page aligned.
 */

export interface KvmUserspaceMemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}

export const KVM_USERSPACE_MEMORY_REGION_SIZE = 32;
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
/** Guest writes to the slot exit to user space as MMIO (needs KVM_CAP_READONLY_MEM): ROM. */
export const KVM_MEM_READONLY = 1 << 1;

export function encodeKvmUserspaceMemoryRegion(r: KvmUserspaceMemoryRegion): Uint8Array {
  const out = new Uint8Array(KVM_USERSPACE_MEMORY_REGION_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, r.slot >>> 0, true);
  dv.setUint32(4, r.flags >>> 0, true);
  dv.setBigUint64(8, r.guestPhysAddr, true);
  dv.setBigUint64(16, r.memorySize, true);
  dv.setBigUint64(24, r.userspaceAddr, true);
  return out;
}

export function decodeKvmUserspaceMemoryRegion(bytes: Uint8Array): KvmUserspaceMemoryRegion {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, KVM_USERSPACE_MEMORY_REGION_SIZE);
  return {
    slot: dv.getUint32(0, true),
    flags: dv.getUint32(4, true),
    guestPhysAddr: dv.getBigUint64(8, true),
    memorySize: dv.getBigUint64(16, true),
    userspaceAddr: dv.getBigUint64(24, true),
  };
}
