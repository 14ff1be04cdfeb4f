import { describe, expect, it } from 'vitest';
import {
  KVM_CPUID2_SIZE, KVM_CPUID_ENTRY2_SIZE, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, decodeKvmCpuid2, encodeKvmCpuid2,
} from '../src/structs/kvm-cpuid.js';
import { FCW_RESET, KVM_FPU_SIZE, KvmFpuOffset, MXCSR_RESET, decodeKvmFpu, encodeKvmFpu, resetKvmFpu } from '../src/structs/kvm-fpu.js';
import { KVM_INTERRUPT_SIZE, KVM_IRQ_LEVEL_SIZE, KVM_PIT_CONFIG_SIZE, encodeKvmInterrupt, encodeKvmIrqLevel, encodeKvmPitConfig } from '../src/structs/kvm-irq.js';
import {
  KVM_MEM_READONLY, KVM_USERSPACE_MEMORY_REGION_SIZE, decodeKvmUserspaceMemoryRegion, encodeKvmUserspaceMemoryRegion,
} from '../src/structs/kvm-memory-region.js';
import { KVM_MSRS_SIZE, KVM_MSR_ENTRY_SIZE, decodeKvmMsrs, encodeKvmMsrs } from '../src/structs/kvm-msrs.js';
import { KVM_REGS_SIZE, decodeKvmRegs, emptyKvmRegs, encodeKvmRegs, kvmRegsOffset } from '../src/structs/kvm-regs.js';
import { KVM_RUN_SIZE, KvmRun, KvmRunOffset } from '../src/structs/kvm-run.js';
import {
  KVM_DTABLE_SIZE, KVM_SEGMENT_SIZE, KVM_SREGS_SIZE, KvmSegmentOffset, KvmSregsOffset, decodeKvmSregs, encodeKvmSregs,
  type KvmSegment, type KvmSregs,
} from '../src/structs/kvm-sregs.js';

// Expected values printed by a C program compiled against <linux/kvm.h> (sizeof/offsetof).
describe('struct sizes match the kernel header', () => {
  it('has the x86-64 sizes of every struct', () => {
    expect(KVM_REGS_SIZE).toBe(144);
    expect(KVM_SREGS_SIZE).toBe(312);
    expect(KVM_SEGMENT_SIZE).toBe(24);
    expect(KVM_DTABLE_SIZE).toBe(16);
    expect(KVM_FPU_SIZE).toBe(416);
    expect(KVM_MSRS_SIZE).toBe(8);
    expect(KVM_MSR_ENTRY_SIZE).toBe(16);
    expect(KVM_CPUID2_SIZE).toBe(8);
    expect(KVM_CPUID_ENTRY2_SIZE).toBe(40);
    expect(KVM_USERSPACE_MEMORY_REGION_SIZE).toBe(32);
    expect(KVM_RUN_SIZE).toBe(2352);
    expect(KVM_IRQ_LEVEL_SIZE).toBe(8);
    expect(KVM_INTERRUPT_SIZE).toBe(4);
    expect(KVM_PIT_CONFIG_SIZE).toBe(64);
  });

  it('places the kvm_run fields at the kernel offsets', () => {
    expect(KvmRunOffset).toMatchObject({
      requestInterruptWindow: 0, immediateExit: 1, exitReason: 8, readyForInterruptInjection: 12, ifFlag: 13, flags: 14,
      cr8: 16, apicBase: 24, ioDirection: 32, ioSize: 33, ioPort: 34, ioCount: 36, ioDataOffset: 40,
      mmioPhysAddr: 32, mmioData: 40, mmioLen: 48, mmioIsWrite: 52, failEntryReason: 32, failEntryCpu: 40,
      internalSuberror: 32, internalNdata: 36, internalData: 40, systemEventType: 32, systemEventNdata: 36,
      systemEventData: 40, kvmValidRegs: 288, kvmDirtyRegs: 296, syncRegs: 304,
    });
  });

  it('places kvm_sregs, kvm_segment and kvm_fpu fields at the kernel offsets', () => {
    expect(KvmSregsOffset).toMatchObject({ cs: 0, gdt: 192, idt: 208, cr0: 224, cr8: 256, efer: 264, apicBase: 272, interruptBitmap: 280 });
    expect(KvmSegmentOffset).toEqual({ base: 0, limit: 8, selector: 12, type: 14, present: 15, dpl: 16, db: 17, s: 18, l: 19, g: 20, avl: 21, unusable: 22 });
    expect(KvmFpuOffset).toEqual({ fpr: 0, fcw: 128, fsw: 130, ftwx: 132, lastOpcode: 134, lastIp: 136, lastDp: 144, xmm: 152, mxcsr: 408 });
  });
});

describe('kvm_regs', () => {
  it('lays out rax..r15, rip, rflags in kernel order', () => {
    const regs = emptyKvmRegs();
    regs.rbx = 0x1122334455667788n;
    regs.rip = 0xfff0n;
    regs.rflags = 0x2n;
    const bytes = encodeKvmRegs(regs);
    const dv = new DataView(bytes.buffer);
    expect(kvmRegsOffset('rbx')).toBe(8);
    expect(dv.getBigUint64(8, true)).toBe(0x1122334455667788n);
    expect(dv.getBigUint64(128, true)).toBe(0xfff0n);
    expect(dv.getBigUint64(136, true)).toBe(2n);
    expect(decodeKvmRegs(bytes)).toEqual(regs);
  });

  it('stores negative values as their 64-bit two complement', () => {
    const regs = emptyKvmRegs();
    regs.rsp = -16n;
    expect(decodeKvmRegs(encodeKvmRegs(regs)).rsp).toBe(0xfffffffffffffff0n);
  });
});

describe('kvm_sregs', () => {
  const seg = (selector: number, base: bigint): KvmSegment => ({
    base, limit: 0xffff, selector, type: 0xb, present: 1, dpl: 0, db: 0, s: 1, l: 0, g: 0, avl: 0, unusable: 0,
  });
  const sregs: KvmSregs = {
    cs: seg(0xf000, 0xffff0000n), ds: seg(0x10, 0x100n), es: seg(0, 0n), fs: seg(0, 0n), gs: seg(0, 0n),
    ss: seg(0x18, 0x180n), tr: { ...seg(0, 0n), type: 0xb, s: 0 }, ldt: { ...seg(0, 0n), type: 2, s: 0, unusable: 1 },
    gdt: { base: 0x5000n, limit: 0x27 }, idt: { base: 0n, limit: 0x3ff },
    cr0: 0x60000010n, cr2: 0n, cr3: 0x9000n, cr4: 0x20n, cr8: 0n, efer: 0x500n, apicBase: 0xfee00900n,
    interruptBitmap: [0n, 1n << 3n, 0n, 0n],
  };

  it('round-trips through its byte layout', () => {
    expect(decodeKvmSregs(encodeKvmSregs(sregs))).toEqual(sregs);
  });

  it('writes each field where the kernel reads it', () => {
    const bytes = encodeKvmSregs(sregs);
    const dv = new DataView(bytes.buffer);
    expect(dv.getBigUint64(0, true)).toBe(0xffff0000n); // cs.base
    expect(dv.getUint16(12, true)).toBe(0xf000); // cs.selector
    expect(bytes[24 + 14]).toBe(0xb); // ds.type
    expect(bytes[168 + 22]).toBe(1); // ldt.unusable
    expect(dv.getBigUint64(192, true)).toBe(0x5000n); // gdt.base
    expect(dv.getUint16(200, true)).toBe(0x27); // gdt.limit
    expect(dv.getBigUint64(240, true)).toBe(0x9000n); // cr3
    expect(dv.getBigUint64(264, true)).toBe(0x500n); // efer
    expect(dv.getBigUint64(272, true)).toBe(0xfee00900n); // apic_base
    expect(dv.getBigUint64(288, true)).toBe(8n); // interrupt_bitmap[1]: vector 67
  });
});

describe('other structs', () => {
  it('encodes kvm_fpu with the reset control words', () => {
    const bytes = encodeKvmFpu(resetKvmFpu());
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint16(128, true)).toBe(FCW_RESET);
    expect(dv.getUint32(408, true)).toBe(MXCSR_RESET);
    const fpu = resetKvmFpu();
    fpu.xmm[17] = 0xab;
    fpu.lastIp = 0x1234n;
    expect(decodeKvmFpu(encodeKvmFpu(fpu))).toEqual(fpu);
  });

  it('encodes kvm_msrs as a header and 16-byte entries', () => {
    const bytes = encodeKvmMsrs([{ index: 0x1a0, data: 1n }, { index: 0xc0000080, data: 0x500n }]);
    expect(bytes.length).toBe(8 + 2 * 16);
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(0, true)).toBe(2);
    expect(dv.getUint32(8 + 16, true)).toBe(0xc0000080);
    expect(dv.getBigUint64(8 + 16 + 8, true)).toBe(0x500n);
    expect(decodeKvmMsrs(bytes)).toEqual([{ index: 0x1a0, data: 1n }, { index: 0xc0000080, data: 0x500n }]);
    expect(decodeKvmMsrs(bytes, 1)).toHaveLength(1);
  });

  it('encodes kvm_cpuid2 entries of 40 bytes', () => {
    const entries = [
      { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
      { function: 0xb, index: 1, flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax: 4, ebx: 8, ecx: 0x201, edx: 0xffffffff },
    ];
    const bytes = encodeKvmCpuid2(entries);
    expect(bytes.length).toBe(8 + 80);
    expect(new DataView(bytes.buffer).getUint32(40 + 8 + 4, true)).toBe(1); // entries[1].index
    expect(decodeKvmCpuid2(bytes)).toEqual(entries);
  });

  it('encodes kvm_userspace_memory_region', () => {
    const r = { slot: 2, flags: KVM_MEM_READONLY, guestPhysAddr: 0xfffc0000n, memorySize: 0x40000n, userspaceAddr: 0x7f0000001000n };
    const bytes = encodeKvmUserspaceMemoryRegion(r);
    expect(new DataView(bytes.buffer).getBigUint64(24, true)).toBe(0x7f0000001000n);
    expect(decodeKvmUserspaceMemoryRegion(bytes)).toEqual(r);
  });

  it('encodes the interrupt structs', () => {
    expect([...encodeKvmIrqLevel(4, true)]).toEqual([4, 0, 0, 0, 1, 0, 0, 0]);
    expect([...encodeKvmInterrupt(0x20)]).toEqual([0x20, 0, 0, 0]);
    const pit = encodeKvmPitConfig(1);
    expect(pit.length).toBe(64);
    expect(pit[0]).toBe(1);
  });
});

describe('KvmRun', () => {
  it('reads an IO exit and exposes its data in place', () => {
    const page = new Uint8Array(12288);
    const dv = new DataView(page.buffer);
    dv.setUint32(8, 2, true);
    page[32] = 1;
    page[33] = 2;
    dv.setUint16(34, 0x1f0, true);
    dv.setUint32(36, 3, true);
    dv.setBigUint64(40, 4096n, true);
    const run = new KvmRun(page);
    expect([run.exitReason, run.ioDirection, run.ioSize, run.ioPort, run.ioCount, run.ioDataOffset]).toEqual([2, 1, 2, 0x1f0, 3, 4096]);
    run.ioData()[0] = 0x99;
    expect(page[4096]).toBe(0x99);
    expect(run.ioData().length).toBe(6);
  });

  it('rejects an IO data area outside the mapping', () => {
    const page = new Uint8Array(4096);
    const dv = new DataView(page.buffer);
    page[33] = 4;
    dv.setUint32(36, 2, true);
    dv.setBigUint64(40, 4090n, true);
    expect(() => new KvmRun(page).ioData()).toThrow(RangeError);
  });

  it('writes the input flags at their offsets', () => {
    const page = new Uint8Array(4096);
    const run = new KvmRun(page);
    run.requestInterruptWindow = 1;
    run.immediateExit = 1;
    expect([page[0], page[1]]).toEqual([1, 1]);
    run.immediateExit = 0;
    expect(page[1]).toBe(0);
  });
});
