import { describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { Seg } from '../../src/state/segment-cache.js';
import { GDT, idtGate, KERNEL_STACK, le32, place, protectedMachine, segmentDescriptor, SEL, toUser } from './protected-machine.js';

const HLT = 0xf4;
const ZF = 0x40;

describe('system instructions', () => {
  it('LAR, LSL, VERR and VERW report access rights, limits and visibility through ZF', () => {
    const { cpu } = protectedMachine([
      0x66, 0xb9, 0x30, 0x00, //   mov cx, 0x30 (16-bit code, limit 0xffff)
      0x0f, 0x02, 0xc1, //         lar eax, ecx
      0x0f, 0x03, 0xd9, //         lsl ebx, ecx
      0x0f, 0x00, 0xe1, //         verr cx       (readable code: ZF=1)
      0x9c, 0x5e, //               pushfd; pop esi
      0x0f, 0x00, 0xe9, //         verw cx       (code: ZF=0)
      0x9c, 0x5f, //               pushfd; pop edi
      0x66, 0xb9, 0x00, 0x01, //   mov cx, 0x100  (past the GDT limit)
      0x0f, 0x03, 0xd1, //         lsl edx, ecx  (ZF=0, EDX unchanged)
      HLT,
    ]);
    cpu.regs.gpr.r32[2] = 0x5555;
    cpu.run(100);
    const g = cpu.regs.gpr;
    expect(g.r32[0]).toBe(0x009a00); // P, DPL 0, S, type 0xA (never loaded, so not accessed), G=D=0
    expect(g.r32[3]).toBe(0xffff);
    expect(g.r32[6] & ZF).toBe(ZF);
    expect(g.r32[7] & ZF).toBe(0);
    expect(g.r32[2]).toBe(0x5555);
    expect(cpu.regs.flags.get() & ZF).toBe(0);
  });

  it('ARPL raises the RPL of the destination selector and sets ZF', () => {
    const { cpu } = protectedMachine([
      0x66, 0xb8, 0x10, 0x00, //   mov ax, 0x10
      0x66, 0xbb, 0x23, 0x00, //   mov bx, 0x23
      0x63, 0xd8, //               arpl ax, bx
      HLT,
    ]);
    cpu.run(100);
    expect(cpu.regs.gpr.r16[0]).toBe(0x13);
    expect(cpu.regs.flags.get() & ZF).toBe(ZF);
  });

  it('LTR marks the TSS busy and STR/SLDT/SGDT/SIDT/SMSW read the registers back', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x28, 0x00, //   mov ax, 0x28
      0x0f, 0x00, 0xd8, //         ltr ax
      0x0f, 0x00, 0xcb, //         str ebx
      0x0f, 0x00, 0xc1, //         sldt ecx
      0x0f, 0x01, 0x05, ...le32(0x600), // sgdt [0x600]
      0x0f, 0x01, 0x0d, ...le32(0x610), // sidt [0x610]
      0x0f, 0x01, 0xe2, //         smsw edx
      HLT,
    ]);
    cpu.run(100);
    expect(memory.read8(GDT + 0x28 + 5)).toBe(0x8b); // busy 32-bit TSS
    expect(cpu.regs.seg.attr[Seg.TR] & 0xf).toBe(0xb);
    expect(cpu.regs.gpr.r32[3]).toBe(0x28);
    expect(cpu.regs.gpr.r32[1]).toBe(0);
    expect(memory.read16(0x600)).toBe(0x4f);
    expect(memory.read32(0x602)).toBe(GDT);
    expect(memory.read16(0x610)).toBe(0x7ff);
    expect(cpu.regs.gpr.r32[2] & 0x11).toBe(0x11); // PE and ET
  });

  it('LTR of a busy TSS is #GP(selector)', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x28, 0x00, //   mov ax, 0x28
      0x0f, 0x00, 0xd8, //         ltr ax
      0x0f, 0x00, 0xd8, //         ltr ax       <- busy now
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x28);
  });

  it('LLDT loads an LDT whose selectors then resolve through it', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x50, 0x00, //   mov ax, 0x50
      0x0f, 0x00, 0xd0, //         lldt ax
      0x66, 0xb8, 0x04, 0x00, //   mov ax, 0x04  (LDT entry 0, TI=1)
      0x8e, 0xe8, //               mov gs, ax
      HLT,
    ]);
    memory.write16(0x0f00, 0x57); // GDT now has entry 0x50
    segmentDescriptor(memory, GDT + 0x50, 0x6000, 0x7, 0x82, 0); // LDT at 0x6000, one entry
    segmentDescriptor(memory, 0x6000, 0x123000, 0xfff, 0x92, 0);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.seg.selector[Seg.LDTR]).toBe(0x50);
    expect(cpu.regs.seg.base[Seg.GS]).toBe(0x123000);
    expect(cpu.regs.seg.limit[Seg.GS]).toBe(0xfff);
  });

  it('MOV CR0 with PG but not PE, and reserved CR4 bits, are #GP(0); CLTS clears TS', () => {
    const { cpu, memory } = protectedMachine([
      0x0f, 0x20, 0xc0, //         mov eax, cr0
      0x83, 0xc8, 0x08, //         or eax, 8      (TS)
      0x0f, 0x22, 0xc0, //         mov cr0, eax
      0x0f, 0x06, //               clts
      0x0f, 0x20, 0xc3, //         mov ebx, cr0
      0xb8, ...le32(0x80000000), // mov eax, 0x80000000
      0x0f, 0x22, 0xc0, //         mov cr0, eax  <- #GP(0)
      0xb8, ...le32(0x01000000), // mov eax, 1 << 24  (reserved)
      0x0f, 0x22, 0xe0, //         mov cr4, eax  <- #GP(0)
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [
      0x46, //                     inc esi
      0x5f, //                     pop edi        (error code)
      0x83, 0x04, 0x24, 0x03, //   add dword [esp], 3   (skip the 3-byte MOV CRn)
      0xcf, //                     iretd
    ]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r32[3] & 8).toBe(0);
    expect(cpu.regs.gpr.r32[6]).toBe(2);
    expect(cpu.regs.gpr.r32[7]).toBe(0);
    expect(cpu.regs.cr0 & 0x80000000).toBe(0);
    expect(cpu.regs.cr4).toBe(0);
  });

  it('LMSW sets PE in real mode but cannot clear it', () => {
    const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
    const mmu = new Mmu(memory, createPortBus());
    const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
    place(memory, 0x7c00, [
      0xb8, 0x01, 0x00, //         mov ax, 1
      0x0f, 0x01, 0xf0, //         lmsw ax       (PE)
      0x31, 0xc0, //               xor ax, ax
      0x0f, 0x01, 0xf0, //         lmsw ax       (PE stays)
      0x0f, 0x01, 0xe3, //         smsw bx
      HLT,
    ]);
    const s = resetCpuState();
    s.cs = { ...s.cs, selector: 0, base: 0n };
    s.rip = 0x7c00n;
    cpu.regs.load(s);
    cpu.run(6);
    expect(cpu.regs.cr0 & 1).toBe(1);
    expect(cpu.regs.gpr.r16[3 << 1] & 1).toBe(1);
  });

  it('debug registers are stored; DR4 aliases DR6 while CR4.DE is clear', () => {
    const { cpu } = protectedMachine([
      0xb8, ...le32(0x12345678), // mov eax, 0x12345678
      0x0f, 0x23, 0xc0, //         mov dr0, eax
      0x0f, 0x21, 0xc3, //         mov ebx, dr0
      0x0f, 0x21, 0xe1, //         mov ecx, dr4   (= DR6)
      HLT,
    ]);
    cpu.run(100);
    expect(cpu.regs.gpr.r32[3]).toBe(0x12345678);
    expect(cpu.regs.gpr.r32[1] >>> 0).toBe(0xffff0ff0);
  });

  it('POPF at CPL 3 leaves IOPL and (with IOPL 0) IF unchanged', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    place(memory, USER, [
      0x68, ...le32(0x3200 | 0x1), // push IOPL=3 | IF | CF
      0x9d, //                     popfd
      0xeb, 0xfe, //               jmp $
    ]);
    cpu.run(100);
    const f = cpu.regs.flags.get();
    expect(f & 1).toBe(1);
    expect(f & 0x3000).toBe(0);
    expect(f & 0x200).toBe(0);
    expect(cpu.regs.cpl).toBe(3);
    void KERNEL_STACK;
    void SEL;
  });
});
