/**
 * The small interrupt-related structs (include/uapi/linux/kvm.h):
 * - struct kvm_irq_level (KVM_IRQ_LINE, VM fd): irq (a GSI: ISA IRQ 0-15 reach both the
 *   in-kernel PIC and IOAPIC), level. 8 bytes.
 * - struct kvm_interrupt (KVM_INTERRUPT, vCPU fd, only without an in-kernel irqchip):
 *   irq, the vector to inject (what the PIC answered to INTA), not a pin. 4 bytes.
 * - struct kvm_pit_config (KVM_CREATE_PIT2): flags, pad[15]. 64 bytes.
 * - struct kvm_mp_state (KVM_GET/SET_MP_STATE): mp_state. 4 bytes.
 */

export const KVM_IRQ_LEVEL_SIZE = 8;
export const KVM_INTERRUPT_SIZE = 4;
export const KVM_PIT_CONFIG_SIZE = 64;
export const KVM_MP_STATE_SIZE = 4;

/** The in-kernel PIT also answers port 0x61 (speaker gate/refresh bits) when set. */
export const KVM_PIT_SPEAKER_DUMMY = 1;

export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_INIT_RECEIVED = 2;
export const KVM_MP_STATE_HALTED = 3;
export const KVM_MP_STATE_SIPI_RECEIVED = 4;

export function encodeKvmIrqLevel(irq: number, level: boolean | number): Uint8Array {
  const out = new Uint8Array(KVM_IRQ_LEVEL_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, irq >>> 0, true);
  dv.setUint32(4, level ? 1 : 0, true);
  return out;
}

export function encodeKvmInterrupt(vector: number, out = new Uint8Array(KVM_INTERRUPT_SIZE)): Uint8Array {
  new DataView(out.buffer, out.byteOffset, KVM_INTERRUPT_SIZE).setUint32(0, vector >>> 0, true);
  return out;
}

export function encodeKvmPitConfig(flags: number): Uint8Array {
  const out = new Uint8Array(KVM_PIT_CONFIG_SIZE);
  new DataView(out.buffer).setUint32(0, flags >>> 0, true);
  return out;
}

export function encodeKvmMpState(state: number): Uint8Array {
  const out = new Uint8Array(KVM_MP_STATE_SIZE);
  new DataView(out.buffer).setUint32(0, state >>> 0, true);
  return out;
}

export function decodeKvmMpState(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, KVM_MP_STATE_SIZE).getUint32(0, true);
}
