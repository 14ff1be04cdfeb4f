// Far JMP/CALL/RET in IA-32e mode: m16:64 pointers, switching between 64-bit and
// compatibility code, RETFQ to an outer level, and 64-bit call gates to an inner level.
import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { Seg } from '../../src/state/segment-cache.js';
import { CODE, gate64, GDT, longModeMachine, SEL, STACK0, STACK3 } from './long-mode-machine.js';

const RCX = 1, RBX = 3, RSP = 4, RSI = 6, RDI = 7;
type M = ReturnType<typeof longModeMachine>;
const get = (m: M, n: number): bigint => m.cpu.regs.gpr.get64(n);

describe('IA-32e far transfers', () => {
  it('far JMP through an m16:64 pointer (REX.W) reaches 64-bit code', () => {
    const m = longModeMachine();
    m.load([
      0x48, 0xff, 0x2d, 0x02, 0x00, 0x00, 0x00, //       jmp far qword [rel p]
      0x0f, 0x0b, //                                     ud2
      0x13, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // p: dq t
      0x08, 0x00, //                                     dw 0x08
      0xbb, 0x01, 0x00, 0x00, 0x00, //                   t: mov ebx, 1
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RBX)).toBe(1n);
  });

  it('far JMP to a 32-bit segment runs compatibility mode; a far JMP to a 64-bit segment returns', () => {
    const m = longModeMachine();
    m.load([
      0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, //             jmp far dword [rel p]
      0x0c, 0x00, 0x01, 0x00, //                         p: dd c32
      0x40, 0x00, //                                     dw 0x40
      0xbb, 0x02, 0x00, 0x00, 0x00, //                   c32: mov ebx, 2   (32-bit code)
      0xea, 0x18, 0x00, 0x01, 0x00, 0x08, 0x00, //       jmp 0x08:b64
      0xb9, 0x03, 0x00, 0x00, 0x00, //                   b64: mov ecx, 3
    ]);
    m.cpu.step();
    expect(m.cpu.mode).toBe(CpuMode.Bits32);
    expect(m.cpu.regs.seg.selector[Seg.CS]).toBe(SEL.CODE32);
    expect(m.run()).toBe('end');
    expect(m.cpu.mode).toBe(CpuMode.Bits64);
    expect(get(m, RBX)).toBe(2n);
    expect(get(m, RCX)).toBe(3n);
  });

  it('far CALL m16:32 from 64-bit code into compatibility code, and RETF back', () => {
    const m = longModeMachine();
    m.load([
      0xff, 0x1d, 0x02, 0x00, 0x00, 0x00, // call far dword [rel p]
      0xeb, 0x0c, //                         jmp done
      0x0e, 0x00, 0x01, 0x00, //             p: dd c32
      0x40, 0x00, //                         dw 0x40
      0xbb, 0x02, 0x00, 0x00, 0x00, //       c32: mov ebx, 2
      0xcb, //                               retf
      0xb9, 0x03, 0x00, 0x00, 0x00, //       done: mov ecx, 3
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RBX)).toBe(2n);
    expect(get(m, RCX)).toBe(3n);
    expect(get(m, RSP)).toBe(BigInt(STACK0));
    // The call pushed CS and EIP as 4-byte values.
    expect(m.memory.read32(STACK0 - 4)).toBe(SEL.CODE64);
    expect(m.memory.read32(STACK0 - 8)).toBe(CODE + 6);
  });

  it('RETFQ to CPL 3 pops RIP, CS, RSP and SS as 8-byte values', () => {
    const m = longModeMachine();
    m.load([
      0x6a, 0x23, //                               push 0x23
      0x68, 0x00, 0x00, 0x09, 0x00, //             push 0x90000
      0x6a, 0x2b, //                               push 0x2b
      0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00, // lea rax, [rel user]
      0x50, //                                     push rax
      0x48, 0xcb, //                               retfq
      0xbb, 0x04, 0x00, 0x00, 0x00, //             user: mov ebx, 4
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.regs.cpl).toBe(3);
    expect(m.cpu.regs.seg.selector[Seg.SS]).toBe(SEL.DATA3);
    expect(get(m, RSP)).toBe(BigInt(STACK3));
    expect(get(m, RBX)).toBe(4n);
  });

  it('far CALL through a 64-bit call gate from CPL 3 switches to RSP0 and RETFQ returns to CPL 3', () => {
    const m = longModeMachine({ cpl: 3 });
    const handler = 0x20000;
    gate64(m.memory, GDT + 0x60, SEL.CODE64, BigInt(handler), 0xc, 3);
    m.cpu.regs.gdtLimit = 0x6f;
    m.memory.writeBytes(handler, Uint8Array.from([
      0xbe, 0x05, 0x00, 0x00, 0x00, //       mov esi, 5
      0x48, 0x8b, 0x7c, 0x24, 0x10, //       mov rdi, [rsp+16]   (the caller's RSP)
      0x48, 0xcb, //                         retfq
    ]));
    m.load([
      0xff, 0x1d, 0x02, 0x00, 0x00, 0x00, // call far dword [rel p]
      0xeb, 0x06, //                         jmp done
      0x00, 0x00, 0x00, 0x00, //             p: dd 0 (ignored for a gate)
      0x63, 0x00, //                         dw 0x63
      0xb9, 0x03, 0x00, 0x00, 0x00, //       done: mov ecx, 3
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RSI)).toBe(5n);
    expect(get(m, RDI)).toBe(BigInt(STACK3));
    expect(get(m, RCX)).toBe(3n);
    expect(m.cpu.regs.cpl).toBe(3);
    expect(get(m, RSP)).toBe(BigInt(STACK3));
    // The inner frame: SS, RSP, CS, RIP as 8-byte values on RSP0.
    expect(m.read64(STACK0 - 8)).toBe(BigInt(SEL.DATA3));
    expect(m.read64(STACK0 - 16)).toBe(BigInt(STACK3));
    expect(m.read64(STACK0 - 24)).toBe(BigInt(SEL.CODE64_USER));
    expect(m.read64(STACK0 - 32)).toBe(BigInt(CODE + 6));
  });

  it('far JMP to a code segment with L and D both set raises #GP(selector)', () => {
    const m = longModeMachine();
    m.memory.write32(GDT + 0x60, 0x0000ffff);
    m.memory.write32(GDT + 0x64, 0x00ef9a00); // G, D, L, P, DPL 0, code
    m.cpu.regs.gdtLimit = 0x67;
    m.load([0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00]); // jmp far [rel p]; p: dd 0; dw 0x60
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    expect(m.frame(true).errorCode).toBe(0x60n);
  });
});
