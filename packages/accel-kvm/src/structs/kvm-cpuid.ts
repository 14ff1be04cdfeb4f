/**
 * struct kvm_cpuid2 + struct kvm_cpuid_entry2 (arch/x86/include/uapi/asm/kvm.h), for
 * KVM_GET_SUPPORTED_CPUID (on /dev/kvm) and KVM_SET_CPUID2 (on a vCPU): an 8-byte header
 * (nent, padding) followed by nent entries of 40 bytes (function, index, flags, eax, ebx,
 * ecx, edx, padding[3]). The vCPU's CPUID answers come only from what user space sets.
 */

export interface KvmCpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export const KVM_CPUID2_SIZE = 8;
export const KVM_CPUID_ENTRY2_SIZE = 40;
/** The entry depends on ECX (the sub-leaf). The kernel header spells it SIGNIFCANT. */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

/** A kvm_cpuid2 with room for `capacity` entries and nent = capacity (for KVM_GET_SUPPORTED_CPUID). */
export function allocKvmCpuid2(capacity: number): Uint8Array {
  const out = new Uint8Array(KVM_CPUID2_SIZE + KVM_CPUID_ENTRY2_SIZE * capacity);
  new DataView(out.buffer).setUint32(0, capacity, true);
  return out;
}

export function encodeKvmCpuid2(entries: readonly KvmCpuidEntry[]): Uint8Array {
  const out = allocKvmCpuid2(entries.length);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const at = KVM_CPUID2_SIZE + KVM_CPUID_ENTRY2_SIZE * i;
    dv.setUint32(at, e.function >>> 0, true);
    dv.setUint32(at + 4, e.index >>> 0, true);
    dv.setUint32(at + 8, e.flags >>> 0, true);
    dv.setUint32(at + 12, e.eax >>> 0, true);
    dv.setUint32(at + 16, e.ebx >>> 0, true);
    dv.setUint32(at + 20, e.ecx >>> 0, true);
    dv.setUint32(at + 24, e.edx >>> 0, true);
  });
  return out;
}

export function decodeKvmCpuid2(bytes: Uint8Array): KvmCpuidEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true);
  const entries: KvmCpuidEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = KVM_CPUID2_SIZE + KVM_CPUID_ENTRY2_SIZE * i;
    entries.push({
      function: dv.getUint32(at, true),
      index: dv.getUint32(at + 4, true),
      flags: dv.getUint32(at + 8, true),
      eax: dv.getUint32(at + 12, true),
      ebx: dv.getUint32(at + 16, true),
      ecx: dv.getUint32(at + 20, true),
      edx: dv.getUint32(at + 24, true),
    });
  }
  return entries;
}
