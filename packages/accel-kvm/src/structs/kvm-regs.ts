/**
 * struct kvm_regs (arch/x86/include/uapi/asm/kvm.h), for KVM_GET_REGS / KVM_SET_REGS:
 * eighteen __u64 in the order rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8..r15, rip,
 * rflags. Note the order is not the x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp,
 * rsi, rdi) that CpuState.gpr uses; ../cpu-state-convert.ts maps between the two.
 */

/** Field names in struct order; the byte offset of field i is 8 * i. */
export const KVM_REGS_FIELDS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
] as const;
export type KvmRegName = (typeof KVM_REGS_FIELDS)[number];
export type KvmRegs = Record<KvmRegName, bigint>;

export const KVM_REGS_SIZE = 144;

export function kvmRegsOffset(name: KvmRegName): number {
  return KVM_REGS_FIELDS.indexOf(name) * 8;
}

export function emptyKvmRegs(): KvmRegs {
  const regs = {} as KvmRegs;
  for (const f of KVM_REGS_FIELDS) regs[f] = 0n;
  return regs;
}

export function encodeKvmRegs(regs: KvmRegs, out = new Uint8Array(KVM_REGS_SIZE)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, KVM_REGS_SIZE);
  KVM_REGS_FIELDS.forEach((f, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, regs[f]), true));
  return out;
}

export function decodeKvmRegs(bytes: Uint8Array): KvmRegs {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, KVM_REGS_SIZE);
  const regs = {} as KvmRegs;
  KVM_REGS_FIELDS.forEach((f, i) => (regs[f] = dv.getBigUint64(i * 8, true)));
  return regs;
}
