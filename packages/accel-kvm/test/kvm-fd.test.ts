/**
 * The typed fd wrappers (Kvm -> VmFd -> VcpuFd) against the real /dev/kvm, including a
 * single-threaded run loop of the kind rust-vmm's examples show.
 */
import { describe, expect, it } from 'vitest';
import { decodeExit, serveExit } from '../src/exit-dispatch.js';
import { KvmError, KvmUnavailableError } from '../src/errors.js';
import { KvmCap } from '../src/ioctls.js';
import { Kvm } from '../src/kvm.js';
import { Errno } from '../src/libc.js';
import { createMmapRamBacking } from '../src/mmap-ram-backing.js';
import { resetKvmFpu } from '../src/structs/kvm-fpu.js';
import { MSR_IA32_TSC } from '../src/structs/kvm-msrs.js';
import { KVM_RUN_SIZE } from '../src/structs/kvm-run.js';
import { createMmioBus, createPortBus } from '@tsemu/devices/platform';
import { Recorder, kvmStatus } from './kvm-harness.js';

const kvm = kvmStatus();

describe('Kvm.open', () => {
  it('names the cause when the device node is missing', () => {
    let error: unknown = null;
    try {
      Kvm.open({ path: '/nonexistent/kvm' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KvmUnavailableError);
    expect((error as KvmUnavailableError).reason).toBe('/nonexistent/kvm does not exist (no KVM on this host)');
    expect((error as Error).message).toMatch(/use --accel=tcg$/);
  });
});

describe.skipIf(!kvm.usable)('Kvm, VmFd and VcpuFd on /dev/kvm', () => {
  it('answers the system ioctls', () => {
    const k = Kvm.open();
    try {
      expect(k.apiVersion()).toBe(12);
      expect(k.checkExtension(KvmCap.KVM_CAP_USER_MEMORY)).toBeGreaterThan(0);
      expect(k.vcpuMmapSize()).toBeGreaterThanOrEqual(KVM_RUN_SIZE);
      const cpuid = k.getSupportedCpuid();
      expect(cpuid.find((e) => e.function === 0)?.eax).toBeGreaterThan(0);
    } finally {
      k.close();
    }
  });

  it('throws KvmError with the ioctl name and errno when KVM refuses', () => {
    const k = Kvm.open();
    const vm = k.createVm();
    try {
      let error: unknown = null;
      try {
        vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0x123n, memorySize: 0x1000n, userspaceAddr: 0x1000n });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KvmError);
      expect(error).toMatchObject({ ioctl: 'KVM_SET_USER_MEMORY_REGION', errno: Errno.EINVAL });
      expect((error as Error).message).toMatch(/^KVM_SET_USER_MEMORY_REGION failed: .+ \(EINVAL\)$/);
    } finally {
      vm.close();
      k.close();
    }
  });

  it('creates a vCPU in the reset state and round-trips its registers', () => {
    const k = Kvm.open();
    const vm = k.createVm();
    const vcpu = vm.createVcpu(0);
    try {
      const regs = vcpu.getRegs();
      expect(regs.rip).toBe(0xfff0n);
      const sregs = vcpu.getSregs();
      expect(sregs.cs.selector).toBe(0xf000);
      expect(sregs.cs.base).toBe(0xffff0000n);
      regs.rbx = 0xdeadbeefn;
      regs.r15 = 0x0123456789abcdefn;
      vcpu.setRegs(regs);
      expect(vcpu.getRegs()).toMatchObject({ rbx: 0xdeadbeefn, r15: 0x0123456789abcdefn });
      // KVM_GET_FPU's answer is not checked: some KVMs (PVM) report zeros whatever was set.
      vcpu.setFpu(resetKvmFpu());
      expect(vcpu.getFpu().xmm.length).toBe(256);
      const msrs = vcpu.setMsrs([{ index: MSR_IA32_TSC, data: 1000n }, { index: 0xdeadbeef, data: 1n }]);
      expect(msrs.refused).toContain(0xdeadbeef);
      expect(msrs.accepted).toBe(1);
      expect(vcpu.getMsrs([MSR_IA32_TSC])[0].index).toBe(MSR_IA32_TSC);
    } finally {
      vcpu.close();
      vm.close();
      k.close();
    }
  });

  it('runs a guest on the calling thread: KVM_RUN, decode, serve, repeat', () => {
    const backing = createMmapRamBacking(0x10000);
    const k = Kvm.open();
    const vm = k.createVm();
    try {
      vm.setTssAddr();
      vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: 0x10000n, userspaceAddr: backing.hostAddress! });
      new Uint8Array(backing.buffer).set([0xb0, 0x4b, 0xe6, 0x10, 0xf4], 0x1000); // mov al,'K'; out 0x10,al; hlt
      const vcpu = vm.createVcpu(0);
      const sregs = vcpu.getSregs();
      sregs.cs = { ...sregs.cs, selector: 0, base: 0n };
      vcpu.setSregs(sregs);
      vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rflags: 2n });
      const pio = createPortBus();
      const dev = new Recorder();
      pio.register(0x10, 1, dev);
      const kinds: string[] = [];
      for (let i = 0; i < 10; i++) {
        expect(vcpu.runOnce()).toBe(0);
        const exit = decodeExit(vcpu.run);
        kinds.push(exit.kind);
        if (serveExit(exit, { pio, mmio: createMmioBus() }).kind !== 'continue') break;
      }
      expect(kinds).toEqual(['io', 'hlt']);
      expect(dev.text()).toBe('K');
      vcpu.close();
    } finally {
      vm.close();
      k.close();
      backing.release();
    }
  });
});
