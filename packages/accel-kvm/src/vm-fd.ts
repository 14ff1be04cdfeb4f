/**
 * VmFd: one VM (rust-vmm's `VmFd`): guest memory slots, the in-kernel irqchip and PIT,
 * interrupt lines, and vCPU creation. See Documentation/virt/kvm/api.rst, "VM ioctls".
 *
 * Order matters and KVM enforces part of it: the TSS and identity-map addresses and the
 * irqchip must exist before the first vCPU is created.
 */
import { KvmError } from './errors.js';
import { ioctlBuf, ioctlInt } from './ioctl-call.js';
import {
  KVM_CHECK_EXTENSION, KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_CREATE_VCPU, KVM_IRQ_LINE, KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_TSS_ADDR, KVM_SET_USER_MEMORY_REGION, capName,
} from './ioctls.js';
import type { Kvm } from './kvm.js';
import { MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, libc } from './libc.js';
import { KVM_PIT_SPEAKER_DUMMY, encodeKvmIrqLevel, encodeKvmPitConfig } from './structs/kvm-irq.js';
import { encodeKvmUserspaceMemoryRegion, type KvmUserspaceMemoryRegion } from './structs/kvm-memory-region.js';
import { hex, type TraceSink } from './trace.js';
import { VcpuFd } from './vcpu-fd.js';

/**
 * Three pages KVM needs below 4 GiB for real mode on Intel CPUs without "unrestricted
 * guest" (a TSS for vm86 emulation). QEMU's placement (identity map at 0xfeffc000, TSS
 * the page after), which the PC machine's e820 map reserves (KVM_TSS_ADDRESS in
 * @tsemu/devices pc/layout.ts names the same address).
 */
export const KVM_TSS_ADDRESS = 0xfeffd000;
/** One page for the EPT identity map in the same case, just below the TSS. */
export const KVM_IDENTITY_MAP_ADDRESS = 0xfeffc000;

export class VmFd {
  private closed = false;
  private readonly irqLevelBuf = new Uint8Array(8);

  constructor(
    readonly fd: number,
    readonly kvm: Kvm,
    readonly trace: TraceSink,
  ) {}

  /** KVM_CHECK_EXTENSION on the VM fd: the answer can depend on the VM (e.g. memslot count). */
  checkExtension(cap: number): number {
    const v = ioctlInt(this.fd, 'KVM_CHECK_EXTENSION', KVM_CHECK_EXTENSION, cap);
    this.trace?.(`KVM_CHECK_EXTENSION (vm) ${capName(cap)} -> ${v}`);
    return v;
  }

  setUserMemoryRegion(region: KvmUserspaceMemoryRegion): void {
    ioctlBuf(this.fd, 'KVM_SET_USER_MEMORY_REGION', KVM_SET_USER_MEMORY_REGION, encodeKvmUserspaceMemoryRegion(region));
    this.trace?.(
      `KVM_SET_USER_MEMORY_REGION slot ${region.slot} gpa ${hex(region.guestPhysAddr)} size ${hex(region.memorySize)}` +
        ` host ${hex(region.userspaceAddr)}${region.flags ? ` flags ${hex(region.flags)}` : ''}`,
    );
  }

  setTssAddr(address = KVM_TSS_ADDRESS): void {
    ioctlInt(this.fd, 'KVM_SET_TSS_ADDR', KVM_SET_TSS_ADDR, address);
    this.trace?.(`KVM_SET_TSS_ADDR ${hex(address)}`);
  }

  setIdentityMapAddr(address = KVM_IDENTITY_MAP_ADDRESS): void {
    const arg = new Uint8Array(8);
    new DataView(arg.buffer).setBigUint64(0, BigInt(address), true);
    ioctlBuf(this.fd, 'KVM_SET_IDENTITY_MAP_ADDR', KVM_SET_IDENTITY_MAP_ADDR, arg);
    this.trace?.(`KVM_SET_IDENTITY_MAP_ADDR ${hex(address)}`);
  }

  /** The in-kernel 8259 pair, IOAPIC and per-vCPU local APICs. */
  createIrqchip(): void {
    ioctlInt(this.fd, 'KVM_CREATE_IRQCHIP', KVM_CREATE_IRQCHIP, 0);
    this.trace?.('KVM_CREATE_IRQCHIP');
  }

  /** The in-kernel 8254 on ports 0x40-0x43 (and 0x61 with KVM_PIT_SPEAKER_DUMMY); needs the irqchip. */
  createPit2(flags = KVM_PIT_SPEAKER_DUMMY): void {
    ioctlBuf(this.fd, 'KVM_CREATE_PIT2', KVM_CREATE_PIT2, encodeKvmPitConfig(flags));
    this.trace?.(`KVM_CREATE_PIT2 flags ${hex(flags)}`);
  }

  /** Drives a GSI of the in-kernel irqchip (ISA IRQ n = GSI n on both the PIC and the IOAPIC). */
  irqLine(gsi: number, level: boolean): void {
    this.irqLevelBuf.set(encodeKvmIrqLevel(gsi, level));
    ioctlBuf(this.fd, 'KVM_IRQ_LINE', KVM_IRQ_LINE, this.irqLevelBuf);
    this.trace?.(`KVM_IRQ_LINE gsi ${gsi} level ${level ? 1 : 0}`);
  }

  /** Creates vCPU `index` (its APIC ID) and maps its kvm_run area. */
  createVcpu(index: number, runMmapSize = this.kvm.vcpuMmapSize()): VcpuFd {
    const fd = ioctlInt(this.fd, 'KVM_CREATE_VCPU', KVM_CREATE_VCPU, index);
    this.trace?.(`KVM_CREATE_VCPU ${index} -> fd ${fd}`);
    const c = libc();
    const run = c.mmap(null, runMmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run === MAP_FAILED || run === 0n) {
      const errno = c.errno();
      c.close(fd);
      throw new KvmError('mmap(vcpu fd)', errno, c.strerror(errno));
    }
    this.trace?.(`mmap vcpu ${index} fd ${fd} (${runMmapSize} bytes) -> kvm_run at ${hex(run)}`);
    return new VcpuFd(fd, index, run, runMmapSize, this.trace, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
    this.trace?.(`close vm fd ${this.fd}`);
  }
}
