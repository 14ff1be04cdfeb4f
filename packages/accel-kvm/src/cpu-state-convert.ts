/**
 * CpuState (the platform's architectural state) <-> struct kvm_regs + struct kvm_sregs.
 *
 * Two differences to mind: kvm_regs lists the GPRs as rax, rbx, rcx, rdx, rsi, rdi, rsp,
 * rbp, r8-r15 while CpuState.gpr is in x86 encoding order (Gpr.RAX = 0, RCX = 1, RDX = 2,
 * RBX = 3, ...); and kvm_segment stores its flag bits as bytes where SegmentState has
 * booleans. EFER and IA32_APIC_BASE travel inside kvm_sregs. The interrupt bitmap (an
 * external interrupt KVM accepted but has not delivered) has no CpuState field: a state
 * set from CpuState has none pending.
 */
import { Gpr, type CpuState, type SegmentState } from '@tsemu/devices/platform';
import type { KvmRegName, KvmRegs } from './structs/kvm-regs.js';
import { KVM_NR_INTERRUPTS, KVM_SEGMENT_NAMES, type KvmSegment, type KvmSregs } from './structs/kvm-sregs.js';

/** CpuState.gpr index -> kvm_regs field. */
export const GPR_TO_KVM: readonly KvmRegName[] = (() => {
  const names: KvmRegName[] = [];
  names[Gpr.RAX] = 'rax';
  names[Gpr.RCX] = 'rcx';
  names[Gpr.RDX] = 'rdx';
  names[Gpr.RBX] = 'rbx';
  names[Gpr.RSP] = 'rsp';
  names[Gpr.RBP] = 'rbp';
  names[Gpr.RSI] = 'rsi';
  names[Gpr.RDI] = 'rdi';
  for (let i = 8; i < 16; i++) names[i] = `r${i}` as KvmRegName;
  return names;
})();

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export function segmentToKvm(seg: SegmentState): KvmSegment {
  return {
    base: u64(seg.base),
    limit: seg.limit >>> 0,
    selector: seg.selector & 0xffff,
    type: seg.type & 0xf,
    present: seg.present ? 1 : 0,
    dpl: seg.dpl & 3,
    db: seg.db ? 1 : 0,
    s: seg.s ? 1 : 0,
    l: seg.l ? 1 : 0,
    g: seg.g ? 1 : 0,
    avl: seg.avl ? 1 : 0,
    unusable: seg.unusable ? 1 : 0,
  };
}

export function segmentFromKvm(seg: KvmSegment): SegmentState {
  return {
    selector: seg.selector,
    base: seg.base,
    limit: seg.limit,
    type: seg.type,
    present: seg.present !== 0,
    dpl: seg.dpl,
    db: seg.db !== 0,
    s: seg.s !== 0,
    l: seg.l !== 0,
    g: seg.g !== 0,
    avl: seg.avl !== 0,
    unusable: seg.unusable !== 0,
  };
}

export function cpuStateToKvmRegs(state: CpuState): KvmRegs {
  if (state.gpr.length !== 16) throw new RangeError(`CpuState.gpr has ${state.gpr.length} registers, expected 16`);
  const regs = { rip: u64(state.rip), rflags: u64(state.rflags) } as KvmRegs;
  GPR_TO_KVM.forEach((name, i) => (regs[name] = u64(state.gpr[i])));
  return regs;
}

export function cpuStateToKvmSregs(state: CpuState): KvmSregs {
  const sregs = {} as KvmSregs;
  for (const name of KVM_SEGMENT_NAMES) sregs[name] = segmentToKvm(state[name]);
  sregs.gdt = { base: u64(state.gdt.base), limit: state.gdt.limit & 0xffff };
  sregs.idt = { base: u64(state.idt.base), limit: state.idt.limit & 0xffff };
  sregs.cr0 = u64(state.cr0);
  sregs.cr2 = u64(state.cr2);
  sregs.cr3 = u64(state.cr3);
  sregs.cr4 = u64(state.cr4);
  sregs.cr8 = u64(state.cr8);
  sregs.efer = u64(state.efer);
  sregs.apicBase = u64(state.apicBase);
  sregs.interruptBitmap = new Array<bigint>(KVM_NR_INTERRUPTS / 64).fill(0n);
  return sregs;
}

export function cpuStateFromKvm(regs: KvmRegs, sregs: KvmSregs): CpuState {
  return {
    gpr: GPR_TO_KVM.map((name) => regs[name]),
    rip: regs.rip,
    rflags: regs.rflags,
    cs: segmentFromKvm(sregs.cs),
    ds: segmentFromKvm(sregs.ds),
    es: segmentFromKvm(sregs.es),
    fs: segmentFromKvm(sregs.fs),
    gs: segmentFromKvm(sregs.gs),
    ss: segmentFromKvm(sregs.ss),
    tr: segmentFromKvm(sregs.tr),
    ldt: segmentFromKvm(sregs.ldt),
    gdt: { base: sregs.gdt.base, limit: sregs.gdt.limit },
    idt: { base: sregs.idt.base, limit: sregs.idt.limit },
    cr0: sregs.cr0,
    cr2: sregs.cr2,
    cr3: sregs.cr3,
    cr4: sregs.cr4,
    cr8: sregs.cr8,
    efer: sregs.efer,
    apicBase: sregs.apicBase,
  };
}
