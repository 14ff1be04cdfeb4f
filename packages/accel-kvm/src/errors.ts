/**
 * Host errors of the KVM accelerator. A guest fault is never one of these (it becomes a
 * MachineEvent); these mean the host refused something, and each reads as one line.
 */
import { Errno, errnoName } from './libc.js';

/** A failed ioctl (or mmap/open on a KVM fd): which call, the errno, and its text. */
export class KvmError extends Error {
  constructor(
    /** The kernel's name of the request ("KVM_SET_USER_MEMORY_REGION"). */
    readonly ioctl: string,
    readonly errno: number,
    detail: string,
  ) {
    super(`${ioctl} failed: ${detail} (${errnoName(errno)})`);
    this.name = 'KvmError';
  }
}

/** KVM cannot be used on this host at all; `reason` says why in one line. */
export class KvmUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`KVM is not available: ${reason}; use --accel=tcg`);
    this.name = 'KvmUnavailableError';
  }
}

/** The one-line cause for a failed open("/dev/kvm") (or KVM_CREATE_VM failing with EBUSY). */
export function openFailureReason(errno: number, strerror: string, path = '/dev/kvm'): string {
  switch (errno) {
    case Errno.ENOENT:
      return `${path} does not exist (no KVM on this host)`;
    case Errno.EACCES:
    case Errno.EPERM:
      return `permission denied opening ${path} (add yourself to the kvm group)`;
    case Errno.EBUSY:
      return `${path} is busy (another hypervisor holds the virtualization extensions)`;
    case Errno.ENXIO:
    case Errno.ENODEV:
      return `${path} has no driver behind it (kvm module not loaded, or virtualization disabled in the firmware)`;
    default:
      return `cannot open ${path}: ${strerror}`;
  }
}
