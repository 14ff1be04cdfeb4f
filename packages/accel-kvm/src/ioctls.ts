/**
 * KVM ioctl request numbers, computed the way include/uapi/asm-generic/ioctl.h does:
 * direction (2 bits) | argument size (14 bits) | type (8 bits, KVMIO = 0xAE) | number.
 * Each request carries the name and struct of include/uapi/linux/kvm.h; the sizes come
 * from the struct layouts in ./structs, so a wrong layout shows up as a wrong number
 * (the unit tests pin the numbers against the kernel header).
 */
import { KVM_CPUID2_SIZE } from './structs/kvm-cpuid.js';
import { KVM_FPU_SIZE } from './structs/kvm-fpu.js';
import { KVM_INTERRUPT_SIZE, KVM_IRQ_LEVEL_SIZE, KVM_MP_STATE_SIZE, KVM_PIT_CONFIG_SIZE } from './structs/kvm-irq.js';
import { KVM_USERSPACE_MEMORY_REGION_SIZE } from './structs/kvm-memory-region.js';
import { KVM_MSRS_SIZE } from './structs/kvm-msrs.js';
import { KVM_REGS_SIZE } from './structs/kvm-regs.js';
import { KVM_SREGS_SIZE } from './structs/kvm-sregs.js';

const _IOC_NONE = 0;
const _IOC_WRITE = 1;
const _IOC_READ = 2;

export const KVMIO = 0xae;

function _IOC(dir: number, type: number, nr: number, size: number): number {
  if (size >= 1 << 14) throw new RangeError(`ioctl argument size ${size} does not fit 14 bits`);
  // >>> 0 keeps the result an unsigned 32-bit number (the READ bit is bit 31).
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
export const _IO = (type: number, nr: number): number => _IOC(_IOC_NONE, type, nr, 0);
export const _IOR = (type: number, nr: number, size: number): number => _IOC(_IOC_READ, type, nr, size);
export const _IOW = (type: number, nr: number, size: number): number => _IOC(_IOC_WRITE, type, nr, size);
export const _IOWR = (type: number, nr: number, size: number): number => _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);

const U64 = 8;

// System ioctls, on the /dev/kvm fd.
export const KVM_GET_API_VERSION = _IO(KVMIO, 0x00);
export const KVM_CREATE_VM = _IO(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04);
/** struct kvm_cpuid2 (header; entries follow). */
export const KVM_GET_SUPPORTED_CPUID = _IOWR(KVMIO, 0x05, KVM_CPUID2_SIZE);

// VM ioctls, on the fd KVM_CREATE_VM returns.
export const KVM_CREATE_VCPU = _IO(KVMIO, 0x41);
/** struct kvm_userspace_memory_region */
export const KVM_SET_USER_MEMORY_REGION = _IOW(KVMIO, 0x46, KVM_USERSPACE_MEMORY_REGION_SIZE);
export const KVM_SET_TSS_ADDR = _IO(KVMIO, 0x47);
/** __u64 */
export const KVM_SET_IDENTITY_MAP_ADDR = _IOW(KVMIO, 0x48, U64);
export const KVM_CREATE_IRQCHIP = _IO(KVMIO, 0x60);
/** struct kvm_irq_level */
export const KVM_IRQ_LINE = _IOW(KVMIO, 0x61, KVM_IRQ_LEVEL_SIZE);
/** struct kvm_pit_config */
export const KVM_CREATE_PIT2 = _IOW(KVMIO, 0x77, KVM_PIT_CONFIG_SIZE);

// vCPU ioctls, on the fd KVM_CREATE_VCPU returns.
export const KVM_RUN = _IO(KVMIO, 0x80);
/** struct kvm_regs */
export const KVM_GET_REGS = _IOR(KVMIO, 0x81, KVM_REGS_SIZE);
export const KVM_SET_REGS = _IOW(KVMIO, 0x82, KVM_REGS_SIZE);
/** struct kvm_sregs */
export const KVM_GET_SREGS = _IOR(KVMIO, 0x83, KVM_SREGS_SIZE);
export const KVM_SET_SREGS = _IOW(KVMIO, 0x84, KVM_SREGS_SIZE);
/** struct kvm_interrupt */
export const KVM_INTERRUPT = _IOW(KVMIO, 0x86, KVM_INTERRUPT_SIZE);
/** struct kvm_msrs (header; entries follow) */
export const KVM_GET_MSRS = _IOWR(KVMIO, 0x88, KVM_MSRS_SIZE);
export const KVM_SET_MSRS = _IOW(KVMIO, 0x89, KVM_MSRS_SIZE);
/** struct kvm_fpu */
export const KVM_GET_FPU = _IOR(KVMIO, 0x8c, KVM_FPU_SIZE);
export const KVM_SET_FPU = _IOW(KVMIO, 0x8d, KVM_FPU_SIZE);
/** struct kvm_cpuid2 (header; entries follow) */
export const KVM_SET_CPUID2 = _IOW(KVMIO, 0x90, KVM_CPUID2_SIZE);
/** struct kvm_mp_state */
export const KVM_GET_MP_STATE = _IOR(KVMIO, 0x98, KVM_MP_STATE_SIZE);
export const KVM_SET_MP_STATE = _IOW(KVMIO, 0x99, KVM_MP_STATE_SIZE);

/** Request number -> kernel name, for errors and traces. */
export const IOCTL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries({
    KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
    KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_CREATE_PIT2, KVM_RUN, KVM_GET_REGS, KVM_SET_REGS,
    KVM_GET_SREGS, KVM_SET_SREGS, KVM_INTERRUPT, KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU,
    KVM_SET_CPUID2, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
  }).map(([name, nr]) => [nr, name]),
);

/** Capabilities asked with KVM_CHECK_EXTENSION (include/uapi/linux/kvm.h). */
export const KvmCap = {
  KVM_CAP_IRQCHIP: 0,
  KVM_CAP_HLT: 1,
  KVM_CAP_USER_MEMORY: 3,
  KVM_CAP_SET_TSS_ADDR: 4,
  KVM_CAP_EXT_CPUID: 7,
  KVM_CAP_NR_VCPUS: 9,
  KVM_CAP_NR_MEMSLOTS: 10,
  KVM_CAP_MP_STATE: 14,
  KVM_CAP_PIT2: 33,
  KVM_CAP_SET_IDENTITY_MAP_ADDR: 37,
  KVM_CAP_INTERNAL_ERROR_DATA: 40,
  KVM_CAP_MAX_VCPUS: 66,
  KVM_CAP_READONLY_MEM: 81,
  KVM_CAP_IMMEDIATE_EXIT: 136,
} as const;
export type KvmCapName = keyof typeof KvmCap;

export function capName(cap: number): string {
  for (const [name, value] of Object.entries(KvmCap)) if (value === cap) return name;
  return `capability ${cap}`;
}
