// Interrupts and exceptions in IA-32e mode: 16-byte IDT gates, 64-bit frames (SS:RSP always
// pushed, RSP aligned to 16), RSP0 and IST stacks, error codes, #PF with a 64-bit CR2, #DF,
// IRETQ to CPL 3 and back, external interrupts, delivery from compatibility mode.
import { describe, expect, it } from 'vitest';
import { deliverExternalInterrupt } from '../../src/interp/interrupts.js';
import { Seg } from '../../src/state/segment-cache.js';
import {
  CODE, IDT, idtGate64, IST1_STACK, longModeMachine, SEL, STACK0, STACK3, STUBS,
} from './long-mode-machine.js';

const RAX = 0, RDX = 2, RBX = 3, RSP = 4, RSI = 6;
type M = ReturnType<typeof longModeMachine>;

const get = (m: M, n: number): bigint => m.cpu.regs.gpr.get64(n);
const set = (m: M, n: number, v: bigint): void => m.cpu.regs.gpr.set64(n, BigInt.asUintN(64, v));
const rip = (m: M): bigint => (BigInt(m.cpu.regs.ripHi >>> 0) << 32n) | BigInt(m.cpu.regs.rip >>> 0);
const stub = (v: number): bigint => BigInt(STUBS + v * 16 + 1); // RIP after the stub's HLT

describe('IA-32e interrupt delivery', () => {
  it('INT n from CPL 3 switches to RSP0 and pushes SS, RSP, RFLAGS, CS, RIP as 8-byte values', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0xfb, 0xcd, 0x80]); // sti; int 0x80
    m.cpu.regs.flags.set(m.cpu.regs.flags.get() | 0x3000); // IOPL 3 so CPL 3 may STI
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(-1);
    expect(rip(m)).toBe(stub(0x80));
    expect(m.cpu.regs.cpl).toBe(0);
    expect(get(m, RSP)).toBe(BigInt(STACK0 - 40));
    const f = m.frame(false);
    expect(f.ss).toBe(BigInt(SEL.DATA3));
    expect(f.rsp).toBe(BigInt(STACK3));
    expect(f.cs).toBe(BigInt(SEL.CODE64_USER));
    expect(f.rip).toBe(BigInt(CODE + 3));
    expect(f.rflags & 0x200n).toBe(0x200n);
    // An interrupt gate clears IF; the new SS is a null selector with RPL 0.
    expect(m.cpu.regs.flags.get() & 0x200).toBe(0);
    expect(m.cpu.regs.seg.selector[Seg.SS]).toBe(0);
  });

  it('a trap gate leaves IF set; a same-privilege frame is aligned down to 16 bytes', () => {
    const m = longModeMachine();
    idtGate64(m.memory, 0x82, BigInt(STUBS + 0x82 * 16), { type: 0xf });
    m.load([0xfb, 0xcd, 0x82]); // sti; int 0x82
    set(m, RSP, BigInt(STACK0 - 8));
    expect(m.run()).toBe('halt');
    expect(get(m, RSP)).toBe(BigInt(STACK0 - 16 - 40));
    expect(m.frame(false).rsp).toBe(BigInt(STACK0 - 8));
    expect(m.frame(false).ss).toBe(BigInt(SEL.DATA0));
    expect(m.cpu.regs.flags.get() & 0x200).toBe(0x200);
  });

  it('a gate with an IST index switches to that stack even without a privilege change', () => {
    const m = longModeMachine();
    idtGate64(m.memory, 0x81, BigInt(STUBS + 0x81 * 16), { ist: 1 });
    m.load([0xcd, 0x81]); // int 0x81
    expect(m.run()).toBe('halt');
    expect(get(m, RSP)).toBe(BigInt(IST1_STACK - 40));
    expect(m.frame(false).rsp).toBe(BigInt(STACK0));
  });

  it('#PF from CPL 3 pushes the error code and sets CR2 to the 64-bit canonical address', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0x48, 0x8b, 0x03]); // mov rax, [rbx]
    set(m, RBX, 0xffff900000000010n); // PML4[288]: not present
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(14);
    const f = m.frame(true);
    expect(f.errorCode).toBe(0x4n); // user read of a not-present page
    expect(f.rip).toBe(BigInt(CODE));
    expect(f.cs).toBe(BigInt(SEL.CODE64_USER));
    expect(m.cpu.regs.cr2 >>> 0).toBe(0x10);
    expect(m.cpu.regs.cr2Hi >>> 0).toBe(0xffff9000);
  });

  it('IRETQ drops to CPL 3, INT n comes back to CPL 0, and IRETQ returns to the user code', () => {
    const m = longModeMachine();
    const handler = 0x20000;
    idtGate64(m.memory, 0x80, BigInt(handler));
    m.memory.writeBytes(handler, Uint8Array.from([
      0xbe, 0x05, 0x00, 0x00, 0x00, // mov esi, 5
      0x48, 0xcf, //                   iretq
    ]));
    m.load([
      0x6a, 0x23, //                               push 0x23        (SS)
      0x68, 0x00, 0x00, 0x09, 0x00, //             push 0x90000     (RSP)
      0x9c, //                                     pushfq
      0x6a, 0x2b, //                               push 0x2b        (CS)
      0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00, // lea rax, [rel user]
      0x50, //                                     push rax
      0x48, 0xcf, //                               iretq
      0xbb, 0x07, 0x00, 0x00, 0x00, //             user: mov ebx, 7
      0xcd, 0x80, //                               int 0x80
      0xba, 0x09, 0x00, 0x00, 0x00, //             mov edx, 9
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RBX)).toBe(7n);
    expect(get(m, RSI)).toBe(5n);
    expect(get(m, RDX)).toBe(9n);
    expect(m.cpu.regs.cpl).toBe(3);
    expect(m.cpu.regs.seg.selector[Seg.SS]).toBe(SEL.DATA3);
    expect(get(m, RSP)).toBe(BigInt(STACK3));
  });

  it('IRETD in 64-bit mode pops 4-byte RIP, CS, RFLAGS, RSP, SS and can enter compatibility mode at CPL 3', () => {
    const m = longModeMachine();
    m.load([
      0xc7, 0x44, 0x24, 0xfc, 0x23, 0x00, 0x00, 0x00, // mov dword [rsp-4], 0x23     (SS)
      0xc7, 0x44, 0x24, 0xf8, 0x00, 0x00, 0x09, 0x00, // mov dword [rsp-8], 0x90000  (ESP)
      0xc7, 0x44, 0x24, 0xf4, 0x02, 0x02, 0x00, 0x00, // mov dword [rsp-12], 0x202   (EFLAGS)
      0xc7, 0x44, 0x24, 0xf0, 0x1b, 0x00, 0x00, 0x00, // mov dword [rsp-16], 0x1b    (CS: 32-bit, DPL 3)
      0x8d, 0x05, 0x09, 0x00, 0x00, 0x00, //             lea eax, [rel user]
      0x89, 0x44, 0x24, 0xec, //                         mov [rsp-20], eax          (EIP)
      0x48, 0x83, 0xec, 0x14, //                         sub rsp, 20
      0xcf, //                                           iretd
      0xbb, 0x07, 0x00, 0x00, 0x00, //                   user: mov ebx, 7 (32-bit code)
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(m.cpu.mode).toBe(32);
    expect(m.cpu.regs.cpl).toBe(3);
    expect(get(m, RBX)).toBe(7n);
    expect(get(m, RSP)).toBe(BigInt(STACK3));
    expect(m.cpu.regs.flags.get() & 0x200).toBe(0x200);
  });

  it('MOV SS with a null selector is allowed in 64-bit mode at CPL 0, and the stack still works', () => {
    const m = longModeMachine();
    m.load([0x31, 0xc0, 0x8e, 0xd0, 0x6a, 0x05, 0x5b]); // xor eax, eax; mov ss, ax; push 5; pop rbx
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(m.cpu.regs.seg.selector[Seg.SS]).toBe(0);
    expect(get(m, RBX)).toBe(5n);
  });

  it('IRETQ to a non-canonical RIP raises #GP(0)', () => {
    const m = longModeMachine();
    m.load([
      0x6a, 0x10, // push 0x10
      0x54, //       push rsp
      0x9c, //       pushfq
      0x6a, 0x08, // push 0x08
      0x50, //       push rax
      0x48, 0xcf, // iretq
    ]);
    set(m, RAX, 0x0000800000000000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).errorCode).toBe(0n);
    expect(m.frame(true).rip).toBe(BigInt(CODE + 7));
  });

  it('INT n through a gate that is not a 64-bit interrupt/trap gate raises #GP(vector * 8 + 2)', () => {
    const m = longModeMachine({ cpl: 3 });
    idtGate64(m.memory, 0x81, BigInt(STUBS), { type: 0x5 }); // task gate: none in IA-32e mode
    m.load([0xcd, 0x81]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).errorCode).toBe(BigInt(0x81 * 8 + 2));
  });

  it('INT n through a gate with DPL < CPL raises #GP(vector * 8 + 2)', () => {
    const m = longModeMachine({ cpl: 3 });
    idtGate64(m.memory, 0x82, BigInt(STUBS), { dpl: 0 });
    m.load([0xcd, 0x82]);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).errorCode).toBe(BigInt(0x82 * 8 + 2));
  });

  it('a #GP whose gate is not present becomes #DF with error code 0', () => {
    const m = longModeMachine({ cpl: 3 });
    idtGate64(m.memory, 13, BigInt(STUBS + 13 * 16), { present: false });
    m.load([0xff, 0xe0]); // jmp rax (non-canonical)
    set(m, RAX, 0x0000900000000000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(8);
    expect(rip(m)).toBe(stub(8));
    const f = m.frame(true);
    expect(f.errorCode).toBe(0n);
    expect(f.cs).toBe(BigInt(SEL.CODE64_USER));
  });

  it('delivers an external interrupt between instructions with the next RIP', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0x90, 0x90]);
    m.cpu.regs.flags.set(m.cpu.regs.flags.get() | 0x200);
    m.cpu.step();
    deliverExternalInterrupt(m.cpu, 0x20);
    expect(rip(m)).toBe(BigInt(STUBS + 0x20 * 16));
    expect(m.cpu.regs.cpl).toBe(0);
    const f = m.frame(false);
    expect(f.rip).toBe(BigInt(CODE + 1));
    expect(f.cs).toBe(BigInt(SEL.CODE64_USER));
  });

  it('delivers INT n from compatibility mode to a 64-bit handler, and IRETQ returns there', () => {
    const m = longModeMachine({ cpl: 3 });
    const handler = 0x20000;
    idtGate64(m.memory, 0x80, BigInt(handler));
    m.memory.writeBytes(handler, Uint8Array.from([0xbe, 0x05, 0x00, 0x00, 0x00, 0x48, 0xcf])); // mov esi, 5; iretq
    m.load([
      0xcd, 0x80, //                   int 0x80
      0xba, 0x09, 0x00, 0x00, 0x00, // mov edx, 9 (32-bit code)
    ]);
    const s = m.cpu.regs.seg;
    s.selector[Seg.CS] = SEL.CODE32_USER;
    s.attr[Seg.CS] = 0xfb | 0x4000 | 0x8000; // 32-bit code, DPL 3 (L = 0: compatibility mode)
    expect(m.cpu.mode).toBe(32);
    set(m, RSP, 0xdead000000000000n | BigInt(STACK3)); // ESP is what counts in compatibility mode
    expect(m.run()).toBe('end');
    expect(get(m, RSI)).toBe(5n);
    expect(get(m, RDX)).toBe(9n);
    expect(m.cpu.regs.seg.selector[Seg.CS]).toBe(SEL.CODE32_USER);
    expect(m.cpu.regs.rip).toBe(CODE + 7);
    expect(m.cpu.regs.ripHi).toBe(0);
    expect(m.read64(STACK0 - 32)).toBe(BigInt(SEL.CODE32_USER)); // the frame's CS slot
    void IDT;
    void RAX;
  });
});
