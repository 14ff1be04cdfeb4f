// Long-mode entry and the system side of IA-32e mode: EFER via WRMSR, CR0.PG activating LMA,
// the #GP rules, MOV CRn with 64 bits, 10-byte LGDT/SGDT, LTR of a 16-byte TSS descriptor,
// FS/GS base MSRs and SWAPGS, NX, CPUID's long-mode leaves, INVD/WBINVD/ENDBR64.
import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { LongModeLinearMemory } from '../../src/interp/long-mode-memory.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { cpuEnvironmentOf } from '../../src/cpu-model/cpu-environment.js';
import { Seg } from '../../src/state/segment-cache.js';
import { CODE, GDT, longModeMachine, PD, SEL, STACK0, STUBS, TSS } from './long-mode-machine.js';

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSI = 6, RDI = 7;
type M = ReturnType<typeof longModeMachine>;
const get = (m: M, n: number): bigint => m.cpu.regs.gpr.get64(n);
const set = (m: M, n: number, v: bigint): void => m.cpu.regs.gpr.set64(n, BigInt.asUintN(64, v));

const LEGACY_IDT = 0xa000;

/**
 * Puts the machine in flat 32-bit protected mode at CPL 0 with paging and long mode off, with
 * a legacy IDT whose #GP gate (32-bit, to CODE32) leads to the vector-13 HLT stub.
 */
function legacyProtected(m: M): void {
  const r = m.cpu.regs;
  const stub = STUBS + 13 * 16;
  m.memory.write32(LEGACY_IDT + 13 * 8, (SEL.CODE32 << 16) | (stub & 0xffff));
  m.memory.write32(LEGACY_IDT + 13 * 8 + 4, (stub & 0xffff0000) | 0x8e00);
  r.idtBase = LEGACY_IDT;
  r.idtLimit = 0x7ff;
  r.cr0 = 0x11;
  r.cr4 = 0;
  r.efer = 0;
  const s = r.seg;
  s.selector[Seg.CS] = SEL.CODE32;
  s.attr[Seg.CS] = 0x9b | 0x4000 | 0x8000;
  m.mmu.setPagingContext(r);
  m.cpu.syncLongMode();
}

describe('long-mode entry (SDM Vol. 3, 9.8.5)', () => {
  it('enters 64-bit mode from protected mode: PAE, CR3, EFER.LME by WRMSR, CR0.PG, far JMP to a 64-bit segment', () => {
    const m = longModeMachine();
    legacyProtected(m);
    expect(m.cpu.mode).toBe(CpuMode.Bits32);
    expect(m.cpu.mem).toBeInstanceOf(PagedLinearMemory);
    m.load([
      0x0f, 0x20, 0xe0, //                         mov eax, cr4
      0x83, 0xc8, 0x20, //                         or eax, 0x20
      0x0f, 0x22, 0xe0, //                         mov cr4, eax
      0xb8, 0x00, 0x10, 0x00, 0x00, //             mov eax, 0x1000
      0x0f, 0x22, 0xd8, //                         mov cr3, eax
      0xb9, 0x80, 0x00, 0x00, 0xc0, //             mov ecx, 0xC0000080
      0x0f, 0x32, //                               rdmsr
      0x0d, 0x00, 0x01, 0x00, 0x00, //             or eax, 0x100
      0x0f, 0x30, //                               wrmsr
      0x0f, 0x20, 0xc0, //                         mov eax, cr0
      0x0d, 0x00, 0x00, 0x00, 0x80, //             or eax, 0x80000000
      0x0f, 0x22, 0xc0, //                         mov cr0, eax  (LMA: compatibility mode)
      0xea, 0x31, 0x00, 0x01, 0x00, 0x08, 0x00, // jmp 0x08:long64
      0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // long64: mov rax, 0x1122334455667788
      0x50, //                                     push rax
      0x5b, //                                     pop rbx
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(m.cpu.regs.efer & 0x500).toBe(0x500);
    expect(m.mmu.longMode).toBe(true);
    expect(m.cpu.mem).toBeInstanceOf(LongModeLinearMemory);
    expect(m.cpu.mode).toBe(CpuMode.Bits64);
    expect(get(m, RBX)).toBe(0x1122334455667788n);
  });

  it('setting CR0.PG with EFER.LME but without CR4.PAE raises #GP(0) and leaves paging off', () => {
    const m = longModeMachine();
    legacyProtected(m);
    m.load([
      0xb9, 0x80, 0x00, 0x00, 0xc0, // mov ecx, 0xC0000080
      0x0f, 0x32, //                   rdmsr
      0x0d, 0x00, 0x01, 0x00, 0x00, // or eax, 0x100
      0x0f, 0x30, //                   wrmsr
      0xb8, 0x00, 0x10, 0x00, 0x00, // mov eax, 0x1000
      0x0f, 0x22, 0xd8, //             mov cr3, eax
      0x0f, 0x20, 0xc0, //             mov eax, cr0
      0x0d, 0x00, 0x00, 0x00, 0x80, // or eax, 0x80000000
      0x0f, 0x22, 0xc0, //             mov cr0, eax
    ]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.cpu.regs.rip).toBe(STUBS + 13 * 16 + 1);
    expect(m.cpu.regs.cr0 & 0x80000000).toBe(0);
    expect(m.cpu.regs.efer & 0x400).toBe(0);
  });

  it('WRMSR changing EFER.LME while paging is on raises #GP(0)', () => {
    const m = longModeMachine();
    m.load([
      0xb9, 0x80, 0x00, 0x00, 0xc0, // mov ecx, 0xC0000080
      0x0f, 0x32, //                   rdmsr
      0x25, 0xff, 0xfe, 0xff, 0xff, // and eax, ~0x100
      0x0f, 0x30, //                   wrmsr
    ]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).rip).toBe(BigInt(CODE + 12));
    expect(m.cpu.regs.efer).toBe(0x500);
  });

  it('activating IA-32e mode while CS.L is set raises #GP(0)', () => {
    const m = longModeMachine();
    legacyProtected(m);
    m.cpu.regs.cr4 = 0x20;
    m.cpu.regs.efer = 0x100;
    m.cpu.regs.seg.attr[Seg.CS] |= 0x2000; // L in a legacy-mode CS cache
    m.load([0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0]); // mov eax, cr0; or eax, 1<<31; mov cr0, eax
    m.run(3);
    expect(m.cpu.lastException).toBe(13);
    expect(m.cpu.regs.efer & 0x400).toBe(0);
  });

  it('clearing CR0.PG in 64-bit mode raises #GP(0)', () => {
    const m = longModeMachine();
    m.load([
      0x0f, 0x20, 0xc0, //             mov rax, cr0
      0x25, 0xff, 0xff, 0xff, 0x7f, // and eax, 0x7fffffff
      0x0f, 0x22, 0xc0, //             mov cr0, rax
    ]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.cpu.regs.cr0 >>> 31).toBe(1);
  });
});

describe('IA-32e system instructions', () => {
  it('SGDT/LGDT/SIDT use a 10-byte operand with a 64-bit base in 64-bit mode', () => {
    const m = longModeMachine();
    m.load([
      0x0f, 0x01, 0x05, 0x10, 0x00, 0x00, 0x00, // sgdt [rel buf]
      0x0f, 0x01, 0x15, 0x19, 0x00, 0x00, 0x00, // lgdt [rel new]
      0x0f, 0x01, 0x0d, 0x1c, 0x00, 0x00, 0x00, // sidt [rel buf2]
      0xeb, 0x2a, //                               jmp done
      ...new Array<number>(16).fill(0xcc), //      buf
      0x5f, 0x00, //                               new: dw 0x5f
      0x00, 0x40, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, // dq 0xffff800000004000
      ...new Array<number>(16).fill(0xcc), //      buf2
    ]);
    expect(m.run()).toBe('end');
    expect(m.memory.read16(CODE + 23)).toBe(0x4f);
    expect(m.read64(CODE + 25)).toBe(BigInt(GDT));
    expect(m.memory.read8(CODE + 33)).toBe(0xcc); // exactly 10 bytes stored
    expect(m.cpu.regs.gdtLimit).toBe(0x5f);
    expect(m.cpu.regs.gdtBase >>> 0).toBe(0x4000);
    expect(m.cpu.regs.gdtBaseHi >>> 0).toBe(0xffff8000);
    expect(m.memory.read16(CODE + 49)).toBe(0xfff);
    expect(m.read64(CODE + 51)).toBe(0x5000n);
  });

  it('LGDT with a non-canonical base raises #GP(0)', () => {
    const m = longModeMachine();
    m.load([0x0f, 0x01, 0x15, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00]); // lgdt [rel $+7]
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.cpu.regs.gdtBase).toBe(GDT);
  });

  it('MOV CRn moves 64 bits in 64-bit mode, CR8 included', () => {
    const m = longModeMachine();
    m.load([
      0x0f, 0x20, 0xd8, //                                         mov rax, cr3
      0x48, 0xbb, 0x78, 0x56, 0x34, 0x12, 0x00, 0x80, 0xff, 0xff, // mov rbx, 0xffff800012345678
      0x0f, 0x22, 0xd3, //                                         mov cr2, rbx
      0x0f, 0x20, 0xd1, //                                         mov rcx, cr2
      0xba, 0x05, 0x00, 0x00, 0x00, //                             mov edx, 5
      0x44, 0x0f, 0x22, 0xc2, //                                   mov cr8, rdx
      0x44, 0x0f, 0x20, 0xc6, //                                   mov rsi, cr8
      0x0f, 0x20, 0xc7, //                                         mov rdi, cr0
    ]);
    set(m, RAX, -1n);
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(0x1000n);
    expect(get(m, RCX)).toBe(0xffff800012345678n);
    expect(get(m, RSI)).toBe(5n);
    expect(get(m, RDI)).toBe(0x80000011n);
  });

  it('FS_BASE and GS_BASE set the bases FS: and GS: use; SWAPGS exchanges GS.base with KERNEL_GS_BASE', () => {
    const m = longModeMachine();
    m.write64(0x20008, 0xabcdef0123456789n);
    m.load([
      0xb9, 0x00, 0x01, 0x00, 0xc0, //                   mov ecx, 0xC0000100
      0xb8, 0x00, 0x00, 0x02, 0x00, //                   mov eax, 0x00020000
      0xba, 0x01, 0x00, 0x00, 0x00, //                   mov edx, 1
      0x0f, 0x30, //                                     wrmsr
      0x64, 0x48, 0x8b, 0x3c, 0x25, 0x08, 0x00, 0x00, 0x00, // mov rdi, fs:[8]
      0xb9, 0x01, 0x01, 0x00, 0xc0, //                   mov ecx, 0xC0000101
      0xb8, 0x11, 0x00, 0x00, 0x00, //                   mov eax, 0x11
      0xba, 0x22, 0x00, 0x00, 0x00, //                   mov edx, 0x22
      0x0f, 0x30, //                                     wrmsr
      0xb9, 0x02, 0x01, 0x00, 0xc0, //                   mov ecx, 0xC0000102
      0xb8, 0x33, 0x00, 0x00, 0x00, //                   mov eax, 0x33
      0xba, 0x44, 0x00, 0x00, 0x00, //                   mov edx, 0x44
      0x0f, 0x30, //                                     wrmsr
      0x0f, 0x01, 0xf8, //                               swapgs
      0xb9, 0x01, 0x01, 0x00, 0xc0, //                   mov ecx, 0xC0000101
      0x0f, 0x32, //                                     rdmsr
      0x89, 0xc3, //                                     mov ebx, eax
      0x89, 0xd6, //                                     mov esi, edx
      0xb9, 0x02, 0x01, 0x00, 0xc0, //                   mov ecx, 0xC0000102
      0x0f, 0x32, //                                     rdmsr
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    // FS.base = 0x1_0002_0000, which PDPT[4] maps to physical 0x20000.
    expect(get(m, RDI)).toBe(0xabcdef0123456789n);
    expect(get(m, RBX)).toBe(0x33n);
    expect(get(m, RSI)).toBe(0x44n);
    expect(m.cpu.regs.gpr.r32[RAX]).toBe(0x11);
    expect(m.cpu.regs.gpr.r32[RDX]).toBe(0x22);
    expect(m.cpu.regs.seg.baseHi[Seg.GS]).toBe(0x44);
  });

  it('WRMSR of a non-canonical FS_BASE raises #GP(0)', () => {
    const m = longModeMachine();
    m.load([0x0f, 0x30]); // wrmsr
    set(m, RCX, 0xc0000100n);
    set(m, RDX, 0x8000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
  });

  it('SWAPGS at CPL 3 and INVD at CPL 3 raise #GP(0); WBINVD and ENDBR64 run at CPL 0', () => {
    for (const code of [[0x0f, 0x01, 0xf8], [0x0f, 0x08]]) {
      const m = longModeMachine({ cpl: 3 });
      m.load(code);
      expect(m.run()).toBe('halt');
      expect(m.cpu.lastException).toBe(13);
    }
    const k = longModeMachine();
    k.load([0x0f, 0x09, 0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x08]); // wbinvd; endbr64; invd
    expect(k.run()).toBe('end');
    expect(k.cpu.lastException).toBe(-1);
  });

  it('LTR loads a 16-byte TSS descriptor with a 64-bit base; RSP0 then comes from that TSS', () => {
    const m = longModeMachine();
    // TSS descriptor at 0x50: base 0xFFFF8000_00006000 (the high alias of TSS), limit 0x67.
    m.memory.write32(GDT + 0x50, ((TSS & 0xffff) << 16) | 0x67);
    m.memory.write32(GDT + 0x54, (TSS & 0xff000000) | 0x8900 | ((TSS >>> 16) & 0xff));
    m.memory.write32(GDT + 0x58, 0xffff8000);
    m.memory.write32(GDT + 0x5c, 0);
    m.cpu.regs.gdtLimit = 0x5f;
    m.write64(TSS + 4, BigInt(STACK0 - 0x100));
    m.load([
      0x66, 0xb8, 0x50, 0x00, //                   mov ax, 0x50
      0x0f, 0x00, 0xd8, //                         ltr ax
      0x6a, 0x23, //                               push 0x23
      0x68, 0x00, 0x00, 0x09, 0x00, //             push 0x90000
      0x9c, //                                     pushfq
      0x6a, 0x2b, //                               push 0x2b
      0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00, // lea rax, [rel user]
      0x50, //                                     push rax
      0x48, 0xcf, //                               iretq
      0xcd, 0x80, //                               user: int 0x80
    ]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(-1);
    const s = m.cpu.regs.seg;
    expect(s.selector[Seg.TR]).toBe(0x50);
    expect(s.baseHi[Seg.TR] >>> 0).toBe(0xffff8000);
    expect(m.memory.read8(GDT + 0x55)).toBe(0x8b); // busy
    expect(m.cpu.regs.gpr.get64(4)).toBe(BigInt(STACK0 - 0x100 - 40));
  });

  it('LLDT reads a 16-byte LDT descriptor (64-bit base); SLDT r64 zero-extends', () => {
    const m = longModeMachine();
    m.memory.write32(GDT + 0x50, (0x1234 << 16) | 0x0fff);
    m.memory.write32(GDT + 0x54, 0x00008200 | 0x56); // LDT, present, base 23:16 = 0x56
    m.memory.write32(GDT + 0x58, 0xffff8000);
    m.memory.write32(GDT + 0x5c, 0);
    m.cpu.regs.gdtLimit = 0x5f;
    m.load([0x66, 0xb8, 0x50, 0x00, 0x0f, 0x00, 0xd0, 0x48, 0x0f, 0x00, 0xc3]); // mov ax, 0x50; lldt ax; sldt rbx
    set(m, RBX, -1n);
    expect(m.run()).toBe('end');
    const s = m.cpu.regs.seg;
    expect(s.selector[Seg.LDTR]).toBe(0x50);
    expect(s.base[Seg.LDTR] >>> 0).toBe(0x561234);
    expect(s.baseHi[Seg.LDTR] >>> 0).toBe(0xffff8000);
    expect(s.limit[Seg.LDTR]).toBe(0xfff);
    expect(get(m, RBX)).toBe(0x50n);
  });

  it('LLDT of an LDT descriptor cut off by the GDT limit (upper 8 bytes outside) raises #GP(selector)', () => {
    const m = longModeMachine();
    m.memory.write32(GDT + 0x50, 0x0fff);
    m.memory.write32(GDT + 0x54, 0x00008200);
    m.cpu.regs.gdtLimit = 0x57;
    m.load([0x66, 0xb8, 0x50, 0x00, 0x0f, 0x00, 0xd0]); // mov ax, 0x50; lldt ax
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).errorCode).toBe(0x50n);
  });

  it('LAR/LSL accept the 64-bit TSS but not a 16-bit call gate in IA-32e mode', () => {
    const m = longModeMachine();
    m.memory.write32(GDT + 0x50, 0);
    m.memory.write32(GDT + 0x54, 0x0000e400); // 16-bit call gate, DPL 3: valid for LAR only outside IA-32e mode
    m.cpu.regs.gdtLimit = 0x57;
    m.load([
      0x0f, 0x02, 0xc1, // lar eax, cx
      0x0f, 0x94, 0xc3, // setz bl
      0x0f, 0x03, 0xd1, // lsl edx, cx
      0x0f, 0x02, 0xf7, // lar esi, di
      0x0f, 0x94, 0xc7, // setz bh
    ]);
    set(m, RCX, BigInt(SEL.TSS));
    set(m, RDI, 0x50n);
    set(m, RBX, 0n);
    expect(m.run()).toBe('end');
    expect(get(m, RBX) & 0xffffn).toBe(0x0001n); // ZF set for the TSS, clear for the gate
    expect(get(m, RAX)).toBe(0x8900n);
    expect(get(m, RDX)).toBe(0x67n);
  });

  it('SYSENTER from 64-bit CPL 3 enters 64-bit code with the 64-bit MSRs; SYSEXIT with REX.W returns', () => {
    const m = longModeMachine({ cpl: 3 });
    const msrs = cpuEnvironmentOf(m.cpu).msrs;
    msrs.sysenterCs = SEL.CODE64;
    msrs.sysenterEip = 0x20000;
    msrs.sysenterEsp = STACK0;
    msrs.sysenterEspHi = 0xffff8000; // the stack's upper-half alias
    m.memory.writeBytes(0x20000, Uint8Array.from([
      0xbe, 0x05, 0x00, 0x00, 0x00, // mov esi, 5
      0x48, 0x89, 0xe7, //             mov rdi, rsp
      0x48, 0x0f, 0x35, //             sysexit (REX.W)
    ]));
    m.load([
      0x48, 0x8d, 0x15, 0x05, 0x00, 0x00, 0x00, // lea rdx, [rel back]
      0x48, 0x89, 0xe1, //                         mov rcx, rsp
      0x0f, 0x34, //                               sysenter
      0xbb, 0x07, 0x00, 0x00, 0x00, //             back: mov ebx, 7
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RSI)).toBe(5n);
    expect(get(m, RDI)).toBe(0xffff800000080000n);
    expect(get(m, RBX)).toBe(7n);
    expect(m.cpu.regs.cpl).toBe(3);
    expect(m.cpu.mode).toBe(CpuMode.Bits64);
    expect(m.cpu.regs.seg.selector[Seg.CS]).toBe(SEL.CODE64 + 32 + 3);
  });

  it('CPUID reports long mode, NX, RDTSCP and the address sizes', () => {
    const m = longModeMachine();
    m.load([
      0xb8, 0x00, 0x00, 0x00, 0x80, // mov eax, 0x80000000
      0x0f, 0xa2, //                   cpuid
      0x41, 0x89, 0xc0, //             mov r8d, eax
      0xb8, 0x01, 0x00, 0x00, 0x80, // mov eax, 0x80000001
      0x0f, 0xa2, //                   cpuid
      0x41, 0x89, 0xd1, //             mov r9d, edx
      0xb8, 0x08, 0x00, 0x00, 0x80, // mov eax, 0x80000008
      0x0f, 0xa2, //                   cpuid
      0x41, 0x89, 0xc2, //             mov r10d, eax
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, 8)).toBe(0x80000008n);
    expect(get(m, 9)).toBe(BigInt((1 << 29) | (1 << 27) | (1 << 20)));
    expect(get(m, 10)).toBe(0x3024n);
  });

  it('with EFER.NXE, fetching from an XD page raises #PF with the instruction-fetch bit', () => {
    const m = longModeMachine();
    m.memory.write32(PD + 8 + 4, 0x80000000); // PD[1] (physical 0x200000): XD
    m.memory.write8(0x200000, 0x90);
    m.load([
      0xb9, 0x80, 0x00, 0x00, 0xc0, // mov ecx, 0xC0000080
      0x0f, 0x32, //                   rdmsr
      0x0d, 0x00, 0x08, 0x00, 0x00, // or eax, 0x800
      0x0f, 0x30, //                   wrmsr
      0xb8, 0x00, 0x00, 0x20, 0x00, // mov eax, 0x200000
      0xff, 0xe0, //                   jmp rax
    ]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(14);
    expect(m.cpu.regs.efer & 0x800).toBe(0x800);
    const f = m.frame(true);
    expect(f.errorCode).toBe(0x11n); // present | instruction fetch
    expect(f.rip).toBe(0x200000n);
    expect(m.cpu.regs.cr2).toBe(0x200000);
    void STUBS;
    void RBX;
  });
});
