import { describe, expect, it } from 'vitest';
import * as io from '../src/ioctls.js';

// Values printed by a C program compiled against <linux/kvm.h> on x86-64.
const KERNEL: Record<string, number> = {
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_CREATE_VCPU: 0xae41,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_TSS_ADDR: 0xae47,
  KVM_SET_IDENTITY_MAP_ADDR: 0x4008ae48,
  KVM_CREATE_IRQCHIP: 0xae60,
  KVM_IRQ_LINE: 0x4008ae61,
  KVM_CREATE_PIT2: 0x4040ae77,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_INTERRUPT: 0x4004ae86,
  KVM_GET_MSRS: 0xc008ae88,
  KVM_SET_MSRS: 0x4008ae89,
  KVM_GET_FPU: 0x81a0ae8c,
  KVM_SET_FPU: 0x41a0ae8d,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_GET_MP_STATE: 0x8004ae98,
  KVM_SET_MP_STATE: 0x4004ae99,
};

describe('ioctl numbers', () => {
  for (const [name, value] of Object.entries(KERNEL)) {
    it(`computes ${name} = 0x${value.toString(16)} from _IOC and the struct size`, () => {
      expect((io as unknown as Record<string, number>)[name]).toBe(value);
    });
  }

  it('names every request for errors and traces', () => {
    for (const [name, value] of Object.entries(KERNEL)) expect(io.IOCTL_NAMES.get(value)).toBe(name);
  });

  it('refuses an argument size that does not fit 14 bits', () => {
    expect(() => io._IOW(io.KVMIO, 1, 1 << 14)).toThrow(RangeError);
  });

  it('has the kernel capability numbers', () => {
    expect(io.KvmCap).toMatchObject({
      KVM_CAP_IRQCHIP: 0, KVM_CAP_USER_MEMORY: 3, KVM_CAP_SET_TSS_ADDR: 4, KVM_CAP_EXT_CPUID: 7, KVM_CAP_PIT2: 33,
      KVM_CAP_SET_IDENTITY_MAP_ADDR: 37, KVM_CAP_MAX_VCPUS: 66, KVM_CAP_READONLY_MEM: 81, KVM_CAP_IMMEDIATE_EXIT: 136,
    });
    expect(io.capName(136)).toBe('KVM_CAP_IMMEDIATE_EXIT');
  });
});
