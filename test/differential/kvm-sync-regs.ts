/**
 * Register access for the sandbox's vCPU through KVM_CAP_SYNC_REGS when the host has it:
 * struct kvm_run carries a copy of kvm_regs and kvm_sregs (kvm_sync_regs at offset 304),
 * KVM stores them on every exit for the classes named in kvm_valid_regs and loads the
 * classes named in kvm_dirty_regs before entering the guest (Documentation/virt/kvm/api.rst,
 * "kvm_valid_regs / kvm_dirty_regs / s.regs"). That turns SET_SREGS + SET_REGS + GET_REGS
 * (three ioctls, ~10 us each here) into memory accesses, leaving KVM_RUN as the one ioctl
 * per run. Without the capability the same interface falls back to the ioctls.
 *
 * This lives here, not in @tsemu/accel-kvm, because that package has no sync-regs support
 * yet (reported to its owner).
 */
import {
  KVM_REGS_SIZE, KVM_SREGS_SIZE, decodeKvmRegs, decodeKvmSregs, encodeKvmRegs, encodeKvmSregs,
  type KvmRegs, type KvmSregs, type VcpuFd, type VmFd,
} from '@tsemu/accel-kvm';

/** include/uapi/linux/kvm.h */
export const KVM_CAP_SYNC_REGS = 74;
/** arch/x86/include/uapi/asm/kvm.h */
export const KVM_SYNC_X86_REGS = 1 << 0;
export const KVM_SYNC_X86_SREGS = 1 << 1;

/** Offsets in struct kvm_run (x86-64). */
const RUN_VALID_REGS = 288;
const RUN_DIRTY_REGS = 296;
const RUN_SYNC_REGS = 304;
const RUN_SYNC_SREGS = RUN_SYNC_REGS + KVM_REGS_SIZE;

export interface VcpuRegisterAccess {
  readonly synced: boolean;
  /** Takes effect at the next KVM_RUN (sync) or at once (ioctl). */
  setRegs(regs: KvmRegs): void;
  setSregs(sregs: KvmSregs): void;
  /** The registers as of the last exit. */
  getRegs(): KvmRegs;
  getSregs(): KvmSregs;
}

class IoctlRegisterAccess implements VcpuRegisterAccess {
  readonly synced = false;
  constructor(private readonly vcpu: VcpuFd) {}
  setRegs(regs: KvmRegs): void {
    this.vcpu.setRegs(regs);
  }
  setSregs(sregs: KvmSregs): void {
    this.vcpu.setSregs(sregs);
  }
  getRegs(): KvmRegs {
    return this.vcpu.getRegs();
  }
  getSregs(): KvmSregs {
    return this.vcpu.getSregs();
  }
}

class SyncRegisterAccess implements VcpuRegisterAccess {
  readonly synced = true;
  private readonly dv: DataView;
  private readonly regsBytes: Uint8Array<ArrayBuffer>;
  private readonly sregsBytes: Uint8Array<ArrayBuffer>;

  constructor(private readonly vcpu: VcpuFd) {
    const bytes = vcpu.run.bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The kvm_run mapping is a koffi view: a plain (non-shared) ArrayBuffer.
    const buffer = bytes.buffer as ArrayBuffer;
    this.regsBytes = new Uint8Array(buffer, bytes.byteOffset + RUN_SYNC_REGS, KVM_REGS_SIZE);
    this.sregsBytes = new Uint8Array(buffer, bytes.byteOffset + RUN_SYNC_SREGS, KVM_SREGS_SIZE);
    this.dv.setBigUint64(RUN_VALID_REGS, BigInt(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS), true);
    this.dv.setBigUint64(RUN_DIRTY_REGS, 0n, true);
    // Until the first exit the copies hold nothing: seed them from the ioctls.
    encodeKvmRegs(vcpu.getRegs(), this.regsBytes);
    encodeKvmSregs(vcpu.getSregs(), this.sregsBytes);
  }

  private markDirty(bits: number): void {
    this.dv.setBigUint64(RUN_DIRTY_REGS, this.dv.getBigUint64(RUN_DIRTY_REGS, true) | BigInt(bits), true);
  }

  setRegs(regs: KvmRegs): void {
    encodeKvmRegs(regs, this.regsBytes);
    this.markDirty(KVM_SYNC_X86_REGS);
  }
  setSregs(sregs: KvmSregs): void {
    encodeKvmSregs(sregs, this.sregsBytes);
    this.markDirty(KVM_SYNC_X86_SREGS);
  }
  getRegs(): KvmRegs {
    return decodeKvmRegs(this.regsBytes);
  }
  getSregs(): KvmSregs {
    return decodeKvmSregs(this.sregsBytes);
  }
}

/** Sync-regs access when the VM offers both register classes, else the plain ioctls. */
export function vcpuRegisterAccess(vm: VmFd, vcpu: VcpuFd, allowSync = true): VcpuRegisterAccess {
  const want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  if (allowSync && (vm.checkExtension(KVM_CAP_SYNC_REGS) & want) === want) return new SyncRegisterAccess(vcpu);
  return new IoctlRegisterAccess(vcpu);
}
