/**
 * The software CPU's side of the random-sequence differential test: a SoftCpu over an Mmu whose
 * guest RAM holds the very image the KVM sandbox runs on (buildSandboxImage: same page tables,
 * GDT, TSS, IDT and CPL0 stubs), started in the state KvmUserSandbox.load gives the real CPU
 * (64-bit CPL3, CS 0x33, SS 0x2b, DS ES FS GS null, CR0/CR4/EFER as the sandbox sets them), and
 * returning a result of the sandbox's shape so the two compare field by field.
 *
 * End of a run, exactly as the sandbox sees it:
 * - completed: RIP reaches CODE_BASE + code.length (the sandbox's terminator is not executed);
 * - exception: the SoftCpu delivered an event through the sandbox IDT, so it now runs at CPL0
 *   in a stub; the vector is the stub's slot, and RIP, RSP, RFLAGS (RF cleared, as the sandbox
 *   does) and the error code come from the frame on the RSP0/IST1 stack, CR2 from the CPU;
 * - timeout: more than `maxSteps` instructions ran;
 * - host-error: the interpreter threw a host Error (an instruction not implemented yet).
 */
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState, type CpuState, type SegmentState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../../packages/core-cpu/src/interp/paged-memory.js';
import { syncPrivilege } from '../../../packages/core-cpu/src/interp/protected/privilege.js';
import { SoftCpu } from '../../../packages/core-cpu/src/interp/soft-cpu.js';
import { Mmu } from '../../../packages/core-cpu/src/mmu/mmu.js';
import { FORCED_RFLAGS, INPUT_RFLAGS_MASK, type SandboxInput, type SandboxResult } from '../kvm-user-sandbox.js';
import {
  CODE_BASE, DATA_GPA, DATA_SIZE, ERROR_CODE_VECTORS, GDT_LIMIT, GDT_VA, IDT_LIMIT, IDT_VA, IDT_VECTORS, RAM_SIZE,
  STUB_STRIDE, STUBS_VA, TSS_LIMIT, TSS_SELECTOR, TSS_TYPE_BUSY, TSS_VA, USER_CS, USER_DS, USER_STACK_GPA,
  USER_STACK_SIZE, buildSandboxImage, writeCode,
} from '../sandbox-layout.js';

export type TcgEnd = SandboxResult['end'] | 'host-error';

export interface TcgResult extends Omit<SandboxResult, 'end'> {
  end: TcgEnd;
  /** The host Error's message when end is 'host-error'. */
  hostError: string | null;
}

/**
 * Instructions a run may execute before it counts as looping. Generous: a sequence whose branch
 * target was overwritten may loop on the real CPU until PUSHes exhaust the stack (a #PF after
 * thousands of instructions), and the software CPU must get there too.
 */
export const DEFAULT_MAX_STEPS = 200_000;

// Control registers exactly as KvmUserSandbox's userSregs sets them.
const CR0 = 0x80010033n; // PE MP ET NE WP PG
const CR4 = 0x620n; // PAE OSFXSR OSXMMEXCPT
const EFER = 0xd00n; // LME LMA NXE
const RFLAGS_RF = 1n << 16n;
const FRAME_BYTES = 40;

function segment(selector: number, type: number, dpl: number, code64: boolean): SegmentState {
  return {
    selector, base: 0n, limit: 0xffffffff, type, present: true, dpl, db: !code64, s: true, l: code64, g: true,
    avl: false, unusable: false,
  };
}

function userState(cr3: number): CpuState {
  const s = resetCpuState();
  const nullData: SegmentState = { ...segment(0, 0x3, 0, false), present: false, unusable: true };
  s.cs = segment(USER_CS, 0xb, 3, true);
  s.ss = segment(USER_DS, 0x3, 3, false);
  s.ds = nullData;
  s.es = nullData;
  s.fs = nullData;
  s.gs = nullData;
  s.tr = {
    selector: TSS_SELECTOR, base: BigInt(TSS_VA), limit: TSS_LIMIT, type: TSS_TYPE_BUSY, present: true, dpl: 0, db: false,
    s: false, l: false, g: false, avl: false, unusable: false,
  };
  s.ldt = { ...nullData, type: 0x2, s: false, limit: 0xffff };
  s.gdt = { base: BigInt(GDT_VA), limit: GDT_LIMIT };
  s.idt = { base: BigInt(IDT_VA), limit: IDT_LIMIT };
  s.cr0 = CR0;
  s.cr2 = 0n;
  s.cr3 = BigInt(cr3);
  s.cr4 = CR4;
  s.efer = EFER;
  return s;
}

export class TcgSandbox {
  readonly memory: GuestMemory;
  readonly cpu: SoftCpu;
  private readonly mmu: Mmu;
  private readonly ram: Uint8Array;
  private readonly state: CpuState;

  constructor() {
    this.memory = new GuestMemory(createSharedRamBacking(RAM_SIZE), [{ gpa: 0, size: RAM_SIZE, offset: 0 }]);
    this.ram = this.memory.view(0, RAM_SIZE);
    const cr3 = buildSandboxImage(this.ram);
    this.mmu = new Mmu(this.memory, createPortBus());
    this.cpu = new SoftCpu(new PagedLinearMemory(this.mmu), createPortBus(), this.mmu);
    this.state = userState(cr3);
  }

  run(input: SandboxInput, maxSteps = DEFAULT_MAX_STEPS): TcgResult {
    const { ram, cpu, state } = this;
    writeCode(ram, input.code);
    const data = input.data ?? new Uint8Array(0);
    const stack = input.stack ?? new Uint8Array(0);
    ram.set(data, DATA_GPA);
    ram.fill(0, DATA_GPA + data.length, DATA_GPA + DATA_SIZE);
    ram.set(stack, USER_STACK_GPA);
    ram.fill(0, USER_STACK_GPA + stack.length, USER_STACK_GPA + USER_STACK_SIZE);
    // The bytes changed behind the MMU's back (see SoftCpu.flushDecodeCache).
    cpu.flushDecodeCache();

    for (let i = 0; i < 16; i++) state.gpr[i] = BigInt.asUintN(64, input.gpr[i]);
    state.rip = CODE_BASE;
    state.rflags = (BigInt.asUintN(64, input.rflags) & INPUT_RFLAGS_MASK) | FORCED_RFLAGS;
    state.cr2 = 0n;
    cpu.regs.load(state);
    cpu.halted = false;
    cpu.lastException = -1;
    // Between-instruction state is not part of CpuState: a single-step armed (or an interrupt
    // shadow begun) at the end of the previous run would otherwise fire in this one.
    cpu.pendingEvents = 0;
    cpu.interruptShadow = false;
    this.mmu.setPagingContext(cpu.regs);
    cpu.syncLongMode();
    syncPrivilege(cpu);

    const end = CODE_BASE + BigInt(input.code.length);
    const r = cpu.regs;
    try {
      for (let step = 0; step < maxSteps; step++) {
        if (r.ripHi === 0 && BigInt(r.rip >>> 0) === end) return this.result('completed', end, null);
        cpu.step();
        if (r.cpl !== 3) return this.exception();
      }
    } catch (e) {
      return { ...this.result('timeout', this.rip(), null), end: 'host-error', hostError: e instanceof Error ? e.message : String(e) };
    }
    return this.result('timeout', this.rip(), null);
  }

  private rip(): bigint {
    const r = this.cpu.regs;
    return BigInt.asUintN(64, (BigInt(r.ripHi) << 32n) | BigInt(r.rip >>> 0));
  }

  /** The CPU is in a CPL0 stub: decode the vector from the stub address and read the frame. */
  private exception(): TcgResult {
    const r = this.cpu.regs;
    const stubOffset = Number(this.rip()) - STUBS_VA;
    const vector = stubOffset / STUB_STRIDE;
    if (stubOffset < 0 || !Number.isInteger(vector) || vector >= IDT_VECTORS) {
      return { ...this.result('timeout', this.rip(), null), end: 'host-error', hostError: `CPL0 at rip 0x${this.rip().toString(16)}, not a stub` };
    }
    const hasErrorCode = ERROR_CODE_VECTORS.has(vector);
    const frame = Number(r.gpr.get64(4));
    const q = (at: number): bigint => this.memory.read64(at);
    const errorCode = hasErrorCode ? Number(q(frame) & 0xffffffffn) : null;
    const at = frame + (hasErrorCode ? 8 : 0);
    const rip = q(at);
    const cs = Number(q(at + 8) & 0xffffn);
    const rflags = q(at + 16) & ~RFLAGS_RF;
    const rsp = q(at + 24);
    if (cs !== USER_CS || frame + FRAME_BYTES + (hasErrorCode ? 8 : 0) > RAM_SIZE) {
      return { ...this.result('timeout', rip, null), end: 'host-error', hostError: `exception ${vector} raised at CPL0 (cs 0x${cs.toString(16)})` };
    }
    const pageFaultAddress = vector === 14 ? BigInt.asUintN(64, (BigInt(r.cr2Hi) << 32n) | BigInt(r.cr2 >>> 0)) : null;
    const out = this.result('exception', rip, { vector, errorCode, pageFaultAddress }, rflags);
    out.gpr[4] = rsp;
    return out;
  }

  private result(end: TcgEnd, rip: bigint, exception: SandboxResult['exception'], rflags?: bigint): TcgResult {
    const r = this.cpu.regs;
    const gpr: bigint[] = [];
    for (let i = 0; i < 16; i++) gpr.push(BigInt.asUintN(64, r.gpr.get64(i)));
    return {
      end,
      gpr,
      rip,
      rflags: rflags ?? BigInt(r.flags.get() >>> 0),
      data: this.ram.slice(DATA_GPA, DATA_GPA + DATA_SIZE),
      stack: this.ram.slice(USER_STACK_GPA, USER_STACK_GPA + USER_STACK_SIZE),
      exception,
      hostError: null,
    };
  }
}
