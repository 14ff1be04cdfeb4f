/**
 * VcpuFd: one virtual CPU (rust-vmm's `VcpuFd`): its registers, CPUID, MSRs, FPU,
 * interrupt injection, and KVM_RUN. See Documentation/virt/kvm/api.rst, "vCPU ioctls".
 *
 * The fd is a plain integer valid in every thread of the process, and the kvm_run area
 * is host memory every thread can view, so a vCPU worker attaches to the same fd and
 * mapping (`VcpuFd.attach`) without owning them: only the creating instance closes.
 */
import { KvmError } from './errors.js';
import { ioctlBuf, ioctlInt } from './ioctl-call.js';
import {
  KVM_GET_FPU, KVM_GET_MP_STATE, KVM_GET_MSRS, KVM_GET_REGS, KVM_GET_SREGS, KVM_INTERRUPT, KVM_RUN, KVM_SET_CPUID2,
  KVM_SET_FPU, KVM_SET_MP_STATE, KVM_SET_MSRS, KVM_SET_REGS, KVM_SET_SREGS,
} from './ioctls.js';
import { Errno, libc } from './libc.js';
import { encodeKvmCpuid2, type KvmCpuidEntry } from './structs/kvm-cpuid.js';
import { KVM_FPU_SIZE, decodeKvmFpu, encodeKvmFpu, type KvmFpu } from './structs/kvm-fpu.js';
import { decodeKvmMpState, encodeKvmInterrupt, encodeKvmMpState, KVM_MP_STATE_SIZE } from './structs/kvm-irq.js';
import { decodeKvmMsrs, encodeKvmMsrs, type KvmMsrEntry } from './structs/kvm-msrs.js';
import { KVM_REGS_SIZE, decodeKvmRegs, encodeKvmRegs, type KvmRegs } from './structs/kvm-regs.js';
import { KvmRun } from './structs/kvm-run.js';
import { KVM_SREGS_SIZE, decodeKvmSregs, encodeKvmSregs, type KvmSregs } from './structs/kvm-sregs.js';
import { hex, type TraceSink } from './trace.js';

/** What KVM_SET_MSRS took: KVM stops at the first MSR it refuses, so the rest are retried. */
export interface SetMsrsResult {
  accepted: number;
  refused: number[];
}

export class VcpuFd {
  readonly run: KvmRun;
  private closed = false;
  private readonly regsBuf = new Uint8Array(KVM_REGS_SIZE);
  private readonly sregsBuf = new Uint8Array(KVM_SREGS_SIZE);
  private readonly interruptBuf = new Uint8Array(4);

  constructor(
    readonly fd: number,
    readonly index: number,
    /** Host address of the kvm_run mapping. */
    readonly runAddress: bigint,
    readonly runSize: number,
    readonly trace: TraceSink,
    /** True for the instance that created the fd and mapping and must release them. */
    private readonly owner: boolean,
  ) {
    this.run = new KvmRun(new Uint8Array(libc().view(runAddress, runSize)));
  }

  /** A second handle on an existing vCPU (in a worker thread); never closes it. */
  static attach(fd: number, index: number, runAddress: bigint, runSize: number, trace: TraceSink): VcpuFd {
    return new VcpuFd(fd, index, runAddress, runSize, trace, false);
  }

  getRegs(): KvmRegs {
    ioctlBuf(this.fd, 'KVM_GET_REGS', KVM_GET_REGS, this.regsBuf);
    return decodeKvmRegs(this.regsBuf);
  }

  setRegs(regs: KvmRegs): void {
    ioctlBuf(this.fd, 'KVM_SET_REGS', KVM_SET_REGS, encodeKvmRegs(regs, this.regsBuf));
    this.trace?.(`KVM_SET_REGS rip ${hex(regs.rip)} rflags ${hex(regs.rflags)}`);
  }

  getSregs(): KvmSregs {
    ioctlBuf(this.fd, 'KVM_GET_SREGS', KVM_GET_SREGS, this.sregsBuf);
    return decodeKvmSregs(this.sregsBuf);
  }

  setSregs(sregs: KvmSregs): void {
    ioctlBuf(this.fd, 'KVM_SET_SREGS', KVM_SET_SREGS, encodeKvmSregs(sregs, this.sregsBuf));
    this.trace?.(`KVM_SET_SREGS cs ${hex(sregs.cs.selector)} (base ${hex(sregs.cs.base)}) cr0 ${hex(sregs.cr0)} efer ${hex(sregs.efer)}`);
  }

  getFpu(): KvmFpu {
    const buf = new Uint8Array(KVM_FPU_SIZE);
    ioctlBuf(this.fd, 'KVM_GET_FPU', KVM_GET_FPU, buf);
    return decodeKvmFpu(buf);
  }

  setFpu(fpu: KvmFpu): void {
    ioctlBuf(this.fd, 'KVM_SET_FPU', KVM_SET_FPU, encodeKvmFpu(fpu));
    this.trace?.(`KVM_SET_FPU fcw ${hex(fpu.fcw)} mxcsr ${hex(fpu.mxcsr)}`);
  }

  setCpuid2(entries: readonly KvmCpuidEntry[]): void {
    ioctlBuf(this.fd, 'KVM_SET_CPUID2', KVM_SET_CPUID2, encodeKvmCpuid2(entries));
    this.trace?.(`KVM_SET_CPUID2 (${entries.length} entries)`);
  }

  /** Reads the given MSRs; ones KVM does not know are left out of the answer. */
  getMsrs(indices: readonly number[]): KvmMsrEntry[] {
    const buf = encodeKvmMsrs(indices.map((index) => ({ index, data: 0n })));
    const n = ioctlBuf(this.fd, 'KVM_GET_MSRS', KVM_GET_MSRS, buf);
    return decodeKvmMsrs(buf, n);
  }

  /**
   * Writes MSRs. A refused MSR is not an error (some KVMs refuse MSRs a real host takes):
   * it is reported in `refused` and the entries after it are still written.
   */
  setMsrs(entries: readonly KvmMsrEntry[]): SetMsrsResult {
    const result: SetMsrsResult = { accepted: 0, refused: [] };
    let rest = entries;
    while (rest.length > 0) {
      const n = ioctlBuf(this.fd, 'KVM_SET_MSRS', KVM_SET_MSRS, encodeKvmMsrs(rest));
      result.accepted += n;
      if (n >= rest.length) break;
      result.refused.push(rest[n].index);
      rest = rest.slice(n + 1);
    }
    this.trace?.(
      `KVM_SET_MSRS ${result.accepted} of ${entries.length} accepted` +
        (result.refused.length ? `, refused ${result.refused.map(hex).join(' ')}` : ''),
    );
    return result;
  }

  /** Queues an external interrupt vector (only without an in-kernel irqchip). */
  interrupt(vector: number): void {
    ioctlBuf(this.fd, 'KVM_INTERRUPT', KVM_INTERRUPT, encodeKvmInterrupt(vector, this.interruptBuf));
  }

  getMpState(): number {
    const buf = new Uint8Array(KVM_MP_STATE_SIZE);
    ioctlBuf(this.fd, 'KVM_GET_MP_STATE', KVM_GET_MP_STATE, buf);
    return decodeKvmMpState(buf);
  }

  setMpState(state: number): void {
    ioctlBuf(this.fd, 'KVM_SET_MP_STATE', KVM_SET_MP_STATE, encodeKvmMpState(state));
    this.trace?.(`KVM_SET_MP_STATE ${state}`);
  }

  /**
   * One KVM_RUN. Returns 0 when the vCPU exited with a reason in `run.exitReason`, or
   * EINTR / EAGAIN when it was interrupted (a kick, immediate_exit) before or while
   * running the guest: then exit_reason may be stale and must not be acted on.
   */
  runOnce(): number {
    const c = libc();
    if (c.ioctlInt(this.fd, KVM_RUN, 0) >= 0) return 0;
    const errno = c.errno();
    if (errno === Errno.EINTR || errno === Errno.EAGAIN) return errno;
    throw new KvmError('KVM_RUN', errno, c.strerror(errno));
  }

  /** Unmaps kvm_run and closes the fd (owner only; idempotent). */
  close(): void {
    if (this.closed || !this.owner) return;
    this.closed = true;
    const c = libc();
    c.munmap(this.runAddress, this.runSize);
    c.close(this.fd);
    this.trace?.(`close vcpu ${this.index} fd ${this.fd}`);
  }

  /** Same as `ioctlInt`, exported for the rare vCPU ioctl without a wrapper. */
  ioctl(name: string, request: number, arg: number | bigint = 0): number {
    return ioctlInt(this.fd, name, request, arg);
  }
}
