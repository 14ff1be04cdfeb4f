/**
 * struct kvm_fpu (arch/x86/include/uapi/asm/kvm.h), for KVM_GET_FPU / KVM_SET_FPU: the
 * legacy FXSAVE-style x87 and SSE state. fpr[8][16] (80-bit registers in 16-byte slots),
 * fcw, fsw, ftwx (the abridged tag byte: one bit per register, 1 = valid), last_opcode,
 * last_ip, last_dp, xmm[16][16], mxcsr. 416 bytes.
 */

export interface KvmFpu {
  /** 8 x 16 bytes. */
  fpr: Uint8Array;
  fcw: number;
  fsw: number;
  ftwx: number;
  lastOpcode: number;
  lastIp: bigint;
  lastDp: bigint;
  /** 16 x 16 bytes. */
  xmm: Uint8Array;
  mxcsr: number;
}

export const KVM_FPU_SIZE = 416;

export const KvmFpuOffset = {
  fpr: 0, fcw: 128, fsw: 130, ftwx: 132, lastOpcode: 134, lastIp: 136, lastDp: 144, xmm: 152, mxcsr: 408,
} as const;

/** FNINIT's control word: all exceptions masked, 64-bit precision, round to nearest (SDM Vol. 1, 8.1.5). */
export const FCW_RESET = 0x37f;
/** MXCSR at power-up: all SIMD exceptions masked (SDM Vol. 1, 10.2.3). */
export const MXCSR_RESET = 0x1f80;

/** The x87/SSE state after RESET or FNINIT. */
export function resetKvmFpu(): KvmFpu {
  return {
    fpr: new Uint8Array(128), fcw: FCW_RESET, fsw: 0, ftwx: 0, lastOpcode: 0,
    lastIp: 0n, lastDp: 0n, xmm: new Uint8Array(256), mxcsr: MXCSR_RESET,
  };
}

export function encodeKvmFpu(fpu: KvmFpu, out = new Uint8Array(KVM_FPU_SIZE)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, KVM_FPU_SIZE);
  out.fill(0, 0, KVM_FPU_SIZE);
  out.set(fpu.fpr.subarray(0, 128), KvmFpuOffset.fpr);
  dv.setUint16(KvmFpuOffset.fcw, fpu.fcw, true);
  dv.setUint16(KvmFpuOffset.fsw, fpu.fsw, true);
  dv.setUint8(KvmFpuOffset.ftwx, fpu.ftwx);
  dv.setUint16(KvmFpuOffset.lastOpcode, fpu.lastOpcode, true);
  dv.setBigUint64(KvmFpuOffset.lastIp, fpu.lastIp, true);
  dv.setBigUint64(KvmFpuOffset.lastDp, fpu.lastDp, true);
  out.set(fpu.xmm.subarray(0, 256), KvmFpuOffset.xmm);
  dv.setUint32(KvmFpuOffset.mxcsr, fpu.mxcsr >>> 0, true);
  return out;
}

export function decodeKvmFpu(bytes: Uint8Array): KvmFpu {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, KVM_FPU_SIZE);
  return {
    fpr: bytes.slice(KvmFpuOffset.fpr, KvmFpuOffset.fpr + 128),
    fcw: dv.getUint16(KvmFpuOffset.fcw, true),
    fsw: dv.getUint16(KvmFpuOffset.fsw, true),
    ftwx: dv.getUint8(KvmFpuOffset.ftwx),
    lastOpcode: dv.getUint16(KvmFpuOffset.lastOpcode, true),
    lastIp: dv.getBigUint64(KvmFpuOffset.lastIp, true),
    lastDp: dv.getBigUint64(KvmFpuOffset.lastDp, true),
    xmm: bytes.slice(KvmFpuOffset.xmm, KvmFpuOffset.xmm + 256),
    mxcsr: dv.getUint32(KvmFpuOffset.mxcsr, true),
  };
}
