/**
 * Kvm: the /dev/kvm system fd (rust-vmm's kvm-ioctls `Kvm`). It answers what this host's
 * KVM supports and creates VMs. See Documentation/virt/kvm/api.rst, "System ioctls".
 */
import { KvmError, KvmUnavailableError, openFailureReason } from './errors.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_API_VERSION, KVM_GET_SUPPORTED_CPUID, KVM_GET_VCPU_MMAP_SIZE, capName,
} from './ioctls.js';
import { ioctlInt } from './ioctl-call.js';
import { Errno, FfiUnavailableError, O_CLOEXEC, O_RDWR, libc, type Libc } from './libc.js';
import { allocKvmCpuid2, decodeKvmCpuid2, type KvmCpuidEntry } from './structs/kvm-cpuid.js';
import type { TraceSink } from './trace.js';
import { VmFd } from './vm-fd.js';

/** The only KVM API version there has ever been in mainline Linux (since 2.6.22). */
export const KVM_API_VERSION = 12;
/** KVM_MAX_CPUID_ENTRIES is 256 today; keep doubling on E2BIG up to this. */
const MAX_CPUID_ENTRIES = 4096;

export interface KvmOpenOptions {
  path?: string;
  trace?: TraceSink;
}

/** Loads the libc binding, turning "no FFI here" into KvmUnavailableError. */
export function kvmLibc(): Libc {
  try {
    return libc();
  } catch (e) {
    if (e instanceof FfiUnavailableError) throw new KvmUnavailableError(e.message);
    throw e;
  }
}

export class Kvm {
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly trace: TraceSink,
  ) {}

  /** Opens /dev/kvm and checks the API version; throws KvmUnavailableError with the cause. */
  static open(options: KvmOpenOptions = {}): Kvm {
    const c = kvmLibc();
    const path = options.path ?? '/dev/kvm';
    const trace = options.trace ?? null;
    const fd = c.open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const errno = c.errno();
      trace?.(`open ${path} -> ${c.strerror(errno)}`);
      throw new KvmUnavailableError(openFailureReason(errno, c.strerror(errno), path));
    }
    trace?.(`open ${path} -> fd ${fd}`);
    const kvm = new Kvm(fd, trace);
    const version = kvm.apiVersion();
    if (version !== KVM_API_VERSION) {
      kvm.close();
      throw new KvmUnavailableError(`KVM API version ${version}, tsemu needs ${KVM_API_VERSION}`);
    }
    return kvm;
  }

  private ioctl(name: string, request: number, arg: number): number {
    return ioctlInt(this.fd, name, request, arg);
  }

  apiVersion(): number {
    const v = this.ioctl('KVM_GET_API_VERSION', KVM_GET_API_VERSION, 0);
    this.trace?.(`KVM_GET_API_VERSION -> ${v}`);
    return v;
  }

  /** 0 = unsupported; otherwise 1 or a capability-specific value (e.g. the vCPU limit). */
  checkExtension(cap: number): number {
    const v = this.ioctl('KVM_CHECK_EXTENSION', KVM_CHECK_EXTENSION, cap);
    this.trace?.(`KVM_CHECK_EXTENSION ${capName(cap)} -> ${v}`);
    return v;
  }

  /** Bytes to mmap from a vCPU fd: struct kvm_run, the PIO data page, the coalesced-MMIO ring. */
  vcpuMmapSize(): number {
    const v = this.ioctl('KVM_GET_VCPU_MMAP_SIZE', KVM_GET_VCPU_MMAP_SIZE, 0);
    this.trace?.(`KVM_GET_VCPU_MMAP_SIZE -> ${v}`);
    return v;
  }

  /** The CPUID leaves KVM can expose on this host (the base of every vCPU's KVM_SET_CPUID2). */
  getSupportedCpuid(): KvmCpuidEntry[] {
    const c = libc();
    for (let capacity = 256; capacity <= MAX_CPUID_ENTRIES; capacity *= 2) {
      const buf = allocKvmCpuid2(capacity);
      if (c.ioctlBuf(this.fd, KVM_GET_SUPPORTED_CPUID, buf) >= 0) {
        const entries = decodeKvmCpuid2(buf);
        this.trace?.(`KVM_GET_SUPPORTED_CPUID -> ${entries.length} entries`);
        return entries;
      }
      const errno = c.errno();
      if (errno !== Errno.E2BIG) throw new KvmError('KVM_GET_SUPPORTED_CPUID', errno, c.strerror(errno));
    }
    throw new KvmError('KVM_GET_SUPPORTED_CPUID', Errno.E2BIG, `more than ${MAX_CPUID_ENTRIES} entries`);
  }

  createVm(): VmFd {
    const c = libc();
    const fd = c.ioctlInt(this.fd, KVM_CREATE_VM, 0);
    if (fd < 0) {
      const errno = c.errno();
      // EBUSY here means the CPU's virtualization extensions could not be enabled.
      if (errno === Errno.EBUSY) throw new KvmUnavailableError(openFailureReason(errno, c.strerror(errno)));
      throw new KvmError('KVM_CREATE_VM', errno, c.strerror(errno));
    }
    this.trace?.(`KVM_CREATE_VM -> fd ${fd}`);
    return new VmFd(fd, this, this.trace);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
    this.trace?.(`close /dev/kvm fd ${this.fd}`);
  }
}
