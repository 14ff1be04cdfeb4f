import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { deliverExternalInterrupt, TripleFaultError } from '../../src/interp/interrupts.js';
import { Seg } from '../../src/state/segment-cache.js';
import {
  GDT, gate, idtGate, KERNEL_STACK, le32, place, protectedMachine, SEL, STACK0, TEST_CODE, toUser,
} from './protected-machine.js';

const HLT = 0xf4;

describe('protected mode: entry, segment loads, exceptions', () => {
  it('enters protected mode with LGDT, MOV CR0 and a far JMP, then loads data segments', () => {
    const { cpu, memory } = protectedMachine([HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.mode).toBe(CpuMode.Bits32);
    const s = cpu.regs.seg;
    expect(s.selector[Seg.CS]).toBe(0x08);
    expect(s.limit[Seg.CS] >>> 0).toBe(0xffffffff);
    expect(s.selector[Seg.SS]).toBe(0x10);
    expect(s.attr[Seg.SS] & 0x4000).toBe(0x4000); // B: 32-bit stack
    expect(cpu.regs.gdtBase).toBe(GDT);
    expect(cpu.regs.gdtLimit).toBe(0x4f);
    expect(cpu.regs.rip).toBe(TEST_CODE + 1);
    // The accessed bits of the loaded descriptors were set in the GDT.
    expect(memory.read8(GDT + 0x08 + 5)).toBe(0x9b);
    expect(memory.read8(GDT + 0x10 + 5)).toBe(0x93);
  });

  it('delivers #GP with the selector as error code through a 32-bit interrupt gate', () => {
    const { cpu, memory } = protectedMachine([
      0xfb, //                   sti
      0x66, 0xb8, 0x80, 0x00, // mov ax, 0x80     (past the GDT limit)
      0x8e, 0xe0, //             mov fs, ax       <- #GP(0x80)
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(13);
    expect(cpu.regs.rip).toBe(0x8001);
    const esp = cpu.regs.gpr.r32[4] >>> 0;
    expect(esp).toBe(STACK0 - 16);
    expect(memory.read32(esp)).toBe(0x80); // error code
    expect(memory.read32(esp + 4)).toBe(TEST_CODE + 5); // the faulting MOV FS
    expect(memory.read32(esp + 8)).toBe(SEL.CODE0);
    expect(memory.read32(esp + 12) & 0x200).toBe(0x200); // pushed EFLAGS had IF
    expect(cpu.regs.flags.get() & 0x200).toBe(0); // an interrupt gate clears IF
  });

  it('raises #NP(selector) for a not-present data segment and keeps DS unchanged', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x38, 0x00, // mov ax, 0x38
      0x8e, 0xd8, //             mov ds, ax      <- #NP(0x38)
      HLT,
    ]);
    idtGate(memory, 11, 0x8000, 0, 0xf); // trap gate
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(11);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x38);
    expect(cpu.regs.seg.selector[Seg.DS]).toBe(0x10);
  });

  it('rejects a data segment whose DPL is below the RPL with #GP(selector)', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x13, 0x00, // mov ax, 0x13    (DATA0 with RPL 3)
      0x8e, 0xd8, //             mov ds, ax
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x10);
  });

  it('loads SS only from a writable data segment at CPL: a code selector is #GP', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x08, 0x00, // mov ax, 0x08
      0x8e, 0xd0, //             mov ss, ax
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x08);
  });

  it('a null selector in DS is allowed and marks DS unusable; null SS is #GP(0)', () => {
    const { cpu, memory } = protectedMachine([
      0x31, 0xc0, //             xor eax, eax
      0x8e, 0xd8, //             mov ds, ax
      0x8e, 0xd0, //             mov ss, ax     <- #GP(0)
      HLT,
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.regs.seg.selector[Seg.DS]).toBe(0);
    expect(cpu.regs.seg.attr[Seg.DS] & 0x10000).toBe(0x10000);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0);
  });

  it('far JMP to a 16-bit code segment switches the decoding mode', () => {
    const { cpu, memory } = protectedMachine([
      0xea, ...le32(0x8000), 0x30, 0x00, // jmp 0x30:0x8000
    ]);
    place(memory, 0x8000, [
      0xb8, 0x34, 0x12, //       mov ax, 0x1234   (16-bit operand size)
      HLT,
    ]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.mode).toBe(CpuMode.Bits16);
    expect(cpu.regs.gpr.r16[0]).toBe(0x1234);
  });

  it('far CALL and RETF at the same privilege push and pop CS:EIP', () => {
    const { cpu, memory } = protectedMachine([
      0x9a, ...le32(0x8000), 0x48, 0x00, // call 0x48:0x8000  (conforming, DPL 0)
      HLT,
    ]);
    place(memory, 0x8000, [
      0x8b, 0x04, 0x24, //       mov eax, [esp]
      0x8b, 0x5c, 0x24, 0x04, // mov ebx, [esp+4]
      0x8c, 0xca, //             mov edx, cs
      0xcb, //                   retf
    ]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r32[0]).toBe(TEST_CODE + 7);
    expect(cpu.regs.gpr.r32[3]).toBe(SEL.CODE0); // the caller's CS
    expect(cpu.regs.gpr.r32[2]).toBe(0x48); // conforming: CPL stays 0, RPL = CPL
    expect(cpu.regs.seg.selector[Seg.CS]).toBe(0x08);
    expect(cpu.regs.gpr.r32[4]).toBe(STACK0);
  });
});

describe('protected mode: privilege changes', () => {
  it('INT 0x80 from CPL 3 switches to the TSS stack through an interrupt gate and IRET returns', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    place(memory, USER, [
      0xb8, ...le32(0x1234), //  mov eax, 0x1234
      0xcd, 0x80, //             int 0x80
      0x89, 0xc3, //             mov ebx, eax
      0xeb, 0xfe, //             jmp $
    ]);
    idtGate(memory, 0x80, 0x8100, 3);
    place(memory, 0x8100, [
      0x8c, 0xc9, //             mov ecx, cs
      0x8b, 0x54, 0x24, 0x0c, // mov edx, [esp+12]  (the user ESP)
      0x40, //                   inc eax
      0xcf, //                   iretd
    ]);
    cpu.run(200);
    const g = cpu.regs.gpr;
    expect(g.r32[3]).toBe(0x1235); // the handler ran and IRET came back
    expect(g.r32[1]).toBe(SEL.CODE0); // the handler ran at CPL 0
    expect(g.r32[2]).toBe(0x9800);
    expect(cpu.regs.cpl).toBe(3);
    expect(cpu.regs.seg.selector[Seg.SS]).toBe(SEL.DATA3);
    expect(g.r32[4]).toBe(0x9800);
    // The frame on the kernel stack: EIP, CS, EFLAGS, ESP, SS.
    const frame = KERNEL_STACK - 20;
    expect(memory.read32(frame)).toBe(USER + 7);
    expect(memory.read32(frame + 4)).toBe(SEL.CODE3);
    expect(memory.read32(frame + 12)).toBe(0x9800);
    expect(memory.read32(frame + 16)).toBe(SEL.DATA3);
    // Returning to CPL 3 nulled DS and ES (DPL 0 data).
    expect(cpu.regs.seg.selector[Seg.DS]).toBe(0);
    expect(cpu.regs.seg.selector[Seg.ES]).toBe(0);
  });

  it('INT n through a gate with DPL < CPL is #GP(n*8+2)', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    place(memory, USER, [0xcd, 0x81, 0xeb, 0xfe]); // int 0x81; jmp $
    idtGate(memory, 0x81, 0x8100, 0);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(200);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(KERNEL_STACK - 24)).toBe(0x81 * 8 + 2);
    expect(memory.read32(KERNEL_STACK - 20)).toBe(USER); // the INT itself faulted
  });

  it('a call gate to CPL 0 copies parameters to the inner stack and RETF n returns to CPL 3', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    gate(memory, GDT + 0x40, SEL.CODE0, 0x8200, 0xc, 3, 2);
    place(memory, USER, [
      0x68, ...le32(0x11111111), // push 0x11111111
      0x68, ...le32(0x22222222), // push 0x22222222
      0x9a, ...le32(0), 0x43, 0x00, // call 0x43:0    (the gate; offset ignored)
      0xeb, 0xfe, //             jmp $
    ]);
    place(memory, 0x8200, [
      0x8b, 0x44, 0x24, 0x08, // mov eax, [esp+8]
      0x8b, 0x5c, 0x24, 0x0c, // mov ebx, [esp+12]
      0x8c, 0xc9, //             mov ecx, cs
      0xca, 0x08, 0x00, //       retf 8
    ]);
    cpu.run(200);
    const g = cpu.regs.gpr;
    expect(g.r32[0]).toBe(0x22222222);
    expect(g.r32[3]).toBe(0x11111111);
    expect(g.r32[1]).toBe(SEL.CODE0);
    expect(cpu.regs.cpl).toBe(3);
    expect(g.r32[4]).toBe(0x9800); // the parameters were released on the outer stack
    expect(cpu.regs.rip).toBe(USER + 17);
    expect(memory.read32(KERNEL_STACK - 4)).toBe(SEL.DATA3); // old SS
    expect(memory.read32(KERNEL_STACK - 8)).toBe(0x9800 - 8); // old ESP
  });

  it('privileged instructions at CPL 3 raise #GP(0)', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    place(memory, USER, [0x0f, 0x20, 0xc0, 0xeb, 0xfe]); // mov eax, cr0; jmp $
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(200);
    expect(cpu.halted).toBe(true);
    expect(memory.read32(KERNEL_STACK - 24)).toBe(0);
    expect(memory.read32(KERNEL_STACK - 20)).toBe(USER);
  });
});

describe('protected mode: paging, double and triple faults', () => {
  it('delivers #PF with CR2 and the error code when paging is on', () => {
    const { cpu, memory } = protectedMachine([
      0xb8, ...le32(0x4000), //  mov eax, 0x4000
      0x0f, 0x22, 0xd8, //       mov cr3, eax
      0x0f, 0x20, 0xc0, //       mov eax, cr0
      0x0d, ...le32(0x80000000), // or eax, 0x80000000
      0x0f, 0x22, 0xc0, //       mov cr0, eax
      0xa3, ...le32(0x300000), // mov [0x300000], eax   <- #PF (write, not present)
      HLT,
    ]);
    // Page directory at 0x4000 maps 0-2 MiB through a page table at 0x5000; 0x300000 is absent.
    memory.write32(0x4000, 0x5000 | 3);
    for (let i = 0; i < 512; i++) memory.write32(0x5000 + i * 4, (i << 12) | 3);
    idtGate(memory, 14, 0x8000);
    place(memory, 0x8000, [
      0x0f, 0x20, 0xd3, //       mov ebx, cr2
      HLT,
    ]);
    cpu.run(200);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(14);
    expect(cpu.regs.gpr.r32[3]).toBe(0x300000);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(2); // write, supervisor, not present
    expect(memory.read32((cpu.regs.gpr.r32[4] >>> 0) + 4)).toBe(TEST_CODE + 19); // the faulting MOV
  });

  it('a #GP whose gate is not present becomes #DF with error code 0', () => {
    const { cpu, memory } = protectedMachine([
      0x66, 0xb8, 0x80, 0x00, // mov ax, 0x80
      0x8e, 0xe0, //             mov fs, ax       <- #GP, then #NP on IDT[13]
      HLT,
    ]);
    idtGate(memory, 13, 0x8000, 0, 0xe, false);
    idtGate(memory, 8, 0x8100);
    place(memory, 0x8100, [HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(8);
    expect(cpu.regs.rip).toBe(0x8101);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0);
  });

  it('a fault while delivering #DF is a triple fault reported to the host', () => {
    const { cpu } = protectedMachine([
      0x66, 0xb8, 0x80, 0x00, // mov ax, 0x80
      0x8e, 0xe0, //             mov fs, ax       (the IDT is empty)
      HLT,
    ]);
    expect(() => cpu.run(100)).toThrow(TripleFaultError);
  });

  it('an IDT entry past the IDT limit is #GP(vector*8+2+EXT)', () => {
    const { cpu, memory } = protectedMachine([
      0x0f, 0x01, 0x1d, ...le32(0x0f10), // lidt [0x0f10]   (limit 0x77: vectors 0-14)
      0xcc, //                   int3             (fine: vector 3)
      0x0f, 0x0b, //             ud2              (vector 6 present)
    ]);
    memory.write16(0x0f10, 0x77);
    memory.write32(0x0f12, 0x2000);
    idtGate(memory, 3, 0x8000, 0);
    place(memory, 0x8000, [0xcf]); // iretd
    idtGate(memory, 6, 0x8100, 0);
    place(memory, 0x8100, [0xcd, 0x20]); // int 0x20 -> past the limit: #GP(0x102), EXT=0
    idtGate(memory, 13, 0x8200);
    place(memory, 0x8200, [HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x20 * 8 + 2);
  });
});

describe('protected mode: gate errors and other gate forms', () => {
  it('an exception whose gate targets a data segment is #GP(selector + EXT)', () => {
    const { cpu, memory } = protectedMachine([0x0f, 0x0b]); // ud2
    gate(memory, 0x2000 + 6 * 8, SEL.DATA0, 0x8000, 0xe, 0);
    idtGate(memory, 13, 0x8100);
    place(memory, 0x8100, [HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(13);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(SEL.DATA0 | 1);
  });

  it('INT n through a not-present gate is #NP(n*8+2) without EXT', () => {
    const { cpu, memory } = protectedMachine([0xcd, 0x40]); // int 0x40
    idtGate(memory, 0x40, 0x8000, 0, 0xe, false);
    idtGate(memory, 11, 0x8100);
    place(memory, 0x8100, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(11);
    expect(memory.read32(cpu.regs.gpr.r32[4] >>> 0)).toBe(0x40 * 8 + 2);
  });

  it('a 16-bit trap gate pushes FLAGS, CS, IP as words and keeps IF', () => {
    const { cpu, memory } = protectedMachine([
      0xfb, //                   sti
      0xcd, 0x41, //             int 0x41
      HLT,
    ]);
    idtGate(memory, 0x41, 0x8000, 0, 0x7);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    const esp = cpu.regs.gpr.r32[4] >>> 0;
    expect(esp).toBe(STACK0 - 6);
    expect(memory.read16(esp)).toBe((TEST_CODE + 3) & 0xffff);
    expect(memory.read16(esp + 2)).toBe(SEL.CODE0);
    expect(cpu.regs.flags.get() & 0x200).toBe(0x200);
  });

  it('a hardware interrupt at CPL 3 is delivered on the TSS stack', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    place(memory, USER, [0xeb, 0xfe]); // jmp $
    idtGate(memory, 0x30, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(40);
    expect(cpu.regs.cpl).toBe(3);
    deliverExternalInterrupt(cpu, 0x30);
    expect(cpu.regs.cpl).toBe(0);
    expect(cpu.regs.rip).toBe(0x8000);
    expect(cpu.regs.gpr.r32[4]).toBe(KERNEL_STACK - 20);
    expect(memory.read32(KERNEL_STACK - 20)).toBe(USER);
  });

  it('far RET to an outer level with a bad SS is #GP(SS selector) and changes nothing', () => {
    const { cpu, memory } = protectedMachine([
      0x6a, 0x08, //             push 0x08        (SS: a code segment)
      0x68, ...le32(0x9800), //  push 0x9800
      0x6a, 0x1b, //             push 0x1b        (CS: user code)
      0x68, ...le32(0x7e00), //  push 0x7e00
      0xcb, //                   retf
    ]);
    idtGate(memory, 13, 0x8000);
    place(memory, 0x8000, [HLT]);
    cpu.run(100);
    expect(cpu.lastException).toBe(13);
    const esp = cpu.regs.gpr.r32[4] >>> 0;
    expect(memory.read32(esp)).toBe(0x08);
    expect(memory.read32(esp + 4)).toBe(TEST_CODE + 14); // the RETF
    expect(memory.read32(esp + 8)).toBe(SEL.CODE0);
    expect(esp).toBe(STACK0 - 16 - 16); // the four pushes are still there
  });
});

describe('protected mode: TSS stacks and gate jumps', () => {
  it('an inner stack whose SS RPL does not match is #TS(SS selector)', () => {
    const USER = 0x7e00;
    const { cpu, memory } = protectedMachine(toUser(USER));
    memory.write32(0x3000 + 8, SEL.DATA3); // SS0 = 0x23: RPL 3 for a CPL 0 stack
    place(memory, USER, [0xcd, 0x80, 0xeb, 0xfe]); // int 0x80; jmp $
    idtGate(memory, 0x80, 0x8100, 3);
    // The #TS handler is conforming code, so it runs at CPL 3 on the user stack.
    gate(memory, 0x2000 + 10 * 8, SEL.CONFORMING, 0x8000, 0xe, 0);
    place(memory, 0x8000, [0xeb, 0xfe]); // jmp $
    cpu.run(100);
    expect(cpu.lastException).toBe(10);
    expect(cpu.regs.rip).toBe(0x8000);
    expect(cpu.regs.seg.selector[Seg.CS]).toBe(SEL.CONFORMING | 3);
    expect(memory.read32(0x9800 - 16)).toBe(0x20); // error code: the SS selector, EXT = 0
    expect(memory.read32(0x9800 - 12)).toBe(USER);
  });

  it('JMP through a call gate reaches the target at the same privilege without pushing', () => {
    const { cpu, memory } = protectedMachine([
      0xea, ...le32(0), 0x40, 0x00, // jmp 0x40:0   (the gate)
    ]);
    gate(memory, GDT + 0x40, SEL.CODE0, 0x8200, 0xc, 3, 0);
    place(memory, 0x8200, [HLT]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.rip).toBe(0x8201);
    expect(cpu.regs.seg.selector[Seg.CS]).toBe(SEL.CODE0);
    expect(cpu.regs.gpr.r32[4]).toBe(STACK0);
  });
});
