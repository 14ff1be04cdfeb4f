/**
 * struct kvm_sregs (arch/x86/include/uapi/asm/kvm.h), for KVM_GET_SREGS / KVM_SET_SREGS:
 * eight struct kvm_segment (cs ds es fs gs ss tr ldt, 24 bytes each), two struct
 * kvm_dtable (gdt idt, 16 bytes each), cr0 cr2 cr3 cr4 cr8 efer apic_base (__u64), and
 * interrupt_bitmap: one bit per vector (KVM_NR_INTERRUPTS = 256) of an external
 * interrupt KVM has accepted but not yet delivered. 312 bytes in all.
 */

/** struct kvm_segment: the segment register and its hidden descriptor cache. */
export interface KvmSegment {
  base: bigint;
  /** Byte-granular limit (KVM expands G=1 limits). */
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

/** struct kvm_dtable: GDTR / IDTR. */
export interface KvmDtable {
  base: bigint;
  limit: number;
}

export const KVM_SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type KvmSegmentName = (typeof KVM_SEGMENT_NAMES)[number];

export type KvmSregs = Record<KvmSegmentName, KvmSegment> & {
  gdt: KvmDtable;
  idt: KvmDtable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
  /** Four __u64 words: bit v set = external interrupt vector v pending. */
  interruptBitmap: bigint[];
};

export const KVM_SEGMENT_SIZE = 24;
export const KVM_DTABLE_SIZE = 16;
export const KVM_SREGS_SIZE = 312;
export const KVM_NR_INTERRUPTS = 256;

/** Byte offsets inside struct kvm_segment. */
export const KvmSegmentOffset = {
  base: 0, limit: 8, selector: 12, type: 14, present: 15, dpl: 16, db: 17, s: 18, l: 19, g: 20, avl: 21, unusable: 22,
} as const;

/** Byte offsets inside struct kvm_sregs. */
export const KvmSregsOffset = {
  cs: 0, ds: 24, es: 48, fs: 72, gs: 96, ss: 120, tr: 144, ldt: 168,
  gdt: 192, idt: 208,
  cr0: 224, cr2: 232, cr3: 240, cr4: 248, cr8: 256, efer: 264, apicBase: 272,
  interruptBitmap: 280,
} as const;

const SEGMENT_BYTE_FIELDS = ['type', 'present', 'dpl', 'db', 's', 'l', 'g', 'avl', 'unusable'] as const;
const CONTROL_FIELDS = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apicBase'] as const;

function view(bytes: Uint8Array, size: number): DataView {
  if (bytes.byteLength < size) throw new RangeError(`buffer of ${bytes.byteLength} bytes is smaller than ${size}`);
  return new DataView(bytes.buffer, bytes.byteOffset, size);
}

export function writeKvmSegment(dv: DataView, at: number, seg: KvmSegment): void {
  dv.setBigUint64(at + KvmSegmentOffset.base, BigInt.asUintN(64, seg.base), true);
  dv.setUint32(at + KvmSegmentOffset.limit, seg.limit >>> 0, true);
  dv.setUint16(at + KvmSegmentOffset.selector, seg.selector & 0xffff, true);
  for (const f of SEGMENT_BYTE_FIELDS) dv.setUint8(at + KvmSegmentOffset[f], seg[f] & 0xff);
  dv.setUint8(at + 23, 0); // padding
}

export function readKvmSegment(dv: DataView, at: number): KvmSegment {
  const seg = {
    base: dv.getBigUint64(at + KvmSegmentOffset.base, true),
    limit: dv.getUint32(at + KvmSegmentOffset.limit, true),
    selector: dv.getUint16(at + KvmSegmentOffset.selector, true),
  } as KvmSegment;
  for (const f of SEGMENT_BYTE_FIELDS) seg[f] = dv.getUint8(at + KvmSegmentOffset[f]);
  return seg;
}

export function encodeKvmSregs(sregs: KvmSregs, out = new Uint8Array(KVM_SREGS_SIZE)): Uint8Array {
  const dv = view(out, KVM_SREGS_SIZE);
  for (const name of KVM_SEGMENT_NAMES) writeKvmSegment(dv, KvmSregsOffset[name], sregs[name]);
  for (const name of ['gdt', 'idt'] as const) {
    const at = KvmSregsOffset[name];
    dv.setBigUint64(at, BigInt.asUintN(64, sregs[name].base), true);
    dv.setUint16(at + 8, sregs[name].limit & 0xffff, true);
    for (let i = 10; i < KVM_DTABLE_SIZE; i++) dv.setUint8(at + i, 0);
  }
  for (const name of CONTROL_FIELDS) dv.setBigUint64(KvmSregsOffset[name], BigInt.asUintN(64, sregs[name]), true);
  for (let i = 0; i < KVM_NR_INTERRUPTS / 64; i++) {
    dv.setBigUint64(KvmSregsOffset.interruptBitmap + 8 * i, BigInt.asUintN(64, sregs.interruptBitmap[i] ?? 0n), true);
  }
  return out;
}

export function decodeKvmSregs(bytes: Uint8Array): KvmSregs {
  const dv = view(bytes, KVM_SREGS_SIZE);
  const sregs = {} as KvmSregs;
  for (const name of KVM_SEGMENT_NAMES) sregs[name] = readKvmSegment(dv, KvmSregsOffset[name]);
  for (const name of ['gdt', 'idt'] as const) {
    const at = KvmSregsOffset[name];
    sregs[name] = { base: dv.getBigUint64(at, true), limit: dv.getUint16(at + 8, true) };
  }
  for (const name of CONTROL_FIELDS) sregs[name] = dv.getBigUint64(KvmSregsOffset[name], true);
  sregs.interruptBitmap = [];
  for (let i = 0; i < KVM_NR_INTERRUPTS / 64; i++) {
    sregs.interruptBitmap.push(dv.getBigUint64(KvmSregsOffset.interruptBitmap + 8 * i, true));
  }
  return sregs;
}
