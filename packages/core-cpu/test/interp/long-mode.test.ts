// 64-bit mode: the run loop (64-bit RIP, RIP-relative operands, upper-half addresses), near
// control flow and the stack, at CPL 0 and CPL 3, on the long-mode test machine.
import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { CODE, HIGH_ALIAS, longModeMachine, STACK0, STACK3, STUBS } from './long-mode-machine.js';

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
const TWO_32 = 4294967296n;

function set(m: ReturnType<typeof longModeMachine>, n: number, v: bigint): void {
  m.cpu.regs.gpr.set64(n, BigInt.asUintN(64, v));
}
function get(m: ReturnType<typeof longModeMachine>, n: number): bigint {
  return m.cpu.regs.gpr.get64(n);
}
function rip(m: ReturnType<typeof longModeMachine>): bigint {
  return (BigInt(m.cpu.regs.ripHi >>> 0) << 32n) | BigInt(m.cpu.regs.rip >>> 0);
}

describe('64-bit mode: run loop and near control flow', () => {
  for (const cpl of [0, 3] as const) {
    it(`runs 64-bit code at CPL ${cpl}: push/pop r64 and a RIP-relative LEA`, () => {
      const m = longModeMachine({ cpl });
      expect(m.cpu.mode).toBe(CpuMode.Bits64);
      m.load([
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rax, 0x1122334455667788
        0x50, //                                                      push rax
        0x5b, //                                                      pop rbx
        0x48, 0x8d, 0x0d, 0xf9, 0xff, 0xff, 0xff, //                  lea rcx, [rel $]
      ]);
      expect(m.run()).toBe('end');
      expect(get(m, RBX)).toBe(0x1122334455667788n);
      expect(get(m, RCX)).toBe(BigInt(CODE + 12));
      expect(get(m, RSP)).toBe(BigInt(cpl === 0 ? STACK0 : STACK3));
      // The pushed value is in memory as 8 bytes below the stack top.
      expect(m.read64((cpl === 0 ? STACK0 : STACK3) - 8)).toBe(0x1122334455667788n);
    });
  }

  it('caches an instruction that runs into the next page, and sees a store into its second part', () => {
    const m = longModeMachine({ cpl: 0 });
    const at = CODE + 0xff7;
    m.load([
      0xb9, 0x05, 0x00, 0x00, 0x00, //       mov ecx, 5
      0x48, 0x05, 0x44, 0x33, 0x22, 0x11, // add rax, 0x11223344 (0x...ffc-0x...001: crosses the page)
      0xff, 0xc9, //                         dec ecx
      0x75, 0xf6, //                         jnz (the ADD)
    ], at);
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(5n * 0x11223344n);
    const crossing = m.cpu.decodeCache!.lookup(CODE + 0xffc, CpuMode.Bits64);
    expect(crossing?.crossKey).toBe(CODE + 0x1000);
    // A store through the MMU into the immediate's bytes in the second page.
    m.mmu.write8(CODE + 0x1000, 0x00, 0);
    expect(crossing!.key).toBe(-1);
    set(m, RAX, 0n);
    m.cpu.regs.rip = at;
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(5n * 0x11003344n);
  });

  it('CALL rel32 pushes the 8-byte return address and RET pops it', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
      0xe8, 0x06, 0x00, 0x00, 0x00, // call f
      0x48, 0x83, 0xc0, 0x0a, //       add rax, 10
      0xeb, 0x09, //                   jmp done
      0x48, 0x8b, 0x1c, 0x24, //       f: mov rbx, [rsp]
      0x48, 0x83, 0xc0, 0x64, //       add rax, 100
      0xc3, //                         ret
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(111n);
    expect(get(m, RBX)).toBe(BigInt(CODE + 10));
    expect(get(m, RSP)).toBe(BigInt(STACK3));
  });

  it('RET imm16 releases the parameters after popping RIP', () => {
    const m = longModeMachine();
    m.load([
      0x6a, 0x07, //                   push 7
      0x6a, 0x08, //                   push 8
      0xe8, 0x02, 0x00, 0x00, 0x00, // call f
      0xeb, 0x03, //                   jmp done
      0xc2, 0x10, 0x00, //             f: ret 16
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, RSP)).toBe(BigInt(STACK0));
  });

  it('JMP r64 and CALL r64 take 64-bit register targets', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0x48, 0x8d, 0x05, 0x04, 0x00, 0x00, 0x00, // lea rax, [rel t]
      0xff, 0xe0, //                               jmp rax
      0x0f, 0x0b, //                               ud2
      0x48, 0x8d, 0x1d, 0x04, 0x00, 0x00, 0x00, // t: lea rbx, [rel u]
      0xff, 0xd3, //                               call rbx
      0xeb, 0x01, //                               jmp done
      0xc3, //                                     u: ret
    ]);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
  });

  it('a non-canonical branch target raises #GP(0) on the branch, RIP and RSP unchanged', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0xff, 0xe0]); // jmp rax
    set(m, RAX, 0x0000800000000000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    const f = m.frame(true);
    expect(f.errorCode).toBe(0n);
    expect(f.rip).toBe(BigInt(CODE));
    expect(f.rsp).toBe(BigInt(STACK3));
  });

  it('RET to a non-canonical address raises #GP(0) and leaves RSP at the return address', () => {
    const m = longModeMachine();
    m.load([0x50, 0xc3]); // push rax; ret
    set(m, RAX, 0x1234000000000000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(13);
    const f = m.frame(true);
    expect(f.rip).toBe(BigInt(CODE + 1));
    expect(f.rsp).toBe(BigInt(STACK0 - 8));
  });

  it('runs code in the upper canonical half (negative linear addresses), with calls and RIP-relative data', () => {
    const m = longModeMachine();
    m.load([
      0xe8, 0x01, 0x00, 0x00, 0x00, //             call f
      0xf4, //                                     hlt
      0x48, 0x8b, 0x05, 0x08, 0x00, 0x00, 0x00, // f: mov rax, [rel data]
      0x48, 0x8b, 0x1c, 0x24, //                   mov rbx, [rsp]
      0xc3, //                                     ret
      0x90, 0x90, 0x90, //                         (pad)
      0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00, // data: dq 0xdeadbeef
    ]);
    const high = BigInt(HIGH_ALIAS) + BigInt(CODE);
    m.cpu.regs.rip = Number(BigInt.asIntN(32, high));
    m.cpu.regs.ripHi = Number(BigInt.asIntN(32, high >> 32n));
    // The stack is in the upper half too.
    set(m, RSP, BigInt(HIGH_ALIAS) + BigInt(STACK0));
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RAX)).toBe(0xdeadbeefn);
    expect(get(m, RBX)).toBe(BigInt.asUintN(64, high + 5n));
    expect(rip(m)).toBe(BigInt.asUintN(64, high + 6n));
    expect(get(m, RSP)).toBe(BigInt.asUintN(64, BigInt(HIGH_ALIAS) + BigInt(STACK0)));
  });

  it('keeps pages apart that share linear bits 31:12 but not 47:32 (the TLB tag), for data and for code', () => {
    const m = longModeMachine();
    // Linear 0x1_0000_0000 + x now maps physical 0x200000 + x (PDPT[4] -> a PD at 0xB000).
    m.memory.write32(0x2000 + 4 * 8, 0xb000 | 0x7);
    m.memory.write32(0xb000, 0x200000 | 0x87);
    m.write64(0x20000, 0x1111n);
    m.write64(0x220000, 0x2222n);
    m.memory.writeBytes(0x210000, Uint8Array.from([0xba, 0x02, 0x00, 0x00, 0x00, 0xf4])); // mov edx, 2; hlt
    m.load([
      0x48, 0x8b, 0x07, //       mov rax, [rdi]     (0x20000)
      0x48, 0x8b, 0x0e, //       mov rcx, [rsi]     (0x1_0002_0000: same TLB slot, other tag)
      0x48, 0x89, 0x46, 0x08, // mov [rsi+8], rax
      0xff, 0xe3, //             jmp rbx            (0x1_0001_0000: the code page's slot, other tag)
    ]);
    set(m, RDI, 0x20000n);
    set(m, RSI, TWO_32 + 0x20000n);
    set(m, RBX, TWO_32 + 0x10000n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RAX)).toBe(0x1111n);
    expect(get(m, RCX)).toBe(0x2222n);
    expect(m.read64(0x220008)).toBe(0x1111n);
    expect(m.read64(0x20008)).toBe(0n);
    expect(get(m, RDX)).toBe(2n);
    expect(rip(m)).toBe(TWO_32 + 0x10006n);
  });

  it('runs 16-bit compatibility-mode code under 4-level paging and returns to 64-bit mode', () => {
    const m = longModeMachine();
    m.memory.writeBytes(0x8000, Uint8Array.from([
      0xb8, 0x34, 0x12, //                             mov ax, 0x1234
      0x50, //                                         push ax
      0x5b, //                                         pop bx
      0x66, 0xea, 0x20, 0x00, 0x01, 0x00, 0x08, 0x00, // jmp dword 0x08:0x10020
    ]));
    m.load([
      0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, // jmp far dword [rel p]
      0x00, 0x80, 0x00, 0x00, 0x48, 0x00, // p: dd 0x8000; dw 0x48 (16-bit code segment)
      ...new Array<number>(0x14).fill(0xcc),
      0xb9, 0x03, 0x00, 0x00, 0x00, //       0x10020: mov ecx, 3
    ]);
    m.cpu.step();
    expect(m.cpu.mode).toBe(CpuMode.Bits16);
    expect(m.run()).toBe('end');
    expect(m.cpu.lastException).toBe(-1);
    expect(get(m, RBX) & 0xffffn).toBe(0x1234n);
    expect(get(m, RCX)).toBe(3n);
    expect(m.cpu.mode).toBe(CpuMode.Bits64);
  });

  it('LOOP counts RCX in 64 bits, LOOP with 67 counts ECX and zero-extends; JRCXZ tests all of RCX', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0x48, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // mov rcx, 0x100000003
      0x31, 0xc0, //                                               xor eax, eax
      0xff, 0xc0, //                                               l1: inc eax
      0xe2, 0xfc, //                                               loop l1
    ]);
    expect(m.run(100000)).toBe('limit'); // 2^32 + 3 iterations: still counting
    expect(get(m, RCX) > 0xffff0000n).toBe(true);

    const n = longModeMachine({ cpl: 3 });
    n.load([
      0x48, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // mov rcx, 0x100000003
      0x31, 0xdb, //                                               xor ebx, ebx
      0xff, 0xc3, //                                               l2: inc ebx
      0x67, 0xe2, 0xfb, //                                         a32 loop l2
      0x48, 0xba, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // mov rdx, 0x100000000
      0x48, 0x89, 0xd1, //                                         mov rcx, rdx
      0xe3, 0x03, //                                               jrcxz bad
      0x67, 0xe3, 0x02, //                                         a32 jecxz ok
      0x0f, 0x0b, //                                               bad: ud2
    ]);
    expect(n.run()).toBe('end');
    expect(get(n, RBX)).toBe(3n);
    expect(n.cpu.lastException).toBe(-1);
  });

  it('LOOP with ECX clears RCX[63:32]', () => {
    const m = longModeMachine();
    m.load([0x67, 0xe2, 0x00]); // a32 loop $+3 (falls through either way)
    set(m, RCX, 0x500000002n);
    expect(m.run()).toBe('end');
    expect(get(m, RCX)).toBe(1n);
  });

  it('CMOVcc r64 moves 64 bits; a 32-bit CMOV with a false condition still zero-extends', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, //                 mov rax, -1
      0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rbx, 0x1122334455667788
      0x39, 0xc0, //                                               cmp eax, eax
      0x48, 0x0f, 0x44, 0xc3, //                                   cmove rax, rbx
      0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff, //                 mov rcx, -1
      0x0f, 0x45, 0xcb, //                                         cmovne ecx, ebx
      0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, //                 mov rdx, -1
      0x48, 0x0f, 0x45, 0xd3, //                                   cmovne rdx, rbx
      0x40, 0x0f, 0x94, 0xc6, //                                   sete sil
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(0x1122334455667788n);
    expect(get(m, RCX)).toBe(0xffffffffn);
    expect(get(m, RDX)).toBe(0xffffffffffffffffn);
    expect(get(m, RSI) & 0xffn).toBe(1n);
  });
});

describe('64-bit mode: the stack', () => {
  it('PUSH imm8/imm32 sign-extend to 64 bits; a 66-prefixed PUSH moves RSP by 2', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0x6a, 0xfe, //                   push -2
      0x68, 0xff, 0xff, 0xff, 0x7f, // push 0x7fffffff
      0x68, 0x00, 0x00, 0x00, 0x80, // push -0x80000000
      0x66, 0x68, 0x34, 0x12, //       push word 0x1234
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, RSP)).toBe(BigInt(STACK3 - 26));
    expect(m.memory.read16(STACK3 - 26)).toBe(0x1234);
    expect(m.read64(STACK3 - 24)).toBe(0xffffffff80000000n);
    expect(m.read64(STACK3 - 16)).toBe(0x7fffffffn);
    expect(m.read64(STACK3 - 8)).toBe(0xfffffffffffffffen);
  });

  it('PUSHFQ pushes RFLAGS without VM/RF; POPFQ loads the arithmetic flags', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0xf9, //                         stc
      0x9c, //                         pushfq
      0x58, //                         pop rax
      0xbb, 0xd5, 0x08, 0x00, 0x00, // mov ebx, 0x8d5
      0x53, //                         push rbx
      0x9d, //                         popfq
      0x9c, //                         pushfq
      0x59, //                         pop rcx
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, RAX) & 0x1n).toBe(1n);
    expect(get(m, RAX) >> 32n).toBe(0n);
    expect(get(m, RCX)).toBe(0x8d7n);
  });

  it('PUSH/POP FS and GS use 8-byte slots (the selector zero-extended)', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([
      0x0f, 0xa0, //       push fs
      0x58, //             pop rax
      0x0f, 0xa8, //       push gs
      0x48, 0x89, 0xe3, // mov rbx, rsp
      0x0f, 0xa9, //       pop gs
    ]);
    m.write64(STACK3 - 8, 0xffffffffffffffffn);
    expect(m.run()).toBe('end');
    expect(get(m, RAX)).toBe(0x23n);
    expect(get(m, RBX)).toBe(BigInt(STACK3 - 8));
    expect(m.read64(STACK3 - 8)).toBe(0x23n);
    expect(get(m, RSP)).toBe(BigInt(STACK3));
  });

  it('ENTER/LEAVE build and drop 64-bit frames, with nesting levels', () => {
    const m = longModeMachine();
    m.load([
      0xbd, 0x78, 0x56, 0x34, 0x12, // mov ebp, 0x12345678
      0xc8, 0x20, 0x00, 0x00, //       enter 0x20, 0
      0x49, 0x89, 0xe8, //             mov r8, rbp
      0x49, 0x89, 0xe1, //             mov r9, rsp
      0xc9, //                         leave
      0x48, 0x89, 0xe5, //             mov rbp, rsp
      0xc8, 0x10, 0x00, 0x02, //       enter 0x10, 2
      0x49, 0x89, 0xe2, //             mov r10, rsp
      0x49, 0x89, 0xeb, //             mov r11, rbp
      0xc9, //                         leave
    ]);
    expect(m.run()).toBe('end');
    expect(get(m, 8)).toBe(BigInt(STACK0 - 8));
    expect(get(m, 9)).toBe(BigInt(STACK0 - 8 - 0x20));
    // Level 2: push rbp, copy one frame pointer (from [rbp-8]), push the new frame pointer.
    expect(m.read64(STACK0 - 8)).toBe(BigInt(STACK0));
    expect(m.read64(STACK0 - 16)).toBe(BigInt(STACK0));
    expect(get(m, 11)).toBe(BigInt(STACK0 - 8));
    expect(get(m, 10)).toBe(BigInt(STACK0 - 24 - 0x10));
    expect(m.read64(STACK0 - 24)).toBe(BigInt(STACK0 - 8));
    expect(get(m, RBP)).toBe(BigInt(STACK0));
    expect(get(m, RSP)).toBe(BigInt(STACK0));
  });

  it('RSP arithmetic carries across 4 GiB: a push at 0x1_0000_0000 writes at 0xFFFF_FFF8', () => {
    const m = longModeMachine();
    m.load([0x50, 0x5b]); // push rax; pop rbx
    set(m, RSP, TWO_32);
    set(m, RAX, 0x0102030405060708n);
    m.cpu.step();
    expect(get(m, RSP)).toBe(TWO_32 - 8n);
    // Linear 0xFFE0_0000.. maps physical 0x200000..: 0xFFFF_FFF8 is physical 0x3FFFF8.
    expect(m.read64(0x3ffff8)).toBe(0x0102030405060708n);
    m.cpu.step();
    expect(get(m, RSP)).toBe(TWO_32);
    expect(get(m, RBX)).toBe(0x0102030405060708n);
  });

  it('a non-canonical stack address raises #SS(0)', () => {
    const m = longModeMachine({ cpl: 3 });
    m.load([0x50]); // push rax
    set(m, RSP, 0x0000800000000008n);
    expect(m.run()).toBe('halt');
    expect(m.cpu.lastException).toBe(12);
    const f = m.frame(true);
    expect(f.errorCode).toBe(0n);
    expect(f.rip).toBe(BigInt(CODE));
    expect(f.rsp).toBe(0x0000800000000008n);
    expect(rip(m)).toBe(BigInt(STUBS + 12 * 16 + 1));
  });

  it('POP r/m64 with an RSP-based address uses the incremented RSP', () => {
    const m = longModeMachine();
    m.load([0x6a, 0x2a, 0x8f, 0x44, 0x24, 0x08]); // push 42; pop qword [rsp+8]
    expect(m.run()).toBe('end');
    expect(get(m, RSP)).toBe(BigInt(STACK0));
    expect(m.read64(STACK0 + 8)).toBe(42n);
  });
});
