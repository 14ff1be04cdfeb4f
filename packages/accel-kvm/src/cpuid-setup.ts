/**
 * The CPUID a vCPU gets: what KVM_GET_SUPPORTED_CPUID offers, with the per-vCPU fields
 * fixed up, as Firecracker and QEMU do:
 * - leaf 1 EBX[31:24] is the initial APIC ID; leaves 0xB and 0x1F EDX the x2APIC ID
 *   (SDM Vol. 2A, CPUID): both become the vCPU index.
 * - Without the in-kernel irqchip there is no local APIC in KVM. Unless the machine
 *   models one in user space (`userApic`: xAPIC MMIO only, no TSC-deadline mode), the APIC
 *   bit (leaf 1 EDX bit 9) is cleared too and a guest uses the PIC and PIT, as on a machine
 *   without an APIC; x2APIC (ECX bit 21) and TSC-deadline timer (ECX bit 24) are always
 *   cleared then.
 * Everything else is left as KVM offers it.
 */
import type { KvmCpuidEntry } from './structs/kvm-cpuid.js';

export const CPUID_1_EDX_APIC = 1 << 9;
export const CPUID_1_ECX_X2APIC = 1 << 21;
export const CPUID_1_ECX_TSC_DEADLINE = 1 << 24;

export function cpuidForVcpu(supported: readonly KvmCpuidEntry[], index: number, irqchip: 'kernel' | 'user', userApic = false): KvmCpuidEntry[] {
  return supported.map((entry) => {
    const e = { ...entry };
    if (e.function === 1) {
      e.ebx = ((e.ebx & 0x00ffffff) | ((index & 0xff) << 24)) >>> 0;
      if (irqchip === 'user') {
        if (!userApic) e.edx = (e.edx & ~CPUID_1_EDX_APIC) >>> 0;
        e.ecx = (e.ecx & ~(CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE)) >>> 0;
      }
    }
    if (e.function === 0xb || e.function === 0x1f) e.edx = index >>> 0;
    return e;
  });
}
