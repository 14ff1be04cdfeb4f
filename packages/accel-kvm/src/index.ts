// @tsemu/accel-kvm: the KVM accelerator (Linux /dev/kvm through the koffi FFI).
export {
  createKvmAccelerator, KvmAccelerator, KvmConfigError, type KvmAcceleratorOptions, type KvmRamRegion,
} from './kvm-accelerator.js';
export { createMmapRamBacking } from './mmap-ram-backing.js';
export { probeKvm, requireCaps, REQUIRED_CAPS, KERNEL_IRQCHIP_CAPS, type KvmProbe } from './probe.js';
export { Kvm, KVM_API_VERSION, type KvmOpenOptions } from './kvm.js';
export { VmFd, KVM_TSS_ADDRESS, KVM_IDENTITY_MAP_ADDRESS } from './vm-fd.js';
export { VcpuFd, type SetMsrsResult } from './vcpu-fd.js';
export { KvmVcpu } from './kvm-vcpu.js';
export { KvmError, KvmUnavailableError } from './errors.js';
export * from './ioctls.js';
export * from './structs/index.js';
export {
  cpuStateToKvmRegs, cpuStateToKvmSregs, cpuStateFromKvm, segmentToKvm, segmentFromKvm, GPR_TO_KVM,
} from './cpu-state-convert.js';
export { cpuidForVcpu } from './cpuid-setup.js';
export {
  decodeExit, serveExit, serveIo, serveMmio,
  type VcpuExit, type IoExit, type MmioExit, type ExitHandler, type ExitAction, type PortIo, type MmioIo, type SystemEventType,
} from './exit-dispatch.js';
export { describeExit } from './exit-trace.js';
export type { TraceSink } from './trace.js';
