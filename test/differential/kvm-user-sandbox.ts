/**
 * KvmUserSandbox: the real CPU as the oracle for differential testing. It runs a short
 * instruction sequence at CPL3 in 64-bit mode under KVM, the only mode in which this host's
 * KVM (PVM) executes guest code natively (test guide, section 1), and returns the GPRs, RIP,
 * RFLAGS and the data area after it, or the exception the sequence raised.
 *
 * Protocol (layout and addresses in sandbox-layout.ts):
 * - One VM, one vCPU, one RAM slot, reused for every run. Each run rewrites the code pages
 *   (code + terminator + INT3 fill), the data area and the user stack, then sets the whole
 *   CPU state with KVM_SET_SREGS / KVM_SET_REGS, starting directly at CPL3 (CS = USER_CS,
 *   SS = USER_DS) in a 4-instruction CPL3 prologue that reloads the null data selectors
 *   (PVM would otherwise carry a DS loaded by one run into the next; see PROLOGUE_VA) and
 *   jumps to CODE_BASE. Runs are therefore independent of each other.
 * - Completion: the terminator `mov [abs DONE_VA], al` stores to an unbacked guest-physical
 *   page, and KVM_RUN returns KVM_EXIT_MMIO for DONE_GPA. KVM has already emulated the store
 *   (RIP is past it), so the reported RIP is the terminator's address: CODE_BASE + code.length,
 *   where a CPU executing just `code` would stop.
 * - Exceptions: the IDT sends each of the 32 exception vectors to a CPL0 stub that stores AL
 *   to EXC_VA + vector (another unbacked page; supervisor only). The CPU pushed SS, RSP,
 *   RFLAGS, CS, RIP (and the error code) on the RSP0 (or IST1) stack: the result takes RIP,
 *   RSP and RFLAGS from that frame and the other GPRs from KVM_GET_REGS (delivery and the
 *   stub change none of them), i.e. the state at the fault.
 * - Bounded runs: every user region is fenced by non-present pages and the code pages past
 *   the terminator hold INT3, so straight-line or forward-branching code always ends. Code
 *   that loops is stopped by a thread-directed timer (run-watchdog.ts) and reported with
 *   end 'timeout' and the state where it was interrupted.
 *
 * RFLAGS: the input contributes CF PF AF ZF SF DF OF (INPUT_RFLAGS_MASK); IF is forced on
 * and IOPL to 0 as in any user process, TF/AC/NT off. Selectors are Linux's: CS 0x33, SS 0x2b,
 * DS ES FS GS null (PVM shows user code exactly these, whatever the guest GDT says). So CLI, STI, HLT, IN and OUT at CPL3
 * raise #GP(0), and POPF cannot change IF or IOPL.
 * CR0 = PE MP ET NE WP PG (AM off: AC has no effect), CR4 = PAE OSFXSR OSXMMEXCPT (SSE works,
 * AVX and XSAVE are #UD; UMIP off: SGDT/SIDT/SMSW/STR/SLDT work), EFER = LME LMA NXE (SCE off:
 * SYSCALL is #UD). The x87/SSE state is not reset between runs: compare GPRs and memory only.
 *
 * Where this host's PVM is not the hardware (measured; generators must leave these out):
 * `int imm8` other than int 3 raises #UD (hardware: #GP(vector*8+2) here); SYSCALL with
 * EFER.SCE=0 is executed (jumps to LSTAR at CPL3; hardware: #UD); SYSENTER raises #UD
 * (Intel hardware: #GP(0)); MOV r, Sreg reads the host's selectors (handled, see PROLOGUE_VA).
 */
import {
  GPR_TO_KVM, Kvm, KvmExit, cpuidForVcpu, createMmapRamBacking, exitReasonName, resetKvmFpu,
  type KvmRegs, type KvmSegment, type KvmSregs, type VcpuFd, type VmFd,
} from '@tsemu/accel-kvm';
import type { RamBacking } from '@tsemu/devices/platform';
import { vcpuRegisterAccess, type VcpuRegisterAccess } from './kvm-sync-regs.js';
import { RunWatchdog } from './run-watchdog.js';
import {
  CODE_BASE, CODE_MAX, DATA_GPA, DATA_SIZE, DONE_GPA, ERROR_CODE_VECTORS, EXC_GPA, GDT_LIMIT, GDT_VA, IDT_LIMIT,
  IDT_VA, IDT_VECTORS, IST1_TOP, IST1_VECTORS, PROLOGUE_VA, RAM_SIZE, RSP0_TOP, STORE_AL_LENGTH, TERMINATOR, TSS_LIMIT,
  TSS_SELECTOR, TSS_TYPE_BUSY, TSS_VA, USER_CS, USER_DS, USER_STACK_GPA, USER_STACK_SIZE, buildSandboxImage,
  stubAddress, writeCode,
} from './sandbox-layout.js';

export {
  CODE_BASE, CODE_MAX, DATA_BASE, DATA_SIZE, DONE_VA, EXC_VA, STACK_TOP, TERMINATOR, USER_CS, USER_DS, USER_STACK_BASE,
  USER_STACK_SIZE,
} from './sandbox-layout.js';

export interface SandboxInput {
  /** The instruction sequence under test, run at CPL3 in 64-bit mode from CODE_BASE. */
  code: Uint8Array;
  /** 16 GPRs in x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). */
  gpr: bigint[];
  /** Only INPUT_RFLAGS_MASK bits are taken; IF is forced on (see the overview). */
  rflags: bigint;
  /** Initial contents of the data area (shorter input is zero-filled); default all zero. */
  data?: Uint8Array;
  /** Initial contents of the user stack (USER_STACK_BASE up to STACK_TOP); default zero. */
  stack?: Uint8Array;
  /** Wall-clock bound for the run; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface SandboxException {
  vector: number;
  /** The error code the CPU pushed (vectors 8, 10-14, 17, 21, 29, 30), else null. */
  errorCode: number | null;
  /** CR2 for #PF (vector 14), else null. */
  pageFaultAddress: bigint | null;
}

export type SandboxEnd = 'completed' | 'exception' | 'timeout';

export interface SandboxResult {
  end: SandboxEnd;
  /** GPRs in x86 encoding order; at a fault, the values at the faulting instruction. */
  gpr: bigint[];
  /** completed: CODE_BASE + code.length; exception: the RIP the CPU pushed; timeout: where it stopped. */
  rip: bigint;
  rflags: bigint;
  /** The data area after the run (DATA_SIZE bytes, a copy). */
  data: Uint8Array;
  /** The user stack after the run (USER_STACK_SIZE bytes, a copy). */
  stack: Uint8Array;
  exception: SandboxException | null;
}

export interface SandboxOptions {
  /** Use KVM_CAP_SYNC_REGS when the host has it (default true); false forces the register ioctls. */
  syncRegs?: boolean;
}

/** A run ended in a way the sandbox does not model (a harness or host problem, not a guest result). */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** CF PF AF ZF SF DF OF: the RFLAGS bits a run's input may set. */
export const INPUT_RFLAGS_MASK = 0xcd5n;
/** Bit 1 (always 1) and IF. */
export const FORCED_RFLAGS = 0x202n;
export const DEFAULT_TIMEOUT_MS = 2000;
/** After the first expiry the watchdog keeps kicking at this period (a lost signal is retried). */
const KICK_PERIOD_MS = 20;

const CR0_PE = 1n << 0n;
const CR0_MP = 1n << 1n;
const CR0_ET = 1n << 4n;
const CR0_NE = 1n << 5n;
const CR0_WP = 1n << 16n;
const CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n;
const CR4_OSFXSR = 1n << 9n;
const CR4_OSXMMEXCPT = 1n << 10n;
const EFER_LME = 1n << 8n;
const EFER_LMA = 1n << 10n;
const EFER_NXE = 1n << 11n;

const RFLAGS_RF = 1n << 16n;
const STACK_FRAME_BYTES = 40; // SS RSP RFLAGS CS RIP, 8 bytes each

function segment(selector: number, type: number, dpl: number, code64: boolean): KvmSegment {
  return {
    base: 0n, limit: 0xffffffff, selector, type, present: 1, dpl, db: code64 ? 0 : 1, s: 1, l: code64 ? 1 : 0, g: 1,
    avl: 0, unusable: 0,
  };
}

/** The user-mode sregs every run starts from; `base` supplies the fields we do not own (APIC base). */
function userSregs(base: KvmSregs, cr3: number): KvmSregs {
  // DS ES FS GS are null, as in a Linux 64-bit process (64-bit mode ignores them but for FS/GS bases).
  const nullData: KvmSegment = { ...segment(0, 0x3, 0, false), present: 0, unusable: 1 };
  return {
    ...base,
    cs: segment(USER_CS, 0xb, 3, true),
    ss: segment(USER_DS, 0x3, 3, false),
    ds: nullData, es: nullData, fs: nullData, gs: nullData,
    tr: { base: BigInt(TSS_VA), limit: TSS_LIMIT, selector: TSS_SELECTOR, type: TSS_TYPE_BUSY, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0 },
    ldt: { base: 0n, limit: 0xffff, selector: 0, type: 0x2, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1 },
    gdt: { base: BigInt(GDT_VA), limit: GDT_LIMIT },
    idt: { base: BigInt(IDT_VA), limit: IDT_LIMIT },
    cr0: CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
    cr2: 0n,
    cr3: BigInt(cr3),
    cr4: CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT,
    cr8: 0n,
    efer: EFER_LME | EFER_LMA | EFER_NXE,
    interruptBitmap: [0n, 0n, 0n, 0n],
  };
}

/** A copy of guest RAM (new + set is faster than slice on the mmap-backed view). */
function copyOut(ram: Uint8Array, at: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(ram.subarray(at, at + length));
  return out;
}

function describeKvmExit(vcpu: VcpuFd, regs: KvmRegs): string {
  const run = vcpu.run;
  const reason = run.exitReason;
  let detail = exitReasonName(reason);
  if (reason === KvmExit.KVM_EXIT_MMIO) {
    detail += ` ${run.mmioIsWrite ? 'write' : 'read'} 0x${run.mmioPhysAddr.toString(16)} len ${run.mmioLen}`;
  } else if (reason === KvmExit.KVM_EXIT_IO) {
    detail += ` port 0x${run.ioPort.toString(16)}`;
  } else if (reason === KvmExit.KVM_EXIT_INTERNAL_ERROR) {
    detail += ` suberror ${run.internalSuberror}`;
  }
  return `${detail} at rip 0x${regs.rip.toString(16)}`;
}

export class KvmUserSandbox {
  private readonly ramBytes: Uint8Array;
  private readonly ramView: DataView;
  private readonly sregs: KvmSregs;
  private readonly regs: KvmRegs;
  private readonly access: VcpuRegisterAccess;
  private closed = false;

  private constructor(
    private readonly kvm: Kvm,
    private readonly vm: VmFd,
    private readonly vcpu: VcpuFd,
    private readonly ram: RamBacking,
    private readonly watchdog: RunWatchdog,
    options: SandboxOptions,
  ) {
    this.ramBytes = new Uint8Array(ram.buffer, 0, RAM_SIZE);
    this.ramView = new DataView(ram.buffer, 0, RAM_SIZE);
    const cr3 = buildSandboxImage(this.ramBytes);
    this.access = vcpuRegisterAccess(vm, vcpu, options.syncRegs ?? true);
    this.sregs = userSregs(this.access.getSregs(), cr3);
    this.regs = this.access.getRegs();
  }

  /**
   * Opens /dev/kvm and builds the VM. Throws KvmUnavailableError / KvmError from
   * @tsemu/accel-kvm when the host refuses. Must be used from the thread that opened it
   * (the watchdog signals that thread).
   */
  static open(options: SandboxOptions = {}): KvmUserSandbox {
    const kvm = Kvm.open();
    let vm: VmFd | null = null;
    let vcpu: VcpuFd | null = null;
    let ram: RamBacking | null = null;
    try {
      vm = kvm.createVm();
      // Needed on Intel hosts without unrestricted guest; harmless elsewhere.
      vm.setTssAddr();
      ram = createMmapRamBacking(RAM_SIZE);
      vm.setUserMemoryRegion({
        slot: 0, flags: 0, guestPhysAddr: 0n, memorySize: BigInt(RAM_SIZE), userspaceAddr: ram.hostAddress ?? 0n,
      });
      vcpu = vm.createVcpu(0);
      // EFER.LME is only accepted once CPUID says long mode exists.
      vcpu.setCpuid2(cpuidForVcpu(kvm.getSupportedCpuid(), 0, 'user'));
      vcpu.setFpu(resetKvmFpu());
      return new KvmUserSandbox(kvm, vm, vcpu, ram, RunWatchdog.create(), options);
    } catch (e) {
      vcpu?.close();
      ram?.release();
      vm?.close();
      kvm.close();
      throw e;
    }
  }

  run(input: SandboxInput): SandboxResult {
    if (this.closed) throw new SandboxError('the sandbox is closed');
    this.load(input);
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timedOut = this.enter(timeoutMs);
    const regs = this.access.getRegs();
    if (timedOut) return this.result('timeout', regs, regs.rip, regs.rflags, null);

    const run = this.vcpu.run;
    if (run.exitReason === KvmExit.KVM_EXIT_MMIO && run.mmioIsWrite) {
      const addr = run.mmioPhysAddr;
      const end = CODE_BASE + BigInt(input.code.length);
      if (addr === DONE_GPA && regs.rip === end + BigInt(TERMINATOR.length)) {
        return this.result('completed', regs, end, regs.rflags, null);
      }
      if (addr >= EXC_GPA && addr < EXC_GPA + IDT_VECTORS) return this.exception(addr - EXC_GPA, regs);
    }
    const what = describeKvmExit(this.vcpu, regs);
    this.settle();
    throw new SandboxError(`run ended with an exit the sandbox does not model: ${what}`);
  }

  /** True when registers travel through kvm_run (KVM_CAP_SYNC_REGS) instead of ioctls. */
  get usesSyncRegs(): boolean {
    return this.access.synced;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watchdog.close();
    this.vcpu.close();
    this.vm.close();
    this.ram.release();
    this.kvm.close();
  }

  private load(input: SandboxInput): void {
    if (input.gpr.length !== 16) throw new RangeError(`gpr must hold 16 registers, got ${input.gpr.length}`);
    if (input.code.length > CODE_MAX) throw new RangeError(`code of ${input.code.length} bytes exceeds CODE_MAX (${CODE_MAX})`);
    const data = input.data ?? new Uint8Array(0);
    const stack = input.stack ?? new Uint8Array(0);
    if (data.length > DATA_SIZE) throw new RangeError(`data of ${data.length} bytes exceeds DATA_SIZE (${DATA_SIZE})`);
    if (stack.length > USER_STACK_SIZE) throw new RangeError(`stack of ${stack.length} bytes exceeds ${USER_STACK_SIZE}`);

    writeCode(this.ramBytes, input.code);
    this.ramBytes.set(data, DATA_GPA);
    this.ramBytes.fill(0, DATA_GPA + data.length, DATA_GPA + DATA_SIZE);
    this.ramBytes.set(stack, USER_STACK_GPA);
    this.ramBytes.fill(0, USER_STACK_GPA + stack.length, USER_STACK_GPA + USER_STACK_SIZE);

    this.access.setSregs(this.sregs);
    const regs = this.regs;
    for (let i = 0; i < 16; i++) regs[GPR_TO_KVM[i]] = BigInt.asUintN(64, input.gpr[i]);
    regs.rip = PROLOGUE_VA;
    regs.rflags = (BigInt.asUintN(64, input.rflags) & INPUT_RFLAGS_MASK) | FORCED_RFLAGS;
    this.access.setRegs(regs);
  }

  /** KVM_RUN until an exit, or until timeoutMs passed (true). Stray EINTRs re-enter. */
  private enter(timeoutMs: number): boolean {
    const start = performance.now();
    this.watchdog.arm(timeoutMs, KICK_PERIOD_MS);
    try {
      for (;;) {
        if (this.vcpu.runOnce() === 0) return false;
        if (performance.now() - start >= timeoutMs) return true;
      }
    } finally {
      this.watchdog.disarm();
    }
  }

  /**
   * Finishes an exit KVM still holds open (an MMIO read waits for its data) without running
   * guest code: KVM_RUN with immediate_exit set (Documentation/virt/kvm/api.rst, kvm_run).
   * Otherwise the next run's first KVM_RUN would complete it on top of the new registers.
   */
  private settle(): void {
    const run = this.vcpu.run;
    if (run.exitReason !== KvmExit.KVM_EXIT_MMIO && run.exitReason !== KvmExit.KVM_EXIT_IO) return;
    if (run.exitReason === KvmExit.KVM_EXIT_MMIO && !run.mmioIsWrite) run.mmioData().fill(0xff);
    run.immediateExit = 1;
    try {
      this.vcpu.runOnce();
    } finally {
      run.immediateExit = 0;
    }
  }

  private exception(vector: number, regs: KvmRegs): SandboxResult {
    const hasErrorCode = ERROR_CODE_VECTORS.has(vector);
    const top = IST1_VECTORS.has(vector) ? IST1_TOP : RSP0_TOP;
    const frame = top - STACK_FRAME_BYTES - (hasErrorCode ? 8 : 0);
    // The stub's store is its first instruction, so RSP is exactly the frame and RIP is past the store.
    if (regs.rsp !== BigInt(frame) || regs.rip !== BigInt(stubAddress(vector) + STORE_AL_LENGTH)) {
      throw new SandboxError(
        `exception ${vector} exit with an unexpected kernel state (rsp 0x${regs.rsp.toString(16)}, rip 0x${regs.rip.toString(16)}): a nested fault?`,
      );
    }
    const q = (at: number): bigint => this.ramView.getBigUint64(at, true);
    const errorCode = hasErrorCode ? Number(q(frame) & 0xffffffffn) : null;
    const at = frame + (hasErrorCode ? 8 : 0);
    const rip = q(at);
    const cs = Number(q(at + 8) & 0xffffn);
    // Event delivery sets RF in the pushed image for faults (SDM Vol. 3A 18.3.1.1); it is not
    // part of the state at the faulting instruction, so it is cleared here.
    const rflags = q(at + 16) & ~RFLAGS_RF;
    const rsp = q(at + 24);
    if (cs !== USER_CS) {
      throw new SandboxError(`exception ${vector} was raised at CPL0 (cs 0x${cs.toString(16)}, rip 0x${rip.toString(16)})`);
    }
    regs.rsp = rsp;
    const pageFaultAddress = vector === 14 ? this.access.getSregs().cr2 : null;
    return this.result('exception', regs, rip, rflags, { vector, errorCode, pageFaultAddress });
  }

  private result(end: SandboxEnd, regs: KvmRegs, rip: bigint, rflags: bigint, exception: SandboxException | null): SandboxResult {
    const gpr: bigint[] = [];
    for (let i = 0; i < 16; i++) gpr.push(regs[GPR_TO_KVM[i]]);
    return {
      end,
      gpr,
      rip,
      rflags,
      data: copyOut(this.ramBytes, DATA_GPA, DATA_SIZE),
      stack: copyOut(this.ramBytes, USER_STACK_GPA, USER_STACK_SIZE),
      exception,
    };
  }
}

