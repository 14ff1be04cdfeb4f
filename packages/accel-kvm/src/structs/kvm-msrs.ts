/**
 * struct kvm_msrs + struct kvm_msr_entry (arch/x86/include/uapi/asm/kvm.h), for
 * KVM_GET_MSRS / KVM_SET_MSRS: an 8-byte header (nmsrs, pad) followed by nmsrs entries
 * of 16 bytes (index, reserved, data). Both ioctls return how many entries they
 * processed; they stop at the first MSR KVM refuses.
 */

export interface KvmMsrEntry {
  index: number;
  data: bigint;
}

export const KVM_MSRS_SIZE = 8;
export const KVM_MSR_ENTRY_SIZE = 16;

/** MSRs tsemu sets on a new vCPU (SDM Vol. 4, table 2-2). */
export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_APICBASE = 0x1b;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** IA32_MISC_ENABLE bit 0: fast-string operations enabled (the reset value on every CPU that has it). */
export const MSR_IA32_MISC_ENABLE_FAST_STRING = 1n;

export function encodeKvmMsrs(entries: readonly KvmMsrEntry[]): Uint8Array {
  const out = new Uint8Array(KVM_MSRS_SIZE + KVM_MSR_ENTRY_SIZE * entries.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, entries.length, true);
  entries.forEach((e, i) => {
    const at = KVM_MSRS_SIZE + KVM_MSR_ENTRY_SIZE * i;
    dv.setUint32(at, e.index >>> 0, true);
    dv.setBigUint64(at + 8, BigInt.asUintN(64, e.data), true);
  });
  return out;
}

/** The first `count` entries of an encoded kvm_msrs (count defaults to nmsrs). */
export function decodeKvmMsrs(bytes: Uint8Array, count?: number): KvmMsrEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = count ?? dv.getUint32(0, true);
  const entries: KvmMsrEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = KVM_MSRS_SIZE + KVM_MSR_ENTRY_SIZE * i;
    entries.push({ index: dv.getUint32(at, true), data: dv.getBigUint64(at + 8, true) });
  }
  return entries;
}
