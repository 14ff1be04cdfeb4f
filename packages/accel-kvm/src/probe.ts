/**
 * probeKvm(): can this host run tsemu's KVM accelerator? Used by --accel=auto to pick KVM
 * or fall back to tcg with the reason. It opens /dev/kvm, checks the API version and the
 * capabilities the accelerator relies on, and creates (and closes) a VM, because a busy
 * virtualization unit (another hypervisor) only shows when a VM is created.
 */
import { KvmError, KvmUnavailableError } from './errors.js';
import { KvmCap, type KvmCapName } from './ioctls.js';
import { Kvm } from './kvm.js';

/** Capabilities every configuration needs. */
export const REQUIRED_CAPS: readonly KvmCapName[] = ['KVM_CAP_USER_MEMORY', 'KVM_CAP_SET_TSS_ADDR', 'KVM_CAP_EXT_CPUID', 'KVM_CAP_IMMEDIATE_EXIT'];
/** Also needed for irqchip: 'kernel'. */
export const KERNEL_IRQCHIP_CAPS: readonly KvmCapName[] = ['KVM_CAP_IRQCHIP', 'KVM_CAP_PIT2'];

export interface KvmProbe {
  available: boolean;
  reason?: string;
}

/** Throws KvmUnavailableError naming the first missing capability. */
export function requireCaps(kvm: Kvm, caps: readonly KvmCapName[]): void {
  for (const cap of caps) {
    if (kvm.checkExtension(KvmCap[cap]) <= 0) throw new KvmUnavailableError(`this KVM lacks ${cap}`);
  }
}

export function probeKvm(options: { path?: string } = {}): KvmProbe {
  let kvm: Kvm | null = null;
  try {
    kvm = Kvm.open({ path: options.path });
    requireCaps(kvm, REQUIRED_CAPS);
    kvm.createVm().close();
    return { available: true };
  } catch (e) {
    if (e instanceof KvmUnavailableError) return { available: false, reason: e.reason };
    if (e instanceof KvmError) return { available: false, reason: e.message };
    return { available: false, reason: (e as Error).message };
  } finally {
    kvm?.close();
  }
}
